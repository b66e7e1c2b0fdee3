"""Transposed ("fractionally strided") convolution, one layer, implementations per backend.

Semantics are PyTorch's ConvTranspose2d (Dumoulin & Visin 2016, sec. 4):
out[s*i + t - p] += x[i] * w[t] along each spatial axis, kernel (k, k, in, out),
output size (n - 1) s - 2p + k. It is the input gradient of a strided
convolution (gen/nn/conv.py) whose kernel has in and out swapped.

Implementations (`impl='auto'` picks 'canonical' on CPU, 'xla' elsewhere):
  'xla'        lax.conv_general_dilated on the s-dilated input with the flipped
               kernel, differentiated by JAX: the direct form for cuDNN / TPU.
               On XLA CPU its weight gradient (a convolution dilated on both
               sides) runs as a naive loop nest even outside loops: 10-40x
               slower than 'canonical' (bench/conv_layers.py).
  'canonical'  gen/nn/conv.py's `transpose_input`: on CPU oneDNN's
               backward-data kernel where gen/nn/onednn.py has it, else that
               XLA convolution; the gradients are the strided convolution and
               its weight gradient in the same forms, fast also inside loops.
               A 1x1 input with no padding (DCGAN's first layer, z as a 1x1
               map) is one matrix product instead: out[t] = x w[t].
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gen.nn import conv as conv_lib

IMPLS = ('auto', 'xla', 'canonical')


def _xla(x, w, s: int, p: int):
  k = w.shape[0]
  return conv_lib.lax_conv(
      x, w[::-1, ::-1], padding=[(k - 1 - p, k - 1 - p)] * 2, lhs_dilation=(s, s)
  )


def _out_hw(x, k: int, s: int, p: int) -> tuple[int, int]:
  return tuple((n - 1) * s - 2 * p + k for n in x.shape[1:3])


def _canonical(x, w, s: int, p: int):
  out_hw = _out_hw(x, w.shape[0], s, p)
  return conv_lib.transpose_input(x, jnp.swapaxes(w, 2, 3), (s, s), ((p, p), (p, p)), out_hw)


def _dense(x, w):
  """A 1x1 input, no padding: (N, I) @ (I, k*k*O), each tap's output at its place."""
  n, i = x.shape[0], x.shape[-1]
  k, o = w.shape[0], w.shape[-1]
  return (x.reshape(n, i) @ w.transpose(2, 0, 1, 3).reshape(i, k * k * o)).reshape(n, k, k, o)


def resolve_impl(impl: str) -> str:
  if impl not in IMPLS:
    raise ValueError(f'Unknown conv_transpose impl {impl!r}; valid: {", ".join(IMPLS)}.')
  if impl == 'auto':
    return 'canonical' if jax.default_backend() == 'cpu' else 'xla'
  return impl


def conv_transpose(x, w, stride: int, padding: int, impl: str = 'auto'):
  k = w.shape[0]
  if not 0 <= padding <= k - 1:
    raise ValueError(f'conv_transpose needs 0 <= padding <= k - 1; got k={k}, p={padding}.')
  if resolve_impl(impl) == 'xla':
    return _xla(x, w, stride, padding)
  if x.shape[1:3] == (1, 1) and padding == 0:
    return _dense(x, w)
  return _canonical(x, w, stride, padding)


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
