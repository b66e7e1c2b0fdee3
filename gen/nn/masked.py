"""Masked convolutions for autoregressive models (van den Oord et al. 2016a, "Pixel
Recurrent Neural Networks", sec. 3.4 and Fig. 4).

Pixels are generated in raster order and, within a pixel, channel group by channel
group (R, then G, then B). A k x k kernel may read:
  - every tap of the rows above the centre and the taps left of it in the centre row
    (strictly earlier pixels), from every input channel;
  - at the centre tap (the pixel being predicted) only earlier channel groups:
    mask 'A' (the first layer, whose input is the image) lets output group g read
    input groups g' < g; mask 'B' (every later layer) g' <= g.
Taps right of the centre and rows below it are zero.

Channels are split into `groups` contiguous, equal blocks: channel j of C belongs to
group j // (C / groups). For an RGB image (groups=3) that is one channel per colour;
for a head of 3 x 256 logits it is the reshape (..., 3, 256). With groups=1 (grayscale,
binary data) mask A zeroes the centre tap and mask B keeps it. A 1x1 mask-A kernel
with groups=1 would be all zero, so it is refused (a known bug of public ports).
PixelCNN and PixelRNN (the Row LSTM's input-to-state, the Diagonal BiLSTM's 1x1) use
this one implementation.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import numpy as np

from gen.nn.conv import conv

MASK_TYPES = ('A', 'B')


def channel_groups(channels: int, groups: int) -> np.ndarray:
  """The group of each of `channels` channels (contiguous equal blocks)."""
  if groups < 1 or channels % groups:
    raise ValueError(f'{channels} channels do not split into {groups} equal groups.')
  return np.arange(channels) // (channels // groups)


def causal_mask(
    kernel_size: Sequence[int], in_channels: int, out_channels: int, mask_type: str, groups: int = 1
) -> np.ndarray:
  """The (kh, kw, in, out) 0/1 mask of a causal kernel (see the module docstring)."""
  if mask_type not in MASK_TYPES:
    raise ValueError(f'mask_type {mask_type!r}; valid: A, B.')
  kh, kw = kernel_size
  if kh % 2 == 0 or kw % 2 == 0:
    raise ValueError(f'kernel {kh}x{kw}: a masked kernel needs odd sizes (a centre tap).')
  if (kh, kw) == (1, 1) and mask_type == 'A' and groups == 1:
    raise ValueError('a 1x1 mask-A kernel on one channel group is all zero; use mask B.')
  cy, cx = kh // 2, kw // 2
  mask = np.zeros((kh, kw, in_channels, out_channels), np.float32)
  mask[:cy] = 1.0  # rows above
  mask[cy, :cx] = 1.0  # left of the centre
  g_in = channel_groups(in_channels, groups)[:, None]
  g_out = channel_groups(out_channels, groups)[None, :]
  mask[cy, cx] = g_in < g_out if mask_type == 'A' else g_in <= g_out
  return mask


class MaskedConv(nn.Module):
  """A stride-1 'SAME' convolution whose kernel is multiplied by `causal_mask`.

  Parameters as gen.nn.Conv ('kernel' HWIO, 'bias'); the masked-out weights get
  zero gradient, so they stay at their initial values and never act.
  """

  features: int
  kernel_size: Sequence[int] = (3, 3)
  mask_type: str = 'B'
  groups: int = 1
  use_bias: bool = True
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x):
    kh, kw = self.kernel_size
    mask = causal_mask((kh, kw), x.shape[-1], self.features, self.mask_type, self.groups)
    w = self.param('kernel', self.kernel_init, mask.shape)
    pad = ((kh // 2, kh // 2), (kw // 2, kw // 2))
    y = conv(x, (w * mask).astype(x.dtype), padding=pad)
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (self.features,)).astype(y.dtype)
    return y
