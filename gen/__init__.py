"""gen: deep generative models of images in JAX (autoregressive, VAEs, GANs) and their evaluation."""

import os as _os

from gen import prng as _prng

# XLA CPU vectorises for 256-bit registers unless told otherwise; preferring 512 bits made
# the width-32 DCGAN step 18 % and the conv VAE step 8 % faster on an AVX-512 CPU
# (docs/RESULTS.md, "Speed against PyTorch"). XLA reads XLA_FLAGS when its backend
# starts, after this import; a value the user set is kept.
if 'xla_cpu_prefer_vector_width' not in _os.environ.get('XLA_FLAGS', ''):
  _os.environ['XLA_FLAGS'] = (
      _os.environ.get('XLA_FLAGS', '') + ' --xla_cpu_prefer_vector_width=512'
  ).strip()

_prng.use_straight_line_threefry_on_cpu()
