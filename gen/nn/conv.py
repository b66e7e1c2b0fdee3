"""2-D convolution (NHWC, kernel HWIO), one layer, implementations chosen per backend.

Implementations (`impl='auto'` picks 'xla' off CPU; on CPU, by shape, the first that fits:
a window over the whole input is one matrix product, a window of at most
GEMM_MAX_WINDOW values (k*k*C, e.g. a first layer on 1 or 3 channels) or a
stride-1 convolution to at least GEMM_MIN_OUT_STRIDE1 channels is 'gemm', else
'canonical'). The second 'gemm' case: XLA CPU's weight gradient of a stride-1
3x3 convolution 64 -> 128 on 64x28x28 took 315 ms against a 98 ms forward; the
whole Gated PixelCNN step went from 4.8 to 3.1 s (BEGAN's unchanged within noise,
PixelCNN's 3x3 32 -> 32 layers are faster as convolutions, docs/RESULTS.md):
  'xla'        lax.conv_general_dilated, differentiated by JAX: what cuDNN and
               TPUs run best.
  'canonical'  the same forward; its gradients written out (custom VJP) as
               convolutions in the NHWC / HWIO / NHWC form. JAX's own
               transposes of a convolution use other dimension orders (e.g.
               the weight gradient contracts over the batch as a feature
               axis), which XLA CPU rewrites into that form only in a
               program's entry computation (ConvCanonicalization visits
               nothing else). Inside a lax.scan or while loop, as in n_disc
               discriminator updates or many steps per call, the rest falls
               back to a naive loop nest: 10-300x slower (docs/RESULTS.md).
  'gemm'       im2col: the k*k shifted, strided views of the input side by
               side, then one matrix product; differentiated by JAX (slices,
               pads and products, fast anywhere). On few input channels XLA
               CPU's convolution kernels, the weight gradient above all, are
               several times slower than this (bench/conv_layers.py).

The three convolutions (Dumoulin & Visin 2016, sec. 2-4), per spatial axis, for
a stride s, kernel size k and padding (lo, hi):
  forward  y[i] = sum_t xpad[s*i + t] w[t]
  input    dx = the transposed convolution of dy: dy dilated by s, padded by
           (k-1-lo, k-1-hi+r), correlated with w flipped and its I/O swapped,
           where r = rows of the padded input no window reached
  weight   dw[t] = sum_i xpad[s*i + t] dy[i]: a convolution whose batch axis
           is x's channels and whose kernel is dy dilated by s.
`transpose_input` (the second) is also the forward of the transposed
convolution layer (gen/nn/conv_transpose.py), which shares this VJP.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

_DN = ('NHWC', 'HWIO', 'NHWC')
IMPLS = ('auto', 'xla', 'canonical', 'gemm')
# On CPU, windows of at most this many values (k*k*C) are unfolded (im2col) rather than convolved.
GEMM_MAX_WINDOW = 128
# On CPU, stride-1 convolutions to at least this many channels are unfolded too.
GEMM_MIN_OUT_STRIDE1 = 128

Padding = tuple[tuple[int, int], tuple[int, int]]


def lax_conv(x, w, strides=(1, 1), padding=((0, 0), (0, 0)), lhs_dilation=(1, 1), rhs_dilation=(1, 1)):
  return lax.conv_general_dilated(
      x,
      w,
      strides,
      padding,
      lhs_dilation=lhs_dilation,
      rhs_dilation=rhs_dilation,
      dimension_numbers=_DN,
  )


def _unreached(size: int, k: int, s: int, lo: int, hi: int) -> int:
  """Rows at the end of the padded input that no window of the forward pass reached."""
  return (size + lo + hi - k) % s


def transpose_input(dy, w, strides, padding: Padding, in_hw: tuple[int, int]):
  """dx of y = conv(x, w, strides, padding) for x of spatial size `in_hw`."""
  pads = []
  for d in range(2):
    k, s, (lo, hi) = w.shape[d], strides[d], padding[d]
    r = _unreached(in_hw[d], k, s, lo, hi)
    pads.append((k - 1 - lo, k - 1 - hi + r))
  w_t = jnp.swapaxes(w[::-1, ::-1], 2, 3)
  return lax_conv(dy, w_t, padding=pads, lhs_dilation=strides)


def weight_grad(x, dy, strides, padding: Padding, kernel_hw: tuple[int, int]):
  """dw of y = conv(x, w, strides, padding) for a kernel of spatial size `kernel_hw`."""
  pads = []
  for d in range(2):
    k, s, (lo, hi) = kernel_hw[d], strides[d], padding[d]
    hi -= _unreached(x.shape[1 + d], k, s, lo, hi)
    if hi < 0:  # the last rows reach no window: drop them instead of padding negatively
      x = lax.slice_in_dim(x, 0, x.shape[1 + d] + hi, axis=1 + d)
      hi = 0
    pads.append((lo, hi))
  # Batch axis: x's channels; feature (contracted) axis: the examples.
  dw = lax_conv(
      jnp.transpose(x, (3, 1, 2, 0)),
      jnp.transpose(dy, (1, 2, 0, 3)),
      padding=pads,
      rhs_dilation=strides,
  )
  return jnp.transpose(dw, (1, 2, 0, 3))


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _canonical(x, w, strides, padding):
  return lax_conv(x, w, strides, padding)


def _canonical_fwd(x, w, strides, padding):
  return _canonical(x, w, strides, padding), (x, w)


def _canonical_bwd(strides, padding, res, dy):
  x, w = res
  dx = transpose_input(dy, w, strides, padding, x.shape[1:3])
  return dx, weight_grad(x, dy, strides, padding, w.shape[:2])


_canonical.defvjp(_canonical_fwd, _canonical_bwd)


def _pads_fit(kernel_hw, padding: Padding) -> bool:
  """Whether the input gradient's padding (k - 1 - pad) is >= 0; a padding wider than
  the kernel (never used by the networks here) keeps the plain form."""
  return all(max(lo, hi) <= k - 1 for k, (lo, hi) in zip(kernel_hw, padding))


def _gemm(x, w, strides, padding: Padding):
  kh, kw, c, o = w.shape
  (sh, sw), n = strides, x.shape[0]
  x = jnp.pad(x, ((0, 0), padding[0], padding[1], (0, 0)))
  ho, wo = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
  def tap(ty, tx):  # the input values that kernel tap (ty, tx) multiplies, (N, Ho, Wo, C)
    end = (n, ty + sh * (ho - 1) + 1, tx + sw * (wo - 1) + 1, c)
    return lax.slice(x, (0, ty, tx, 0), end, (1, sh, sw, 1))

  # (N, Ho, Wo, kh*kw*C), in the kernel's (ty, tx, c) order
  cols = jnp.concatenate([tap(ty, tx) for ty in range(kh) for tx in range(kw)], axis=-1)
  return (cols.reshape(-1, kh * kw * c) @ w.reshape(kh * kw * c, o)).reshape(n, ho, wo, o)


def resolve_impl(impl: str, w_shape=None, strides=(1, 1)) -> str:
  """The implementation `impl` names; 'auto' chooses by backend and, on CPU, by shape."""
  if impl not in IMPLS:
    raise ValueError(f'Unknown conv impl {impl!r}; valid: {", ".join(IMPLS)}.')
  if impl != 'auto':
    return impl
  if jax.default_backend() != 'cpu':
    return 'xla'
  if w_shape is not None and w_shape[0] * w_shape[1] * w_shape[2] <= GEMM_MAX_WINDOW:
    return 'gemm'
  if w_shape is not None and tuple(strides) == (1, 1) and w_shape[3] >= GEMM_MIN_OUT_STRIDE1:
    return 'gemm'
  return 'canonical'


def _pairs(padding, x_hw, kernel_hw, strides) -> Padding:
  if isinstance(padding, str):
    return tuple(lax.padtype_to_pads(x_hw, kernel_hw, strides, padding))
  if isinstance(padding, int):
    return ((padding, padding), (padding, padding))
  return tuple((int(lo), int(hi)) for lo, hi in padding)


def conv(x, w, strides: Sequence[int] = (1, 1), padding='VALID', impl: str = 'auto'):
  """Cross-correlation of NHWC `x` with HWIO `w`; padding 'SAME' | 'VALID' | int | pairs."""
  strides = tuple(int(s) for s in strides)
  pads = _pairs(padding, x.shape[1:3], w.shape[:2], strides)
  impl = resolve_impl(impl, w.shape, strides)
  if impl == 'xla' or min(min(p) for p in pads) < 0:
    return lax_conv(x, w, strides, pads)
  if w.shape[:2] == x.shape[1:3] and pads == ((0, 0), (0, 0)):
    # One window over the whole input (e.g. DCGAN D's last layer): a matrix product.
    n = x.shape[0]
    return (x.reshape(n, -1) @ w.reshape(-1, w.shape[-1])).reshape(n, 1, 1, -1)
  if impl == 'gemm':
    return _gemm(x, w, strides, pads)
  if _pads_fit(w.shape[:2], pads):
    return _canonical(x, w, strides, pads)
  return lax_conv(x, w, strides, pads)


class Conv(nn.Module):
  """A 2-D convolution layer with nn.Conv's parameters ('kernel' HWIO, 'bias') and init."""

  features: int
  kernel_size: Sequence[int] = (3, 3)
  strides: Sequence[int] = (1, 1)
  padding: str | int | Sequence[tuple[int, int]] = 'SAME'
  use_bias: bool = True
  impl: str = 'auto'
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  bias_init: nn.initializers.Initializer = nn.initializers.zeros

  @nn.compact
  def __call__(self, x):
    shape = tuple(self.kernel_size) + (x.shape[-1], self.features)
    w = self.param('kernel', self.kernel_init, shape)
    y = conv(x, w.astype(x.dtype), self.strides, self.padding, self.impl)
    if self.use_bias:
      y = y + self.param('bias', self.bias_init, (self.features,)).astype(y.dtype)
    return y
