"""The VAE of Lucic et al. 2018 (model.arch=infogan, configs/lucic.py:vae): compare_gan's
layout (src/gans/VAE.py: D's trunk + FC 2 * 64 with a softplus std, G with ReLU), batch
norm's running averages, which computations read them, and learning through the CLI."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runs
from conftest import ROOT, run_cli
from gen import config as config_lib
from gen import data as data_lib
from gen import nn as gnn
from gen.models.gan import networks as gan_networks
from gen.models.vae import networks
from gen.train import loop
from gen.train import step as step_lib


def _count(tree) -> int:
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def _setup(**overrides):
  config = config_lib.load(f'{ROOT}/configs/lucic.py:vae')
  with config.unlocked():
    config.data.name = 'digits'
    config.update_from_flattened_dict(overrides)
  _, model, _ = loop.setup(config)
  batch = loop.example_batch(config, model)
  return config, model, step_lib.init_state(model, 0.0, jax.random.PRNGKey(0), batch), batch


@pytest.mark.parametrize('norm', ['batch', 'none'])
def test_networks_are_compare_gans_at_28_pixels(norm):
  """Parameter counts of compare_gan's VAE on MNIST, layer by layer (every layer has a
  bias; batch norm has a scale and an offset per channel)."""
  enc = networks.InfoGANEncoder(28, 2 * 64, norm)
  dec = networks.InfoGANDecoder(28, 1)
  conv = lambda k, i, o: k * k * i * o + o
  dense = lambda i, o: i * o + o
  bn = lambda c: 2 * c if norm == 'batch' else 0
  expected_enc = conv(4, 1, 64) + conv(4, 64, 128) + bn(128) + dense(7 * 7 * 128, 1024) + bn(1024) + dense(1024, 128)  # fmt: skip
  expected_dec = dense(64, 1024) + 2 * 1024 + dense(1024, 7 * 7 * 128) + 2 * 7 * 7 * 128 + conv(4, 128, 64) + 2 * 64 + conv(4, 64, 1)  # fmt: skip
  enc_vars = jax.eval_shape(enc.init, jax.random.PRNGKey(0), jnp.zeros((2, 28, 28, 1)))
  dec_vars = jax.eval_shape(dec.init, jax.random.PRNGKey(0), jnp.zeros((2, 64)))
  assert _count(enc_vars['params']) == expected_enc
  assert _count(dec_vars['params']) == expected_dec
  assert ('batch_stats' in enc_vars) == (norm == 'batch') and 'batch_stats' in dec_vars


def test_encoder_std_is_softplus_and_decoder_is_g_with_relu():
  x = jax.random.uniform(jax.random.PRNGKey(0), (4, 8, 8, 1))
  enc = networks.InfoGANEncoder(8, 2 * 3, 'none')
  params = enc.init(jax.random.PRNGKey(1), x)['params']
  h, _ = enc.apply({'params': params}, x)
  trunk = gan_networks.InfoGANDiscriminator(8, 'none', layers='compare_gan', out_features=6)
  raw = trunk.apply({'params': params['InfoGANDiscriminator_0']}, x)
  np.testing.assert_allclose(h[:, :3], raw[:, :3])
  std = 1e-6 + jax.nn.softplus(raw[:, 3:])  # VAE.py: stddev = 1e-6 + softplus(.)
  np.testing.assert_allclose(jnp.exp(0.5 * h[:, 3:]), std, rtol=1e-5)
  z = jax.random.normal(jax.random.PRNGKey(2), (4, 3))
  dec = networks.InfoGANDecoder(8, 1)
  variables = dec.init(jax.random.PRNGKey(3), z)
  g = gan_networks.InfoGANGenerator(8, 1, 'relu', 'sigmoid', 'compare_gan')
  inner = {k: v['InfoGANGenerator_0'] for k, v in variables.items()}
  logits, _ = dec.apply(variables, z, mutable=['batch_stats'])
  probs, _ = g.apply(inner, z, mutable=['batch_stats'])
  np.testing.assert_allclose(jax.nn.sigmoid(logits), probs, rtol=1e-5, atol=1e-6)


def test_running_averages_follow_the_step_and_only_evaluation_reads_them():
  """A step moves batch norm's running averages by 1 - 0.999 toward the step's batch
  statistics (the encoder's at the pre-update params on the step's batch); the bounds
  read them, samples normalise with their own batch's statistics."""
  config, model, state, batch = _setup()
  new, _ = jax.jit(model.train_step)(state, batch, jax.random.PRNGKey(5))
  enc = networks.InfoGANEncoder(8, 2 * 64, 'batch')
  params, stats = state.params['enc'], state.batch_stats['enc']
  _, expected = gnn.apply(enc, params, stats, batch['x'], train=True)
  jax.tree.map(np.testing.assert_allclose, new.batch_stats['enc'], expected)
  moved = jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))), new.batch_stats['dec'], state.batch_stats['dec'])  # fmt: skip
  assert 0 < max(jax.tree.leaves(moved)) < 0.01  # decay 0.999: a small step from the start
  garbage = new.replace(batch_stats=jax.tree.map(lambda s: s + 3.0, new.batch_stats))
  sample = jax.jit(model.sample, static_argnums=2)
  key = jax.random.PRNGKey(7)
  np.testing.assert_array_equal(sample(new, key, 16), sample(garbage, key, 16))
  evaluate = lambda s: model.evaluate(s, data_lib.eval_batches(config), jax.random.PRNGKey(1))
  metrics = evaluate(new)
  assert metrics['elbo'] != evaluate(garbage)['elbo']
  assert 'bits_per_dim' not in metrics  # [0, 1] pixels: a cross-entropy, not a pmf


def test_bad_settings_are_config_errors():
  for overrides, message in [
      ({'model.norm': 'layer'}, 'config.model.norm'),
      ({'model.latent_dim': (8, 4), 'model.hidden': ((16,), (8,))}, 'one-layer Gaussian VAE'),
      ({'model.conditional': True}, 'config.model.conditional'),
  ]:
    with pytest.raises(config_lib.ConfigError, match=message):
      _setup(**overrides)
  config = config_lib.load(f'{ROOT}/configs/vae.py:smoke')
  with config.unlocked():
    config.model.norm = 'none'
  with pytest.raises(config_lib.ConfigError, match='only the infogan networks take it'):
    loop.setup(config)


def test_learns_digits_through_the_cli(tmp_path):
  """400 steps at lr 1e-3 on the built-in 8x8 digits: the test ELBO (eval.py, batch norm's
  running averages) rises from -51.2 nats at initialisation to -33.5 (measured); the
  training ELBO reaches about -26 (the running averages lag at decay 0.999)."""
  config, model, state, _ = _setup()
  before = model.evaluate(state, data_lib.eval_batches(config), jax.random.PRNGKey(1))['elbo']
  work = tmp_path / 'vae'
  runs.train(
      work, 'configs/lucic.py:vae', 'data.name=digits', 'train.num_steps=400', 'optim.lr=1e-3',
      'train.log_every=100', 'train.checkpoint_every=400', 'train.sample_every=400',
      'train.num_samples=16', 'eval.batch_size=100', 'eval.quality_num_samples=256',
  )  # fmt: skip
  run_cli('eval.py', f'--workdir={work}', '--features=none')
  after = json.loads((work / 'eval' / 'step_400.json').read_text())['metrics']
  assert math.isfinite(after['elbo']) and after['elbo'] > before + 12.0, (before, after)
  assert (work / 'samples' / 'step_400.png').stat().st_size > 0
