"""What the autoregressive models share: discrete pixels, per-sub-pixel likelihoods and
raster-order sampling with noise indexed by position.

Pixels. The models see integer levels v in {0, ..., L-1} (L = 2 for binary data,
256 for 8-bit images), recovered exactly from the preprocessed batch, and take
2 v / (L - 1) - 1 in [-1, 1] as network input. Samples go back in the data's
scale (`data.scale`), so sample grids and sample-quality metrics treat them like
any other model's.

Sub-pixel factorisation (PixelCNN, Gated PixelCNN; van den Oord et al. 2016a,
eq. 2): p(x) = prod_i prod_c p(x_{i,c} | x_{<i}, x_{i,<c}); the network emits, per
pixel, C blocks of K values (K = 1 Bernoulli logit for binary data, else L softmax
logits), block c read only from channel group c (gen.nn.masked).

Noise by position. A sampler draws the value of sub-pixel (r, w, c) with the key
fold_in(key, (r * W + w) * C + c), whatever order it computes in, so the naive
sampler (a full forward pass per sub-pixel) and a cached one give identical
integers for the same key.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from gen import config as config_lib
from gen import nn as gnn
from gen.eval import likelihood as eval_likelihood
from gen.losses import likelihood
from gen.models import labels as labels_lib
from gen.train import optim
from gen.train import state as state_lib
from gen.train.model import Model


@dataclasses.dataclass(frozen=True)
class Pixels:
  """The discrete image space a model works in."""

  shape: tuple  # (H, W, C)
  levels: int  # L
  scale: str  # data.scale of the batches

  @property
  def num_dims(self) -> int:
    return math.prod(self.shape)

  @property
  def outputs_per_channel(self) -> int:
    return 1 if self.levels == 2 else self.levels

  def to_levels(self, x) -> jax.Array:
    """Preprocessed batch values -> int32 levels."""
    if self.scale == 'symmetric':
      x = (x + 1.0) / 2.0
    if self.scale != 'none':
      x = x * (self.levels - 1)
    return jnp.round(x).astype(jnp.int32)

  def to_input(self, v) -> jax.Array:
    return 2.0 * v.astype(jnp.float32) / (self.levels - 1) - 1.0

  def to_data(self, v) -> jax.Array:
    """Levels -> the data's scale (what `sample` returns)."""
    v = v.astype(jnp.float32)
    if self.scale == 'none':
      return v
    x = v / (self.levels - 1)
    return 2.0 * x - 1.0 if self.scale == 'symmetric' else x


def pixels(config, info, model: str) -> Pixels:
  """The Pixels of the configured data; ConfigError where an autoregressive model cannot
  take them (points, continuous values)."""
  config_lib.require(
      info.kind == 'image', 'data.name', info.name, f'is 2D points; {model} models images'
  )
  config_lib.require(
      not config.data.dequantize,
      'data.dequantize',
      True,
      f'{model} is a discrete likelihood over pixel levels: use data.dequantize=False',
  )
  levels = 2 if config.data.binarize else info.levels
  return Pixels(tuple(info.shape), levels, config.data.scale)


def split_channels(out, p: Pixels) -> jax.Array:
  """(N, H, W, C*K) network output -> (N, H, W, C, K)."""
  return out.reshape(out.shape[:3] + (p.shape[-1], p.outputs_per_channel))


def subpixel_log_prob(out, v, p: Pixels) -> jax.Array:
  """log p(x) per example (N,), nats, from (N, H, W, C*K) outputs and levels v (N, H, W, C)."""
  out = split_channels(out, p)
  if p.levels == 2:
    return likelihood.bernoulli(out[..., 0], v.astype(jnp.float32))
  return likelihood.categorical(out, v)


def pixel_log_prob(out, v, p: Pixels) -> jax.Array:
  """log p of each pixel (all its channels) (N, H, W), nats: subpixel_log_prob with every
  pixel as an example of its own, for likelihoods that score some pixels only."""
  n, h, w = v.shape[:3]
  as_examples = lambda a: a.reshape((n * h * w, 1, 1) + a.shape[3:])
  return subpixel_log_prob(as_examples(out), as_examples(v), p).reshape(n, h, w)


def position(p: Pixels, r, w, c):
  return (r * p.shape[1] + w) * p.shape[2] + c


class Known(NamedTuple):
  """Pixels a sampler keeps instead of drawing (image completion): levels (N, H, W, C)
  int32 and observed (N, H, W) bool. Every channel of an observed pixel is kept; the
  network reads kept pixels like drawn ones, so a pixel is drawn from p(x_i | x_<i), the
  kept ones included, and ignores observed pixels later in raster order."""

  levels: jax.Array
  observed: jax.Array

  def keep(self, value, r, col, ch=None) -> jax.Array:
    """value (N,) drawn at sub-pixel (r, col, ch), or (N, C) at pixel (r, col) with ch
    None -> the known levels where the pixel is observed."""
    seen = self.observed[:, r, col]
    if ch is None:
      return jnp.where(seen[:, None], self.levels[:, r, col], value)
    return jnp.where(seen, self.levels[:, r, col, ch], value)


def draw(key, pos, logits, p: Pixels, known: Known | None = None) -> jax.Array:
  """Sample the sub-pixel at `pos` for every example from its (N, K) outputs: Bernoulli
  by a uniform below sigmoid(logit), categorical by Gumbel-max; with `known`, its level
  where that pixel is observed (the noise is drawn all the same)."""
  k = jax.random.fold_in(key, pos)
  if p.levels == 2:
    u = jax.random.uniform(k, logits.shape[:1])
    value = (u < jax.nn.sigmoid(logits[:, 0])).astype(jnp.int32)
  else:
    g = jax.random.gumbel(k, logits.shape)
    value = jnp.argmax(logits + g, axis=-1).astype(jnp.int32)
  if known is None:
    return value
  r, rest = jnp.divmod(pos, p.shape[1] * p.shape[2])
  col, ch = jnp.divmod(rest, p.shape[2])
  return known.keep(value, r, col, ch)


def sample_naive(out_fn, key, n: int, p: Pixels, known: Known | None = None) -> jax.Array:
  """(n, H, W, C) int32 levels in raster order, one full forward pass per sub-pixel.

  out_fn(x) maps network input (n, H, W, C) in [-1, 1] to outputs (n, H, W, C*K); `known`
  pixels are kept (see Known).
  """
  h, w, c = p.shape

  def body(i, v):
    r, rest = jnp.divmod(i, w * c)
    col, ch = jnp.divmod(rest, c)
    out = split_channels(out_fn(p.to_input(v)), p)
    logits = out[:, r, col, ch]
    return v.at[:, r, col, ch].set(draw(key, i, logits, p, known))

  return jax.lax.fori_loop(0, h * w * c, body, jnp.zeros((n, h, w, c), jnp.int32))


def make_model(
    config,
    p: Pixels,
    init_params: Callable,
    log_prob: Callable,
    sample: Callable,
    classes: int = 0,
    log_prob_parts: Callable | None = None,
) -> Model:
  """The family's Model around its network, one network 'net' and one optimizer.

  init_params(key, x, labels) -> params, x the network input of an example batch;
  log_prob(params, x, v, labels, key, train) -> (N,) log p(v) in nats, x = p.to_input(v);
  sample(params, key, n, labels, known) -> (n, H, W, C) int32 levels, the `known` pixels
  kept where observed (a Known, or None: draw every pixel).
  log_prob_parts (optional; same arguments) -> {name: (N,)}, terms that sum to log_prob
  (multi-scale PixelRNN: the small image's and the rest's): training minimises their sum
  and logs each one's mean NLL as ar/nll_<name>.
  labels is None for an unconditional model. Training minimises the mean NLL per
  example (nats); metrics are per example and in bits/dim. The EMA copy of 'net'
  (train.ema_decay > 0, e.g. PixelCNN++'s Polyak averaging) is what
  log_likelihood, evaluate, sample and complete use.
  """
  tx = optim.make(config.optim, 'optim')

  def unpack(batch):
    v = p.to_levels(batch['x'])
    return v, p.to_input(v), (batch['label'] if classes else None)

  def init(key, batch):
    k_params, k_rng = jax.random.split(key)
    _, x, labels = unpack(batch)
    params = {'net': init_params(k_params, x, labels)}
    return state_lib.create(k_rng, params, {'net': tx.init(params)})

  def train_step(state, batch, key):
    v, x, labels = unpack(batch)

    def loss_fn(params):
      args = (params['net'], x, v, labels, key, True)
      parts = {} if log_prob_parts is None else log_prob_parts(*args)
      nll = -jnp.mean(sum(parts.values()) if parts else log_prob(*args))
      aux = {f'ar/nll_{name}': -jnp.mean(part) for name, part in parts.items()}
      return nll, {'ar/nll': nll, 'ar/bits_per_dim': nll / (p.num_dims * math.log(2)), **aux}

    (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt = tx.update(grads, state.opt_state['net'], state.params)
    new = state.replace(params=optax.apply_updates(state.params, updates), opt_state={'net': opt})
    return new, {'ar/loss': loss, 'ar/grad_norm': optax.tree.norm(grads), **aux}

  def log_likelihood(state, batch, key):
    v, x, labels = unpack(batch)
    return log_prob(state_lib.network_params(state, 'net'), x, v, labels, key, False)

  def sample_fn(state, key, n, labels=None):
    if classes and labels is None:
      labels = labels_lib.default_labels(n, classes)
    v = sample(state_lib.network_params(state, 'net'), key, n, labels if classes else None, None)
    return p.to_data(v)

  def complete(state, key, batch, observed):
    """The batch's images with their unobserved pixels drawn in raster order (see Known),
    in the data's scale; observed (N, H, W) bool; a conditional model uses their labels.
    Observed pixels are the batch's own values, bit for bit (p.to_data may round the
    last bit otherwise)."""
    v, _, labels = unpack(batch)
    observed = jnp.asarray(observed, bool)
    params = state_lib.network_params(state, 'net')
    x = p.to_data(sample(params, key, v.shape[0], labels, Known(v, observed)))
    return jnp.where(observed[..., None], batch['x'], x)

  def evaluate(state, batches, key):
    """Test NLL in nats per example and bits/dim (exact: the model's own likelihood)."""
    return eval_likelihood.evaluate(log_likelihood, state, batches, key, p.num_dims)

  return Model(
      init=init,
      train_step=train_step,
      sample=sample_fn,
      evaluate=evaluate,
      ema_networks=('net',),
      log_likelihood=log_likelihood,
      num_classes=classes,
      complete=complete,
  )


def unconditional_model(config, p: Pixels, net, name: str, cached: Callable | None = None) -> Model:
  """`make_model` for an unconditional network `net` (x -> (N, H, W, C * outputs)):
  PixelCNN and PixelRNN. It samples with `cached(params, key, n, known)` where given
  (its own arithmetic, float32 whatever train.compute_dtype is), else naively
  (sample_naive, in the compute dtype). A class-conditional config is refused."""
  config_lib.require(
      not config.model.conditional, 'model.conditional', True, f'{name} is unconditional here; '
      'use configs/gated_pixelcnn.py for a class-conditional model'
  )  # fmt: skip
  dtype = gnn.compute_dtype(config.train.get('compute_dtype', 'float32'))
  run = lambda params, x: gnn.apply(net, params, {}, x, dtype=dtype)[0]

  def init_params(key, x, labels):
    return net.init(key, x)['params']

  def log_prob(params, x, v, labels, key, train):
    return subpixel_log_prob(run(params, x), v, p)

  def sample(params, key, n, labels, known=None):
    if cached is not None:
      return cached(params, key, n, known)
    return sample_naive(lambda x: run(params, x), key, n, p, known)

  return make_model(config, p, init_params, log_prob, sample)
