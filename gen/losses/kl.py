"""KL divergences in closed form."""

from __future__ import annotations

import jax.numpy as jnp


def gaussian_to_standard(mean, log_var):
  """KL(N(mean, diag(exp(log_var))) || N(0, I)) per example.

  Kingma & Welling 2014, Appendix B: -1/2 sum(1 + log s^2 - m^2 - s^2).
  """
  kl = -0.5 * (1.0 + log_var - mean**2 - jnp.exp(log_var))
  return jnp.sum(kl.reshape(kl.shape[0], -1), axis=-1)
