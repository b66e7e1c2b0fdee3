"""gen: deep generative models of images in JAX (autoregressive, VAEs, GANs) and their evaluation."""

from gen import prng as _prng

_prng.use_straight_line_threefry_on_cpu()
