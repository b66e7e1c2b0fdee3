"""Cached (incremental) sampling for PixelRNN (van den Oord, Kalchbrenner & Kavukcuoglu
2016a, sec. 3.1-3.3): each layer's output at each pixel is computed once per sub-pixel
draw from the states the recurrences carry, instead of a full pass per sub-pixel.

The network is pixelrnn.PixelRNNNet, run on its own params in raster order (lax.scan over
rows, over the pixels of a row and over a pixel's colour groups), every causal mask
applied as gen.nn.masked applies it:
  input layer    the 7 x 7 mask-A convolution: the rows above (r - 3 .. r - 1) once per
                 row, the current row's three pixels to the left and the pixel itself
                 per pixel;
  Row LSTM       (sec. 3.1) the masked 1 x k input-to-state over the layer's inputs at
                 columns c - k // 2 .. c (a window of the current row), the state-to-state
                 over the previous row's h at c - k // 2 .. c + k // 2 (once per row) and
                 its cell at c; zero states above row 0, as RowLSTM's scan;
  Diagonal       (sec. 3.2) left to right, (r, c) reads h of (r - 1, c) and (h, c) of
  BiLSTM         (r, c - 1); right to left, in image coordinates (r - 1, c) and (r, c + 1),
                 and its output enters row r + 1 (the shift down), so a right-to-left
                 pass over row r runs when the row ends, from the layer's inputs of row r.
                 Left of column 0 (right of column W - 1) the skewed scan runs the cell on
                 zero input from h0, c0: the state entering each row there is a function
                 of the params (recurrent.left_boundary_states), computed once;
  residual,      1 x 1 mask B, pointwise at the pixel.
  skip, head
RGB: a pixel is computed C times, channel group g drawn after the pass that sees groups
< g (the masks make group g read only earlier groups at the same pixel); the states of
the last pass are final and carried on. Each sub-pixel is drawn with common.draw at its
raster position, so for the same key the integers equal common.sample_naive's (tested):
the arithmetic is the network's up to float rounding.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gen.models.autoregressive import common
from gen.nn import causal_mask, recurrent
from gen.nn.recurrent import lstm_cell

# -- Params as masked matrices. --------------------------------------------------------------


def _masked(conv, mask_type: str, groups: int):
  """A MaskedConv's (kernel * mask, bias), the mask of gen.nn.masked."""
  kernel = conv['kernel']
  kh, kw, cin, cout = kernel.shape
  return kernel * causal_mask((kh, kw), cin, cout, mask_type, groups), conv['bias']


def _pointwise(conv, groups: int):
  """A 1 x 1 mask-B MaskedConv as a (C_in, C_out) matrix and its bias."""
  kernel, bias = _masked(conv, 'B', groups)
  return kernel[0, 0], bias


def _conv_names(net) -> tuple[str, list[str], list[str], tuple[str, str]]:
  """PixelRNNNet's MaskedConv names (Flax numbers them in the order it creates them): the
  input layer; per layer its h -> 2h output and (with skip) its skip projection; the
  head's two."""
  per = 2 if net.skip else 1
  outs = [f'MaskedConv_{1 + per * i}' for i in range(net.num_layers)]
  skips = [f'MaskedConv_{2 + per * i}' for i in range(net.num_layers)] if net.skip else []
  last = 1 + per * net.num_layers
  return 'MaskedConv_0', outs, skips, (f'MaskedConv_{last}', f'MaskedConv_{last + 1}')


def _stack(trees):
  return jax.tree.map(lambda *a: jnp.stack(a), *trees)


def _row_lstm_params(lp, groups: int):
  kernel, bias = _masked(lp['MaskedConv_0'], 'B', groups)
  half = kernel.shape[1] // 2
  # Taps right of the centre are masked out: the input-to-state reads c - half .. c.
  return {'is_w': kernel[0, : half + 1].reshape(-1, kernel.shape[-1]), 'is_b': bias,
          'ss': lp['state_kernel']}  # fmt: skip


def _diagonal_params(lp, groups: int):
  lp = lp['_DiagonalDirections_0']
  convs = [_pointwise(lp[f'input_to_state_{d}'], groups) for d in range(2)]
  return {'is_w': jnp.stack([w for w, _ in convs]), 'is_b': jnp.stack([b for _, b in convs]),
          'ss': lp['state_kernel'], 'h0': lp['h0'], 'c0': lp['c0']}  # fmt: skip


def _with_boundary_states(layers, groups: int, rows: int):
  """Diagonal BiLSTM layers (stacked) with h0, c0 replaced by the states entering each
  row at its start, (L, rows, 2, h) each (recurrent.left_boundary_states; direction 1 runs
  on the mirrored image: its row start is right of column W - 1). One scan for every
  layer and direction."""
  ss, h0, c0 = (layers[k].reshape((-1,) + layers[k].shape[2:]) for k in ('ss', 'h0', 'c0'))
  states = recurrent.left_boundary_states(ss, h0, c0, groups, rows)
  h0, c0 = (jnp.moveaxis(s.reshape((rows,) + layers['h0'].shape), 0, 1) for s in states)
  return {**layers, 'h0': h0, 'c0': c0}


def prepare(params, net, p: common.Pixels):
  """The network's params as masked matrices: 'input' (kernel (7, 7, C, 2h), bias),
  'layers' (every layer's arrays stacked on a leading axis), 'head' ((w, b), (w, b))."""
  c = p.shape[-1]
  first, outs, skips, head = _conv_names(net)
  layers = []
  for i in range(net.num_layers):
    if net.layer == 'row_lstm':
      layer = _row_lstm_params(params[f'RowLSTM_{i}'], c)
    else:
      layer = _diagonal_params(params[f'DiagonalBiLSTM_{i}'], c)
    layer['out_w'], layer['out_b'] = _pointwise(params[outs[i]], c)
    if net.skip:
      layer['skip_w'], layer['skip_b'] = _pointwise(params[skips[i]], c)
    layers.append(layer)
  layers = _stack(layers)
  if net.layer == 'diagonal_bilstm':
    layers = _with_boundary_states(layers, c, p.shape[0])
  return {
      'input': _masked(params[first], 'A', c),
      'layers': layers,
      'head': tuple(_pointwise(params[name], c) for name in head),
  }


# -- One pixel of each layer. ----------------------------------------------------------------


def _layer(layers, i: int):
  return jax.tree.map(lambda a: a[i], layers)


def _shift_in(window, new):
  """Drops the window's oldest entry (axis 1) and appends `new` (one entry, no axis 1)."""
  return jnp.concatenate([window[:, 1:], new[:, None]], axis=1)


def _row_lstm_pixel(lp, x, above, left, groups: int):
  """Row LSTM at one pixel: x (n, 2h) its input, above = (the previous row's
  state-to-state pre-activation (n, 4h), its cell (n, h)) at the column, left the
  inputs at the k // 2 columns to the left (n, k // 2, 2h). -> (h, c), new window."""
  pre_above, c_above = above
  taps = jnp.concatenate([left, x[:, None]], axis=1).reshape(x.shape[0], -1)
  h, c = lstm_cell(taps @ lp['is_w'] + lp['is_b'] + pre_above, c_above, groups)
  return (h, c), _shift_in(left, x)


def _diagonal_cell(is_w, is_b, ss, x, h_above, state, groups: int):
  """One direction of the Diagonal LSTM at one pixel (sec. 3.2): input x, h of the pixel
  above, (h, c) of the previous pixel along the row -> (h, c)."""
  h_prev, c_prev = state
  taps = jnp.concatenate([h_above, h_prev], axis=-1)
  return lstm_cell(x @ is_w + is_b + taps @ ss, c_prev, groups)


def _row_lstm_row(lp, h_prev, c_prev):
  """Per column of a row (W, ...): the state-to-state pre-activation over the previous
  row's h at c - k // 2 .. c + k // 2 (zero padded), as RowLSTM, and its cell."""
  w, k = h_prev.shape[1], lp['ss'].shape[0] // h_prev.shape[-1]
  padded = jnp.pad(h_prev, ((0, 0), (k // 2, k // 2), (0, 0)))
  taps = jnp.concatenate([padded[:, j : j + w] for j in range(k)], axis=-1)
  return jnp.swapaxes(taps @ lp['ss'], 0, 1), jnp.swapaxes(c_prev, 0, 1)


def _right_to_left(layers, x_rows, h_above, r, groups: int):
  """Every layer's right-to-left h (L, n, W, h) over one row r from its inputs x_rows
  (L, n, W, 2h) and the right-to-left h of row r - 1 (L, n, W, h), entered from the
  right with the boundary state of row r; one scan for all layers."""
  z = jnp.einsum('lnwf,lfg->lnwg', x_rows, layers['is_w'][:, 1]) + layers['is_b'][:, 1, None, None]
  # The boundary state right of column W - 1: the mirrored direction's left of column 0.
  init = tuple(jnp.broadcast_to(s[:, r, 1, None], h_above.shape[:2] + s.shape[-1:])
               for s in (layers['h0'], layers['c0']))  # fmt: skip

  def column(state, zs):
    z_c, above_c = zs
    taps = jnp.concatenate([above_c, state[0]], axis=-1)
    h, c = lstm_cell(z_c + jnp.einsum('lnk,lkf->lnf', taps, layers['ss'][:, 1]), state[1], groups)
    return (h, c), h

  xs = (jnp.moveaxis(z, 2, 0)[::-1], jnp.moveaxis(h_above, 2, 0)[::-1])
  _, hs = jax.lax.scan(column, init, xs)
  return jnp.moveaxis(hs[::-1], 0, 2)


# -- Sampling. --------------------------------------------------------------------------------


def _input_rows_above(kernel, bias, img_win, width: int):
  """The input layer's taps on the rows above (plus its bias) for every column of the
  current row: img_win (n, m, W + 2m, C) the m rows above, zero padded -> (W, n, 2h)."""
  m, kw = img_win.shape[1], kernel.shape[1]
  taps = [img_win[:, i, j : j + width] for i in range(m) for j in range(kw)]
  out = jnp.concatenate(taps, axis=-1) @ kernel[:m].reshape(-1, kernel.shape[-1]) + bias
  return jnp.swapaxes(out, 0, 1)


def sample(params, net, p: common.Pixels, key, n: int, known: common.Known | None = None):
  """(n, H, W, C) int32 levels in raster order, every layer's state computed once per
  sub-pixel draw (module docstring); `known` pixels are kept (common.Known)."""
  return sample_with_outputs(params, net, p, key, n, known)[0]


def sample_with_outputs(
    params, net, p: common.Pixels, key, n: int, known: common.Known | None = None
):
  """`sample`, and the network outputs (n, H, W, C, K) each sub-pixel was drawn from:
  those of the full network on the returned image (by causality), to test against."""
  h_img, w_img, c = p.shape
  diagonal = net.layer == 'diagonal_bilstm'
  prep = prepare(params, net, p)
  kernel, bias = prep['input']
  m = kernel.shape[0] // 2
  # The centre row's taps: the m pixels to the left and the pixel itself (mask A).
  k_left = kernel[m, : m + 1].reshape(-1, kernel.shape[-1])
  layers = prep['layers']
  lps = [_layer(layers, i) for i in range(net.num_layers)]
  (w1, b1), (w2, b2) = prep['head']
  hid, feats = net.hidden, 2 * net.hidden

  def pixel_pass(pre_in, img_left, pixel, aboves, lefts):
    """Outputs (n, C, K) at the pixel from its values so far, each layer's new left
    state and (Diagonal BiLSTM) its left-to-right h and input."""
    x = pre_in + jnp.concatenate([img_left, pixel[:, None]], axis=1).reshape(n, -1) @ k_left
    skips, new_lefts, ys = 0.0, [], []
    for lp, above, left in zip(lps, aboves, lefts):
      if diagonal:
        h_above, bwd_above = above
        state = _diagonal_cell(lp['is_w'][0], lp['is_b'][0], lp['ss'][0], x, h_above, left, c)
        new_lefts.append(state)
        ys.append((state[0], x))
        h = state[0] + bwd_above  # the right-to-left h of the row above (the shift down)
      else:
        state, window = _row_lstm_pixel(lp, x, above, left, c)
        new_lefts.append(window)
        ys.append(state)
        h = state[0]
      out = h @ lp['out_w'] + lp['out_b']
      x = x + out
      if net.skip:
        skips = skips + out @ lp['skip_w'] + lp['skip_b']
    y = jax.nn.relu(jax.nn.relu(x + skips) @ w1 + b1) @ w2 + b2
    return y.reshape(n, c, p.outputs_per_channel), new_lefts, ys

  def row_step(carry, r):
    img_win, states = carry  # the m image rows above; each layer's states of row r - 1
    pre_in = _input_rows_above(kernel, bias, img_win, w_img)
    if diagonal:
      aboves = [tuple(jnp.swapaxes(s[i], 0, 1) for s in states) for i in range(len(lps))]
      lefts = [tuple(jnp.broadcast_to(s[r, 0], (n, hid)) for s in (lp['h0'], lp['c0']))
               for lp in lps]  # fmt: skip
    else:
      aboves = [_row_lstm_row(lp, states[0][i], states[1][i]) for i, lp in enumerate(lps)]
      lefts = [jnp.zeros((n, lp['is_w'].shape[0] // feats - 1, feats)) for lp in lps]

    def pixel_step(pcarry, xs):
      img_left, lefts = pcarry
      col, pre_in_c, aboves_c = xs

      def group(pixel, g):  # one pass per colour group, traced once
        out, new_lefts, ys = pixel_pass(pre_in_c, img_left, pixel, aboves_c, lefts)
        value = common.draw(key, common.position(p, r, col, g), out[:, g], p, known)
        return pixel.at[:, g].set(p.to_input(value)), (value, out[:, g], new_lefts, ys)

      pixel, (values, outs, new_lefts, ys) = jax.lax.scan(group, jnp.zeros((n, c)), jnp.arange(c))
      # After group C - 1's pass every feature is final: none reads its pixel's last group.
      new_lefts, ys = jax.tree.map(lambda a: a[-1], (new_lefts, ys))
      drawn = (jnp.swapaxes(values, 0, 1), jnp.swapaxes(outs, 0, 1))
      return (_shift_in(img_left, pixel), new_lefts), (drawn, _stack(ys))

    xs = (jnp.arange(w_img), pre_in, aboves)
    init = (jnp.zeros((n, m, c)), lefts)
    _, (drawn, ys) = jax.lax.scan(pixel_step, init, xs)
    ys = jax.tree.map(lambda a: jnp.moveaxis(a, 0, 2), ys)  # (L, n, W, ...)
    if diagonal:
      h_fwd, x_rows = ys
      states = (h_fwd, _right_to_left(layers, x_rows, states[1], r, c))
    else:
      states = ys
    row, outs = (jnp.swapaxes(a, 0, 1) for a in drawn)  # (n, W, C), (n, W, C, K)
    img_win = _shift_in(img_win, jnp.pad(p.to_input(row), ((0, 0), (m, m), (0, 0))))
    return (img_win, states), (row, outs)

  zeros = jnp.zeros((net.num_layers, n, w_img, hid))
  img_init = jnp.zeros((n, m, w_img + 2 * m, c))
  _, rows = jax.lax.scan(row_step, (img_init, (zeros, zeros)), jnp.arange(h_img))
  return tuple(jnp.swapaxes(a, 0, 1) for a in rows)
