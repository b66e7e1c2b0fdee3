"""2-D convolution (NHWC, kernel HWIO), one layer, implementations chosen per backend.

Implementations (`impl='auto'` picks 'xla' off CPU; on CPU, by shape, the first that fits:
a window over the whole input is one matrix product, a window of at most
GEMM_MAX_WINDOW values (k*k*C, e.g. a first layer on 1 or 3 channels) is 'gemm',
and without oneDNN (gen/nn/onednn.py) a stride-1 convolution to at least
GEMM_MIN_OUT_STRIDE1 channels too; else 'canonical'. The last rule: XLA CPU's weight
gradient of a stride-1 3x3 convolution 64 -> 128 on 64x28x28 took 315 ms against a
98 ms forward, and the Gated PixelCNN step went from 4.8 to 3.1 s as im2col;
oneDNN's weight gradient has no such gap, docs/RESULTS.md):
  'xla'        lax.conv_general_dilated, differentiated by JAX: what cuDNN and
               TPUs run best.
  'canonical'  `forward` below: on CPU oneDNN's kernels (what PyTorch's CPU
               convolutions run) where gen/nn/onednn.py has them, else the XLA
               convolution; its derivatives, of any order, written out (custom
               VJPs) in the same forms. JAX's own transposes of a convolution
               use other dimension orders (e.g. the weight gradient contracts
               over the batch as a feature axis), which XLA CPU rewrites into
               its fast NHWC / HWIO / NHWC form only in a program's entry
               computation (ConvCanonicalization visits nothing else). Inside
               a lax.scan or while loop, as in n_disc discriminator updates or
               many steps per call, the rest falls back to a naive loop nest:
               10-300x slower (docs/RESULTS.md).
  'gemm'       im2col: the k*k shifted, strided views of the input side by
               side, then one matrix product; differentiated by JAX (slices,
               pads and products, fast anywhere). On few input channels this
               beats the convolution kernels, XLA's weight gradient above all
               (bench/conv_layers.py).

The three convolutions (Dumoulin & Visin 2016, sec. 2-4), per spatial axis, for
a stride s, kernel size k and padding (lo, hi):
  forward  y[i] = sum_t xpad[s*i + t] w[t]
  input    dx = the transposed convolution of dy: dy dilated by s, padded by
           (k-1-lo, k-1-hi+r), correlated with w flipped and its I/O swapped,
           where r = rows of the padded input no window reached
  weight   dw[t] = sum_i xpad[s*i + t] dy[i]: a convolution whose batch axis
           is x's channels and whose kernel is dy dilated by s.
`forward`, `transpose_input` and `weight_grad` below are the three, each with its
fastest kernel and derivatives; `transpose_input` is also the transposed
convolution layer (gen/nn/conv_transpose.py) and PixelCNN++'s deconvolutions.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from gen.nn import onednn

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


def lax_transpose_input(dy, w, strides, padding: Padding, in_hw: tuple[int, int]):
  """dx of y = conv(x, w, strides, padding) for x of spatial size `in_hw`, as one XLA
  convolution of the s-dilated dy (canonical form)."""
  pads = []
  for d in range(2):
    k, s, (lo, hi) = w.shape[d], strides[d], padding[d]
    r = _unreached(in_hw[d], k, s, lo, hi)
    pads.append((k - 1 - lo, k - 1 - hi + r))
  w_t = jnp.swapaxes(w[::-1, ::-1], 2, 3)
  return lax_conv(dy, w_t, padding=pads, lhs_dilation=strides)


def lax_weight_grad(x, dy, strides, padding: Padding, kernel_hw: tuple[int, int]):
  """dw of y = conv(x, w, strides, padding) for a kernel of spatial size `kernel_hw`, as
  one XLA convolution in canonical form."""
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


def _lax_forward(x, w, strides, padding: Padding, size=None):
  del size
  return lax_conv(x, w, strides, padding)


# The three convolutions as one family of custom VJPs. Each is bilinear in its two
# operands, so each one's VJP is the other two: for y = forward(x, w),
#   forward:         x̄ = input(ȳ, w)      w̄ = weight(x, ȳ)
#   input (dy, w):   d̄y = forward(x̄, w)    w̄ = weight(x̄, dy)
#   weight (x, dy):  x̄ = input(dy, w̄)     d̄y = forward(x, w̄)
# (bars: cotangents). Derivatives of any order stay in these three forms: oneDNN's
# kernels on CPU where gen/nn/onednn.py has them, else XLA convolutions in canonical
# form, fast also inside loops.


def _shapes(kind, a, b, size):
  """(x_shape, w_shape) of the convolution that primitive `kind` on (a, b) belongs to."""
  if kind == 'forward':
    return a.shape, b.shape
  if kind == 'input':  # a = dy, b = w, size = x's spatial size
    return (a.shape[0], *size, b.shape[2]), b.shape
  return a.shape, (*size, a.shape[3], b.shape[3])  # a = x, b = dy, size = kernel's


_LAX = {'forward': _lax_forward, 'input': lax_transpose_input, 'weight': lax_weight_grad}


def _primal(kind, a, b, strides, padding, size, use_onednn: bool):
  if use_onednn:
    x_shape, w_shape = _shapes(kind, a, b, size)
    return onednn.conv(kind, a, b, x_shape, w_shape, strides, padding, _LAX[kind])
  return _LAX[kind](a, b, strides, padding, size)


# `use_onednn` is a static argument, decided once per trace by the public functions
# below, so that traces cached for one choice are never reused for the other.
@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5))
def _forward(x, w, strides, padding, size, use_onednn):
  return _primal('forward', x, w, strides, padding, size, use_onednn)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5))
def _input(dy, w, strides, padding, in_hw, use_onednn):
  return _primal('input', dy, w, strides, padding, in_hw, use_onednn)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5))
def _weight(x, dy, strides, padding, kernel_hw, use_onednn):
  return _primal('weight', x, dy, strides, padding, kernel_hw, use_onednn)


def _forward_bwd(strides, padding, size, use_onednn, res, g):
  del size
  x, w = res
  dx = _input(g, w, strides, padding, x.shape[1:3], use_onednn)
  return dx, _weight(x, g, strides, padding, w.shape[:2], use_onednn)


def _input_bwd(strides, padding, in_hw, use_onednn, res, g):
  del in_hw
  dy, w = res
  ddy = _forward(g, w, strides, padding, None, use_onednn)
  return ddy, _weight(g, dy, strides, padding, w.shape[:2], use_onednn)


def _weight_bwd(strides, padding, kernel_hw, use_onednn, res, g):
  del kernel_hw
  x, dy = res
  dx = _input(dy, g, strides, padding, x.shape[1:3], use_onednn)
  return dx, _forward(x, g, strides, padding, None, use_onednn)


def _keeping_operands(fn):
  def fwd(a, b, *static):
    return fn(a, b, *static), (a, b)

  return fwd


for _fn, _bwd in ((_forward, _forward_bwd), (_input, _input_bwd), (_weight, _weight_bwd)):
  _fn.defvjp(_keeping_operands(_fn), _bwd)


def _static(a, b, strides, padding):
  strides = tuple(int(s) for s in strides)
  padding = tuple((int(lo), int(hi)) for lo, hi in padding)
  return strides, padding, onednn.usable(a, b, padding)


def forward(x, w, strides, padding: Padding):
  """y = conv(x, w, strides, padding) in the fastest form here, its derivatives too."""
  strides, padding, use_onednn = _static(x, w, strides, padding)
  return _forward(x, w, strides, padding, None, use_onednn)


def transpose_input(dy, w, strides, padding: Padding, in_hw: tuple[int, int]):
  """dx of y = conv(x, w, strides, padding) for x of spatial size `in_hw` (the transposed
  convolution of dy), in the fastest form here, its derivatives too."""
  strides, padding, use_onednn = _static(dy, w, strides, padding)
  return _input(dy, w, strides, padding, tuple(int(n) for n in in_hw), use_onednn)


def weight_grad(x, dy, strides, padding: Padding, kernel_hw: tuple[int, int]):
  """dw of y = conv(x, w, strides, padding) for a kernel of spatial size `kernel_hw`, in
  the fastest form here, its derivatives too."""
  strides, padding, use_onednn = _static(x, dy, strides, padding)
  return _weight(x, dy, strides, padding, tuple(int(n) for n in kernel_hw), use_onednn)


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
  if (
      w_shape is not None
      and tuple(strides) == (1, 1)
      and w_shape[3] >= GEMM_MIN_OUT_STRIDE1
      and not onednn.available()  # XLA's weight gradient is the slow part there, not oneDNN's
  ):
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
    return forward(x, w, strides, pads)
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
