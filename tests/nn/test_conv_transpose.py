"""The shared transposed convolution: both implementations equal the definition."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen.nn import ConvTranspose
from gen.nn.conv_transpose import conv_transpose


def _reference(x, w, s, p):
  """out[s*i + t - p] += x[i] w[t] on each spatial axis (PyTorch ConvTranspose2d)."""
  n, h, wd, _ = x.shape
  k = w.shape[0]
  full = np.zeros((n, (h - 1) * s + k, (wd - 1) * s + k, w.shape[-1]))
  for i in range(h):
    for j in range(wd):
      full[:, s * i : s * i + k, s * j : s * j + k] += np.einsum('nc,abco->nabo', x[:, i, j], w)
  return full[:, p : full.shape[1] - p, p : full.shape[2] - p]


@pytest.mark.parametrize('k,s,p', [(4, 2, 1), (6, 4, 1), (3, 1, 1), (5, 3, 1), (7, 1, 0)])
def test_matches_definition(k, s, p):
  kx, kw = jax.random.split(jax.random.PRNGKey(k * 10 + s))
  x = jax.random.normal(kx, (2, 3, 4, 3))
  w = jax.random.normal(kw, (k, k, 3, 5))
  ref = _reference(np.asarray(x, np.float64), np.asarray(w, np.float64), s, p)
  np.testing.assert_allclose(conv_transpose(x, w, s, p, 'xla'), ref, atol=1e-4)
  if k - 2 * p == s and s > 1:
    np.testing.assert_allclose(conv_transpose(x, w, s, p, 'subpixel'), ref, atol=1e-4)


def test_subpixel_and_xla_gradients_agree():
  kx, kw = jax.random.split(jax.random.PRNGKey(0))
  x = jax.random.normal(kx, (2, 5, 5, 4))
  w = jax.random.normal(kw, (4, 4, 4, 3))

  def loss(impl):
    return jax.grad(lambda x, w: jnp.sum(jnp.sin(conv_transpose(x, w, 2, 1, impl))), (0, 1))(x, w)

  chex.assert_trees_all_close(loss('xla'), loss('subpixel'), rtol=1e-7, atol=1e-4)


def test_module_shape_and_impl_choice():
  m = ConvTranspose(7)
  x = jnp.ones((2, 7, 7, 3))
  v = m.init(jax.random.PRNGKey(0), x)
  assert v['params']['kernel'].shape == (4, 4, 3, 7)
  assert m.apply(v, x).shape == (2, 14, 14, 7)
  with pytest.raises(ValueError, match='subpixel needs'):
    conv_transpose(x, jnp.ones((3, 3, 3, 7)), 2, 1, 'subpixel')
