"""The persistent compilation cache: a second identical start of train.py or eval.py
loads every program from it, and the cached executables give bitwise the same run."""

import json
import os

import pytest

import runs
from conftest import run_cli
from gen import cli

SPEC = 'configs/gan.py:smoke'


def _entries(cache) -> set[str]:
  return set(os.listdir(cache))


def test_second_identical_runs_compile_nothing_new_and_reproduce(tmp_path):
  cache = tmp_path / 'cache'
  env = {'GEN_COMPILATION_CACHE': str(cache)}
  runs.train(tmp_path / 'cold', SPEC, env=env)
  trained = _entries(cache)
  assert any(name.startswith('jit_step-') for name in trained), trained
  runs.train(tmp_path / 'warm', SPEC, env=env)  # the same run in a fresh directory
  assert _entries(cache) == trained
  runs.assert_identical(runs.state_leaves(tmp_path / 'cold'), runs.state_leaves(tmp_path / 'warm'))
  assert runs.losses(tmp_path / 'cold') == runs.losses(tmp_path / 'warm')

  run_cli('eval.py', f'--workdir={tmp_path / "cold"}', env=env)
  evaluated = _entries(cache)
  assert evaluated > trained  # eval.py's own programs (sampling, coverage)
  run_cli('eval.py', f'--workdir={tmp_path / "warm"}', env=env)  # the same evaluation
  assert _entries(cache) == evaluated
  assert _eval_metrics(tmp_path / 'cold') == _eval_metrics(tmp_path / 'warm')


def _eval_metrics(workdir) -> dict:
  with open(workdir / 'eval' / 'step_20.json') as f:
    return json.load(f)['metrics']


def test_off_writes_no_cache(tmp_path):
  cache = tmp_path / 'cache'
  run_cli(
      'train.py',
      f'--config={SPEC}',
      f'--workdir={tmp_path / "run"}',
      '--config.train.num_steps=5',
      '--compilation_cache=off',
      env={'GEN_COMPILATION_CACHE': str(cache)},
  )
  assert not cache.exists()


@pytest.mark.parametrize(
    'flag, environ, expected',
    [
        (None, {'HOME': '/h'}, '/h/.cache/gen/jax'),
        (None, {'HOME': '/h', 'XDG_CACHE_HOME': '/xdg'}, '/xdg/gen/jax'),
        (None, {'HOME': '/h', 'GEN_COMPILATION_CACHE': '/c'}, '/c'),
        ('/f', {'HOME': '/h', 'GEN_COMPILATION_CACHE': '/c'}, '/f'),
        (None, {'HOME': '/h', 'GEN_COMPILATION_CACHE': 'off'}, None),
        ('off', {'HOME': '/h'}, None),
    ],
)
def test_cache_directory(monkeypatch, flag, environ, expected):
  monkeypatch.setenv('HOME', environ['HOME'])  # expanduser reads the real environment
  assert cli.compilation_cache_dir(flag, environ) == expected
