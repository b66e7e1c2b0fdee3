"""The Lucic et al. 2018 games as gen configs (gen/study/lucic/games.py, configs/lucic.py):
compare_gan's noise, WGAN's clip over batch norm, the mapping of trial rows onto
config keys, the refused combinations, and one command-line smoke run. Loss and
network values: tests/losses/test_gan_losses.py, tests/models/test_gan_networks.py."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runs
from conftest import ROOT
from gen import config as config_lib
from gen.models.gan import gan
from gen.models.gan import networks
from gen.study.lucic import games
from gen.study.lucic import plan
from gen.study.lucic import spaces
from gen.study.lucic import trials
from gen.train import loop

DIGITS = {'data.name': 'digits', 'train.batch_size': 16}


def _lucic(preset, **overrides):
  config = config_lib.load(f'{ROOT}/configs/lucic.py:{preset}')
  games.apply(config, {**DIGITS, **overrides})
  return config


def test_uniform_noise_in_minus_one_one():
  z = np.asarray(gan.draw_z(jax.random.PRNGKey(0), (4096, 64), 'uniform'))
  assert z.min() >= -1 and z.max() <= 1  # compare_gan's np.random.uniform(-1, 1)
  assert abs(z.mean()) < 0.01 and abs(z.std() - 1 / math.sqrt(3)) < 0.01
  assert np.asarray(gan.draw_z(jax.random.PRNGKey(0), (4096,), 'normal')).min() < -1


def test_trial_rows_map_onto_config_keys():
  for row in plan.sample_trials(1, 3):
    row = dict(row, dataset='digits', seed=2, batch_size=64, d_steps=15_625)
    p = row['params']
    config = config_lib.load(f'{ROOT}/configs/lucic.py:{row["game"]}')
    games.apply(config, games.trial_overrides(row))
    m = config.model
    assert (config.data.name, config.seed, config.train.batch_size) == ('digits', 2, 64)
    if row['game'] == 'vae':  # one optimizer, one update per step, the encoder's batch norm
      o = config.optim
      assert (o.lr, o.b1, o.b2) == (p['learning_rate'], p['beta1'], 0.999)
      assert config.train.num_steps == 15_625
      assert m.norm == ('batch' if p['discriminator_batchnorm'] else 'none')
      assert (m.arch, m.latent_dim, m.sample_z) == ('infogan', (64,), 'uniform')
      assert not config.data.binarize
      # disc_iters is drawn for the VAE too, and unused: checkpoints stay 250 D steps apart.
      trial = dict(row, trial=0, g_steps=15_625, checkpoint_every=250, eval=dict(num_samples=8, real_split='test'))  # fmt: skip
      assert trials.config_of(trial).train.checkpoint_every == 250
      loop.setup(config)
      continue
    assert config.optim.g.lr == config.optim.d.lr == p['learning_rate']
    assert config.optim.g.b1 == config.optim.d.b1 == p['beta1']
    assert m.n_disc == p['disc_iters'] and config.train.num_steps == math.ceil(15_625 / m.n_disc)
    assert m.d_norm == ('batch' if p['discriminator_batchnorm'] else 'none')
    assert m.clip == p.get('weight_clipping', 0.0)
    if row['game'] == 'began':
      assert (m.began_lambda_k, m.began_gamma) == (p['lambda'], p['gamma'])
    elif 'lambda' in p:
      assert m.penalty_weight == p['lambda']
    loop.setup(config)  # the model accepts every sampled setting


def test_presets_are_the_study_defaults():
  ns = config_lib.load(f'{ROOT}/configs/lucic.py:ns_gan')
  assert (ns.model.arch, ns.model.z_dim, ns.model.z_prior, ns.data.scale) == (
      'infogan', 64, 'uniform', 'unit',
  )
  d, steps = ns.optim.d, ns.train.num_steps
  assert (d.lr, d.b1, d.b2, steps) == (5e-5, 0.0, 0.999, 15_625)  # D steps = G steps
  gp = config_lib.load(f'{ROOT}/configs/lucic.py:wgan_gp')
  assert (gp.model.penalty_eps, gp.model.d_norm, gp.model.n_disc) == (1e-4, 'none', 5)
  assert gp.train.num_steps == 3_125  # 15,625 D steps / 5 per step
  began = config_lib.load(f'{ROOT}/configs/lucic.py:began').model
  assert (began.began_clip_k, began.began_gamma, began.d_norm) == (False, 0.75, 'none')


def test_refused_combinations_name_the_key():
  for preset, key, value in [
      ('ns_gan', 'data.scale', 'symmetric'),  # a sigmoid G on [-1, 1] data
      ('smoke', 'model.arch', 'dcgan'),  # lrelu and compare_gan layers are infogan's
  ]:
    config = _lucic(preset, **{key: value})
    with pytest.raises(config_lib.ConfigError, match=r'config\.model\.(image_output|g_activation)'):
      loop.setup(config)
  with pytest.raises(config_lib.ConfigError, match="'pixelcnn' is not a game"):
    games.overrides('pixelcnn', spaces.defaults('vae', spaces.WIDE))
  with pytest.raises(config_lib.ConfigError, match='wgan takes exactly'):
    games.overrides('wgan', spaces.defaults('ns_gan', spaces.WIDE))


def test_wgan_clip_covers_batch_norm_scale_and_offset():
  # compare_gan's WGAN.py clips every trainable D variable, batch norm's gamma and beta
  # too; in gen those are params, the running statistics batch_stats.
  d = networks.InfoGANDiscriminator(8, 'batch', layers='compare_gan')
  shapes = jax.eval_shape(d.init, jax.random.PRNGKey(0), jnp.zeros((2, 8, 8, 1)))
  params = jax.tree.map(lambda s: jnp.full(s.shape, -5.0), shapes['params'])
  assert set(params['BatchNorm_0']) == {'scale', 'bias'} and 'batch_stats' in shapes
  clipped = gan.clip_weights(params, 0.01)
  assert all(np.all(np.asarray(w) == -0.01) for w in jax.tree.leaves(clipped))


def test_smoke_trains_through_the_command_line(tmp_path):
  runs.train(tmp_path, 'configs/lucic.py:smoke')
  logged = runs.losses(tmp_path)
  assert sorted(logged) == [4, 8] and logged[8]['nonfinite/skipped'] == 0
  assert all(math.isfinite(v) for m in logged.values() for v in m.values())
  assert any((tmp_path / 'samples').iterdir())
