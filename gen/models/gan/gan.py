"""Generative adversarial networks: the game as explicit alternating updates.

One train step = `n_disc` discriminator updates (a lax.scan, each on its own
real batch and fresh noise, with its own optax state), then one generator
update against the updated discriminator (Goodfellow et al. 2014, Algorithm 1).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gen import nn as gnn
from gen.config import ConfigError
from gen.data import toy2d
from gen.eval import mixture
from gen.losses import gan as games
from gen.models.gan import networks
from gen.train import optim, sharding
from gen.train import state as state_lib
from gen.train.model import Model

GAMES = {'ns': (games.ns_d_loss, games.ns_g_loss)}


def _networks(cfg, info):
  if cfg.arch == 'mlp':
    return (
        networks.MLPGenerator(cfg.g_hidden, int(np.prod(info.shape))),
        networks.MLPDiscriminator(cfg.d_hidden),
    )
  if cfg.arch == 'dcgan':
    size, channels = info.shape[0], info.shape[-1]
    return (
        networks.DCGANGenerator(size, channels, cfg.features),
        networks.DCGANDiscriminator(size, cfg.features),
    )
  raise ConfigError(f'Unknown model.arch {cfg.arch!r}; valid: mlp, dcgan.')


def build(config, info) -> Model:
  cfg = config.model
  if cfg.game not in GAMES:
    raise ConfigError(f'Unknown model.game {cfg.game!r}; valid: {", ".join(GAMES)}.')
  d_loss_fn, g_loss_fn = GAMES[cfg.game]
  gen_net, disc_net = _networks(cfg, info)
  g_tx, d_tx = optim.make(config.optim.g), optim.make(config.optim.d)
  n_disc = cfg.n_disc

  def noise(key, n):
    return sharding.constrain_batch(jax.random.normal(key, (n, cfg.z_dim)))

  def generate(params, batch_stats, z):
    return gnn.apply(gen_net, params, batch_stats, z, train=True)

  def discriminate(params, batch_stats, x):
    return gnn.apply(disc_net, params, batch_stats, x, train=True)

  def init(key, batch):
    k_g, k_d = jax.random.split(key)
    x = batch['x'][0] if n_disc > 1 else batch['x']
    g_params, g_stats = gnn.init_variables(gen_net, k_g, jnp.zeros((x.shape[0], cfg.z_dim)))
    d_params, d_stats = gnn.init_variables(disc_net, k_d, x)
    params = {'g': g_params, 'd': d_params}
    return state_lib.create(
        key,
        params,
        {'g': g_tx.init(g_params), 'd': d_tx.init(d_params)},
        batch_stats={'g': g_stats, 'd': d_stats},
    )

  def d_update(carry, inputs, g_params, g_stats):
    """One discriminator update on a real batch and fresh fakes."""
    d_params, d_stats, d_opt = carry
    real, key = inputs
    fake, _ = generate(g_params, g_stats, noise(key, real.shape[0]))
    fake = jax.lax.stop_gradient(fake)

    def loss_fn(p):
      real_logits, stats = discriminate(p, d_stats, real)
      fake_logits, stats = discriminate(p, stats, fake)
      loss, aux = d_loss_fn(real_logits, fake_logits)
      return loss, (aux, stats)

    (loss, (aux, d_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(d_params)
    updates, d_opt = d_tx.update(grads, d_opt, d_params)
    d_params = optax.apply_updates(d_params, updates)
    return (d_params, d_stats, d_opt), {
        'd/loss': loss,
        'd/grad_norm': optax.tree.norm(grads),
        **aux,
    }

  def g_update(g_params, g_stats, g_opt, d_params, d_stats, key, n):
    def loss_fn(p):
      fake, stats = generate(p, g_stats, noise(key, n))
      logits, _ = discriminate(d_params, d_stats, fake)  # D's stats are not updated here
      loss, aux = g_loss_fn(logits)
      return loss, (aux, stats)

    (loss, (aux, g_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(g_params)
    updates, g_opt = g_tx.update(grads, g_opt, g_params)
    return (
        optax.apply_updates(g_params, updates),
        g_stats,
        g_opt,
        {'g/loss': loss, 'g/grad_norm': optax.tree.norm(grads), **aux},
    )

  def train_step(state, batch, key):
    reals = batch['x'] if n_disc > 1 else batch['x'][None]
    d_keys = jax.random.split(jax.random.fold_in(key, 0), n_disc)
    g_params, g_stats = state.params['g'], state.batch_stats['g']
    carry = (state.params['d'], state.batch_stats['d'], state.opt_state['d'])
    (d_params, d_stats, d_opt), d_metrics = jax.lax.scan(
        lambda c, i: d_update(c, i, g_params, g_stats), carry, (reals, d_keys)
    )
    g_params, g_stats, g_opt, g_metrics = g_update(
        g_params,
        g_stats,
        state.opt_state['g'],
        d_params,
        d_stats,
        jax.random.fold_in(key, 1),
        reals.shape[1],
    )
    new = state.replace(
        params={'g': g_params, 'd': d_params},
        batch_stats={'g': g_stats, 'd': d_stats},
        opt_state={'g': g_opt, 'd': d_opt},
    )
    # D metrics are averaged over the n_disc updates of this step.
    return new, {**jax.tree.map(jnp.mean, d_metrics), **g_metrics}

  def sample(state, key, n):
    # Batch norm uses the statistics of the sampled batch, as in DCGAN's code.
    x, _ = generate(state_lib.network_params(state, 'g'), state.batch_stats['g'], noise(key, n))
    return x.reshape((n,) + tuple(info.shape))

  sample_jit = jax.jit(sample, static_argnums=2)

  def evaluate(state, batches, key):
    n = config.eval.num_samples
    if info.kind == 'points':
      m = toy2d.MIXTURES[config.data.name]
      return mixture.coverage(np.asarray(sample_jit(state, key, n)), m.centres, m.std)
    # Images: the discriminator's view until sample-quality metrics land (gen/eval).
    fake = sample_jit(state, key, config.eval.batch_size)
    fake_logits, _ = discriminate(state.params['d'], state.batch_stats['d'], fake)
    real_probs = [
        jax.nn.sigmoid(
            discriminate(state.params['d'], state.batch_stats['d'], jnp.asarray(b['x']))[0][:v]
        )
        for b, v in batches
    ]
    return {
        'd/real_prob_test': float(jnp.mean(jnp.concatenate(real_probs))),
        'd/fake_prob': float(jnp.mean(jax.nn.sigmoid(fake_logits))),
    }

  return Model(
      init=init,
      train_step=train_step,
      sample=sample,
      evaluate=evaluate,
      ema_networks=('g',),
      batches_per_step=n_disc,
  )
