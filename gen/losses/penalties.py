"""Penalties on the discriminator's input gradient.

Both are E (||grad_y D(y)||_2 - 1)^2 with the norm over all non-batch axes of
one example; they differ in where y is drawn. The penalty is per example, so D
must not mix examples (no batch norm: Gulrajani et al. 2017, sec. 4).

`eps` > 0 takes the norm as sqrt(eps + sum grad^2), as compare_gan, the code of
Lucic et al. 2018 (src/gans/WGAN_GP.py and DRAGAN.py: `slopes = tf.sqrt(0.0001 +
reduce_sum(square(gradients)))`); smooth at 0, it needs no `safe_norm`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def gradient_norms(d_fn, y, eps: float = 0.0):
  """||grad_y D(y_i)||_2 per example (sqrt(eps + ||.||^2) for eps > 0); d_fn maps a
  batch to per-example outputs.

  D is per-example, so the gradient of sum_i D(y_i) w.r.t. y_i is that of D(y_i)
  (with batch norm it is the gradient of the sum, as tf.gradients in compare_gan).
  """
  grads = jax.grad(lambda v: jnp.sum(d_fn(v)))(y)
  flat = grads.reshape(grads.shape[0], -1)
  if eps > 0:
    return jnp.sqrt(eps + jnp.sum(flat**2, axis=-1))
  return safe_norm(flat)


def safe_norm(v):
  """Row-wise ||v||_2 whose gradient is 0, not NaN, where v = 0.

  A ReLU critic has an exactly zero input gradient wherever a whole layer is
  inactive; d sqrt(s)/ds is infinite at s = 0, so the plain norm makes the
  penalty's gradient NaN there (it stopped DRAGAN runs on grid25). The value is
  exact everywhere; only the undefined derivative at 0 is set to 0.
  """
  sq = jnp.sum(v**2, axis=-1)
  positive = sq > 0
  return jnp.where(positive, jnp.sqrt(jnp.where(positive, sq, 1.0)), 0.0)


def gradient_penalty(d_fn, y, target: float = 1.0, eps: float = 0.0, on: str = 'output'):
  """(E (||grad D(y)||_2 - target)^2, mean norm); eps as `gradient_norms`; `on`
  (PENALTY_ON) 'sigmoid' takes the gradient of s(D(y))."""
  if on == 'sigmoid':
    return gradient_penalty(lambda v: jax.nn.sigmoid(d_fn(v)), y, target, eps)
  norms = gradient_norms(d_fn, y, eps)
  return jnp.mean((norms - target) ** 2), jnp.mean(norms)


def _per_example(key, x):
  return jax.random.uniform(key, (x.shape[0],) + (1,) * (x.ndim - 1), x.dtype)


def wgan_gp_points(key, real, fake):
  """y = u x + (1 - u) G(z), u ~ U[0, 1] per example (Gulrajani et al. 2017, Algorithm 1)."""
  u = _per_example(key, real)
  return u * real + (1.0 - u) * fake


def dragan_points(key, real, fake=None):
  """Points around the data: x + alpha * delta (Kodali et al. 2017, sec. 4 / eq. 4).

  The paper writes delta ~ N(0, cI); its reference code (and Lucic et al.'s
  compare_gan) draws delta = 0.5 * std(x) * U[0, 1) per coordinate, std over
  the whole batch, and alpha ~ U[0, 1] per example. We follow the code.
  """
  del fake
  k_delta, k_alpha = jax.random.split(key)
  delta = 0.5 * jnp.std(real) * jax.random.uniform(k_delta, real.shape, real.dtype)
  return real + _per_example(k_alpha, real) * delta


POINTS = {'wgan_gp': wgan_gp_points, 'dragan': dragan_points}
# What the penalty differentiates: D's raw output (logits, critic values) or, as
# compare_gan's DRAGAN (DRAGAN.py: gradients of `D_inter`, the sigmoid), s(D).
PENALTY_ON = ('output', 'sigmoid')
