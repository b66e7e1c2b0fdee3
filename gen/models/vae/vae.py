"""Variational autoencoder (Kingma & Welling 2014).

ELBO(x) = E_q(z|x)[log p(x|z)] - KL(q(z|x) || N(0, I)), one reparameterised
sample z = mean + exp(log_var / 2) * eps per example (eq. 10). Likelihoods:
'bernoulli' (binary data, logits) or 'gaussian' (continuous data in [0, 1],
per-pixel mean via sigmoid and log-variance, as for Frey Face in sec. 5).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import optax

from gen import config as config_lib
from gen import nn as gnn
from gen.config import ConfigError
from gen.losses import kl as kl_lib
from gen.losses import likelihood
from gen.models.vae import networks
from gen.train import optim
from gen.train import state as state_lib
from gen.train.model import Model

LIKELIHOODS = ('bernoulli', 'gaussian')
ARCHS = ('mlp', 'conv')


def _check(cfg, info):
  """Every model key against its meaning, and the networks against the data, before any is built."""
  config_lib.require_choice(cfg.arch, 'model.arch', ARCHS)
  config_lib.require_choice(cfg.likelihood, 'model.likelihood', LIKELIHOODS)
  config_lib.require_int(cfg.latent_dim, 'model.latent_dim')
  config_lib.require_sizes(cfg.hidden, 'model.hidden')
  config_lib.require_int(cfg.features, 'model.features')
  shape = tuple(info.shape)
  config_lib.require(
      info.kind == 'image',
      'data.name',
      info.name,
      'is 2D points; the VAE models images (e.g. data.name=digits)',
  )
  if cfg.arch == 'conv':  # two stride-2 convolutions down, two 2x transposed ones back up
    config_lib.require(
        shape[0] % 4 == 0 and shape[1] % 4 == 0,
        'model.arch',
        cfg.arch,
        f'needs a height and width divisible by 4; {info.name} is {shape[0]}x{shape[1]}: use '
        'model.arch=mlp',
    )


def _networks(cfg, shape):
  channels = shape[-1] * (2 if cfg.likelihood == 'gaussian' else 1)
  if cfg.arch == 'mlp':
    return (
        networks.MLPEncoder(cfg.hidden, cfg.latent_dim),
        networks.MLPDecoder(cfg.hidden[::-1], shape, channels),
    )
  if cfg.arch == 'conv':
    return (
        networks.ConvEncoder(cfg.features, cfg.latent_dim),
        networks.ConvDecoder(cfg.features, shape, channels),
    )
  raise ConfigError(f'Unknown model.arch {cfg.arch!r}; valid: {", ".join(ARCHS)}.')


def build(config, info) -> Model:
  cfg = config.model
  _check(cfg, info)
  shape = tuple(info.shape)
  encoder, decoder = _networks(cfg, shape)
  tx = optim.make(config.optim, 'optim')
  # Runs saved before train.compute_dtype existed computed in float32.
  dtype = gnn.compute_dtype(config.train.get('compute_dtype', 'float32'))

  def encode(params, x):
    return gnn.apply(encoder, params, {}, x, dtype=dtype)[0]

  def decode(params, z):
    return gnn.apply(decoder, params, {}, z, dtype=dtype)[0]

  def log_likelihood(out, x):
    if cfg.likelihood == 'bernoulli':
      return likelihood.bernoulli(out, x)
    mean, log_var = jnp.split(out, 2, axis=-1)
    return likelihood.gaussian(x, jax.nn.sigmoid(mean), log_var)

  def elbo(params, x, key):
    """Per-example (elbo, log p(x|z), KL)."""
    mean, log_var = encode(params['enc'], x)
    z = mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape)
    rec = log_likelihood(decode(params['dec'], z), x)
    kl = kl_lib.gaussian_to_standard(mean, log_var)
    return rec - kl, rec, kl

  def init(key, batch):
    k_enc, k_dec = jax.random.split(key)
    x = batch['x']
    params = {
        'enc': encoder.init(k_enc, x)['params'],
        'dec': decoder.init(k_dec, jnp.zeros((x.shape[0], cfg.latent_dim)))['params'],
    }
    return state_lib.create(key, params, {'vae': tx.init(params)})

  def train_step(state, batch, key):
    def loss_fn(params):
      e, rec, kl = elbo(params, batch['x'], key)
      return -jnp.mean(e), {
          'vae/elbo': jnp.mean(e),
          'vae/rec': jnp.mean(rec),
          'vae/kl': jnp.mean(kl),
      }

    (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt = tx.update(grads, state.opt_state['vae'], state.params)
    new = state.replace(params=optax.apply_updates(state.params, updates), opt_state={'vae': opt})
    return new, {'vae/loss': loss, 'vae/grad_norm': optax.tree.norm(grads), **aux}

  def sample(state, key, n):
    z = jax.random.normal(key, (n, cfg.latent_dim))
    out = decode(state_lib.network_params(state, 'dec'), z)
    if cfg.likelihood == 'bernoulli':
      return jax.nn.sigmoid(out)  # the mean of p(x|z)
    return jax.nn.sigmoid(jnp.split(out, 2, axis=-1)[0])

  batch_elbo = jax.jit(lambda params, x, key: elbo(params, x, key))

  def evaluate(state, batches, key):
    """Test-set ELBO in nats per example (and bits/dim for discrete data)."""
    params = {name: state_lib.network_params(state, name) for name in ('enc', 'dec')}
    totals, count = {'elbo': 0.0, 'rec': 0.0, 'kl': 0.0}, 0
    for i, (batch, valid) in enumerate(batches):
      values = batch_elbo(params, jnp.asarray(batch['x']), jax.random.fold_in(key, i))
      for name, v in zip(('elbo', 'rec', 'kl'), values):
        totals[name] += float(jnp.sum(v[:valid]))
      count += valid
    out = {k: v / count for k, v in totals.items()}
    out['num_examples'] = count
    if cfg.likelihood == 'bernoulli':
      out['bits_per_dim'] = -out['elbo'] / (math.prod(shape) * math.log(2))
    return out

  return Model(
      init=init,
      train_step=train_step,
      sample=sample,
      evaluate=evaluate,
      ema_networks=('enc', 'dec'),
  )
