"""Cached fast generation for PixelCNN++ (Ramachandran, Le Paine, Khorrami, Babaeizadeh,
Chang, Zhang, Hasegawa-Johnson, Campbell & Huang 2017, "Fast Generation for Convolutional
Autoregressive Models", arXiv 1704.06001; their code PrajitR/fast-pixel-cnn): every layer
keeps the inputs its next outputs need, so each layer's output at each position is
computed once per image, not once per pixel. The paper reports up to 183x over naive
PixelCNN++ generation on a GPU.

The network is pixelcnn_pp.PixelCNNPPNet, run on its own params in raster order:
  u stream   reads rows above only, so it runs a whole row at a time, at the start of
             image row i: resolution H / 2^k advances its row a = i >> k when i is a
             multiple of 2^k (a layer after k stride-2 layers runs every 2^k steps);
  ul stream  reads the row above and the pixels to the left, so it runs once per pixel
             (i, j): resolution k at its pixel (i >> k, j >> k) when both are multiples
             of 2^k;
  order      per step, the U-net's up pass at resolution k, then (when aligned) the
             whole of resolution k + 1 (up and down, recursively), then the down pass at
             k, which upsamples from the last row resolution k + 1 produced; the output
             nin(elu(ul)) gives pixel (i, j)'s mixture, drawn with the naive sampler's
             noise fold_in(key, i W + j).
Every [2, *] convolution keeps a ring of its input's last two rows (slot a % 2 holds
row a; zeros above row 0 and in the pad columns, as the network's zero padding), written
as its input arrives and read as the (2, kw) window of the output it owes. The
stride-2 layers read the ring of the resolution above at even rows (and columns); the
transposed ones read the row the lower resolution last produced with the kernel tap
(a % 2, b % 2). Weight normalisation is folded into plain kernels once (g V / ||V||).

For the same key the integers equal the naive sampler's (tested): the arithmetic is the
network's up to float rounding, and a draw is an integer on the 8-bit grid.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from gen.losses import likelihood
from gen.models.autoregressive import common
from gen.models.autoregressive import pixelcnn_pp as pp
from gen.nn import shifted
from gen.nn.conv import conv

K = pp.DOWNSAMPLINGS


# -- Params as plain kernels. ----------------------------------------------------------------


def _kind(name: str, v) -> str:
  if v.ndim == 2:
    return 'dense'
  return 'deconv' if name.startswith('down') and name.endswith('_resample') else 'conv'


def plain_layers(params, labels, dtype):
  """{layer: {'w', 'b'}} from weight-normalised params, in `dtype` (g V / ||V|| computed in
  the params' float32, then cast); a gated resnet's class weights 'hw' become its
  per-example bias 'hb' (N, 2F) for `labels` (a conditional model's)."""

  def layer(name, p):
    if 'V' in p:
      kind = _kind(name, p['V'])
      return {'w': shifted.weight_norm_kernel(p, kind, dtype), 'b': p['b'].astype(dtype)}
    out = {key: layer(name, sub) for key, sub in p.items() if key != 'hw'}
    if 'hw' in p:
      out['hb'] = jax.nn.one_hot(labels, p['hw'].shape[0], dtype=dtype) @ p['hw'].astype(dtype)
    return out

  return {name: layer(name, p) for name, p in params.items()}


# -- Rings: a convolution's last two input rows. ---------------------------------------------


def _ring(n, width, pad, channels, dtype):
  """Zeros (n, 2, pad[0] + width + pad[1], channels)."""
  return jnp.zeros((n, 2, pad[0] + width + pad[1], channels), dtype)


def _put(ring, a, x, col):
  """Row a of the input (x (N, W, C)) or its pixel (x (N, C)) at padded column `col`."""
  x = x[:, None] if x.ndim == 3 else x[:, None, None]
  return lax.dynamic_update_slice(ring, x, (0, a % 2, col, 0))


def _window(ring, a, col=0, width=None):
  """Rows a - 1 and a, padded columns col .. col + width: (N, 2, width, C)."""
  n, _, full, c = ring.shape
  width = full if width is None else width
  rows = [lax.dynamic_slice(ring, (0, s, col, 0), (n, 1, width, c)) for s in ((a + 1) % 2, a % 2)]
  return jnp.concatenate(rows, axis=1)


def row_conv(layer, ring, a, x_row, strides=(1, 1)):
  """A down-shifted [2, 3] convolution's output row a: (N, W / s, F)."""
  ring = _put(ring, a, x_row, 1)
  y = conv(_window(ring, a), layer['w'], strides, ((0, 0), (0, 0)))[:, 0]
  return y + layer['b'], ring


def pixel_conv(layer, ring, a, b, x_pix):
  """A down-right-shifted [2, 2] convolution's output at (a, b): (N, F)."""
  ring = _put(ring, a, x_pix, b + 1)
  y = jnp.einsum('nhwc,hwcf->nf', _window(ring, a, b, 2), layer['w'])
  return y + layer['b'], ring


def dense(layer, x):
  return x @ layer['w'] + layer['b']


def gated_resnet(layer, rings, key, conv_fn, x, a=None):
  """pixelcnn_pp.GatedResnet in eval mode on a row or a pixel, its two convolutions'
  rings at rings[key + '_in'], rings[key + '_out']."""
  rings = dict(rings)
  c1, rings[key + '_in'] = conv_fn(layer['conv_in'], rings[key + '_in'], shifted.concat_elu(x))
  if a is not None:
    c1 = c1 + dense(layer['nin_aux'], shifted.concat_elu(a))
  c2, rings[key + '_out'] = conv_fn(layer['conv_out'], rings[key + '_out'], shifted.concat_elu(c1))
  if 'hb' in layer:
    c2 = c2 + (layer['hb'][:, None] if c2.ndim == 3 else layer['hb'])
  out, gate = jnp.split(c2, 2, axis=-1)
  return x + out * jax.nn.sigmoid(gate), rings


def _keep(levels, _):
  return levels


# -- The two streams, one resolution at a time. ----------------------------------------------


def u_level(net, k, levels, a, x_row):
  """Resolution k's u stream at its row a, given the row of its first value; resolution
  k + 1 inside when a is even. `levels` holds the u states of resolutions k .. K; returns
  them updated. A state: 'rings', 'up' (the up pass's resnet rows, the ul stream's aux),
  'down' (the down pass's rows, likewise), 'last' (k > 0: the row k - 1 upsamples)."""
  r = net.num_resnets
  lv = dict(levels[0])
  rings = lv['rings']
  conv_fn = lambda layer, ring, x: row_conv(layer, ring, a, x)
  ups = [x_row]
  for j in range(r):
    layer = net.layers[pp.layer_name('up', 'u', k, j)]
    y, rings = gated_resnet(layer, rings, f'up{j}', conv_fn, ups[-1])
    ups.append(y)
  lv['up'] = tuple(ups[1:])
  deeper = list(levels[1:])
  if k < K:
    rings = dict(rings, resample=_put(rings['resample'], a, ups[-1], 1))

    def go(deeper, window):
      layer = net.layers[pp.layer_name('up', 'u', k + 1)]
      x_next = conv(window, layer['w'], (1, 2), ((0, 0), (0, 0)))[:, 0] + layer['b']
      return u_level(net, k + 1, deeper, a // 2, x_next)

    deeper = lax.cond(a % 2 == 0, go, _keep, deeper, _window(rings['resample'], a))
    layer = net.layers[pp.layer_name('down', 'u', k)]
    w = lax.dynamic_slice_in_dim(layer['w'], a % 2, 1, axis=0)  # kernel row tap a % 2
    u = shifted.deconv(deeper[0]['last'][:, None], w, (1, 2), (0, 1))[:, 0] + layer['b']
  else:
    u = ups.pop()
  downs = []
  for j in range(pp.down_resnets(r, k)):
    layer = net.layers[pp.layer_name('down', 'u', k, j)]
    u, rings = gated_resnet(layer, rings, f'down{j}', conv_fn, u, ups.pop())
    downs.append(u)
  lv.update(rings=rings, down=tuple(downs))
  if k:
    lv['last'] = u
  return [lv, *deeper]


def ul_level(net, k, levels, u_levels, a, b, x_pix):
  """Resolution k's ul stream at its pixel (a, b), given its first value there;
  resolution k + 1 inside when a and b are even. `levels`: the ul states of k .. K
  ('rings'; 'last' for k > 0: the row buffer k - 1 upsamples from), `u_levels` the
  u states of the current rows. Returns the states and the last ul value."""
  r = net.num_resnets
  lv = dict(levels[0])
  u_lv = u_levels[0]
  rings = lv['rings']
  conv_fn = lambda layer, ring, x: pixel_conv(layer, ring, a, b, x)
  column = lambda row: lax.dynamic_index_in_dim(row, b, axis=1, keepdims=False)
  uls = [x_pix]
  for j in range(r):
    layer = net.layers[pp.layer_name('up', 'ul', k, j)]
    y, rings = gated_resnet(layer, rings, f'up{j}', conv_fn, uls[-1], column(u_lv['up'][j]))
    uls.append(y)
  deeper = list(levels[1:])
  if k < K:
    rings = dict(rings, resample=_put(rings['resample'], a, uls[-1], b + 1))

    def go(deeper, window):
      layer = net.layers[pp.layer_name('up', 'ul', k + 1)]
      x_next = jnp.einsum('nhwc,hwcf->nf', window, layer['w']) + layer['b']
      return ul_level(net, k + 1, deeper, u_levels[1:], a // 2, b // 2, x_next)[0]

    window = _window(rings['resample'], a, b, 2)
    deeper = lax.cond((a % 2 == 0) & (b % 2 == 0), go, _keep, deeper, window)
    layer = net.layers[pp.layer_name('down', 'ul', k)]
    w = layer['w'][a % 2, b % 2]  # (out, in): the transposed convolution's tap
    last = lax.dynamic_index_in_dim(deeper[0]['last'], b // 2, axis=1, keepdims=False)
    ul = last @ w.T + layer['b']
  else:
    ul = uls.pop()
  for j in range(pp.down_resnets(r, k)):
    layer = net.layers[pp.layer_name('down', 'ul', k, j)]
    aux = jnp.concatenate([column(u_lv['down'][j]), uls.pop()], axis=-1)
    ul, rings = gated_resnet(layer, rings, f'down{j}', conv_fn, ul, aux)
  lv['rings'] = rings
  if k:
    lv['last'] = lax.dynamic_update_slice(lv['last'], ul[:, None], (0, b, 0))
  return [lv, *deeper], ul


# -- Initial states and the raster loop. -----------------------------------------------------


class _Net(NamedTuple):
  layers: dict
  num_resnets: int


def _rings(n, width, pad, features, r, k, dtype):
  rings = {}
  for part, count in (('up', r), ('down', pp.down_resnets(r, k))):
    for j in range(count):
      rings[f'{part}{j}_in'] = _ring(n, width, pad, 2 * features, dtype)  # concat_elu: 2F
      rings[f'{part}{j}_out'] = _ring(n, width, pad, 2 * features, dtype)
  if k < K:
    rings['resample'] = _ring(n, width, pad, features, dtype)
  return rings


def _initial_states(n, width, features, r, dtype):
  """Zero states of the u and the ul stream, one per resolution."""
  u_levels, ul_levels = [], []
  for k in range(K + 1):
    w = width >> k
    row = jnp.zeros((n, w, features), dtype)
    u = {'rings': _rings(n, w, (1, 1), features, r, k, dtype), 'up': (row,) * r}
    u['down'] = (row,) * pp.down_resnets(r, k)
    ul = {'rings': _rings(n, w, (1, 0), features, r, k, dtype)}
    if k:
      u['last'], ul['last'] = row, row
    u_levels.append(u)
    ul_levels.append(ul)
  return u_levels, ul_levels


def sample(params, net: pp.PixelCNNPPNet, p: common.Pixels, key, n: int, labels, num_mixtures: int,
           dtype=None, known: common.Known | None = None) -> jax.Array:  # fmt: skip
  """(n, H, W, C) int32 levels of `net` with `params` (eval mode), the same integers as
  pixelcnn_pp.sample_naive for `key` and `known` (float32; in bfloat16 the same
  distribution, the rounding of other shapes of products)."""
  h, w, c = p.shape
  dtype = dtype or jnp.float32
  layers = plain_layers(params, labels, dtype)
  net_ = _Net(layers, net.num_resnets)
  valid = ((0, 0), (0, 0))
  # The image with openai's channel of ones, zero-padded 2 rows on top and a column on each
  # side: image (r, c) is img[:, r + 2, c + 1]. Float32 holds the 8-bit grid exactly.
  img = jnp.zeros((n, h + 2, w + 2, c + 1), jnp.float32).at[:, 2:, 1:-1, c].set(1.0)

  def first_rows(img, i):
    """u = down_shift(ds[2,3](x)) and down_shift(ds[1,3](x)) at row i: rows i-2, i-1."""
    above = lax.dynamic_slice(img, (0, i, 0, 0), (n, 2, w + 2, c + 1)).astype(dtype)
    u = conv(above, layers['u_in']['w'], (1, 1), valid)[:, 0] + layers['u_in']['b']
    ul = conv(above[:, 1:], layers['ul_in_above']['w'], (1, 1), valid)[:, 0]
    ul = ul + layers['ul_in_above']['b']
    return jnp.where(i > 0, u, 0.0), jnp.where(i > 0, ul, 0.0)  # down_shift: row 0 is zero

  def first_pixel(img, ul_above, i, j):
    """ul = ... + right_shift(drs[2,1](x)) at (i, j): x rows i-1, i at column j-1."""
    left = lax.dynamic_slice(img, (0, i + 1, j, 0), (n, 2, 1, c + 1)).astype(dtype)
    layer = layers['ul_in_left']
    y = jnp.einsum('nhwc,hwcf->nf', left, layer['w']) + layer['b']
    above = lax.dynamic_index_in_dim(ul_above, j, axis=1, keepdims=False)
    return above + jnp.where(j > 0, y, 0.0)

  def row_step(carry, i):
    img, u_levels, ul_levels = carry
    u_row, ul_above = first_rows(img, i)
    u_levels = u_level(net_, 0, u_levels, i, u_row)

    def pixel_step(carry, j):
      img, ul_levels = carry
      x_pix = first_pixel(img, ul_above, i, j)
      ul_levels, ul = ul_level(net_, 0, ul_levels, u_levels, i, j, x_pix)
      out = dense(layers['out'], jax.nn.elu(ul)).astype(jnp.float32)
      u_mix, u_logistic = likelihood.draw_logistic_mixture_noise(
          jax.random.fold_in(key, i * w + j), (n,), num_mixtures, c
      )
      pixel = likelihood.sample_discretized_logistic_mixture(out, u_mix, u_logistic)
      pixel = pp.keep_known(pixel, known, i, j)
      img = lax.dynamic_update_slice(img, pixel[:, None, None], (0, i + 2, j + 1, 0))
      return (img, ul_levels), None

    (img, ul_levels), _ = lax.scan(pixel_step, (img, ul_levels), jnp.arange(w))
    return (img, u_levels, ul_levels), None

  u_init, ul_init = _initial_states(n, w, net.features, net.num_resnets, dtype)
  (img, _, _), _ = lax.scan(row_step, (img, u_init, ul_init), jnp.arange(h))
  return jnp.round((img[:, 2:, 1:-1, :c] + 1.0) * 127.5).astype(jnp.int32)
