"""Evaluation of a run directory: restore a checkpoint, run the model's `evaluate`, write eval/step_<N>.json."""

from __future__ import annotations

import json
import os
import subprocess
import time

import jax

from gen import config as config_lib
from gen import data as data_lib
from gen.train import checkpoint as ckpt_lib
from gen.train import loop
from gen.train import sharding


def _git_commit() -> str | None:
  try:
    return subprocess.run(
        ['git', 'rev-parse', 'HEAD'],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.abspath(__file__)),
        check=True,
    ).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return None


def load_run(workdir: str, step: int | None = None):
  """(config, info, model, state, step) of a run directory's checkpoint."""
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    raise config_lib.ConfigError(
        f'{path} not found: is {workdir!r} a run directory written by train.py?'
    )
  with open(path) as f:
    config = config_lib.from_json(f.read())
  info, model, mesh = loop.setup(config)
  ckpt = ckpt_lib.Checkpointer(workdir)
  try:
    step = ckpt.latest() if step is None else step
    if step is None:
      raise ckpt_lib.CheckpointError(f'No checkpoint in {ckpt.directory}; train first.')
    with jax.set_mesh(mesh):
      batch = sharding.put_batch(
          loop.example_batch(config, model),
          sharding.batch_sharding(mesh, model.batches_per_step > 1),
      )
      state, _ = ckpt.restore(step, loop.abstract_state(model, config, mesh, batch))
  finally:
    ckpt.close()
  return config, info, model, state, step


def run(workdir: str, step: int | None = None) -> dict:
  config, info, model, state, step = load_run(workdir, step)
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 2 << 29)  # fixed evaluation key
  start = time.time()
  metrics = model.evaluate(state, data_lib.eval_batches(config), key)
  result = {
      'step': step,
      'metrics': metrics,
      'provenance': {
          'model': config.model.name,
          'dataset': config.data.name,
          'split': config.data.eval_split,
          'seed': config.seed,
          'git_commit': _git_commit(),
          'seconds': time.time() - start,
      },
  }
  if jax.process_index() == 0:
    os.makedirs(os.path.join(workdir, 'eval'), exist_ok=True)
    with open(os.path.join(workdir, 'eval', f'step_{step}.json'), 'w') as f:
      json.dump(result, f, indent=2)
  return result
