"""The shared transposed convolution: every implementation equals the definition and lax."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen.nn import ConvTranspose
from gen.nn import conv_transpose as ct


def _reference(x, w, s, p):
  """out[s*i + t - p] += x[i] w[t] on each spatial axis (PyTorch ConvTranspose2d)."""
  n, h, wd, _ = x.shape
  k = w.shape[0]
  full = np.zeros((n, (h - 1) * s + k, (wd - 1) * s + k, w.shape[-1]))
  for i in range(h):
    for j in range(wd):
      full[:, s * i : s * i + k, s * j : s * j + k] += np.einsum('nc,abco->nabo', x[:, i, j], w)
  return full[:, p : full.shape[1] - p, p : full.shape[2] - p]


# (height, width, k, s, p): DCGAN's k4 s2 p1, its 1x1-input first layers (k7 and k4, p0),
# kernels not divisible by the stride, stride above the kernel, stride 1, 1 x N inputs.
CASES = [
    (3, 4, 4, 2, 1),
    (1, 1, 7, 1, 0),
    (1, 1, 4, 1, 0),
    (1, 1, 4, 2, 1),
    (2, 3, 6, 4, 1),
    (3, 3, 3, 1, 1),
    (3, 2, 5, 3, 1),
    (2, 2, 7, 1, 0),
    (4, 3, 7, 2, 3),
    (2, 2, 2, 3, 0),
    (1, 5, 4, 2, 1),
]
IMPLS = ('xla', 'canonical')


@pytest.mark.parametrize('h,w,k,s,p', CASES)
def test_every_impl_matches_definition_and_lax_gradients(h, w, k, s, p):
  kx, kw = jax.random.split(jax.random.PRNGKey(100 * h + 10 * k + s))
  x = jax.random.normal(kx, (2, h, w, 3))
  wt = jax.random.normal(kw, (k, k, 3, 5))
  ref = _reference(np.asarray(x, np.float64), np.asarray(wt, np.float64), s, p)

  def grads(impl):
    return jax.grad(lambda x, w: jnp.sum(jnp.sin(ct.conv_transpose(x, w, s, p, impl))), (0, 1))(
        x, wt
    )

  ref_grads = grads('xla')
  for impl in IMPLS:
    np.testing.assert_allclose(ct.conv_transpose(x, wt, s, p, impl), ref, atol=1e-4, err_msg=impl)
    chex.assert_trees_all_close(grads(impl), ref_grads, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('impl', ['canonical', 'xla'])
def test_gradients_inside_a_scan_equal_outside(impl):
  """The loop bodies of n_disc updates and of many steps per call see the same numbers."""
  kx, kw = jax.random.split(jax.random.PRNGKey(0))
  x = jax.random.normal(kx, (4, 5, 5, 6))
  wt = jax.random.normal(kw, (4, 4, 6, 3))
  grad = jax.grad(lambda x, w: jnp.sum(jnp.sin(ct.conv_transpose(x, w, 2, 1, impl))), (0, 1))
  in_scan = jax.lax.scan(lambda c, _: (c, grad(x, wt)), 0.0, None, length=2)[1]
  chex.assert_trees_all_close(jax.tree.map(lambda g: g[1], in_scan), grad(x, wt), atol=1e-5)


def test_module_shape_choice_and_errors():
  m = ConvTranspose(7)
  x = jnp.ones((2, 7, 7, 3))
  v = m.init(jax.random.PRNGKey(0), x)
  assert v['params']['kernel'].shape == (4, 4, 3, 7)
  chex.assert_shape(m.apply(v, x), (2, 14, 14, 7))
  assert ct.resolve_impl('auto') == ('canonical' if jax.default_backend() == 'cpu' else 'xla')
  with pytest.raises(ValueError, match='valid: auto, xla, canonical'):
    ct.conv_transpose(x, jnp.ones((3, 3, 3, 7)), 2, 1, 'subpixel')
  with pytest.raises(ValueError, match='padding <= k - 1'):
    ct.conv_transpose(x, jnp.ones((3, 3, 3, 7)), 2, 3)
