"""Run outputs: metrics.jsonl, TensorBoard events (tensorboardX, no TensorFlow), progress."""

from __future__ import annotations

import json
import math
import os
import sys
import time

from absl import logging


def _jsonable(v):
  v = float(v)
  return v if math.isfinite(v) else str(v)  # JSON has no NaN/inf


def _summary_writer_class():
  """tensorboardX's SummaryWriter, imported without torch: its writer module imports torch
  where it is installed (about 2 s at every train.py start), only to recognise torch
  tensors, and this writer is given floats. A None in sys.modules makes `import torch` an
  ImportError, which tensorboardX catches; the entry is removed again afterwards."""
  hide = 'torch' not in sys.modules
  if hide:
    sys.modules['torch'] = None
  try:
    from tensorboardX import SummaryWriter  # pylint: disable=import-outside-toplevel
  finally:
    if hide and sys.modules.get('torch', 0) is None:
      del sys.modules['torch']
  return SummaryWriter


class MetricWriter:
  """Appends one JSON object per logged step; mirrors scalars to TensorBoard."""

  def __init__(self, workdir: str, enabled: bool = True):
    self.enabled = enabled
    if enabled:
      self._jsonl = open(os.path.join(workdir, 'metrics.jsonl'), 'a')
      self._tb = _summary_writer_class()(os.path.join(workdir, 'tensorboard'))

  def write(self, step: int, scalars: dict) -> None:
    if not self.enabled:
      return
    record = {'step': step, 'time': time.time(), **{k: _jsonable(v) for k, v in scalars.items()}}
    self._jsonl.write(json.dumps(record) + '\n')
    self._jsonl.flush()
    for k, v in scalars.items():
      self._tb.add_scalar(k, float(v), step)
    self._tb.flush()

  def close(self) -> None:
    if self.enabled:
      self._jsonl.close()
      self._tb.close()


class Progress:
  """Steps/s and ETA between log points (first interval includes compilation)."""

  def __init__(self, start_step: int, num_steps: int):
    self.num_steps = num_steps
    self._last_step, self._last_time = start_step, time.time()

  def update(self, step: int) -> dict:
    now = time.time()
    rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
    self._last_step, self._last_time = step, now
    eta = (self.num_steps - step) / rate if rate > 0 else float('inf')
    return {'steps_per_sec': rate, 'eta_sec': eta}


def log_line(step: int, num_steps: int, scalars: dict, progress: dict) -> None:
  shown = ' '.join(f'{k}={float(v):.4g}' for k, v in sorted(scalars.items()))
  logging.info(
      'step %d/%d  %.2f steps/s  ETA %s  %s',
      step,
      num_steps,
      progress['steps_per_sec'],
      _fmt_eta(progress['eta_sec']),
      shown,
  )


def _fmt_eta(seconds: float) -> str:
  if not math.isfinite(seconds):
    return '?'
  m, s = divmod(int(seconds), 60)
  h, m = divmod(m, 60)
  return f'{h}:{m:02d}:{s:02d}'
