"""Configs: presets, overrides and their errors."""

import pytest

from gen import config as config_lib
from conftest import ROOT, run_cli


def _load(spec):
  return config_lib.load(f'{ROOT}/{spec}')


def test_every_config_has_the_shared_keys():
  for spec in (
      'configs/vae.py:mnist',
      'configs/vae.py:smoke',
      'configs/gan.py:ring8',
      'configs/gan.py:mnist',
      'configs/gan.py:smoke',
  ):
    c = _load(spec)
    for key in (
        'seed',
        'data.name',
        'data.dir',
        'train.num_steps',
        'train.batch_size',
        'train.log_every',
        'train.checkpoint_every',
        'train.sample_every',
    ):
      node = c
      for part in key.split('.'):
        node = node[part]


def test_override_parses_by_type():
  c = _load('configs/gan.py:ring8')
  config_lib.override(c, 'optim.g.lr', '3e-4')
  config_lib.override(c, 'train.num_steps', '7')
  config_lib.override(c, 'train.skip_nonfinite', 'true')
  config_lib.override(c, 'model.g_hidden', '(64, 32)')
  config_lib.override(c, 'data.name', 'grid25')
  assert c.optim.g.lr == 3e-4 and c.train.num_steps == 7 and c.train.skip_nonfinite is True
  assert tuple(c.model.g_hidden) == (64, 32) and c.data.name == 'grid25'


def test_unknown_key_names_it_and_lists_valid_ones():
  c = _load('configs/gan.py:ring8')
  with pytest.raises(
      config_lib.ConfigError, match=r"'optim.g.lrr'.*Valid keys there: b1, b2, lr, name"
  ):
    config_lib.override(c, 'optim.g.lrr', '1')
  with pytest.raises(config_lib.ConfigError, match=r"'trian.num_steps'.*Valid keys there:.*train"):
    config_lib.override(c, 'trian.num_steps', '1')


def test_bad_value_type_is_rejected():
  c = _load('configs/gan.py:ring8')
  with pytest.raises(config_lib.ConfigError, match="train.num_steps: cannot parse 'many' as a int"):
    config_lib.override(c, 'train.num_steps', 'many')


def test_unknown_preset_lists_valid_ones():
  with pytest.raises(
      config_lib.ConfigError,
      match=r"Unknown preset 'rign8'.*digits, fashion_mnist, grid25, mnist, ring8, smoke",
  ):
    _load('configs/gan.py:rign8')


def test_split_overrides():
  rest, ov = config_lib.split_overrides(
      ['prog', '--workdir=x', '--config.a.b=1', '--config.c', '2']
  )
  assert rest == ['prog', '--workdir=x'] and ov == [('a.b', '1'), ('c', '2')]


def test_cli_rejects_unknown_key_and_preset(tmp_path):
  proc = run_cli(
      'train.py',
      '--config=configs/gan.py:smoke',
      f'--workdir={tmp_path}/a',
      '--config.optim.g.lrr=1',
      check=False,
  )
  assert proc.returncode != 0
  assert "Unknown config key 'optim.g.lrr'" in proc.stderr and 'b1, b2, lr, name' in proc.stderr
  proc = run_cli('train.py', '--config=configs/gan.py:nope', f'--workdir={tmp_path}/b', check=False)
  assert proc.returncode != 0
  assert "Unknown preset 'nope'" in proc.stderr and 'ring8' in proc.stderr
  assert not (tmp_path / 'a' / 'checkpoints').exists()
