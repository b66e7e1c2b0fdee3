"""Variational bounds on log p(x) from log importance weights log w = log p(x, z) - log q(z|x).

  ELBO  L_1 = E_q[log w]                                  (Kingma & Welling 2014, eq. 3)
  IWAE  L_k = E[log (1/k) sum_i w_i],  z_i ~ q(z|x) iid   (Burda et al. 2016, eq. 8)
L_1 <= L_k <= L_{k+1} <= log p(x), and L_k -> log p(x) as k grows (their Theorem 1).
The gradient of L_k is sum_i w~_i grad log w_i with normalised weights w~ (their eq. 14):
autodiff of `logmeanexp` gives exactly that.
"""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp
from jax import lax


def logmeanexp(log_w, axis: int = 0):
  """log (1/k) sum_i exp(log_w_i) over `axis` (k its length), without overflow."""
  return jax.nn.logsumexp(log_w, axis=axis) - math.log(log_w.shape[axis])


def iwae_bound(log_w_fn: Callable[[jax.Array], jax.Array], key, k: int, chunk: int | None = None):
  """L_k per example from `log_w_fn(key) -> (N,)` (one draw of z per example per call).

  The k draws run `chunk` at a time (vmapped) inside a lax.scan that keeps a running
  (max, sum of exp) per example, so memory is that of `chunk` draws whatever k is
  (L_5000 of a whole test batch). Draw i uses fold_in(key, i) for any chunk size, so
  the value does not depend on `chunk`, and L_1 is exactly log_w_fn(fold_in(key, 0)).
  """
  chunk = min(chunk or k, k)
  if k % chunk:
    raise ValueError(f'iwae_bound: k={k} is not a multiple of chunk={chunk}.')

  def draws(c):  # (chunk, N) log weights of draws c*chunk .. (c+1)*chunk - 1
    if chunk == 1:  # not vmapped: the same computation, to the bit, as one direct draw
      return log_w_fn(jax.random.fold_in(key, c))[None]
    ids = c * chunk + jnp.arange(chunk)
    return jax.vmap(lambda i: log_w_fn(jax.random.fold_in(key, i)))(ids)

  def body(carry, c):
    top, total = carry
    lw = draws(c)
    new_top = jnp.maximum(top, jnp.max(lw, axis=0))
    total = total * jnp.exp(top - new_top) + jnp.sum(jnp.exp(lw - new_top), axis=0)
    return (new_top, total), None

  first = draws(0)
  top = jnp.max(first, axis=0)
  carry = (top, jnp.sum(jnp.exp(first - top), axis=0))
  if k > chunk:
    carry, _ = lax.scan(body, carry, jnp.arange(1, k // chunk))
  top, total = carry
  return top + jnp.log(total) - math.log(k)
