"""The two-dimensional LSTM layers of PixelRNN (van den Oord, Kalchbrenner & Kavukcuoglu
2016a, "Pixel Recurrent Neural Networks", sec. 3.1-3.2), as `lax.scan` recurrences.

Both layers take a causal feature map (N, H, W, C_in) and return (N, H, W, h). Gates
follow eq. 3: [o, f, i, g] = [sigma, sigma, sigma, tanh](K_ss * h_prev + K_is * x),
c = f . c_prev + i . g, h = o . tanh(c). The input-to-state part K_is * x is a masked
convolution (gen.nn.masked, mask B) over the whole map at once; only the state-to-state
part runs inside the scan.

Channel groups (R, G, B) carry through: the 4h gate pre-activations are laid out as
`groups` contiguous blocks of [o | f | i | g] for that group's h / groups units, so the
masked input-to-state kernel (contiguous groups, gen.nn.masked.channel_groups) feeds
group g's units only from input groups <= g at the same pixel, and the gates are
element-wise. The state-to-state kernels read strictly earlier pixels and are unmasked.

Row LSTM (sec. 3.1): one scan step per row. K_is is 1 x k along the row with mask B
(columns c - k // 2 .. c of the current row's input); K_ss is 1 x k over the previous
row's h (columns c - k // 2 .. c + k // 2). The context is a triangle above the pixel.

Diagonal LSTM (sec. 3.2): the map is skewed (row r shifted right by r), so that a
column of the skewed map is a diagonal of the image; one scan step per skewed column.
K_is is 1 x 1 (mask B); K_ss is a 2 x 1 column kernel over the previous column's h,
padded with a zero row at the top, so skewed position (r, t) reads (r - 1, t - 1) and
(r, t - 1): in the image, the pixel above and the pixel to the left. The context is
the quarter plane above and to the left. The Diagonal BiLSTM adds a second LSTM run on
the horizontally mirrored input (the image's mirror, not the skewed map's), mirrored
back and shifted down one row, so that pixel (r, c) receives the right-to-left state of
(r - 1, c), whose context is the rows above to the right; together every earlier pixel
is in the context of one layer (a reference sheet pitfall: shifting the skewed map, or
zeroing the last row instead of shifting, leaves holes or leaks).

Conditioning (multi-scale PixelRNN, sec. 3.5: the upsampled small image "added as a bias
to the input-to-state maps of every layer"): both layers take an optional `bias`
(N, H, W, 4h) added to K_is * x before the recurrence; the Diagonal BiLSTM skews it with
the input-to-state map and mirrors it for the right-to-left direction, so position (r, c)
of the image gets bias (r, c) in both. It adds no parameters: an unconditional layer's
parameter tree is the same with or without this option.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gen.nn.masked import MaskedConv




def skew(x: jax.Array) -> jax.Array:
  """(N, H, W, C) -> (N, H, W + H - 1, C): row r shifted right by r, zeros elsewhere.

  One pad and two reshapes: rows padded to W + H and laid end to end put row r's
  start at r (W + H) = r (W + H - 1) + r, i.e. at column r of rows of W + H - 1."""
  n, h, w, c = x.shape
  flat = jnp.pad(x, ((0, 0), (0, 0), (0, h), (0, 0))).reshape(n, h * (w + h), c)
  return flat[:, : h * (w + h - 1)].reshape(n, h, w + h - 1, c)


def unskew(x: jax.Array, width: int) -> jax.Array:
  """Inverse of `skew`: (N, H, width + H - 1, C) -> (N, H, width, C)."""
  n, h, t, c = x.shape
  flat = jnp.pad(x.reshape(n, h * t, c), ((0, 0), (0, h), (0, 0)))
  return flat.reshape(n, h, t + 1, c)[:, :, :width]


def shift_down(x: jax.Array) -> jax.Array:
  """(N, H, W, C): row r takes row r - 1; row 0 is zero (the last row is dropped)."""
  return jnp.pad(x, ((0, 0), (1, 0), (0, 0), (0, 0)))[:, :-1]


def lstm_cell(z: jax.Array, c_prev: jax.Array, groups: int) -> tuple[jax.Array, jax.Array]:
  """PixelRNN eq. 3 from pre-activations z (..., 4h) laid out as `groups` blocks of
  [o | f | i | g] and the cell state (..., h); returns (h, c), (..., h) each."""
  lead, h = z.shape[:-1], z.shape[-1] // 4
  z = z.reshape(lead + (groups, 4, h // groups))
  o, f, i = (jax.nn.sigmoid(z[..., k, :]) for k in range(3))
  g = jnp.tanh(z[..., 3, :])
  c = f * c_prev.reshape(lead + (groups, h // groups)) + i * g
  return (o * jnp.tanh(c)).reshape(lead + (h,)), c.reshape(lead + (h,))


def _plus(z_in, bias):
  """The input-to-state pre-activations plus an optional conditioning bias (N, H, W, 4h)."""
  return z_in if bias is None else z_in + bias.astype(z_in.dtype)


def _state_kernel(module: nn.Module, taps: int, features: int) -> jax.Array:
  return module.param(
      'state_kernel', nn.initializers.lecun_normal(), (taps * features, 4 * features)
  )


class RowLSTM(nn.Module):
  """Row LSTM layer (sec. 3.1): (N, H, W, C_in) -> (N, H, W, features)."""

  features: int  # h
  groups: int = 1
  kernel_size: int = 3  # k of the 1 x k input-to-state and state-to-state kernels

  @nn.compact
  def __call__(self, x, bias=None):
    n, _, w, _ = x.shape
    h, k = self.features, self.kernel_size
    z_in = _plus(MaskedConv(4 * h, (1, k), 'B', self.groups)(x), bias)  # the whole map at once
    kernel = _state_kernel(self, k, h).astype(x.dtype)
    half = k // 2

    def row(carry, z_row):
      h_prev, c_prev = carry  # (N, W, h) of the row above
      padded = jnp.pad(h_prev, ((0, 0), (half, half), (0, 0)))
      taps = jnp.concatenate([padded[:, j : j + w] for j in range(k)], axis=-1)
      h_new, c_new = lstm_cell(z_row + taps @ kernel, c_prev, self.groups)
      return (h_new, c_new), h_new

    zeros = jnp.zeros((n, w, h), x.dtype)
    _, hs = jax.lax.scan(row, (zeros, zeros), jnp.moveaxis(z_in, 1, 0))
    return jnp.moveaxis(hs, 0, 1)


def diagonal_step(kernel, groups: int):
  """One skewed column of the Diagonal LSTM's recurrence: ((h, c) of the previous column,
  z_col) -> (h, c), each (D, N, H, h), z_col (D, N, H, 4h), kernel (D, 2h, 4h)."""

  def column(carry, z_col):
    h_prev, c_prev = carry
    above = jnp.pad(h_prev, ((0, 0), (0, 0), (1, 0), (0, 0)))[:, :, :-1]  # zero row on top
    taps = jnp.concatenate([above, h_prev], axis=-1)
    pre = z_col + jnp.einsum('dnrk,dkf->dnrf', taps, kernel)
    return lstm_cell(pre, c_prev, groups)

  return column


def _initial(h0, c0, n: int, rows: int):
  d, h = h0.shape
  return tuple(jnp.broadcast_to(s[:, None, None], (d, n, rows, h)) for s in (h0, c0))


def _diagonal_scan(z_in, kernel, h0, c0, groups: int):
  """The Diagonal LSTM's recurrence for D directions at once: z_in (D, N, H, T, 4h) skewed
  input-to-state pre-activations, kernel (D, 2h, 4h), initial states (D, h); returns the
  skewed h (D, N, H, T, h). One scan for both directions of a BiLSTM halves the scan
  steps, which dominate a small model's time on CPU (a fixed cost per step)."""
  _, n, rows, _, _ = z_in.shape
  step = diagonal_step(kernel, groups)

  def column(carry, z_col):
    h, c = step(carry, z_col)
    return (h, c), h

  _, hs = jax.lax.scan(column, _initial(h0, c0, n, rows), jnp.moveaxis(z_in, 3, 0))
  return jnp.moveaxis(hs, 0, 3)


def left_boundary_states(kernel, h0, c0, groups: int, rows: int):
  """The state (h, c) that `_diagonal_scan` carries into column 0 of each image row:
  (rows, D, h) each. Row r's skewed columns t < r lie left of the image: they have zero
  input but still run the cell from h0, c0 (and from the phantom columns of the rows
  above), so for r >= 1 the state entering column 0 is not h0, c0. It depends on the
  params alone: the zero-input scan up to column r - 1, read at row r."""
  d, h = h0.shape
  step = diagonal_step(kernel, groups)
  z = jnp.zeros((rows - 1, d, 1, rows, 4 * h), h0.dtype)
  _, (hs, cs) = jax.lax.scan(lambda s, z_col: (step(s, z_col),) * 2, _initial(h0, c0, 1, rows), z)
  r = jnp.arange(1, rows)  # row r's state after skewed column r - 1
  return tuple(jnp.concatenate([s0[None], s[r - 1, :, 0, r]]) for s0, s in ((h0, hs), (c0, cs)))


class _DiagonalDirections(nn.Module):
  """The Diagonal LSTM run over each of `inputs` (D maps (N, H, W, C_in), each with its
  own weights) in one scan; returns D maps (N, H, W, features), each with the quarter
  plane above and to the left of its input as context (pixel included, mask B).
  `biases`: None, or D maps (N, H, W, 4h) added to the input-to-state pre-activations."""

  features: int
  groups: int = 1

  @nn.compact
  def __call__(self, inputs, biases=None):
    h, d = self.features, len(inputs)
    w = inputs[0].shape[2]
    biases = biases or [None] * d
    z_in = jnp.stack([
        skew(_plus(MaskedConv(4 * h, (1, 1), 'B', self.groups, name=f'input_to_state_{i}')(x), b))
        for i, (x, b) in enumerate(zip(inputs, biases))
    ])  # (D, N, H, W + H - 1, 4h)  # fmt: skip
    kernel = self.param('state_kernel', nn.initializers.lecun_normal(batch_axis=(0,)), (d, 2 * h, 4 * h))
    # Learned initial states (igul222's pixel_rnn.py: zero-initialised parameters).
    h0 = self.param('h0', nn.initializers.zeros, (d, h))
    c0 = self.param('c0', nn.initializers.zeros, (d, h))
    dtype = inputs[0].dtype
    hs = _diagonal_scan(z_in, kernel.astype(dtype), h0.astype(dtype), c0.astype(dtype), self.groups)
    return [unskew(hs[i], w) for i in range(d)]


class DiagonalLSTM(nn.Module):
  """One direction of the Diagonal BiLSTM (sec. 3.2): (N, H, W, C_in) -> (N, H, W,
  features), context the quarter plane above and to the left (pixel included through
  the mask-B input-to-state)."""

  features: int  # h
  groups: int = 1

  @nn.compact
  def __call__(self, x, bias=None):
    return _DiagonalDirections(self.features, self.groups)([x], None if bias is None else [bias])[0]


class DiagonalBiLSTM(nn.Module):
  """Diagonal BiLSTM (sec. 3.2): the left-to-right Diagonal LSTM plus the right-to-left
  one on the mirrored image, mirrored back and shifted down one row; both directions in
  one scan."""

  features: int
  groups: int = 1

  @nn.compact
  def __call__(self, x, bias=None):
    biases = None if bias is None else [bias, bias[:, :, ::-1]]  # the image's mirror, as x
    directions = _DiagonalDirections(self.features, self.groups)
    forward, backward = directions([x, x[:, :, ::-1]], biases)
    return forward + shift_down(backward[:, :, ::-1])
