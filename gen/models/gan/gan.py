"""Generative adversarial networks: the game as explicit alternating updates.

One train step = `n_disc` discriminator updates (a lax.scan, each on its own
real batch and fresh noise, with its own optax state), then one generator
update against the updated discriminator (Goodfellow et al. 2014, Algorithm 1).
The game (gen.losses.gan), an input-gradient penalty (gen.losses.penalties),
weight clipping (WGAN) and unrolling (Metz et al. 2017) are config options of
this one model, so every variant shares networks, loop and evaluation.

Unrolled GAN (Metz et al. 2017, eq. 5-7 and their reference code): with
`unroll_steps` = K >= 1, one real batch and one noise batch per step; D is
advanced K updates from its current state (same optimizer, Adam state
included) on those reals and G's own fakes, differentiably (the first update
outside, the other K - 1 in a lax.scan), and G minimises its game loss at D_K
minus D's real-data loss at D_K, f_K = V(G, D_K), which depends on G only
through D_K. D keeps only its first update, D_1; the look-ahead D_2..D_K is
discarded. K = 0 is the plain alternating GAN.

Options for the GAN study of Lucic et al. 2018 ("Are GANs created equal?"), as
its code, compare_gan (cg@49495fd), implements the games; each default keeps
gen's behaviour (configs/lucic.py sets compare_gan's):
  z_prior          'normal' | 'uniform': U(-1, 1), abstract_gan.py `z_generator`.
  g_activation, image_output, layers
                   the InfoGAN networks' (networks.py): lrelu G, sigmoid output
                   on [0, 1] data, compare_gan's init, biases and batch norm.
  ls_on            'output' | 'sigmoid': LSGAN on s(D), with the 1/2 (LSGAN.py).
  penalty_on       'output' | 'sigmoid': penalise the gradient of s(D) (DRAGAN.py).
  penalty_eps      0 | 1e-4: the norm as sqrt(eps + sum grad^2) (WGAN_GP.py, DRAGAN.py).
  penalty_with_batch_norm
                   allow a penalty with batch norm in D (compare_gan searches it).
  began_clip_k     k_t clipped to [0, 1] (BEGAN paper) | not (BEGAN.py).
  began_autoencoder
                   'began' (Berthelot et al.'s) | 'infogan' (BEGAN.py's D).
WGAN's clip already covers every D parameter as compare_gan's (`clip_weights`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gen import config as config_lib
from gen import nn as gnn
from gen.config import ConfigError
from gen.data import toy2d
from gen.eval import mixture
from gen.losses import gan as games
from gen.losses import penalties
from gen.models.gan import networks
from gen.train import optim, sharding
from gen.train import state as state_lib
from gen.train.model import Model

ARCHS = ('mlp', 'dcgan', 'infogan')
PENALTIES = ('none',) + tuple(penalties.POINTS)
Z_PRIORS = ('normal', 'uniform')
BEGAN_AUTOENCODERS = ('began', 'infogan')
# Keys added after runs were saved, at the defaults those runs trained with.
LATER_KEYS = dict(
    z_prior='normal',
    g_activation='relu',
    image_output='tanh',
    layers='gen',
    ls_on='output',
    penalty_on='output',
    penalty_eps=0.0,
    penalty_with_batch_norm=False,
    began_clip_k=True,
    began_autoencoder='began',
)
# The data scale (gen/data/preprocess.py) each image squashing produces.
_OUTPUT_SCALE = {'tanh': 'symmetric', 'sigmoid': 'unit'}


def _with_later_keys(cfg) -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict({**LATER_KEYS, **cfg.to_dict()})


def draw_z(key, shape, prior: str):
  """G's noise: N(0, I), or U(-1, 1) per coordinate (compare_gan's `z_generator`)."""
  if prior == 'uniform':
    return jax.random.uniform(key, shape, minval=-1.0, maxval=1.0)
  return jax.random.normal(key, shape)


def clip_weights(params, c: float):
  """WGAN (Arjovsky et al. 2017, Algorithm 1): every parameter in [-c, c], batch-norm
  scale and offset included, as compare_gan's WGAN.py (every trainable D variable);
  running statistics are batch_stats, not params, and are not clipped in either."""
  return jax.tree.map(lambda w: jnp.clip(w, -c, c), params)


def _generator(cfg, info):
  size, channels = info.shape[0], info.shape[-1]
  if cfg.arch == 'mlp':
    return networks.MLPGenerator(cfg.g_hidden, int(np.prod(info.shape)))
  if cfg.arch == 'dcgan':
    return networks.DCGANGenerator(size, channels, cfg.features, output=cfg.image_output)
  return networks.InfoGANGenerator(
      size, channels, cfg.g_activation, output=cfg.image_output, layers=cfg.layers
  )


def _discriminator(cfg, info):
  size, channels = info.shape[0], info.shape[-1]
  mb = dict(minibatch=cfg.minibatch)
  if cfg.game == 'began':  # D is an autoencoder whose output is the energy L(v)
    if cfg.arch == 'mlp':
      return networks.MLPAutoencoderDiscriminator(cfg.d_hidden, cfg.code_dim)
    if cfg.began_autoencoder == 'infogan':
      return networks.InfoGANAutoencoderDiscriminator(
          size, channels, cfg.d_norm, cfg.code_dim, cfg.image_output, cfg.layers
      )
    return networks.ConvAutoencoderDiscriminator(size, channels, cfg.features, cfg.code_dim)
  if cfg.arch == 'mlp':
    return networks.MLPDiscriminator(cfg.d_hidden, **mb)
  if cfg.arch == 'dcgan':
    return networks.DCGANDiscriminator(size, cfg.features, norm=cfg.d_norm, **mb)
  return networks.InfoGANDiscriminator(size, norm=cfg.d_norm, layers=cfg.layers, **mb)


def _check_study_options(cfg, data):
  """The compare_gan options (module docstring) against their values and each other."""
  config_lib.require_choice(cfg.z_prior, 'model.z_prior', Z_PRIORS)
  config_lib.require_choice(cfg.g_activation, 'model.g_activation', networks.ACTIVATIONS)
  config_lib.require_choice(cfg.image_output, 'model.image_output', tuple(_OUTPUT_SCALE))
  config_lib.require_choice(cfg.layers, 'model.layers', networks.LAYERS)
  config_lib.require_choice(cfg.ls_on, 'model.ls_on', games.LS_ON)
  config_lib.require_choice(cfg.penalty_on, 'model.penalty_on', penalties.PENALTY_ON)
  config_lib.require_number(cfg.penalty_eps, 'model.penalty_eps', 0.0)
  config_lib.require_bool(cfg.penalty_with_batch_norm, 'model.penalty_with_batch_norm')
  config_lib.require_bool(cfg.began_clip_k, 'model.began_clip_k')
  config_lib.require_choice(cfg.began_autoencoder, 'model.began_autoencoder', BEGAN_AUTOENCODERS)
  infogan_only = dict(g_activation='relu', layers='gen', began_autoencoder='began')
  for key, default in infogan_only.items():
    config_lib.require(
        cfg[key] == default or cfg.arch == 'infogan',
        f'model.{key}',
        cfg[key],
        f'only the infogan networks take it; set model.arch=infogan or model.{key}={default}',
    )
  if cfg.arch == 'mlp':
    what = "the mlp generator's output is linear; set model.image_output=tanh"
    config_lib.require(cfg.image_output == 'tanh', 'model.image_output', cfg.image_output, what)
  else:
    scale = _OUTPUT_SCALE[cfg.image_output]
    what = f'gives images on the {scale} scale, not data.scale={data.scale}; set data.scale={scale}'
    config_lib.require(data.scale == scale, 'model.image_output', cfg.image_output, what)


def _check(cfg, info, data):
  """Every model key against its meaning, and the networks against the data, before any is built."""
  config_lib.require_choice(cfg.arch, 'model.arch', ARCHS)
  config_lib.require_choice(cfg.game, 'model.game', games.NAMES)
  config_lib.require_choice(cfg.penalty, 'model.penalty', PENALTIES)
  config_lib.require_choice(cfg.d_norm, 'model.d_norm', networks.NORMS)
  config_lib.require_choice(cfg.minibatch, 'model.minibatch', networks.MINIBATCH)
  for key in ('z_dim', 'features', 'code_dim', 'n_disc', 'num_kernels', 'kernel_dim'):
    if key in cfg:
      config_lib.require_int(cfg[key], f'model.{key}')
  config_lib.require_int(cfg.unroll_steps, 'model.unroll_steps', minimum=0)
  config_lib.require_sizes(cfg.g_hidden, 'model.g_hidden')
  config_lib.require_sizes(cfg.d_hidden, 'model.d_hidden')
  config_lib.require_number(cfg.penalty_weight, 'model.penalty_weight', 0.0)
  config_lib.require_number(cfg.clip, 'model.clip', 0.0)
  config_lib.require_number(
      cfg.began_gamma, 'model.began_gamma', 0.0, 1.0, open_low=True, closed_high=True
  )
  config_lib.require_number(cfg.began_lambda_k, 'model.began_lambda_k', 0.0)
  batch_norm_d = cfg.arch != 'mlp' and cfg.d_norm == 'batch'
  if cfg.penalty != 'none' and batch_norm_d and not cfg.penalty_with_batch_norm:
    raise ConfigError(
        f'model.penalty={cfg.penalty!r} penalises per-example input gradients, which batch '
        'norm couples across the batch (Gulrajani et al. 2017, sec. 4); set '
        'model.d_norm=layer or none (or model.penalty_with_batch_norm=True, as compare_gan).'
    )
  if cfg.unroll_steps and cfg.n_disc != 1:
    raise ConfigError(
        'An unrolled GAN takes one D update per step (its first unrolled step); '
        f'got model.n_disc={cfg.n_disc} with model.unroll_steps={cfg.unroll_steps}.'
    )
  if cfg.arch != 'mlp':  # the convolutional networks take square images of certain sizes
    shape = tuple(info.shape)
    what = f'takes square images; {info.name} has examples of shape {shape}: use model.arch=mlp'
    config_lib.require(info.kind == 'image' and shape[0] == shape[1], 'model.arch', cfg.arch, what)
    try:
      began_conv = cfg.game == 'began' and cfg.began_autoencoder == 'began'
      if cfg.arch == 'dcgan' or began_conv:  # BEGAN's conv autoencoder: DCGAN sizes
        networks.dcgan_plan(shape[0])
      if cfg.arch == 'infogan':
        networks.infogan_quarter(shape[0])
    except ConfigError as e:
      config_lib.require(False, 'model.arch', cfg.arch, f'{str(e).rstrip(".")} ({info.name})')
  _check_study_options(cfg, data)


def build(config, info) -> Model:
  cfg = _with_later_keys(config.model)
  _check(cfg, info, config.data)
  game = games.make(
      cfg.game, cfg.began_gamma, cfg.began_lambda_k, began_clip_k=cfg.began_clip_k, ls_on=cfg.ls_on
  )
  gen_net, disc_net = _generator(cfg, info), _discriminator(cfg, info)
  g_tx, d_tx = optim.make(config.optim.g, 'optim.g'), optim.make(config.optim.d, 'optim.d')
  n_disc, unroll = cfg.n_disc, cfg.unroll_steps
  penalty_points = penalties.POINTS.get(cfg.penalty)
  # Runs saved before train.compute_dtype existed computed in float32.
  dtype = gnn.compute_dtype(config.train.get('compute_dtype', 'float32'))

  def noise(key, n):
    return sharding.constrain_batch(draw_z(key, (n, cfg.z_dim), cfg.z_prior))

  def generate(params, batch_stats, z):
    return gnn.apply(gen_net, params, batch_stats, z, train=True, dtype=dtype)

  def discriminate(params, batch_stats, x):
    return gnn.apply(disc_net, params, batch_stats, x, train=True, dtype=dtype)

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
        extra=game.init_extra(),
    )

  def d_objective(d_params, d_stats, real, fake, key, extra):
    """D's loss (game + penalty) -> (loss, (aux, new batch stats))."""
    real_out, stats = discriminate(d_params, d_stats, real)
    fake_out, stats = discriminate(d_params, stats, fake)
    loss, aux = game.d_loss(real_out, fake_out, extra)
    if penalty_points is not None:
      y = penalty_points(key, real, fake)
      gp, norm = penalties.gradient_penalty(
          lambda v: discriminate(d_params, d_stats, v)[0], y, eps=cfg.penalty_eps, on=cfg.penalty_on
      )
      loss = loss + cfg.penalty_weight * gp
      aux = {**aux, 'd/penalty': gp, 'd/penalty_grad_norm': norm}
    return loss, (aux, stats)

  def d_step(d_params, d_stats, d_opt, real, fake, key, extra):
    """One optimizer update of D -> (params, stats, opt state, loss, aux, grads)."""
    (loss, (aux, d_stats)), grads = jax.value_and_grad(d_objective, has_aux=True)(
        d_params, d_stats, real, fake, key, extra
    )
    updates, d_opt = d_tx.update(grads, d_opt, d_params)
    d_params = optax.apply_updates(d_params, updates)
    if cfg.clip > 0:
      d_params = clip_weights(d_params, cfg.clip)
    return d_params, d_stats, d_opt, loss, aux, grads

  def d_update(carry, inputs, g_params, g_stats):
    """One discriminator update on a real batch and fresh fakes."""
    d_params, d_stats, d_opt, extra = carry
    real, key = inputs
    k_z, k_penalty = jax.random.split(key)
    fake, _ = generate(g_params, g_stats, noise(k_z, real.shape[0]))
    fake = jax.lax.stop_gradient(fake)
    d_params, d_stats, d_opt, loss, aux, grads = d_step(
        d_params, d_stats, d_opt, real, fake, k_penalty, extra
    )
    extra = game.update_extra(extra, aux)
    metrics = {'d/loss': loss, 'd/grad_norm': optax.tree.norm(grads), **aux}
    return (d_params, d_stats, d_opt, extra), metrics

  def g_update(g_params, g_stats, g_opt, d_params, d_stats, real, key, extra):
    """G's update against the updated D (the plain alternating game)."""
    k_z = jax.random.split(key)[0]

    def loss_fn(p):
      fake, stats = generate(p, g_stats, noise(k_z, real.shape[0]))
      out, _ = discriminate(d_params, d_stats, fake)  # D's stats are not updated by G's step
      loss, aux = game.g_loss(out, extra)
      return loss, (aux, stats)

    return _apply_g(loss_fn, g_params, g_opt)

  def _apply_g(loss_fn, g_params, g_opt):
    (loss, (aux, g_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(g_params)
    updates, g_opt = g_tx.update(grads, g_opt, g_params)
    return (
        optax.apply_updates(g_params, updates),
        g_stats,
        g_opt,
        {'g/loss': loss, 'g/grad_norm': optax.tree.norm(grads), **aux},
    )

  def unrolled_step(state, real, key):
    """Metz et al. 2017, eq. 5-7: G minimises f_K = g_loss(D_K(G(z))) - L_D,real(D_K)
    where D_K is D after K updates on this real batch and these fakes (the
    real-data term depends on G through D_K). D's own update is D_1."""
    g_stats, extra = state.batch_stats['g'], state.extra
    d0 = (state.params['d'], state.batch_stats['d'], state.opt_state['d'])
    k_z, k_penalty = jax.random.split(key)

    def loss_fn(p):
      fake, stats = generate(p, g_stats, noise(k_z, real.shape[0]))
      d1 = d_step(*d0, real, fake, k_penalty, extra)
      d1_metrics = {'d/loss': d1[3], 'd/grad_norm': optax.tree.norm(d1[5]), **d1[4]}
      first = jax.lax.stop_gradient((d1[:3], d1_metrics))

      def body(d, _):
        return d_step(*d, real, fake, k_penalty, extra)[:3], None

      dp, ds, _ = jax.lax.scan(body, d1[:3], None, length=unroll - 1)[0]
      real_out, _ = discriminate(dp, ds, real)
      fake_out, _ = discriminate(dp, ds, fake)
      loss, aux = game.g_loss(fake_out, extra)
      _, d_aux = game.d_loss(real_out, fake_out, extra)
      loss = loss - d_aux['d/loss_real']
      return loss, ({**aux, 'first': first}, stats)

    g_params, g_stats, g_opt, g_metrics = _apply_g(loss_fn, state.params['g'], state.opt_state['g'])
    (d_params, d_stats, d_opt), d_metrics = g_metrics.pop('first')
    extra = game.update_extra(extra, d_metrics)
    return (g_params, g_stats, g_opt), (d_params, d_stats, d_opt, extra), d_metrics, g_metrics

  def train_step(state, batch, key):
    if unroll:
      (g_params, g_stats, g_opt), (d_params, d_stats, d_opt, extra), d_metrics, g_metrics = (
          unrolled_step(state, batch['x'], key)
      )
    else:
      reals = batch['x'] if n_disc > 1 else batch['x'][None]
      d_keys = jax.random.split(jax.random.fold_in(key, 0), n_disc)
      g_params, g_stats = state.params['g'], state.batch_stats['g']
      carry = (state.params['d'], state.batch_stats['d'], state.opt_state['d'], state.extra)
      if n_disc == 1:  # the same update without a loop around it, which XLA fuses better
        (d_params, d_stats, d_opt, extra), d_metrics = d_update(
            carry, (reals[0], d_keys[0]), g_params, g_stats
        )
      else:
        (d_params, d_stats, d_opt, extra), d_metrics = jax.lax.scan(
            lambda c, i: d_update(c, i, g_params, g_stats), carry, (reals, d_keys)
        )
        # D metrics are averaged over the n_disc updates of this step.
        d_metrics = jax.tree.map(jnp.mean, d_metrics)
      g_params, g_stats, g_opt, g_metrics = g_update(
          g_params,
          g_stats,
          state.opt_state['g'],
          d_params,
          d_stats,
          reals[-1],
          jax.random.fold_in(key, 1),
          extra,
      )
    new = state.replace(
        params={'g': g_params, 'd': d_params},
        batch_stats={'g': g_stats, 'd': d_stats},
        opt_state={'g': g_opt, 'd': d_opt},
        extra=extra,
    )
    return new, {**d_metrics, **g_metrics}

  def sample(state, key, n):
    # Batch norm uses the statistics of the sampled batch, as in DCGAN's code.
    x, _ = generate(state_lib.network_params(state, 'g'), state.batch_stats['g'], noise(key, n))
    return x.reshape((n,) + tuple(info.shape))

  sample_jit = jax.jit(sample, static_argnums=2)

  @jax.jit
  def d_out(state, x):
    return discriminate(state.params['d'], state.batch_stats['d'], x)[0]

  def evaluate(state, batches, key):
    n = config.eval.num_samples
    if info.kind == 'points':
      m = toy2d.MIXTURES[config.data.name]
      return mixture.coverage(np.asarray(sample_jit(state, key, n)), m.centres, m.std)
    # Images: D's mean output on held-out data and on fakes (probabilities for
    # the cross-entropy games); sample quality comes from gen/eval.
    fake = d_out(state, sample_jit(state, key, config.eval.batch_size))
    real = jnp.concatenate([d_out(state, jnp.asarray(b['x']))[:v] for b, v in batches])
    if cfg.game in ('mm', 'ns', 'ml') or (cfg.game, cfg.ls_on) == ('ls', 'sigmoid'):
      real, fake = jax.nn.sigmoid(real), jax.nn.sigmoid(fake)
      return {'d/real_prob_test': float(real.mean()), 'd/fake_prob': float(fake.mean())}
    return {'d/real_out_test': float(real.mean()), 'd/fake_out': float(fake.mean())}

  return Model(
      init=init,
      train_step=train_step,
      sample=sample,
      evaluate=evaluate,
      ema_networks=('g',),
      batches_per_step=n_disc,
  )
