"""PixelRNN: Row LSTM and Diagonal BiLSTM (van den Oord, Kalchbrenner & Kavukcuoglu
2016a, "Pixel Recurrent Neural Networks", sec. 3.1-3.3, Table 1).

The network (Table 1): a 7 x 7 mask-A convolution to 2h features; `num_layers`
residual LSTM layers (sec. 3.3: the layer maps its 2h-feature input to h by a Row LSTM
or Diagonal BiLSTM of gen.nn.recurrent, a 1 x 1 mask-B convolution maps h back to 2h,
and the layer's input is added); then ReLU, 1 x 1 mask B, ReLU, 1 x 1 mask B to C blocks
of K outputs (a Bernoulli logit per pixel for binary data, 256-way softmax logits per
sub-pixel for 8-bit data; R -> G -> B by channel groups, as PixelCNN). With `skip`
(sec. 3.4, "learnable skip connections from each layer to the output"), the head reads
the residual stream plus a learned 1 x 1 mask-B projection of every layer's output. Exact
likelihood (common.subpixel_log_prob).

Sampling (model.sampler): 'cached' (pixelrnn_cached) carries every layer's recurrent
states along the raster order and computes each layer once per sub-pixel at that pixel
alone; 'naive' runs the whole network once per sub-pixel (common.sample_naive). Both
draw sub-pixel (r, c, g) with common.draw at its raster position: the same integers for
the same key.

An optional conditioning map `cond` (N, H, W, F) makes the network the conditional half
of multi-scale PixelRNN (sec. 3.5, gen/models/autoregressive/multiscale.py): a learned
1 x 1 projection of it per layer is added as a bias to that layer's input-to-state
pre-activations. Without it the parameter tree is the unconditional one.

model.name selects the layer: 'row_lstm' or 'diagonal_bilstm'.
"""

from __future__ import annotations

import flax.linen as nn

from gen import config as config_lib
from gen.models.autoregressive import common, pixelrnn_cached
from gen.nn import MaskedConv
from gen.nn.recurrent import DiagonalBiLSTM, RowLSTM

LAYERS = {'row_lstm': RowLSTM, 'diagonal_bilstm': DiagonalBiLSTM}
SAMPLERS = ('cached', 'naive')


class PixelRNNNet(nn.Module):
  """x (N, H, W, C) in [-1, 1] -> (N, H, W, C * outputs_per_channel); `cond` (N, H, W, F)
  or None: a map every layer reads through its own 1 x 1 projection to 4h biases."""

  layer: str  # a key of LAYERS
  hidden: int  # h: the LSTM state; the residual stream has 2h features
  num_layers: int
  head_features: int
  outputs: int  # per channel
  skip: bool = True

  @nn.compact
  def __call__(self, x, cond=None):
    c = x.shape[-1]
    lstm = LAYERS[self.layer]
    h = MaskedConv(2 * self.hidden, (7, 7), 'A', c)(x)
    skips = 0.0
    for i in range(self.num_layers):
      bias = None if cond is None else nn.Dense(4 * self.hidden, name=f'cond_bias_{i}')(cond)
      out = MaskedConv(2 * self.hidden, (1, 1), 'B', c)(lstm(self.hidden, c)(h, bias))
      h = h + out
      if self.skip:
        skips = skips + MaskedConv(2 * self.hidden, (1, 1), 'B', c)(out)
    h = MaskedConv(self.head_features, (1, 1), 'B', c)(nn.relu(h + skips))
    return MaskedConv(c * self.outputs, (1, 1), 'B', c)(nn.relu(h))


def _check(cfg, p: common.Pixels):
  c = p.shape[-1]
  for key in ('hidden', 'num_layers', 'head_features'):
    config_lib.require_int(cfg[key], f'model.{key}')
  for key in ('hidden', 'head_features'):
    config_lib.require(
        cfg[key] % c == 0,
        f'model.{key}',
        cfg[key],
        f'must be a multiple of {c}: the {c} colour channel groups split every layer evenly',
    )
  config_lib.require_choice(cfg.get('sampler', 'cached'), 'model.sampler', SAMPLERS)


def build(config, info):
  cfg = config.model
  p = common.pixels(config, info, 'PixelRNN')
  _check(cfg, p)
  skip = cfg.get('skip', True)
  config_lib.require_bool(skip, 'model.skip')
  net = PixelRNNNet(
      cfg.name, cfg.hidden, cfg.num_layers, cfg.head_features, p.outputs_per_channel, skip
  )

  def cached(params, key, n, known):  # float32 whatever train.compute_dtype is
    return pixelrnn_cached.sample(params, net, p, key, n, known)

  sampler = cfg.get('sampler', 'cached')
  return common.unconditional_model(
      config, p, net, 'PixelRNN', cached if sampler == 'cached' else None
  )
