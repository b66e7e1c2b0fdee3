"""Transposed ("fractionally strided") convolution, one layer, two implementations.

Semantics are PyTorch's ConvTranspose2d (Dumoulin & Visin 2016, sec. 4):
out[s*i + t - p] += x[i] * w[t] along each spatial axis, kernel (k, k, in, out),
output size (n - 1) s - 2p + k.

Implementations, chosen per backend (`impl='auto'`):
  'xla'      lax.conv_general_dilated on the s-dilated input with the flipped
             kernel: the direct form, fast with cuDNN / on TPU.
  'subpixel' when k - 2p == s (output exactly s*n, as in DCGAN's k4 s2 p1):
             one stride-1 convolution producing s*s phases, then depth-to-space
             (Shi et al. 2016). Same params, same outputs; on XLA CPU its weight
             gradient is ~12x faster than that of the dilated form (see docs).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax


def _xla(x, w, s: int, p: int):
  k = w.shape[0]
  return lax.conv_general_dilated(
      x,
      w[::-1, ::-1],
      window_strides=(1, 1),
      padding=[(k - 1 - p, k - 1 - p)] * 2,
      lhs_dilation=(s, s),
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
  )


def _subpixel_kernel(w, s: int, p: int):
  """(k, k, I, O) -> (D, D, I, s*s*O) stride-1 kernel and its padding.

  Output phase r at input offset d uses tap t = r + p - s*d (zero if outside
  [0, k)); offsets d span [d_lo, d_hi] over all phases.
  """
  k = w.shape[0]
  d_lo = math.ceil((p - k + 1) / s)
  d_hi = (s - 1 + p) // s
  taps = []  # taps[r][j]: tap index for phase r at offset d_lo + j, or None
  for r in range(s):
    taps.append([r + p - s * d if 0 <= r + p - s * d < k else None for d in range(d_lo, d_hi + 1)])
  zero = jnp.zeros_like(w[0, 0])

  def tap(ty, tx):
    return zero if ty is None or tx is None else w[ty, tx]

  d = d_hi - d_lo + 1
  phases = []
  for ry in range(s):
    for rx in range(s):
      rows = [jnp.stack([tap(taps[ry][a], taps[rx][b]) for b in range(d)]) for a in range(d)]
      phases.append(jnp.stack(rows))  # (D, D, I, O)
  kernel = jnp.concatenate(phases, axis=-1)  # (D, D, I, s*s*O), phase-major
  return kernel, (-d_lo, d_hi)


def _subpixel(x, w, s: int, p: int):
  kernel, pad = _subpixel_kernel(w, s, p)
  y = lax.conv_general_dilated(
      x, kernel, (1, 1), [pad, pad], dimension_numbers=('NHWC', 'HWIO', 'NHWC')
  )
  n, h, wd, _ = y.shape
  o = w.shape[-1]
  y = y.reshape(n, h, wd, s, s, o)  # (.., ry, rx, O)
  return y.transpose(0, 1, 3, 2, 4, 5).reshape(n, h * s, wd * s, o)


def conv_transpose(x, w, stride: int, padding: int, impl: str = 'auto'):
  k = w.shape[0]
  can_subpixel = k - 2 * padding == stride and stride > 1
  if impl == 'auto':
    impl = 'subpixel' if can_subpixel and jax.default_backend() == 'cpu' else 'xla'
  if impl == 'subpixel':
    if not can_subpixel:
      raise ValueError(f'subpixel needs k - 2p == s; got k={k}, s={stride}, p={padding}.')
    return _subpixel(x, w, stride, padding)
  if impl == 'xla':
    return _xla(x, w, stride, padding)
  raise ValueError(f'Unknown conv_transpose impl {impl!r}; valid: auto, xla, subpixel.')


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
      y = y + self.param('bias', nn.initializers.zeros, (self.features,))
    return y
