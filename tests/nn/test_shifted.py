"""Shifted convolutions, their transposes, the shifts and weight normalisation (gen.nn.shifted)
against explicit padding + lax, a loop reference of TF's conv2d_transpose, and the
data-dependent init's promise."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from gen.nn import conv as conv_lib
from gen.nn import shifted

_DN = ('NHWC', 'HWIO', 'NHWC')


def _rand(key, shape):
  return jax.random.normal(jax.random.key(key), shape)


def _apply_with(module, params, x):
  return module.apply({'params': params}, x)


def _params(v, key=7):
  """Non-trivial g, b for V (the out axis is the last for convs)."""
  out = v.shape[-1]
  return {'V': v, 'g': 1.0 + 0.1 * _rand(key, (out,)), 'b': 0.1 * _rand(key + 1, (out,))}


def test_shifts():
  x = jnp.arange(2 * 3 * 4 * 1.0).reshape(1, 3, 4, 2)
  d, r = shifted.down_shift(x), shifted.right_shift(x)
  np.testing.assert_array_equal(d[:, 0], 0.0)
  np.testing.assert_array_equal(d[:, 1:], x[:, :-1])
  np.testing.assert_array_equal(r[:, :, 0], 0.0)
  np.testing.assert_array_equal(r[:, :, 1:], x[:, :, :-1])
  np.testing.assert_allclose(
      shifted.concat_elu(x), jax.nn.elu(jnp.concatenate([x, -x], -1)), rtol=0
  )


# (layer, kernel, strides, the explicit padding (top, bottom), (left, right) it must equal)
_CONVS = [
    (shifted.DownShiftedConv, (2, 3), (1, 1), ((1, 0), (1, 1))),
    (shifted.DownShiftedConv, (1, 3), (1, 1), ((0, 0), (1, 1))),
    (shifted.DownShiftedConv, (2, 3), (2, 2), ((1, 0), (1, 1))),
    (shifted.DownRightShiftedConv, (2, 2), (1, 1), ((1, 0), (1, 0))),
    (shifted.DownRightShiftedConv, (2, 1), (1, 1), ((1, 0), (0, 0))),
    (shifted.DownRightShiftedConv, (2, 2), (2, 2), ((1, 0), (1, 0))),
]


@pytest.mark.parametrize('channels', [20, 3])  # k*k*C > 128: canonical convolution; else im2col
def test_shifted_conv_is_pad_plus_lax_conv(channels):
  x = _rand(0, (2, 8, 8, channels))
  for make, kernel, strides, pads in _CONVS:
    layer = make(6, kernel, strides)
    params = _params(_rand(1, tuple(kernel) + (channels, 6)))

    def ours(x, params, layer=layer):
      return _apply_with(layer, params, x)

    def reference(x, params, pads=pads, strides=strides):
      w = params['g'] * params['V'] / jnp.sqrt(jnp.sum(params['V'] ** 2, axis=(0, 1, 2)))
      xp = jnp.pad(x, ((0, 0),) + pads + ((0, 0),))
      y = lax.conv_general_dilated(xp, w, strides, 'VALID', dimension_numbers=_DN)
      return y + params['b']

    dy = _rand(2, (2, 8 // strides[0], 8 // strides[1], 6))

    @jax.jit
    def both(x, params, dy=dy, ours=ours, reference=reference):
      out = []
      for f in (ours, reference):
        loss = lambda x, p, f=f: jnp.sum(f(x, p) * dy)
        out.append((f(x, params), jax.grad(loss, argnums=(0, 1))(x, params)))
      return out

    (y, got), (want_y, want) = both(x, params)
    np.testing.assert_allclose(y, want_y, atol=1e-5, err_msg=f'{make.__name__} {kernel} {strides}')
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
      np.testing.assert_allclose(a, b, atol=1e-4)


def _tf_deconv_reference(x, w, strides, kernel, lo):
  """TF conv2d_transpose 'VALID' (out[s i + t] += x[i] w[t], output n s + k - 1), then
  openai's crop from `lo`, by loops over the taps."""
  n, h, wd, _ = x.shape
  (kh, kw), (sh, sw) = kernel, strides
  out = np.zeros((n, h * sh + kh - 1, wd * sw + kw - 1, w.shape[2]))
  x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
  for ty in range(kh):
    for tx in range(kw):
      contrib = np.einsum('nhwi,oi->nhwo', x, w[ty, tx])
      out[:, ty : ty + sh * h : sh, tx : tx + sw * wd : sw] += contrib
  return out[:, lo[0] : lo[0] + h * sh, lo[1] : lo[1] + wd * sw]


@pytest.mark.parametrize(
    'make, kernel, lo',
    [(shifted.DownShiftedDeconv, (2, 3), (0, 1)), (shifted.DownRightShiftedDeconv, (2, 2), (0, 0))],
)
def test_shifted_deconv_is_tf_conv_transpose_cropped(make, kernel, lo):
  x = _rand(0, (2, 4, 4, 5))
  v = _rand(1, tuple(kernel) + (6, 5))  # (kh, kw, out, in) as TF
  params = {'V': v, 'g': 1.0 + 0.1 * _rand(3, (6,)), 'b': 0.1 * _rand(4, (6,))}
  layer = make(6, kernel)
  y = _apply_with(layer, params, x)
  w = params['g'][:, None] * v / jnp.sqrt(jnp.sum(v**2, axis=(0, 1, 3), keepdims=True))
  want = _tf_deconv_reference(x, w, (2, 2), kernel, lo) + np.asarray(params['b'])
  assert y.shape == (2, 8, 8, 6)
  np.testing.assert_allclose(y, want, atol=1e-5)
  # The CPU custom VJP (these tests run on CPU) equals JAX's own transpose of the lax form.
  dy = _rand(2, y.shape)
  pads = shifted._deconv_pads(kernel, lo)
  ours = lambda x, w: jnp.sum(shifted.deconv(x, w, (2, 2), lo) * dy)
  ref = lambda x, w: jnp.sum(conv_lib.transpose_input(x, w, (2, 2), pads, (8, 8)) * dy)
  grads = jax.jit(lambda x, w: (jax.grad(ours, (0, 1))(x, w), jax.grad(ref, (0, 1))(x, w)))
  for a, b in zip(*grads(x, w)):
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_data_dependent_init_normalises_the_init_batch():
  cases = [
      (shifted.WNDense(7, init_scale=1.0), (16, 5, 5, 9)),
      (shifted.DownShiftedConv(7, (2, 3), init_scale=0.1), (16, 8, 8, 9)),
      (shifted.DownRightShiftedConv(7, (2, 2), (2, 2), init_scale=1.0), (16, 8, 8, 9)),
      (shifted.WNDeconv(7, (2, 3), (0, 1), init_scale=0.1), (16, 4, 4, 9)),
  ]
  for module, in_shape in cases:
    x = 3.0 + 2.0 * _rand(0, in_shape)
    y, variables = jax.jit(module.init_with_output)(jax.random.key(1), x)
    s = module.init_scale
    np.testing.assert_allclose(jnp.mean(y, (0, 1, 2)), 0.0, atol=1e-5 * s + 1e-6)
    np.testing.assert_allclose(jnp.std(y, (0, 1, 2)), s, rtol=1e-4)
    # The stored g, b give the same outputs when applied (what openai's PR #37 fixed).
    np.testing.assert_allclose(jax.jit(module.apply)(variables, x), y, atol=1e-4 * s)
    assert abs(float(jnp.std(variables['params']['V'])) - 0.05) < 0.01  # V ~ N(0, 0.05^2)
