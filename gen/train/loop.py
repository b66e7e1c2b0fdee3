"""One training loop for every model: data -> jitted step -> logs, samples, checkpoints."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from typing import Any

import jax
import numpy as np
from absl import logging

from gen import config as config_lib
from gen import data as data_lib
from gen.data import toy2d
from gen.eval import mixture
from gen.models import registry
from gen.train import checkpoint as ckpt_lib
from gen.train import sharding
from gen.train import step as step_lib
from gen.train import writers
from gen.viz import images as viz_images
from gen.viz import points as viz_points


class NonFiniteError(FloatingPointError):
  """Training produced a non-finite loss, gradient or parameter."""


class WorkdirError(ValueError):
  """The run directory given cannot hold a run (a file, or a path that cannot be created)."""


class Preempted(SystemExit):
  """SIGTERM arrived; a checkpoint was saved. Exit code 143 = 128 + SIGTERM."""

  def __init__(self):
    super().__init__(143)


class _SigtermFlag:

  def __init__(self):
    self.raised = False
    self._previous = signal.signal(signal.SIGTERM, self._handle)

  def _handle(self, signum, frame):
    logging.warning('SIGTERM received: saving a checkpoint at the next call boundary.')
    self.raised = True

  def restore(self):
    signal.signal(signal.SIGTERM, self._previous)


def _write_config(config, workdir: str) -> None:
  path = os.path.join(workdir, 'config.json')
  text = config_lib.to_json(config)
  if os.path.exists(path):
    with open(path) as f:
      old = json.load(f)
    new = json.loads(text)
    changed = sorted(_diff(old, new))
    if changed:
      logging.warning(
          'Resuming with a config that differs from %s in: %s', path, ', '.join(changed)
      )
  with open(path, 'w') as f:
    f.write(text)


def _diff(a, b, prefix=''):
  for k in set(a) | set(b):
    va, vb = a.get(k), b.get(k)
    if isinstance(va, dict) and isinstance(vb, dict):
      yield from _diff(va, vb, f'{prefix}{k}.')
    elif va != vb:
      yield f'{prefix}{k}'


def setup(config):
  """The dataset info, the model and the mesh: what a run or an evaluation needs.

  Every config value is checked here (shared keys, split names, the model's and
  optimizers' keys), before a caller writes anything.
  """
  config_lib.validate(config)
  info = data_lib.info(config)
  model = registry.build(config, info)
  mesh = sharding.make_mesh()
  return info, model, mesh


def _make_workdir(workdir: str) -> None:
  """Creates the run directory (an existing one is resumed); WorkdirError if it cannot be one."""
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise WorkdirError(
        f'--workdir={workdir} is a file, not a directory; pass a new directory or the '
        'directory of an earlier run (the file is left as it is).'
    )
  try:
    os.makedirs(workdir, exist_ok=True)
  except OSError as e:  # a path through a file, no permission, a read-only disk
    raise WorkdirError(
        f'--workdir={workdir} cannot be created ({e.strerror}); pass a directory you can write.'
    ) from None


def abstract_state(model, config, mesh, example_batch):
  """Shapes, dtypes and (replicated) shardings of the state, for restoring."""
  key = jax.random.PRNGKey(config.seed)
  shapes = jax.eval_shape(
      lambda k, b: step_lib.init_state(model, config.train.ema_decay, k, b), key, example_batch
  )
  repl = sharding.replicated(mesh)
  return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=repl), shapes)


def example_batch(config, model):
  """The first batch's shapes (host arrays), without advancing the run's iterator."""
  it = data_lib.train_iterator(
      config, jax.process_index(), jax.process_count(), num_micro=model.batches_per_step
  )
  return next(it)


def train(config, workdir: str, restore_step: int | None = None) -> dict:
  """Trains (or resumes) and returns the last logged metrics."""
  is_main = jax.process_index() == 0
  info, model, mesh = setup(config)  # a bad config or missing data fails before any write
  sharding.check_batch_size(config.train.batch_size)
  _make_workdir(workdir)
  if is_main:
    _write_config(config, workdir)
    os.makedirs(os.path.join(workdir, 'samples'), exist_ok=True)
  repl = sharding.replicated(mesh)
  batch_sh = sharding.batch_sharding(
      mesh, sharding.leading_axes(model, config.train.steps_per_call)
  )
  data_it = data_lib.train_iterator(
      config, jax.process_index(), jax.process_count(), num_micro=model.batches_per_step
  )
  ckpt = ckpt_lib.Checkpointer(workdir, config.train.max_to_keep)
  sigterm = _SigtermFlag()
  writer = writers.MetricWriter(workdir, enabled=is_main)
  try:
    with jax.set_mesh(mesh):
      first = sharding.put_batch(
          example_batch(config, model), sharding.batch_sharding(mesh, sharding.leading_axes(model))
      )
      init = jax.jit(
          lambda k, b: step_lib.init_state(model, config.train.ema_decay, k, b), out_shardings=repl
      )
      step = restore_step if restore_step is not None else ckpt.latest()
      if step is not None:
        if restore_step is not None and is_main:
          moved = ckpt.set_aside_after(step)
          if moved:
            logging.warning('Moved later checkpoints %s to checkpoints_set_aside/.', moved)
        state, data_state = ckpt.restore(step, abstract_state(model, config, mesh, first))
        data_it.set_state(data_state)
        logging.info('Resumed from the checkpoint at step %d.', step)
      else:
        state = init(jax.random.PRNGKey(config.seed), first)
      run = _Run(
          config, workdir, model, info, data_it, ckpt, writer, sigterm, repl, batch_sh, is_main
      )
      return _loop(run, state, first)
  finally:
    sigterm.restore()
    writer.close()
    ckpt.close()


def _check_finite(state, names, ckpt, skip: bool) -> int:
  nf = sharding.to_host(state.nonfinite)
  count = int(nf.count)
  if count and not skip:
    what = names[int(nf.first_what)]
    latest = ckpt.latest()
    kept = (
        f'The last good checkpoint (step {latest}) in {ckpt.directory} is kept.'
        if latest is not None
        else 'No checkpoint had been saved yet.'
    )
    raise NonFiniteError(
        f'Non-finite {what} at step {int(nf.first_step)}; training stopped and that update '
        f'was not applied. {kept} Lower the learning rate or check the data, or set '
        f'--config.train.skip_nonfinite=True to skip such updates and count them.'
    )
  return count


@dataclasses.dataclass(frozen=True)
class _Run:
  """What the loop needs besides the state, built once by `train`."""

  config: Any
  workdir: str
  model: Any
  info: Any
  data_it: Any
  ckpt: ckpt_lib.Checkpointer
  writer: writers.MetricWriter
  sigterm: _SigtermFlag
  repl: Any
  batch_sh: Any
  is_main: bool


def next_batches(data_it, n: int, stacked: bool):
  """The iterator's next batch, or its next `n` stacked on a new leading (call) axis."""
  if not stacked:
    return next(data_it)
  parts = [next(data_it) for _ in range(n)]
  return {key: np.stack([p[key] for p in parts]) for key in parts[0]}


def _loop(run: _Run, state, first) -> dict:
  tc = run.config.train
  k = tc.steps_per_call
  call_fn = jax.jit(
      step_lib.make_train_call(run.model, tc.ema_decay, k),
      in_shardings=(run.repl, run.batch_sh),
      out_shardings=(run.repl, run.repl),
      donate_argnums=0,
  )
  sample_fn = jax.jit(run.model.sample, static_argnums=2, out_shardings=run.repl)
  # One fixed key for every sample grid, so grids over training are comparable.
  sample_key = jax.random.fold_in(jax.random.PRNGKey(run.config.seed), 1 << 30)
  # What the non-finite guard's index names: taken from the trace of the first call, which
  # that call then reuses (a separate eval_shape traced the whole step a second time, 0.2 to
  # 0.8 s of every start); before any call, from an eval_shape of the step.
  names = []

  t = int(sharding.to_host(state.step))
  progress = writers.Progress(t, tc.num_steps)
  logging.info(
      'Training %s on %s from step %d to %d: %d device(s) in %d process(es), global batch %d; '
      'outputs in %s',
      run.config.model.name, run.config.data.name, t, tc.num_steps, jax.device_count(),
      jax.process_count(), tc.batch_size, run.workdir,
  )  # fmt: skip
  last = {}

  def save(step):
    if not names:
      shapes = jax.eval_shape(step_lib.make_train_step(run.model, tc.ema_decay), state, first)
      names[:] = step_lib.checked_names(shapes[1], state.params)
    _check_finite(state, names, run.ckpt, tc.skip_nonfinite)
    run.ckpt.save(step, state, run.data_it.get_state())

  while t < tc.num_steps:
    if run.sigterm.raised:
      save(t)
      logging.warning('Preempted: checkpoint saved at step %d; re-run the command to resume.', t)
      raise Preempted()
    # k steps per call; fewer only to realign a run resumed from a checkpoint
    # that another steps_per_call left off a multiple of k.
    n = k - t % k
    batch = sharding.put_batch(next_batches(run.data_it, n, k > 1), run.batch_sh)
    if not names:
      names[:] = step_lib.checked_names(call_fn.trace(state, batch).out_info[1], state.params)
    state, metrics = call_fn(state, batch)  # metrics: step t + n's
    t += n
    if t % tc.log_every == 0 or t == tc.num_steps:
      skipped = _check_finite(state, names, run.ckpt, tc.skip_nonfinite)
      last = {name: float(v) for name, v in sharding.to_host(metrics).items()}
      last['nonfinite/skipped'] = skipped
      p = progress.update(t)
      run.writer.write(t, {**last, **p})
      if run.is_main:
        writers.log_line(t, tc.num_steps, last, p)
    if t % tc.sample_every == 0 or t == tc.num_steps:
      x = sharding.to_host(sample_fn(state, sample_key, tc.num_samples))
      if run.is_main:
        path = os.path.join(run.workdir, 'samples', f'step_{t}.png')
        save_samples(x, run.info, run.config, path, t)
    if t % tc.checkpoint_every == 0 or t == tc.num_steps:
      save(t)
  logging.info('Done at step %d; checkpoints in %s.', t, run.ckpt.directory)
  return last


def samples_title(config, step: int, coverage: dict | None = None) -> str:
  """What a reader of a sample plot needs: model (and game), data, step, and for a 2D
  mixture the modes covered and the high-quality fraction of the plotted samples."""
  game = config.model.get('game')
  title = f'{config.model.name}{f" ({game})" if game else ""} on {config.data.name}, step {step}'
  if coverage is not None:
    title += (
        f'\n{coverage["modes_covered"]}/{coverage["num_modes"]} modes covered, '
        f'hq {coverage["hq_fraction"]:.2f} of {coverage["num_samples"]} samples'
    )
  return title


def save_samples(x: np.ndarray, info, config, path: str, step: int) -> None:
  if info.kind == 'points':
    m = toy2d.MIXTURES.get(config.data.name)
    coverage = None if m is None else mixture.coverage(x, m.centres, m.std)
    title = samples_title(config, step, coverage)
    viz_points.save_scatter(x, path, None if m is None else m.centres, title=title)
  else:
    viz_images.save_grid(x, path, config.data.scale)
