"""Transposed ("fractionally strided") convolution, one layer, implementations per backend.

Semantics are PyTorch's ConvTranspose2d (Dumoulin & Visin 2016, sec. 4):
out[s*i + t - p] += x[i] * w[t] along each spatial axis, kernel (k, k, in, out),
output size (n - 1) s - 2p + k. It is the input gradient of a strided
convolution (gen/nn/conv.py) whose kernel has in and out swapped.

Implementations (`impl='auto'` picks 'gemm' on CPU, 'xla' elsewhere):
  'xla'        lax.conv_general_dilated on the s-dilated input with the flipped
               kernel, differentiated by JAX: the direct form for cuDNN / TPU.
  'canonical'  the same forward; the gradients are the strided convolution and
               its weight gradient in XLA CPU's canonical form (the VJP of
               gen/nn/conv.py), fast also inside loops.
  'gemm'       one matrix product x (N*H*W, I) @ w (I, k*k*O) gives every
               input pixel's k x k output patch; the patches are then summed
               where they overlap (col2im), phase by phase: with t = s*a + r,
               out[s*(i + a) + r] += patch[i, a, r], a sum of ceil(k/s)^2
               shifted copies per axis pair. No multiply is wasted (the
               dilated form multiplies (s^2 - 1)/s^2 zeros), and all of it is
               matrix products, pads and slices, which XLA CPU runs well
               anywhere. A 1x1 input (DCGAN's first layer) is one product.
"""

from __future__ import annotations

import functools
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from gen.nn import conv as conv_lib

IMPLS = ('auto', 'xla', 'canonical', 'gemm')


def _xla(x, w, s: int, p: int):
  k = w.shape[0]
  return conv_lib.lax_conv(
      x, w[::-1, ::-1], padding=[(k - 1 - p, k - 1 - p)] * 2, lhs_dilation=(s, s)
  )


def _out_hw(x, k: int, s: int, p: int) -> tuple[int, int]:
  return tuple((n - 1) * s - 2 * p + k for n in x.shape[1:3])


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _canonical(x, w, s: int, p: int):
  pads = ((p, p), (p, p))
  return conv_lib.transpose_input(
      x, jnp.swapaxes(w, 2, 3), (s, s), pads, _out_hw(x, w.shape[0], s, p)
  )


def _canonical_fwd(x, w, s, p):
  return _canonical(x, w, s, p), (x, w)


def _canonical_bwd(s, p, res, dy):
  x, w = res
  pads = ((p, p), (p, p))
  dx = conv_lib.lax_conv(dy, jnp.swapaxes(w, 2, 3), (s, s), pads)
  dw = conv_lib.weight_grad(dy, x, (s, s), pads, w.shape[:2])
  return dx, jnp.swapaxes(dw, 2, 3)


_canonical.defvjp(_canonical_fwd, _canonical_bwd)


def _gemm(x, w, s: int, p: int):
  n, h, wd, i = x.shape
  k, o = w.shape[0], w.shape[-1]
  a = math.ceil(k / s)  # taps per phase and axis
  if h == wd == 1 and p == 0 and a * s == k:
    # 1x1 input: out[t] = x w[t], one (N, I) @ (I, k*k*O) product.
    return (x.reshape(n, i) @ w.transpose(2, 0, 1, 3).reshape(i, k * k * o)).reshape(n, k, k, o)
  # Taps padded to a*s per axis and ordered (a_y, a_x, r_y, r_x, O) in the product's columns,
  # so each overlap term below is one contiguous block.
  w = jnp.pad(w, ((0, a * s - k), (0, a * s - k), (0, 0), (0, 0)))
  w = w.reshape(a, s, a, s, i, o).transpose(4, 0, 2, 1, 3, 5).reshape(i, a * a * s * s * o)
  patches = (x.reshape(n * h * wd, i) @ w).reshape(n, h, wd, a, a, s, s, o)
  if h == wd == 1:
    acc = patches[:, 0, 0]  # (N, a, a, s, s, O): nothing overlaps
  else:
    acc = sum(
        jnp.pad(patches[:, :, :, ay, ax], ((0, 0), (ay, a - 1 - ay), (ax, a - 1 - ax)) + ((0, 0),) * 3)
        for ay in range(a)
        for ax in range(a)
    )  # (N, h + a - 1, w + a - 1, s, s, O)
  hp, wp = acc.shape[1:3]
  out = acc.transpose(0, 1, 3, 2, 4, 5).reshape(n, hp * s, wp * s, o)  # depth to space
  ho, wo = _out_hw(x, k, s, p)
  return out[:, p : p + ho, p : p + wo]


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _gemm_canonical(x, w, s: int, p: int):
  return _gemm(x, w, s, p)


def _gemm_fwd(x, w, s, p):
  return _gemm(x, w, s, p), (x, w)


_gemm_canonical.defvjp(_gemm_fwd, _canonical_bwd)


def resolve_impl(impl: str) -> str:
  if impl not in IMPLS:
    raise ValueError(f'Unknown conv_transpose impl {impl!r}; valid: {", ".join(IMPLS)}.')
  if impl == 'auto':
    return 'gemm' if jax.default_backend() == 'cpu' else 'xla'
  return impl


def conv_transpose(x, w, stride: int, padding: int, impl: str = 'auto'):
  k = w.shape[0]
  if not 0 <= padding <= k - 1:
    raise ValueError(f'conv_transpose needs 0 <= padding <= k - 1; got k={k}, p={padding}.')
  impl = resolve_impl(impl)
  if impl == 'gemm':
    return _gemm_canonical(x, w, stride, padding)
  if impl == 'canonical':
    return _canonical(x, w, stride, padding)
  return _xla(x, w, stride, padding)


class ConvTranspose(nn.Module):
  """PyTorch-convention transposed convolution with a square kernel."""

  features: int
  kernel_size: int = 4
  stride: int = 2
  padding: int = 1
  use_bias: bool = True
  impl: str = 'auto'
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x):
    k = self.kernel_size
    w = self.param('kernel', self.kernel_init, (k, k, x.shape[-1], self.features))
    y = conv_transpose(x, w.astype(x.dtype), self.stride, self.padding, self.impl)
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (self.features,)).astype(y.dtype)
    return y
