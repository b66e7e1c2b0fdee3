"""Minibatch discrimination and minibatch stddev against values computed by hand."""

import jax
import jax.numpy as jnp
import numpy as np

from gen import nn as gnn
from gen.nn import MinibatchDiscrimination, MinibatchStdDev


def _mbd(f, t, num_kernels, kernel_dim):
  m = MinibatchDiscrimination(num_kernels, kernel_dim)
  return np.asarray(m.apply({'params': {'kernel': jnp.asarray(t)}}, jnp.asarray(f)))


def test_minibatch_discrimination_by_hand():
  # A = 1, B = 2, C = 2: M_i = f_i [[1, 0], [2, 1]], so the L1 distance of kernel
  # 0 is |f_i - f_j| and of kernel 1 is 3 |f_i - f_j|. f = 0, 1, 3.
  f = np.array([[0.0], [1.0], [3.0]], np.float32)
  t = np.array([[1.0, 0.0, 2.0, 1.0]], np.float32)
  e = np.exp
  expected_o = [
      [1 + e(-1) + e(-3), 1 + e(-3) + e(-9)],
      [e(-1) + 1 + e(-2), e(-3) + 1 + e(-6)],
      [e(-3) + e(-2) + 1, e(-9) + e(-6) + 1],
  ]
  out = _mbd(f, t, 2, 2)
  assert out.shape == (3, 1 + 2)
  np.testing.assert_array_equal(out[:, :1], f)  # the input features pass through
  np.testing.assert_allclose(out[:, 1:], expected_o, rtol=1e-6)


def test_minibatch_discrimination_matches_the_definition():
  rng = np.random.default_rng(0)
  n, a, b, c = 5, 4, 3, 2
  f = rng.normal(size=(n, a)).astype(np.float32)
  t = rng.normal(scale=0.3, size=(a, b * c)).astype(np.float32)
  m = (f.astype(np.float64) @ t).reshape(n, b, c)
  o = np.zeros((n, b))
  for i in range(n):
    for j in range(n):  # j over the whole minibatch, i included (Salimans et al. 2016)
      o[i] += np.exp(-np.abs(m[i] - m[j]).sum(-1))
  np.testing.assert_allclose(_mbd(f, t, b, c)[:, a:], o, rtol=1e-5)


def test_minibatch_discrimination_flattens_and_mixes_the_batch():
  x = jax.random.normal(jax.random.PRNGKey(0), (4, 2, 2, 3))
  layer = MinibatchDiscrimination(num_kernels=7, kernel_dim=3)
  params, stats = gnn.init_variables(layer, jax.random.PRNGKey(1), x)
  assert params['kernel'].shape == (12, 21) and stats == {}
  assert float(jnp.std(params['kernel'])) < 0.1  # N(0, 0.05^2) init
  out, _ = gnn.apply(layer, params, stats, x)
  assert out.shape == (4, 12 + 7)
  # Example 0's features change when only example 3 changes.
  out2, _ = gnn.apply(layer, params, stats, x.at[3].set(x[3] + 1.0))
  assert not np.allclose(out[0], out2[0])
  np.testing.assert_array_equal(out[:3, :12], out2[:3, :12])
  # Permuting the batch permutes the output; gradients stay finite (|0| at i = j).
  perm = jnp.array([2, 0, 3, 1])
  np.testing.assert_allclose(gnn.apply(layer, params, stats, x[perm])[0], out[perm], rtol=1e-6)
  g = jax.grad(lambda p: jnp.sum(gnn.apply(layer, p, stats, x)[0]))(params)
  assert bool(jnp.all(jnp.isfinite(g['kernel'])))


def test_minibatch_stddev_by_hand():
  # Feature 0: 1, 3 -> biased std 1; feature 1: 2, 2 -> std 0 (sqrt(eps)).
  x = jnp.array([[1.0, 2.0], [3.0, 2.0]])
  out = MinibatchStdDev().apply({}, x)
  assert out.shape == (2, 3)
  np.testing.assert_array_equal(out[:, :2], x)
  np.testing.assert_allclose(out[:, 2], (np.sqrt(1 + 1e-8) + np.sqrt(1e-8)) / 2, rtol=1e-6)


def test_minibatch_stddev_nhwc():
  # (N, H, W, C) = (2, 1, 2, 1): position 0 holds 0, 2 (std 1), position 1
  # holds 2, 6 (std 2); their mean, 1.5, is the new channel everywhere.
  x = jnp.array([[[[0.0], [2.0]]], [[[2.0], [6.0]]]])
  out = MinibatchStdDev(epsilon=0.0).apply({}, x)
  assert out.shape == (2, 1, 2, 2)
  np.testing.assert_array_equal(out[..., :1], x)
  np.testing.assert_allclose(out[..., 1], 1.5)


def test_minibatch_stddev_depends_on_the_batch_and_has_finite_gradient():
  layer = MinibatchStdDev()
  x = jnp.ones((3, 4, 4, 2))
  # All examples equal: std 0, yet the gradient is finite thanks to eps.
  g = jax.grad(lambda v: jnp.sum(layer.apply({}, v)))(x)
  assert bool(jnp.all(jnp.isfinite(g)))
  y = layer.apply({}, x.at[2].set(5.0))
  assert float(layer.apply({}, x)[0, 0, 0, 2]) < 1e-3 < float(y[0, 0, 0, 2])
