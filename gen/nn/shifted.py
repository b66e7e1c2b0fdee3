"""Shifted convolutions and weight-normalised layers of PixelCNN++ (Salimans, Karpathy,
Chen & Kingma 2017, sec. 2.4-2.5; openai/pixel-cnn `pixel_cnn_pp/nn.py`).

Causality by padding instead of masks: a [kh, kw] kernel on an input padded kh - 1 rows
on top reads only the output's own row and the rows above it.
  down-shifted       [2, 3]: pad top kh - 1, left and right (kw - 1) / 2 -> rows <= r,
                     columns c - 1..c + 1 (the "u" stream, above).
  down-right-shifted [2, 2]: pad top kh - 1, left kw - 1 -> rows <= r, columns <= c
                     (the "ul" stream, above and to the left).
Each is followed where the network needs strict causality by `down_shift` (a zero row on
top, last row dropped) or `right_shift` (a zero column on the left). The transposed
versions (stride-2 upsampling) are TF's 'VALID' conv2d_transpose cropped to the input
size times the stride: out[s i + t - lo] += x[i] w[t], lo = 0 rows and (kw - 1) / 2
(down-shifted) or 0 (down-right-shifted) columns.

Weight normalisation (Salimans & Kingma 2016, eq. 2): W = g V / ||V||, the norm over every
axis but the output channel, V ~ N(0, 0.05^2). Data-dependent init (their sec. 3): on the
init batch, with t = x . V / ||V|| of mean m and variance v per channel,
g = init_scale / sqrt(v + 1e-10) and b = -m g, so the layer's outputs g t + b have zero
mean and std init_scale there (the layer returns these recomputed outputs, as openai
after PR #37). Flax runs it in `module.init`: the first call of each layer sees its
input from the layers initialised before it.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gen.nn import conv as conv_lib

_V_STD = 0.05
_VAR_EPS = 1e-10


def down_shift(x):
  """A zero row on top, the last row dropped (openai `nn.down_shift`)."""
  return jnp.pad(x, ((0, 0), (1, 0), (0, 0), (0, 0)))[:, :-1]


def right_shift(x):
  """A zero column on the left, the last column dropped (openai `nn.right_shift`)."""
  return jnp.pad(x, ((0, 0), (0, 0), (1, 0), (0, 0)))[:, :, :-1]


def concat_elu(x):
  """elu([x, -x]) on the channel axis (Shang et al. 2016's CReLU with ELU)."""
  return jax.nn.elu(jnp.concatenate([x, -x], axis=-1))


def down_shifted_padding(kernel_size) -> conv_lib.Padding:
  kh, kw = kernel_size
  return ((kh - 1, 0), ((kw - 1) // 2, (kw - 1) // 2))


def down_right_shifted_padding(kernel_size) -> conv_lib.Padding:
  kh, kw = kernel_size
  return ((kh - 1, 0), (kw - 1, 0))


# --------------------------------------------------------------- transposed convolution


def _deconv_pads(kernel_size, lo) -> conv_lib.Padding:
  """Padding of the strided convolution whose input gradient the deconvolution is."""
  return tuple((l, k - 1 - l) for k, l in zip(kernel_size, lo))


def deconv(x, w, strides: Sequence[int], lo: Sequence[int]):
  """TF 'VALID' conv2d_transpose of NHWC x with w (kh, kw, out, in), cropped to
  out[s i + t - lo] += x[i] w[t], output size (H s, W s). On CPU it and its gradients are
  gen/nn/conv.py's fast forms (`transpose_input`); elsewhere lax, differentiated by JAX."""
  strides, lo = tuple(int(s) for s in strides), tuple(int(l) for l in lo)
  pads = _deconv_pads(w.shape[:2], lo)
  out_hw = tuple(n * s for n, s in zip(x.shape[1:3], strides))
  if jax.default_backend() != 'cpu':
    return conv_lib.lax_transpose_input(x, w, strides, pads, out_hw)
  return conv_lib.transpose_input(x, w, strides, pads, out_hw)


# --------------------------------------------------------------- weight normalisation


def _normalise(v, axes):
  return v * jax.lax.rsqrt(jnp.sum(jnp.square(v), axis=axes, keepdims=True))


# Per layer kind, the axes V is normalised over and its output axis: dense (in, out), conv
# (kh, kw, in, out), deconv (kh, kw, out, in) as TF's conv2d_transpose.
_KINDS = {'dense': ((0,), 1), 'conv': ((0, 1, 2), 3), 'deconv': ((0, 1, 3), 2)}


def weight_norm_kernel(params, kind, dtype=None):
  """The effective kernel g V / ||V|| of a weight-normalised layer's params {V, g, b}
  (kind 'dense', 'conv' or 'deconv'), in `dtype` (default V's): what the layer
  multiplies by, for code that runs the layer's arithmetic itself (the cached
  PixelCNN++ sampler)."""
  v, g = params['V'], params['g']
  norm_axes, out_axis = _KINDS[kind]
  dtype = dtype or v.dtype
  gain = g.reshape([-1 if a == out_axis else 1 for a in range(v.ndim)]).astype(dtype)
  return _normalise(v, norm_axes).astype(dtype) * gain


def _weight_norm_apply(module, x, v_shape, kind, op, init_scale):
  """g * op(x, V / ||V||) + b, with g, b from the data on the first (init) call."""
  norm_axes, out_axis = _KINDS[kind]
  features = v_shape[out_axis]
  v = module.param('V', nn.initializers.normal(_V_STD), v_shape)
  if module.is_initializing():
    t = op(x, _normalise(v, norm_axes).astype(x.dtype))
    axes = tuple(range(t.ndim - 1))
    mean, var = jnp.mean(t, axis=axes), jnp.var(t, axis=axes)
    scale = init_scale / jnp.sqrt(var + _VAR_EPS)
    module.param('g', lambda _: scale)
    module.param('b', lambda _: -mean * scale)
    return scale * (t - mean)
  g = module.param('g', nn.initializers.ones, (features,))
  b = module.param('b', nn.initializers.zeros, (features,))
  w = weight_norm_kernel({'V': v, 'g': g}, kind, x.dtype)
  return op(x, w) + b.astype(x.dtype)


class WNDense(nn.Module):
  """Weight-normalised dense layer on the last axis (openai `dense`, and `nin`: a 1x1
  convolution, on (N, H, W, C))."""

  features: int
  init_scale: float = 1.0

  @nn.compact
  def __call__(self, x):
    shape = (x.shape[-1], self.features)
    return _weight_norm_apply(self, x, shape, 'dense', lambda x, w: x @ w, self.init_scale)


class WNConv(nn.Module):
  """Weight-normalised convolution (openai `conv2d`), explicit padding pairs."""

  features: int
  kernel_size: Sequence[int]
  padding: conv_lib.Padding
  strides: Sequence[int] = (1, 1)
  init_scale: float = 1.0

  @nn.compact
  def __call__(self, x):
    shape = tuple(self.kernel_size) + (x.shape[-1], self.features)
    op = lambda x, w: conv_lib.conv(x, w, self.strides, self.padding)
    return _weight_norm_apply(self, x, shape, 'conv', op, self.init_scale)


class WNDeconv(nn.Module):
  """Weight-normalised transposed convolution (openai `deconv2d`, 'VALID', cropped by
  `deconv`); V (kh, kw, out, in) as TF's, normalised over the spatial and input axes."""

  features: int
  kernel_size: Sequence[int]
  lo: Sequence[int]
  strides: Sequence[int] = (2, 2)
  init_scale: float = 1.0

  @nn.compact
  def __call__(self, x):
    shape = tuple(self.kernel_size) + (self.features, x.shape[-1])
    op = lambda x, w: deconv(x, w, self.strides, self.lo)
    return _weight_norm_apply(self, x, shape, 'deconv', op, self.init_scale)


def DownShiftedConv(features, kernel_size=(2, 3), strides=(1, 1), init_scale=1.0, name=None):
  """openai `down_shifted_conv2d`: output (r, c) reads rows <= r, columns c +- (kw-1)/2."""
  pads = down_shifted_padding(kernel_size)
  return WNConv(features, tuple(kernel_size), pads, tuple(strides), init_scale, name=name)


def DownRightShiftedConv(features, kernel_size=(2, 2), strides=(1, 1), init_scale=1.0, name=None):
  """openai `down_right_shifted_conv2d`: output (r, c) reads rows <= r, columns <= c."""
  pads = down_right_shifted_padding(kernel_size)
  return WNConv(features, tuple(kernel_size), pads, tuple(strides), init_scale, name=name)


def DownShiftedDeconv(features, kernel_size=(2, 3), strides=(2, 2), name=None):
  """openai `down_shifted_deconv2d`."""
  lo = (0, (kernel_size[1] - 1) // 2)
  return WNDeconv(features, tuple(kernel_size), lo, tuple(strides), name=name)


def DownRightShiftedDeconv(features, kernel_size=(2, 2), strides=(2, 2), name=None):
  """openai `down_right_shifted_deconv2d`."""
  return WNDeconv(features, tuple(kernel_size), (0, 0), tuple(strides), name=name)
