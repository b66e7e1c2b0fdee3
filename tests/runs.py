"""Helpers for tests that train through the command line and inspect run directories."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import chex
import jax
import numpy as np

from conftest import ROOT, run_cli
from gen import config as config_lib
from gen.eval import run as eval_run
from gen.train import loop


def _train_args(workdir, spec: str, overrides, flags=()) -> list[str]:
  return [f'--config={spec}', f'--workdir={workdir}', *flags] + [f'--config.{o}' for o in overrides]


def train(workdir, spec: str, *overrides: str, env=None, check=True):
  return run_cli('train.py', *_train_args(workdir, spec, overrides), env=env, check=check)


def start_train(workdir, spec: str, *overrides: str, flags=()) -> subprocess.Popen:
  """train.py in the background (stderr piped), for signals and multi-process runs."""
  return subprocess.Popen(
      [
          sys.executable,
          os.path.join(ROOT, 'train.py'),
          *_train_args(workdir, spec, overrides, flags),
      ],
      cwd=ROOT,
      env={**os.environ, 'JAX_PLATFORMS': 'cpu'},
      stdout=subprocess.DEVNULL,
      stderr=subprocess.PIPE,
      text=True,
  )


def train_and_preempt(workdir, spec: str, *overrides: str) -> str:
  """train.py in the background, SIGTERM once it has logged; asserts it exited with
  143 after saving one checkpoint, and returns its stderr."""
  proc = start_train(workdir, spec, *overrides)
  log = pathlib.Path(workdir) / 'metrics.jsonl'
  deadline = time.time() + 120
  while not log.exists() or not log.read_text():
    assert time.time() < deadline and proc.poll() is None, 'training never logged'
    time.sleep(0.05)
  proc.send_signal(signal.SIGTERM)
  _, err = proc.communicate(timeout=120)
  assert proc.returncode == 143, err[-2000:]
  assert 'Preempted' in err
  return err


def state_leaves(workdir, step=None) -> list[np.ndarray]:
  """Every array of the saved train state (params, optimizer states, counters)."""
  _, _, _, state, _ = eval_run.load_run(str(workdir), step)
  return [np.asarray(x) for x in jax.tree.leaves(state)]


def assert_identical(a: list[np.ndarray], b: list[np.ndarray]) -> None:
  """Bitwise equality of two lists of arrays (e.g. `state_leaves` of two runs)."""
  chex.assert_trees_all_equal(a, b, strict=True)


def params(workdir, step=None) -> list[np.ndarray]:
  _, _, _, state, _ = eval_run.load_run(str(workdir), step)
  return [np.asarray(x) for x in jax.tree.leaves(state.params)]


def metrics(workdir) -> list[dict]:
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [json.loads(line) for line in f]


def losses(workdir) -> dict[int, dict]:
  """{step: {metric: value}} without timing entries."""
  drop = ('time', 'steps_per_sec', 'eta_sec')
  return {m['step']: {k: v for k, v in m.items() if k not in drop} for m in metrics(workdir)}


def steps(workdir) -> list[int]:
  d = os.path.join(workdir, 'checkpoints')
  return sorted(int(s) for s in os.listdir(d) if s.isdigit()) if os.path.isdir(d) else []


def setup_model(spec: str, **overrides):
  """(config, model, example batch) of `spec` with `key=value` overrides, in process."""
  config = config_lib.load(f'{ROOT}/{spec}')
  for key, value in overrides.items():
    config_lib.override(config, key, str(value))
  _, model, _ = loop.setup(config)
  batch = jax.tree.map(jax.numpy.asarray, loop.example_batch(config, model))
  return config, model, batch


def vae_hierarchy(config):
  """A VAE config's Hierarchy, rebuilt from the config (the Model keeps it in closures),
  applying plain params."""
  from gen.data import sources  # pylint: disable=import-outside-toplevel
  from gen.models.vae import vae  # pylint: disable=import-outside-toplevel

  info = sources.local_info(config.data.name)
  apply = lambda module, params, *args: module.apply({'params': params}, *args)
  return vae._hierarchy(vae.options(config.model), info, apply)  # pylint: disable=protected-access


def assert_resumes_bitwise(root, spec: str, *overrides: str) -> None:
  """20 steps straight into root/straight, and 10 then 20 (the same command resumes) into
  root/split: the same state leaves, bit for bit, and checkpoints at 10 and 20."""
  train(root / 'straight', spec, *overrides, 'train.num_steps=20')
  train(root / 'split', spec, *overrides, 'train.num_steps=10')
  train(root / 'split', spec, *overrides, 'train.num_steps=20')
  assert steps(root / 'split') == [10, 20]
  assert_identical(state_leaves(root / 'straight'), state_leaves(root / 'split'))
