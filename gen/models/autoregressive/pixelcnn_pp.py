"""PixelCNN++ (Salimans, Karpathy, Chen & Kingma 2017, "PixelCNN++: Improving the PixelCNN
with Discretized Logistic Mixture Likelihood and Other Modifications", ICLR).

As openai/pixel-cnn `pixel_cnn_pp/model.py::model_spec` at its defaults:
  - likelihood: a mixture of K discretized logistics per pixel, the colours coupled
    linearly (sec. 2.1-2.2, eqs. 2-3; gen.losses.likelihood), whole pixels conditioned on
    earlier ones (sec. 2.3): log p(x) = sum over pixels of the mixture's log-pmf;
  - two streams (sec. 2.4): u sees the rows above (down-shifted [2, 3] convolutions), ul
    the rows above and the pixels to the left in the row (down-right-shifted [2, 2]),
    started from concat(x, 1) (the ones tell the image from the zero padding):
      u = down_shift(ds[2,3](x)), ul = down_shift(ds[1,3](x)) + right_shift(drs[2,1](x));
  - a U-net (sec. 2.4, Fig. 2): up pass of 3 resolutions (H, H/2, H/4), each
    `num_resnets` gated resnets per stream, joined by stride-2 shifted convolutions,
    keeping all 3 (R + 1) u's and ul's; a down pass consuming them as the aux inputs
    (u: a = stored u; ul: a = concat(u, stored ul)) with R resnets at H/4 and R + 1 at
    H/2 and H, joined by stride-2 shifted transposed convolutions (sec. 2.5, short-cuts);
  - gated resnet GR(x, a, h): c1 = conv(concat_elu(x)) [+ nin(concat_elu(a))];
    c1 = dropout(concat_elu(c1)) (element-wise, sec. 2.6); c2 = conv(c1, 2F, init_scale
    0.1) [+ h W, a class bias (Gated PixelCNN, van den Oord et al. 2016b, eq. 4)];
    out = x + c2[:F] * sigmoid(c2[F:]);
  - output nin(elu(ul), M): M = 10K for RGB (K logits, then per colour K means, K log
    scales, K coupling coefficients: openai's layout). For grayscale C = 1 there are no
    coefficients: M = 3K = [K logits, K means, K log scales];
  - weight normalisation everywhere with data-dependent init on the first
    `model.init_batch_size` (16) images of the example batch (gen.nn.shifted), dropout on
    in that pass as in openai's `init_pass`. The initial V and the dropout masks are drawn
    with JAX's 'unsafe_rbg' PRNG seeded from the given keys (`_rbg_key`: compile time), so
    they are reproducible per key but not threefry's numbers and may change with the
    sharding.
At 32x32x3, F = 160, R = 5, K = 10: 53,659,080 parameters (openai's count; tested).

Training (openai train.py; config): Adam(b1 0.95, b2 0.9995), lr 1e-3 decayed x0.999995
every step (optim.lr_decay), Polyak averaging 0.9995 (train.ema_decay; the EMA weights
give the test bits/dim and the samples, with dropout off). One difference: openai's EMA
shadows are created before its data-dependent init pass, so they start from g = 1, b = 0
and are pulled to the initialised values over a few thousand steps; here the EMA starts
as a copy of the initialised params (gen.train.step.init_state).

Sampling (model.sampler): 'cached' (the default) is the fast generation of Ramachandran
et al. 2017 (pixelcnn_pp_cached: each layer's output at each position computed once);
'naive' runs the full network once per pixel (all channels at once, as openai
`sample_from_model`). Pixel (r, c) uses the noise of key fold_in(key, r W + c) in both, so
they give the same integers for a key. Samples are rounded to the 8-bit grid
(gen.losses.likelihood.sample_discretized_logistic_mixture). For image completion both
keep the observed pixels of a common.Known, whole pixels on that grid (`keep_known`).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gen import config as config_lib
from gen import nn as gnn
from gen.losses import likelihood
from gen.models import labels as labels_lib
from gen.models.autoregressive import common
from gen.nn import shifted

NUM_LEVELS = 256  # the discretized logistic's 8-bit grid
SAMPLERS = ('naive', 'cached')
DOWNSAMPLINGS = 2  # two stride-2 layers: three resolutions


def num_outputs(channels: int, num_mixtures: int) -> int:
  """M per pixel: 10K for RGB (openai), 3K for grayscale (no colour coefficients)."""
  return (10 if channels == 3 else 3) * num_mixtures


def down_resnets(num_resnets: int, k: int) -> int:
  """Gated resnets per stream of the down pass at resolution H / 2^k: R at the lowest,
  R + 1 above it (they consume the R + 1 values the up pass stored there)."""
  return num_resnets + (k < DOWNSAMPLINGS)


def layer_name(direction: str, stream: str, k: int, j: int | None = None) -> str:
  """'up1_ul3': gated resnet 3 of stream ul in the up pass at resolution H / 2; without j
  the stride-2 layer that leads to (up) or from (down) resolution H / 2^k."""
  return f'{direction}{k}_{stream}' + ('_resample' if j is None else str(j))


class GatedResnet(nn.Module):
  """openai `nn.gated_resnet` with concat_elu; `stream` 'u' (down-shifted [2, 3]
  convolutions) or 'ul' (down-right-shifted [2, 2])."""

  stream: str
  dropout: float

  def _conv(self, features, name, init_scale=1.0):
    kind = shifted.DownShiftedConv if self.stream == 'u' else shifted.DownRightShiftedConv
    size = (2, 3) if self.stream == 'u' else (2, 2)
    return kind(features, size, init_scale=init_scale, name=name)

  @nn.compact
  def __call__(self, x, a=None, h=None, train=False):
    f = x.shape[-1]
    c1 = self._conv(f, 'conv_in')(shifted.concat_elu(x))
    if a is not None:
      c1 = c1 + shifted.WNDense(f, name='nin_aux')(shifted.concat_elu(a))
    c1 = nn.Dropout(self.dropout, deterministic=not train)(shifted.concat_elu(c1))
    c2 = self._conv(2 * f, 'conv_out', init_scale=0.1)(c1)
    if h is not None:  # class-conditional bias, the same at every position
      hw = self.param('hw', nn.initializers.normal(0.05), (h.shape[-1], 2 * f))
      c2 = c2 + (h.astype(c2.dtype) @ hw.astype(c2.dtype))[:, None, None, :]
    out, gate = jnp.split(c2, 2, axis=-1)
    return x + out * jax.nn.sigmoid(gate)


class PixelCNNPPNet(nn.Module):
  """x (N, H, W, C) in [-1, 1], h (N, classes) one-hot or None -> (N, H, W, M)."""

  features: int = 160
  num_resnets: int = 5
  outputs: int = 100
  dropout: float = 0.5

  @nn.compact
  def __call__(self, x, h=None, train=False):
    f, r = self.features, self.num_resnets
    gr = lambda name, y, a=None: GatedResnet(name[1], self.dropout, name=layer_name(*name))(
        y, a, h, train
    )
    x = jnp.concatenate([x, jnp.ones(x.shape[:-1] + (1,), x.dtype)], axis=-1)
    us = [shifted.down_shift(shifted.DownShiftedConv(f, (2, 3), name='u_in')(x))]
    uls = [
        shifted.down_shift(shifted.DownShiftedConv(f, (1, 3), name='ul_in_above')(x))
        + shifted.right_shift(shifted.DownRightShiftedConv(f, (2, 1), name='ul_in_left')(x))
    ]
    for k in range(DOWNSAMPLINGS + 1):  # up pass, resolution H / 2^k
      if k:
        us.append(shifted.DownShiftedConv(f, (2, 3), (2, 2), name=layer_name('up', 'u', k))(us[-1]))
        uls.append(
            shifted.DownRightShiftedConv(f, (2, 2), (2, 2), name=layer_name('up', 'ul', k))(uls[-1])
        )
      for j in range(r):
        us.append(gr(('up', 'u', k, j), us[-1]))
        uls.append(gr(('up', 'ul', k, j), uls[-1], us[-1]))
    u, ul = us.pop(), uls.pop()
    for k in reversed(range(DOWNSAMPLINGS + 1)):  # down pass
      if k < DOWNSAMPLINGS:
        u = shifted.DownShiftedDeconv(f, (2, 3), name=layer_name('down', 'u', k))(u)
        ul = shifted.DownRightShiftedDeconv(f, (2, 2), name=layer_name('down', 'ul', k))(ul)
      for j in range(down_resnets(r, k)):
        u = gr(('down', 'u', k, j), u, us.pop())
        ul = gr(('down', 'ul', k, j), ul, jnp.concatenate([u, uls.pop()], axis=-1))
    assert not us and not uls
    return shifted.WNDense(self.outputs, name='out')(jax.nn.elu(ul))


def _check(config, p: common.Pixels):
  cfg = config.model
  config_lib.require_int(cfg.features, 'model.features')
  config_lib.require_int(cfg.num_resnets, 'model.num_resnets', 0)
  config_lib.require_int(cfg.num_mixtures, 'model.num_mixtures')
  config_lib.require_int(cfg.init_batch_size, 'model.init_batch_size')
  config_lib.require_number(cfg.dropout, 'model.dropout', 0.0, 1.0)
  config_lib.require_choice(cfg.sampler, 'model.sampler', SAMPLERS)
  h, w, c = p.shape
  step = 2**DOWNSAMPLINGS
  config_lib.require(
      h % step == 0 and w % step == 0,
      'data.name',
      config.data.name,
      f'PixelCNN++ needs image height and width divisible by {step} (two stride-2 '
      f'downsamplings); these images are {h}x{w}',
  )
  config_lib.require(
      c in (1, 3), 'data.name', config.data.name, f'PixelCNN++ takes 1 or 3 channels, not {c}'
  )
  config_lib.require(
      p.levels == NUM_LEVELS,
      'data.binarize',
      config.data.binarize,
      f'PixelCNN++ models {NUM_LEVELS} levels (8-bit images), not {p.levels}',
  )


def _rbg_key(key):
  """An 'unsafe_rbg' key (XLA's RngBitGenerator) from any JAX key, for the initial V and
  the dropout masks: on XLA CPU the threefry hash behind each of the network's ~60 draws
  made the smoke network's init compile 3x slower (100 s vs 31 s, 2 loaded cores)."""
  if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
    key = jax.random.key_data(key)
  data = key.reshape(-1).astype(jnp.uint32)[-2:]
  data = jnp.concatenate([data, data ^ jnp.uint32(0x9E3779B9)])
  return jax.random.wrap_key_data(data, impl='unsafe_rbg')


def _one_hot(labels, classes):
  return None if labels is None else jax.nn.one_hot(labels, classes)


def keep_known(pixel, known: common.Known | None, r, col) -> jax.Array:
  """A drawn pixel (n, C) on the [-1, 1] 8-bit grid, or the known one where (r, col) is
  observed (whole pixels: every channel), as the grid value the data pipeline gives it."""
  if known is None:
    return pixel
  levels = jnp.round((pixel + 1.0) * 127.5).astype(jnp.int32)  # exact: pixel is on the grid
  return likelihood.grid_value(known.keep(levels, r, col), pixel.dtype)


def sample_naive(out_fn, key, n: int, p: common.Pixels, num_mixtures: int,
                 known: common.Known | None = None) -> jax.Array:  # fmt: skip
  """(n, H, W, C) int32 levels in raster order, one full pass out_fn(x) -> (n, H, W, M)
  per pixel; pixel (r, c) draws with fold_in(key, r W + c); `known` pixels are kept
  (common.Known; the noise is drawn all the same)."""
  h, w, c = p.shape

  def body(i, x):
    r, col = jnp.divmod(i, w)
    params = out_fn(x)[:, r, col]
    u_mix, u_logistic = likelihood.draw_logistic_mixture_noise(
        jax.random.fold_in(key, i), (n,), num_mixtures, c
    )
    pixel = likelihood.sample_discretized_logistic_mixture(params, u_mix, u_logistic)
    return x.at[:, r, col].set(keep_known(pixel, known, r, col))

  x = jax.lax.fori_loop(0, h * w, body, jnp.zeros((n, h, w, c), jnp.float32))
  return jnp.round((x + 1.0) * 127.5).astype(jnp.int32)


def build(config, info):
  cfg = config.model
  p = common.pixels(config, info, 'PixelCNN++')
  _check(config, p)
  classes = labels_lib.num_classes(config, info, 'PixelCNN++')
  dtype = gnn.compute_dtype(config.train.get('compute_dtype', 'float32'))
  net = PixelCNNPPNet(
      cfg.features, cfg.num_resnets, num_outputs(p.shape[-1], cfg.num_mixtures), cfg.dropout
  )

  def run(params, x, labels, train, key=None):
    rngs = {'dropout': _rbg_key(key)} if train else {}
    h = _one_hot(labels, classes)
    return gnn.apply(net, params, {}, x, h, train=train, rngs=rngs, dtype=dtype)[0]

  def init_params(key, x, labels):
    k_params, k_dropout = jax.random.split(key)
    n = cfg.init_batch_size
    x, labels = x[:n], (None if labels is None else labels[:n])
    rngs = {'params': _rbg_key(k_params), 'dropout': _rbg_key(k_dropout)}
    return net.init(rngs, x, _one_hot(labels, classes), train=True)['params']

  def log_prob(params, x, v, labels, key, train):
    out = run(params, x, labels, train, key)
    return jnp.sum(likelihood.discretized_logistic_mixture_logprob(x, out), axis=(1, 2))

  def sample(params, key, n, labels, known=None):
    if cfg.sampler == 'cached':
      # Imported here: the sampler module reads this one's network layout.
      from gen.models.autoregressive import pixelcnn_pp_cached

      return pixelcnn_pp_cached.sample(
          params, net, p, key, n, labels, cfg.num_mixtures, dtype, known
      )
    out_fn = lambda x: run(params, x, labels, False)
    return sample_naive(out_fn, key, n, p, cfg.num_mixtures, known)

  return common.make_model(config, p, init_params, log_prob, sample, classes)
