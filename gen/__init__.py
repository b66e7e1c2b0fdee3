"""gen: deep generative models of images in JAX (autoregressive, VAEs, GANs) and their evaluation."""
