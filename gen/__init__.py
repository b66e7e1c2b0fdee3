"""gen: deep generative models of images in JAX (autoregressive, VAEs, GANs) and their evaluation."""

from gen import host_memory as _host_memory
from gen import prng as _prng

_host_memory.keep_freed_memory()
_prng.use_straight_line_threefry_on_cpu()
