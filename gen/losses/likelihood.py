"""Log-likelihoods of observations, summed over all non-batch axes (nats)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def _sum_event(x):
  return jnp.sum(x.reshape(x.shape[0], -1), axis=-1)


def bernoulli(logits, x):
  """log p(x) for x in {0, 1} (or [0, 1]: the cross-entropy), from logits.

  log p = x log sigmoid(l) + (1 - x) log sigmoid(-l) = x l - softplus(l).
  """
  return _sum_event(x * logits - jax.nn.softplus(logits))


def gaussian(x, mean, log_var):
  """log N(x; mean, diag(exp(log_var)))."""
  return _sum_event(-0.5 * (math.log(2 * math.pi) + log_var + (x - mean) ** 2 * jnp.exp(-log_var)))
