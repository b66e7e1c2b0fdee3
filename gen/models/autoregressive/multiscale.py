"""Multi-scale PixelRNN (van den Oord, Kalchbrenner & Kavukcuoglu 2016a, "Pixel Recurrent
Neural Networks", sec. 3.5): an unconditional PixelRNN of an s x s subsample of the image
and a conditional PixelRNN of the n x n image, every layer of which receives the upsampled
small image as a bias on its input-to-state map.

What the paper says, as far as the project's reference sheet has it (autoregressive
models, sec. 2.5, mostly from memory of the paper and unverified): the s x s image goes
through an upsampling (deconvolution) network to a c x n x n map that is "added as a bias
to the input-to-state maps of every layer" of the conditional network; the paper used it
for 64 x 64 ImageNet and reports better visual coherence at a similar likelihood. How the
paper subsamples is not known to us; the choice here makes the likelihood exact:

  Subsample. x_s = x[::f, ::f], the sub-lattice of actual pixels (f = model.scale,
  s = n / f), so both levels are discrete images of the same levels and
      log p(x) = log p_small(x_s) + sum_{i off the sub-lattice} log p_big(x_i | x_<i, x_s).
  The big network emits outputs at the sub-lattice pixels too, but they are not scored
  (those pixels are known given x_s). Sampling draws x_s with the small network, then
  the big image with common.Known keeping the sub-lattice (observed = the sub-lattice
  mask), so every other pixel is drawn from p_big(x_i | x_<i, x_s): sampling and the
  likelihood describe the same distribution. Keys: k_small, k_big = split(key).

  Conditioning. x_s (as network input in [-1, 1]) -> a stride-f transposed convolution
  to model.cond_features maps at n x n, ReLU, a 3 x 3 convolution (Upsampler); each LSTM
  layer adds its own learned 1 x 1 projection of that map to its input-to-state
  pre-activations (PixelRNNNet's `cond`, gen.nn.recurrent's `bias`). The bias sees all of
  x_s, the future sub-lattice pixels included (they are given), so the big network's
  output at pixel i reads no off-lattice pixel j >= i (nor channel >= its own of pixel
  i) and reads the sub-lattice only causally or through the bias.

  Training. Both networks in one params dict {'small', 'big'}, one optimizer, the loss
  the sum of the two NLLs (joint training; the paper's schedule is not known), logged
  apart as ar/nll_small and ar/nll_big. Metrics per example; bits/dim over all n*n*C dims.

model.layer picks the LSTM of both networks: 'row_lstm' or 'diagonal_bilstm'.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gen import config as config_lib
from gen import nn as gnn
from gen.models.autoregressive import common
from gen.models.autoregressive import pixelrnn_cached
from gen.models.autoregressive.pixelrnn import LAYERS, PixelRNNNet

NAME = 'Multi-scale PixelRNN'


class Upsampler(nn.Module):
  """x_s (N, s, s, C) in [-1, 1] -> (N, f s, f s, features): transposed conv, ReLU, conv."""

  features: int
  factor: int  # f

  @nn.compact
  def __call__(self, x_small):
    f = self.factor
    # Kernel f + 2 (f // 2), padding f // 2: output (s - 1) f - 2p + k = s f; for f = 2 it is
    # DCGAN's 4 x 4 / 2, each small pixel spreading over its f x f block and a margin.
    y = gnn.ConvTranspose(self.features, f + 2 * (f // 2), f, f // 2)(x_small)
    return gnn.Conv(self.features, (3, 3))(nn.relu(y))


class ConditionalPixelRNN(nn.Module):
  """The big image's network: (x (N, n, n, C), x_s (N, s, s, C)) -> PixelRNNNet outputs with
  the upsampled x_s as every layer's input-to-state bias."""

  net: PixelRNNNet
  cond_features: int
  factor: int

  @nn.compact
  def __call__(self, x, x_small):
    return self.net(x, Upsampler(self.cond_features, self.factor)(x_small))


def sublattice(x, f: int):
  """The f-subsample x[:, ::f, ::f] of (N, H, W, ...) images: the small image."""
  return x[:, ::f, ::f]


def off_lattice(shape, f: int) -> np.ndarray:
  """(H, W) bool: the pixels the big network scores (those not in the small image)."""
  scored = np.ones(shape[:2], bool)
  scored[::f, ::f] = False
  return scored


def networks(cfg, p: common.Pixels) -> tuple[PixelRNNNet, ConditionalPixelRNN, common.Pixels]:
  """(small network, big network, the small image's Pixels) of a checked model config."""
  f, c, k = cfg.scale, p.shape[-1], p.outputs_per_channel
  skip = cfg.get('skip', True)
  small = PixelRNNNet(
      cfg.layer, cfg.small.hidden, cfg.small.num_layers, cfg.small.head_features, k, skip
  )
  big = PixelRNNNet(cfg.layer, cfg.hidden, cfg.num_layers, cfg.head_features, k, skip)
  small_p = dataclasses.replace(p, shape=(p.shape[0] // f, p.shape[1] // f, c))
  return small, ConditionalPixelRNN(big, cfg.cond_features, f), small_p


def _check_net(section, prefix: str, c: int) -> None:
  for key in ('hidden', 'num_layers', 'head_features'):
    config_lib.require_int(section[key], f'{prefix}.{key}')
  for key in ('hidden', 'head_features'):
    config_lib.require(
        section[key] % c == 0, f'{prefix}.{key}', section[key],
        f'must be a multiple of {c}: the {c} colour channel groups split every layer evenly',
    )  # fmt: skip


def _check(config, p: common.Pixels) -> None:
  cfg = config.model
  config_lib.require(
      not cfg.conditional, 'model.conditional', True, f'{NAME} is not class-conditional here'
  )
  config_lib.require_choice(cfg.layer, 'model.layer', sorted(LAYERS))
  config_lib.require_int(cfg.scale, 'model.scale', 2)
  h, w = p.shape[:2]
  divisors = [str(d) for d in range(2, min(h, w) + 1) if h % d == 0 and w % d == 0]
  config_lib.require(
      h % cfg.scale == 0 and w % cfg.scale == 0, 'model.scale', cfg.scale,
      f'must divide the image size {h}x{w} (the small image is every scale-th pixel): '
      f'use one of {", ".join(divisors) or "none: the height and width share no divisor"}',
  )  # fmt: skip
  config_lib.require_int(cfg.cond_features, 'model.cond_features')
  config_lib.require_bool(cfg.get('skip', True), 'model.skip')
  _check_net(cfg, 'model', p.shape[-1])
  _check_net(cfg.small, 'model.small', p.shape[-1])


def build(config, info):
  p = common.pixels(config, info, NAME)
  _check(config, p)
  f = config.model.scale
  small, big, small_p = networks(config.model, p)
  dtype = gnn.compute_dtype(config.train.get('compute_dtype', 'float32'))
  run_small = lambda params, xs: gnn.apply(small, params['small'], {}, xs, dtype=dtype)[0]
  run_big = lambda params, x, xs: gnn.apply(big, params['big'], {}, x, xs, dtype=dtype)[0]
  scored = jnp.asarray(off_lattice(p.shape, f))

  def init_params(key, x, labels):
    k_small, k_big = jax.random.split(key)
    xs = sublattice(x, f)
    return {'small': small.init(k_small, xs)['params'], 'big': big.init(k_big, x, xs)['params']}

  def log_prob_parts(params, x, v, labels, key, train):
    xs = sublattice(x, f)
    log_p_small = common.subpixel_log_prob(run_small(params, xs), sublattice(v, f), small_p)
    per_pixel = common.pixel_log_prob(run_big(params, x, xs), v, p)
    return {'small': log_p_small, 'big': jnp.sum(jnp.where(scored, per_pixel, 0.0), axis=(1, 2))}

  def log_prob(*args):
    parts = log_prob_parts(*args)
    return parts['small'] + parts['big']

  def sample(params, key, n, labels, known=None):
    """x_s (the small network's cached sampler, float32), then the rest with x_s kept.
    With `known` (completion), its sub-lattice pixels are kept in x_s and the others in
    the big image: x_s is drawn before the rest, given only the small image's pixels."""
    k_small, k_big = jax.random.split(key)
    known_small = None
    if known is not None:
      known_small = common.Known(sublattice(known.levels, f), sublattice(known.observed, f))
    v_small = pixelrnn_cached.sample(params['small'], small, small_p, k_small, n, known_small)
    levels = jnp.zeros((n,) + p.shape, jnp.int32).at[:, ::f, ::f].set(v_small)
    observed = jnp.broadcast_to(~scored, (n,) + p.shape[:2])
    if known is not None:
      levels = jnp.where(observed[..., None], levels, known.levels)
      observed = observed | known.observed
    xs = small_p.to_input(v_small)
    big_known = common.Known(levels, observed)
    return common.sample_naive(lambda x: run_big(params, x, xs), k_big, n, p, big_known)

  return common.make_model(
      config, p, init_params, log_prob, sample, log_prob_parts=log_prob_parts
  )
