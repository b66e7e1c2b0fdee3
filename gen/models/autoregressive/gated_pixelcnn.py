"""Gated PixelCNN (van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu
2016b, "Conditional Image Generation with PixelCNN Decoders", sec. 2, Fig. 2) with
cached fast generation (Ramachandran et al. 2017, "Fast Generation for Convolutional
Autoregressive Models").

Two stacks, no blind spot. With m = k // 2 and dilation d, at pixel (r, c):
  vertical    v_pre = V * v: taps at rows r - d*m .. r (every d-th), columns
              c - d*m .. c + d*m; the input layer's V has rows r - m .. r - 1 only, so
              vertical features at row r depend on image rows < r alone;
  horizontal  h_pre = H * h + 1x1(v_pre): taps at columns c - d*m .. c of row r, the
              centre tap masked by colour groups (mask A in the input layer, B after;
              gen.nn.masked), the vertical link added before the gate;
  gate        y = tanh(a) * sigmoid(b), (a, b) the halves of one 2p-channel map (eq. 2);
              v_out = gate(v_pre); h_out = h + 1x1_B(gate(h_pre)) (residual on the
              horizontal stack only; the input layer has none);
  condition   model.conditional adds onehot(y) V_v and onehot(y) V_h, a learned bias per
              class, to every layer's v_pre and h_pre (eq. 4);
  head        1x1_B(elu(h)): C blocks of K outputs (common.subpixel_log_prob).
The layers after the input layer have the dilations of model.dilations (the UvA DL
tutorial 12 network: 1, 2, 1, 4, 1, 2, 1).

Sampling (model.sampler): 'naive' runs the whole network once per sub-pixel
(common.sample_naive); 'cached' computes every layer's vertical stack once per row
from sliding windows of the rows above, and the horizontal stack once per sub-pixel
from per-layer windows of the d*m pixels to the left, inside lax.scan over rows and
columns. Both draw sub-pixel (r, c, g) with common.draw at its raster position, so
they give the same integers for the same key, and keep the observed pixels of a
common.Known (image completion) alike.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gen import config as config_lib
from gen import nn as gnn
from gen.models import labels as labels_lib
from gen.models.autoregressive import common
from gen.nn import causal_mask
from gen.nn.conv import conv, lax_conv

SAMPLERS = ('cached', 'naive')


# -- Layers: pure functions of a layer's params, shared by the network and the sampler. --------


@dataclasses.dataclass(frozen=True)
class LayerSpec:
  kernel_size: int
  dilation: int
  first: bool  # the input layer: excludes the current pixel (mask A)
  groups: int  # colour channel groups (C)

  @property
  def half(self) -> int:
    return self.kernel_size // 2

  @property
  def reach(self) -> int:
    """How far back (rows above, columns left) the layer's taps go: d * m."""
    return self.dilation * self.half

  @property
  def v_rows(self) -> int:
    return self.half if self.first else self.half + 1


def dilated_conv(x, w, dilation: int, padding=((0, 0), (0, 0))):
  """Cross-correlation with kernel taps `dilation` apart. On CPU it runs as a plain
  convolution of the d x d interleaved sub-images (space-to-batch), so gen.nn.conv's
  fast CPU gradients apply; elsewhere as lax's dilated convolution."""
  d = dilation
  if d == 1:
    return conv(x, w, padding=padding)
  if jax.default_backend() != 'cpu':
    return lax_conv(x, w, padding=padding, rhs_dilation=(d, d))
  kh, kw, _, o = w.shape
  x = jnp.pad(x, ((0, 0), *padding, (0, 0)))
  n, hp, wp, c = x.shape
  ho, wo = hp - d * (kh - 1), wp - d * (kw - 1)
  hq, wq = -(-hp // d), -(-wp // d)
  x = jnp.pad(x, ((0, 0), (0, hq * d - hp), (0, wq * d - wp), (0, 0)))
  x = x.reshape(n, hq, d, wq, d, c).transpose(2, 4, 0, 1, 3, 5).reshape(d * d * n, hq, wq, c)
  y = conv(x, w)
  yh, yw = y.shape[1:3]
  y = y.reshape(d, d, n, yh, yw, o).transpose(2, 3, 0, 4, 1, 5).reshape(n, yh * d, yw * d, o)
  return y[:, :ho, :wo]


def gate(y):
  """tanh(a) * sigmoid(b) of the two halves of the channels (eq. 2)."""
  a, b = jnp.split(y, 2, axis=-1)
  return jnp.tanh(a) * jax.nn.sigmoid(b)


def horizontal_mask(s: LayerSpec, cin: int, features: int) -> np.ndarray:
  """(1, m + 1, cin, 2p): the left half of a 1 x k causal kernel (centre by channel
  groups, A or B), the same for both halves of the gate's channels."""
  k = s.kernel_size
  mask = causal_mask((1, k), cin, features, 'A' if s.first else 'B', s.groups)[:, : s.half + 1]
  return np.concatenate([mask, mask], axis=-1)


def out_mask(s: LayerSpec, features: int) -> np.ndarray:
  return causal_mask((1, 1), features, features, 'B', s.groups)[0, 0]


def vertical(lp, s: LayerSpec, window):
  """v_pre (without the class bias) of the rows `window` reaches: (N, R, W + 2dm, C) ->
  (N, R - d*(v_rows - 1), W, 2p)."""
  return dilated_conv(window, lp['v_kernel'], s.dilation) + lp['v_bias']


def vertical_row(lp, s: LayerSpec, window, width: int):
  """`vertical` of a window exactly one output row high, as one matrix product over
  its taps: (N, d*(v_rows-1) + 1, W + 2dm, C) -> (N, W, 2p)."""
  d, k = s.dilation, s.kernel_size
  taps = [window[:, i * d, j * d : j * d + width] for i in range(s.v_rows) for j in range(k)]
  w = lp['v_kernel']
  return jnp.concatenate(taps, axis=-1) @ w.reshape(-1, w.shape[-1]) + lp['v_bias']


def masked(lp, s: LayerSpec):
  """The layer's params with the causal masks applied to its horizontal kernels (once,
  outside any loop; the functions below take masked params)."""
  cin, features = lp['h_kernel'].shape[2], lp['out_kernel'].shape[0]
  return {
      **lp,
      'h_kernel': lp['h_kernel'] * horizontal_mask(s, cin, features),
      'out_kernel': lp['out_kernel'] * out_mask(s, features),
  }


def horizontal(lp, s: LayerSpec, window):
  """H * h (+ bias) along rows: (N, H, W + dm, C) -> (N, H, W, 2p)."""
  return dilated_conv(window, lp['h_kernel'], s.dilation) + lp['h_bias']


def horizontal_pixel(lp, s: LayerSpec, window):
  """`horizontal` at one pixel from its (N, dm + 1, C) left neighbourhood -> (N, 2p)."""
  taps = window[:, :: s.dilation]
  w = lp['h_kernel']
  return taps.reshape(taps.shape[0], -1) @ w.reshape(-1, w.shape[-1]) + lp['h_bias']


def link(lp, v_pre):
  """The vertical-to-horizontal 1x1 (unmasked: the vertical stack sees only rows above)."""
  return v_pre @ lp['link']


def h_out(lp, s: LayerSpec, h, h_pre):
  y = gate(h_pre) @ lp['out_kernel'] + lp['out_bias']
  return y if s.first else h + y


def class_bias(lp, onehot, stack: str):
  """(N, 2p) per-class bias of one stack (eq. 4), 0 for an unconditional model."""
  return 0.0 if onehot is None else onehot @ lp[f'cond_{stack}']


def masked_head(hp, groups: int):
  features, outputs = hp['kernel'].shape
  return {**hp, 'kernel': hp['kernel'] * causal_mask((1, 1), features, outputs, 'B', groups)[0, 0]}


def head(hp, h):
  """1x1_B(elu(h)), `hp` masked."""
  return nn.elu(h) @ hp['kernel'] + hp['bias']


def _broadcast(b, ndim: int):
  """A per-example bias (N, 2p) (or 0.0) shaped to add to (N, ..., 2p) of `ndim` axes."""
  return b if isinstance(b, float) else b.reshape(b.shape[:1] + (1,) * (ndim - 2) + b.shape[1:])


def layer_image(lp, s: LayerSpec, v, h, onehot):
  """One gated layer on whole images: (v, h) -> (v_out, h_out); `lp` masked."""
  rows, dm = v.shape[1], s.reach
  v_pre = vertical(lp, s, jnp.pad(v, ((0, 0), (dm, 0), (dm, dm), (0, 0))))[:, :rows]
  v_pre = v_pre + _broadcast(class_bias(lp, onehot, 'v'), 4)
  h_win = jnp.pad(h, ((0, 0), (0, 0), (dm, 0), (0, 0)))
  h_pre = horizontal(lp, s, h_win) + link(lp, v_pre)
  h_pre = h_pre + _broadcast(class_bias(lp, onehot, 'h'), 4)
  return gate(v_pre), h_out(lp, s, h, h_pre)


# -- The network. ---------------------------------------------------------------------------


def layer_specs(kernel_size: int, dilations, groups: int) -> tuple[LayerSpec, ...]:
  """The input layer (dilation 1, mask A) then one gated layer per dilation."""
  first = LayerSpec(kernel_size, 1, True, groups)
  return (first,) + tuple(LayerSpec(kernel_size, d, False, groups) for d in dilations)


class GatedLayer(nn.Module):
  spec: LayerSpec
  features: int  # p
  classes: int = 0

  @nn.compact
  def __call__(self, v, h, onehot):
    s, p, cin = self.spec, self.features, v.shape[-1]
    init = nn.initializers.lecun_normal()
    zeros = nn.initializers.zeros
    lp = {
        'v_kernel': self.param('v_kernel', init, (s.v_rows, s.kernel_size, cin, 2 * p)),
        'v_bias': self.param('v_bias', zeros, (2 * p,)),
        'h_kernel': self.param('h_kernel', init, (1, s.half + 1, cin, 2 * p)),
        'h_bias': self.param('h_bias', zeros, (2 * p,)),
        'link': self.param('link', init, (2 * p, 2 * p)),
        'out_kernel': self.param('out_kernel', init, (p, p)),
        'out_bias': self.param('out_bias', zeros, (p,)),
    }
    if self.classes:
      lp['cond_v'] = self.param('cond_v', init, (self.classes, 2 * p))
      lp['cond_h'] = self.param('cond_h', init, (self.classes, 2 * p))
    return layer_image(masked(lp, s), s, v, h, onehot)


class GatedPixelCNNNet(nn.Module):
  """x (N, H, W, C) in [-1, 1] (and labels (N,) if classes) -> (N, H, W, C * outputs)."""

  features: int
  dilations: tuple
  outputs: int  # per channel
  kernel_size: int = 3
  classes: int = 0

  @nn.compact
  def __call__(self, x, labels=None):
    c = x.shape[-1]
    onehot = jax.nn.one_hot(labels, self.classes) if self.classes else None
    v = h = x
    for i, s in enumerate(layer_specs(self.kernel_size, self.dilations, c)):
      v, h = GatedLayer(s, self.features, self.classes, name=f'layer_{i}')(v, h, onehot)
    k = c * self.outputs
    hp = {
        'kernel': self.param('head_kernel', nn.initializers.lecun_normal(), (self.features, k)),
        'bias': self.param('head_bias', nn.initializers.zeros, (k,)),
    }
    return head(masked_head(hp, c), h)


# -- Cached generation (Ramachandran et al. 2017). -----------------------------------------


def _pad_cols(x, left: int, right: int):
  """Zero columns on axis -2 (the image width of a row or a row window)."""
  pads = [(0, 0)] * x.ndim
  pads[-2] = (left, right)
  return jnp.pad(x, pads)


def _shift_in(window, new):
  """Drops the window's oldest entry (axis 1) and appends `new` (one entry, no axis 1)."""
  return jnp.concatenate([window[:, 1:], new[:, None]], axis=1)


def sample_cached(params, net: GatedPixelCNNNet, p: common.Pixels, key, n: int, labels,
                  known: common.Known | None = None):  # fmt: skip
  """(n, H, W, C) int32 levels in raster order, each layer's features computed once;
  `known` pixels are kept (common.Known).

  Per row r (lax.scan): layer i's vertical window holds the d*m rows above of its input
  (image rows r - m .. r - 1 for the input layer), zeros above row 0, as the network's
  zero padding; with the new row of layer i - 1 appended it gives v_pre of row r in one
  product. Per pixel (lax.scan over columns): layer i's horizontal window holds its
  input at the d*m columns to the left (zeros at the row start); for each colour group
  g, in order, the horizontal stack runs on the pixel sampled so far (the masks make
  group g read groups < g only) and group g is drawn at its raster position.
  """
  h_img, w_img, c = p.shape
  specs = layer_specs(net.kernel_size, net.dilations, c)
  lps = [masked(params[f'layer_{i}'], s) for i, s in enumerate(specs)]
  hp = masked_head({'kernel': params['head_kernel'], 'bias': params['head_bias']}, c)
  feats = net.features
  onehot = jax.nn.one_hot(labels, net.classes) if net.classes else None
  cond_h = [class_bias(lp, onehot, 'h') for lp in lps]

  def vertical_pass(v_wins, img_win):
    """v_pre of the current row for every layer, and the windows for the next row."""
    v_pres, new_wins = [], []
    v_row = None
    for i, (lp, s) in enumerate(zip(lps, specs)):
      if s.first:
        window = img_win
      else:
        window = jnp.concatenate([v_wins[i - 1], _pad_cols(v_row, s.reach, s.reach)[:, None]], 1)
        new_wins.append(window[:, 1:])
      v_pre = vertical_row(lp, s, window, w_img) + _broadcast(class_bias(lp, onehot, 'v'), 3)
      v_pres.append(v_pre)
      v_row = gate(v_pre)
    return v_pres, new_wins

  def horizontal_pass(h_wins, x_win, pixel, links):
    """Outputs (n, C, K) at the current pixel, and each layer's input there."""
    h, inputs = pixel, []
    for i, (lp, s) in enumerate(zip(lps, specs)):
      window = jnp.concatenate([x_win if s.first else h_wins[i - 1], h[:, None]], axis=1)
      inputs.append(h)
      h_pre = horizontal_pixel(lp, s, window) + links[i] + cond_h[i]
      h = h_out(lp, s, h, h_pre)
    out = head(hp, h)
    return out.reshape(n, c, p.outputs_per_channel), inputs

  def row_step(carry, r):
    v_wins, img_win = carry
    v_pres, v_wins = vertical_pass(v_wins, img_win)
    links = [jnp.swapaxes(link(lp, v_pre), 0, 1) for lp, v_pre in zip(lps, v_pres)]  # (W, n, 2p)

    def pixel_step(hcarry, xs):
      h_wins, x_win = hcarry
      col, links_c = xs
      pixel, values = jnp.zeros((n, c)), []
      for g in range(c):
        out, inputs = horizontal_pass(h_wins, x_win, pixel, links_c)
        value = common.draw(key, common.position(p, r, col, g), out[:, g], p, known)
        pixel = pixel.at[:, g].set(p.to_input(value))
        values.append(value)
      # Inputs of the layers after the first are final after group C - 1's pass: no
      # feature reads the last group of its own pixel.
      h_wins = [_shift_in(w, x) for w, x in zip(h_wins, inputs[1:])]
      return (h_wins, _shift_in(x_win, pixel)), jnp.stack(values, axis=-1)

    h_init = [jnp.zeros((n, s.reach, feats)) for s in specs[1:]]
    x_init = jnp.zeros((n, specs[0].reach, c))
    _, row = jax.lax.scan(pixel_step, (h_init, x_init), (jnp.arange(w_img), links))
    row = jnp.swapaxes(row, 0, 1)  # (n, W, C)
    m = specs[0].reach
    img_win = _shift_in(img_win, _pad_cols(p.to_input(row), m, m))
    return (v_wins, img_win), row

  v_init = [jnp.zeros((n, s.reach, w_img + 2 * s.reach, feats)) for s in specs[1:]]
  m = specs[0].reach
  img_init = jnp.zeros((n, m, w_img + 2 * m, c))
  _, rows = jax.lax.scan(row_step, (v_init, img_init), jnp.arange(h_img))
  return jnp.swapaxes(rows, 0, 1)


# -- Config and Model. ---------------------------------------------------------------------


def _check(cfg, p: common.Pixels):
  c = p.shape[-1]
  config_lib.require_int(cfg.features, 'model.features')
  config_lib.require_int(cfg.kernel_size, 'model.kernel_size', 3)
  config_lib.require(
      cfg.kernel_size % 2 == 1, 'model.kernel_size', cfg.kernel_size, 'must be odd (a centre tap)'
  )
  config_lib.require_sizes(cfg.dilations, 'model.dilations')
  config_lib.require_choice(cfg.sampler, 'model.sampler', SAMPLERS)
  config_lib.require(
      cfg.features % c == 0,
      'model.features',
      cfg.features,
      f'must be a multiple of {c}: the {c} colour channel groups split every layer evenly',
  )


def build(config, info):
  cfg = config.model
  p = common.pixels(config, info, 'Gated PixelCNN')
  _check(cfg, p)
  classes = labels_lib.num_classes(config, info, 'Gated PixelCNN')
  net = GatedPixelCNNNet(
      cfg.features, tuple(cfg.dilations), p.outputs_per_channel, cfg.kernel_size, classes
  )

  dtype = gnn.compute_dtype(config.train.get('compute_dtype', 'float32'))
  run = lambda params, x, labels: gnn.apply(net, params, {}, x, labels, dtype=dtype)[0]

  def init_params(key, x, labels):
    return net.init(key, x, labels)['params']

  def log_prob(params, x, v, labels, key, train):
    return common.subpixel_log_prob(run(params, x, labels), v, p)

  def sample(params, key, n, labels, known=None):
    if cfg.sampler == 'cached':  # float32 whatever train.compute_dtype is
      return sample_cached(params, net, p, key, n, labels, known)
    return common.sample_naive(lambda x: run(params, x, labels), key, n, p, known)

  return common.make_model(config, p, init_params, log_prob, sample, classes)
