"""Test-set likelihood of any model with `log_likelihood` (the likelihood-model contract)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np


def bits_per_dim(nll_nats: float, num_dims: int) -> float:
  """bits/dim = NLL / (H * W * C * ln 2), for a discrete likelihood (a pmf over the levels)."""
  return nll_nats / (num_dims * math.log(2))


def evaluate(log_likelihood, state, batches, key, num_dims: int) -> dict:
  """Mean NLL in nats per example and bits/dim over `batches` of (batch, num_valid).

  Only the first num_valid rows of each batch count, and the mean divides by the
  number of examples actually scored (never by the number of batches). Sums are
  float64 on the host. Batch i gets fold_in(key, i).
  """
  ll = jax.jit(log_likelihood)
  total, count = 0.0, 0
  for i, (batch, valid) in enumerate(batches):
    batch = {k: jnp.asarray(v) for k, v in batch.items()}
    values = np.asarray(ll(state, batch, jax.random.fold_in(key, i)), np.float64)
    total += float(np.sum(values[:valid]))
    count += valid
  nll = -total / count
  return {'nll_nats': nll, 'bits_per_dim': bits_per_dim(nll, num_dims), 'num_examples': count}
