"""PixelCNN (van den Oord, Kalchbrenner & Kavukcuoglu 2016a, "Pixel Recurrent Neural
Networks", sec. 3.4-3.5, Fig. 5).

A 7x7 mask-A convolution, residual blocks of mask-B convolutions (ReLU, 1x1 2h -> h,
3x3 h -> h, 1x1 h -> 2h, added to the block's input; Fig. 5), then ReLU, 1x1 mask B,
ReLU, 1x1 mask B to C blocks of K outputs: a Bernoulli logit per pixel for binary
data, 256-way softmax logits per sub-pixel for 8-bit data, the colours factorised
R -> G -> B by the channel groups of gen.nn.masked. Exact likelihood; sampling is
naive (a full pass per sub-pixel). Stacked k x k masked convolutions leave a blind
spot above and to the right of each pixel (Gated PixelCNN removes it).
"""

from __future__ import annotations

import flax.linen as nn

from gen import config as config_lib
from gen.models.autoregressive import common
from gen.nn import MaskedConv


class PixelCNNNet(nn.Module):
  """x (N, H, W, C) in [-1, 1] -> (N, H, W, C * outputs_per_channel)."""

  features: int  # 2h in the paper's notation
  num_blocks: int
  head_features: int
  outputs: int  # per channel
  kernel_size: int = 3

  @nn.compact
  def __call__(self, x):
    c = x.shape[-1]
    k = self.kernel_size
    h = MaskedConv(self.features, (7, 7), 'A', c)(x)
    for _ in range(self.num_blocks):
      y = MaskedConv(self.features // 2, (1, 1), 'B', c)(nn.relu(h))
      y = MaskedConv(self.features // 2, (k, k), 'B', c)(nn.relu(y))
      h = h + MaskedConv(self.features, (1, 1), 'B', c)(nn.relu(y))
    h = MaskedConv(self.head_features, (1, 1), 'B', c)(nn.relu(h))
    return MaskedConv(c * self.outputs, (1, 1), 'B', c)(nn.relu(h))


def _check(cfg, p: common.Pixels):
  c = p.shape[-1]
  for key in ('features', 'num_blocks', 'head_features', 'kernel_size'):
    config_lib.require_int(cfg[key], f'model.{key}', 0 if key == 'num_blocks' else 1)
  config_lib.require(
      cfg.kernel_size % 2 == 1, 'model.kernel_size', cfg.kernel_size, 'must be odd (a centre tap)'
  )
  for key, div in (('features', 2 * c), ('head_features', c)):
    config_lib.require(
        cfg[key] % div == 0,
        f'model.{key}',
        cfg[key],
        f'must be a multiple of {div}: the {c} colour channel groups split every layer evenly',
    )


def build(config, info):
  cfg = config.model
  p = common.pixels(config, info, 'PixelCNN')
  _check(cfg, p)
  net = PixelCNNNet(
      cfg.features, cfg.num_blocks, cfg.head_features, p.outputs_per_channel, cfg.kernel_size
  )
  return common.unconditional_model(config, p, net, 'PixelCNN')
