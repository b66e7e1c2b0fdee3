"""Every GAN game's config: presets load, and `smoke` trains, resumes bitwise
and evaluates through the command line without a non-finite value."""

import json
import math

import chex
import pytest

import runs
from conftest import ROOT, run_cli
from gen import config as config_lib
from gen.study import mode_collapse

GAMES = mode_collapse.METHODS  # every game has a config
PRESETS = ['ring8', 'grid25', 'mnist', 'fashion_mnist', 'smoke']


@pytest.mark.parametrize('game', GAMES)
def test_every_preset_loads(game):
  for preset in PRESETS:
    c = config_lib.load(f'{ROOT}/configs/{game}.py:{preset}')
    assert c.model.name == 'gan'
  with pytest.raises(config_lib.ConfigError, match='Valid presets'):
    config_lib.load(f'{ROOT}/configs/{game}.py:nope')


def test_paper_defaults():
  load = lambda name: config_lib.load(f'{ROOT}/configs/{name}.py:mnist')  # noqa: E731
  wgan = load('wgan')
  assert (wgan.model.clip, wgan.model.n_disc, wgan.optim.d.name, wgan.optim.d.lr) == (
      0.01,
      5,
      'rmsprop',
      5e-5,
  )
  gp = load('wgan_gp')
  assert (gp.model.penalty, gp.model.penalty_weight, gp.model.n_disc, gp.model.d_norm) == (
      'wgan_gp',
      10.0,
      5,
      'layer',
  )
  assert (gp.optim.d.lr, gp.optim.d.b1, gp.optim.d.b2) == (1e-4, 0.0, 0.9)
  began = load('began')
  assert (began.model.began_gamma, began.model.began_lambda_k) == (0.5, 0.001)
  assert load('unrolled_gan').model.unroll_steps == 5
  assert load('dragan').model.penalty == 'dragan'
  assert {load(n).model.game for n in ('mm_gan', 'ns_gan', 'ml_gan', 'lsgan')} == {
      'mm',
      'ns',
      'ml',
      'ls',
  }


@pytest.mark.parametrize('game', GAMES)
def test_smoke_trains_resumes_and_evaluates(tmp_path, game):
  spec = f'configs/{game}.py:smoke'
  runs.train(tmp_path / 'straight', spec, 'train.num_steps=20')
  runs.train(tmp_path / 'split', spec, 'train.num_steps=10')
  runs.train(tmp_path / 'split', spec, 'train.num_steps=20')
  chex.assert_trees_all_equal(
      runs.state_leaves(tmp_path / 'straight'), runs.state_leaves(tmp_path / 'split'), strict=True
  )
  logged = runs.losses(tmp_path / 'split')
  assert logged[20]['nonfinite/skipped'] == 0
  assert all(math.isfinite(v) for m in logged.values() for v in m.values())
  run_cli('eval.py', f'--workdir={tmp_path / "split"}')
  result = json.loads((tmp_path / 'split' / 'eval' / 'step_20.json').read_text())
  assert result['metrics']['num_samples'] == 500 and 0 <= result['metrics']['hq_fraction'] <= 1


@pytest.mark.parametrize('game', GAMES)
def test_overriding_one_players_optimizer_leaves_the_other(game):
  # Both players built from one dict would alias: --config.optim.g.lr would move D's too.
  for preset in PRESETS:
    c = config_lib.load(f'{ROOT}/configs/{game}.py:{preset}')
    d_lr = c.optim.d.lr
    config_lib.override(c, 'optim.g.lr', '0.123')
    assert c.optim.g.lr == 0.123 and c.optim.d.lr == d_lr
