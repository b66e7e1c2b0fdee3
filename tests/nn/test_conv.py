"""The shared convolution: every implementation equals lax in values and gradients."""

import contextlib

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen.nn import Conv
from gen.nn import conv as conv_lib
from gen.nn import onednn

# (height, width, kernel, stride, padding): DCGAN's k4 s2 p1, BEGAN's 3x3 'SAME' (stride 1 and
# 2), odd sizes the strides leave a remainder of, 1x1 kernels, stride above the kernel,
# asymmetric padding, and a window over the whole input (DCGAN D's last layer).
CASES = [
    (14, 14, (4, 4), (2, 2), ((1, 1), (1, 1))),
    (9, 7, (3, 3), (1, 1), 'SAME'),
    (9, 9, (3, 3), (2, 2), 'SAME'),
    (13, 11, (4, 4), (2, 2), ((1, 1), (1, 1))),
    (9, 9, (5, 5), (3, 3), ((2, 0), (1, 2))),
    (8, 8, (1, 1), (1, 1), 'VALID'),
    (8, 8, (1, 1), (2, 2), 'VALID'),
    (6, 6, (2, 2), (3, 3), ((1, 0), (1, 0))),
    (7, 7, (7, 7), (1, 1), 'VALID'),
    (10, 6, (3, 2), (2, 1), ((0, 2), (1, 1))),
]


def _lax(x, w, strides, padding):
  pads = conv_lib._pairs(padding, x.shape[1:3], w.shape[:2], strides)  # pylint: disable=protected-access
  return jax.lax.conv_general_dilated(x, w, strides, pads, dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


@pytest.mark.parametrize('impl', ['canonical', 'canonical without oneDNN', 'gemm'])
@pytest.mark.parametrize('h,w,kernel,strides,padding', CASES)
def test_impl_equals_lax_in_values_and_gradients(impl, h, w, kernel, strides, padding):
  kx, kw = jax.random.split(jax.random.PRNGKey(h * w + kernel[0]))
  x = jax.random.normal(kx, (3, h, w, 4))
  wt = jax.random.normal(kw, kernel + (4, 5))

  def loss(f):
    return lambda x, w: jnp.sum(jnp.sin(f(x, w)))

  lax_only = impl.endswith(' without oneDNN')
  ours = lambda x, w: conv_lib.conv(x, w, strides, padding, impl.split()[0])
  ref = lambda x, w: _lax(x, w, strides, padding)
  with onednn.disabled() if lax_only else contextlib.nullcontext():
    np.testing.assert_allclose(ours(x, wt), ref(x, wt), atol=1e-4, rtol=1e-5)
    chex.assert_trees_all_close(
        jax.grad(loss(ours), (0, 1))(x, wt), jax.grad(loss(ref), (0, 1))(x, wt), atol=1e-4, rtol=1e-4
    )


@pytest.mark.parametrize('use_onednn', [False, True])
def test_canonical_gradients_inside_a_scan_are_canonical_and_equal(use_onednn):
  """Inside a loop body XLA CPU leaves JAX's own transposes uncanonicalized; ours are
  convolutions in NHWC/HWIO/NHWC order there too (the whole point), or oneDNN's three
  kernels where gen/nn/onednn.py has them, with the same values."""
  if use_onednn and not onednn.available():
    pytest.skip('oneDNN is not available here (gen/nn/onednn.py)')
  x = jax.random.normal(jax.random.PRNGKey(0), (4, 8, 8, 3))
  wt = jax.random.normal(jax.random.PRNGKey(1), (4, 4, 3, 6))
  grad = jax.grad(lambda x, w: jnp.sum(jnp.sin(conv_lib.conv(x, w, (2, 2), 1, 'canonical'))), (0, 1))
  body = lambda x, w: jax.lax.scan(lambda c, _: (c, grad(x, w)), 0.0, None, length=2)[1]
  with contextlib.nullcontext() if use_onednn else onednn.disabled():
    scanned = jax.jit(lambda x, w: body(x, w))  # a new function: traced under this context
    chex.assert_trees_all_close(jax.tree.map(lambda g: g[0], scanned(x, wt)), grad(x, wt), atol=1e-5)
    hlo = scanned.lower(x, wt).as_text()
  convs = [line for line in hlo.splitlines() if 'stablehlo.convolution' in line]
  calls = [kind for kind in onednn.KINDS if f'gen_onednn_{kind}_' in hlo]
  if use_onednn:
    assert not convs and calls == list(onednn.KINDS)
  else:
    assert not calls
    assert len(convs) == 3 and all('[b, 0, 1, f]x[0, 1, i, o]->[b, 0, 1, f]' in c for c in convs)


def test_auto_chooses_by_backend_and_window_size():
  cpu = jax.default_backend() == 'cpu'
  assert conv_lib.resolve_impl('auto', (4, 4, 3, 64)) == ('gemm' if cpu else 'xla')  # 48 values
  assert conv_lib.resolve_impl('auto', (4, 4, 32, 64)) == ('canonical' if cpu else 'xla')
  assert conv_lib.resolve_impl('xla', (4, 4, 3, 64)) == 'xla'
  # Stride 1 and >= 128 outputs (Gated PixelCNN's stacks): im2col as well without oneDNN,
  # whose weight gradient is fast there; strided: not.
  wide = 'gemm' if cpu and not onednn.available() else 'canonical' if cpu else 'xla'
  assert conv_lib.resolve_impl('auto', (2, 3, 64, 128)) == wide
  with onednn.disabled():
    assert conv_lib.resolve_impl('auto', (2, 3, 64, 128)) == ('gemm' if cpu else 'xla')
  assert conv_lib.resolve_impl('auto', (4, 4, 64, 128), (2, 2)) == ('canonical' if cpu else 'xla')


def test_module_has_nn_conv_parameters_and_init():
  """Same names, shapes and initial values as flax's nn.Conv, so networks and checkpoints
  are unchanged by the switch."""
  x = jnp.ones((2, 9, 9, 3))
  ours = Conv(8, (3, 3), strides=(2, 2)).init(jax.random.PRNGKey(0), x)
  theirs = nn.Conv(8, (3, 3), strides=(2, 2)).init(jax.random.PRNGKey(0), x)
  chex.assert_trees_all_equal(ours, theirs)
  y = Conv(8, (3, 3), strides=(2, 2)).apply(ours, x)
  np.testing.assert_allclose(y, nn.Conv(8, (3, 3), strides=(2, 2)).apply(theirs, x), atol=1e-5)
  with pytest.raises(ValueError, match='valid: auto, xla, canonical'):
    conv_lib.conv(x, jnp.ones((3, 3, 3, 8)), impl='fast')
