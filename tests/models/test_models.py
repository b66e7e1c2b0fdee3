"""Model mechanics: the GAN's alternation, EMA, the VAE variants."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

import runs
from gen.train import step as step_lib

_setup = runs.setup_model


def _adam_count(opt_state):
  return int(
      next(
          s
          for s in jax.tree.leaves(
              opt_state, is_leaf=lambda s: isinstance(s, optax.ScaleByAdamState)
          )
          if isinstance(s, optax.ScaleByAdamState)
      ).count
  )


def test_gan_takes_n_disc_discriminator_updates_per_generator_update():
  config, model, batch = _setup('configs/gan.py:smoke', **{'model.n_disc': 3})
  assert model.batches_per_step == 3 and batch['x'].shape == (3, 64, 2)
  # Each discriminator update gets its own real batch.
  assert not np.array_equal(batch['x'][0], batch['x'][1])
  state = step_lib.init_state(model, 0.0, jax.random.PRNGKey(0), batch)
  step = jax.jit(step_lib.make_train_step(model, 0.0))
  for _ in range(2):
    state, metrics = step(state, batch)
  assert _adam_count(state.opt_state['d']) == 6 and _adam_count(state.opt_state['g']) == 2
  assert int(state.step) == 2 and np.isfinite(float(metrics['g/loss']))


def test_ema_is_an_exponential_moving_average_of_the_named_networks():
  decay = 0.75
  config, model, batch = _setup('configs/gan.py:smoke', **{'train.ema_decay': decay})
  state = step_lib.init_state(model, decay, jax.random.PRNGKey(0), batch)
  assert set(state.ema) == {'g'}
  g0 = state.params['g']
  state, _ = jax.jit(step_lib.make_train_step(model, decay))(state, batch)
  expected = jax.tree.map(lambda a, b: decay * a + (1 - decay) * b, g0, state.params['g'])
  chex.assert_trees_all_close(state.ema['g'], expected, rtol=1e-6, atol=1e-7)
  assert not all(
      np.array_equal(a, b)
      for a, b in zip(jax.tree.leaves(state.ema['g']), jax.tree.leaves(state.params['g']))
  )


def _train(model, batch, steps):
  state = step_lib.init_state(model, 0.0, jax.random.PRNGKey(0), batch)
  step = jax.jit(step_lib.make_train_step(model, 0.0))
  history = []
  for _ in range(steps):
    state, metrics = step(state, batch)
    history.append(float(metrics['vae/elbo']))
  return state, history


def test_conv_vae_with_gaussian_likelihood_fits_a_batch():
  config, model, batch = _setup(
      'configs/vae.py:digits',
      **{
          'model.arch': 'conv',
          'model.likelihood': 'gaussian',
          'data.binarize': False,
          'data.dequantize': True,
          'train.batch_size': 64,
      },
  )
  state, elbo = _train(model, batch, 300)
  assert elbo[-1] > elbo[0] + 100, (elbo[0], elbo[-1])
  samples = model.sample(state, jax.random.PRNGKey(1), 5)
  assert samples.shape == (5, 8, 8, 1) and float(samples.min()) >= 0 and float(samples.max()) <= 1


def test_vae_elbo_never_exceeds_zero_for_binary_data():
  # log p(x) <= 0 for a discrete likelihood, so the ELBO must be negative.
  config, model, batch = _setup('configs/vae.py:smoke')
  _, elbo = _train(model, batch, 50)
  assert max(elbo) < 0


def test_dcgan_networks_at_28_32_64_px():
  from gen.models.gan import networks

  for size in (28, 32, 64):
    g, d = networks.DCGANGenerator(size, 3, 8), networks.DCGANDiscriminator(size, 8)
    z = jnp.zeros((2, 10))
    g_vars = g.init(jax.random.PRNGKey(0), z)
    x, _ = g.apply(g_vars, z, mutable=['batch_stats'])
    assert x.shape == (2, size, size, 3) and float(jnp.abs(x).max()) <= 1.0  # tanh output
    d_vars = d.init(jax.random.PRNGKey(1), x)
    logits, _ = d.apply(d_vars, x, mutable=['batch_stats'])
    assert logits.shape == (2,)
    # Batch norm everywhere but G's output and D's input (Radford et al. 2016, sec. 3).
    n_up = {28: 2, 32: 3, 64: 4}[size]
    assert len(g_vars['batch_stats']) == n_up and len(d_vars['batch_stats']) == n_up - 1
