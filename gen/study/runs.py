"""Training a run for a study: train.py in its own process, so that its CPU time is its
own (getrusage of the children), with a study's config overrides."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RunFailed(RuntimeError):
  """train.py exited with an error; the message is the last error line of its stderr."""


def cpu_seconds_of_children() -> float:
  r = resource.getrusage(resource.RUSAGE_CHILDREN)
  return r.ru_utime + r.ru_stime


def train(config: str, workdir: str, overrides=()) -> dict:
  """Runs `python train.py --config=ROOT/<config> --workdir=<workdir> --config.<o>...` for
  o in overrides (KEY=VALUE); returns {'wall_s', 'cpu_s'} of that process. A stopped run
  resumes from its checkpoint when called again (train.py's own resume)."""
  args = [f'--config={ROOT}/{config}', f'--workdir={workdir}']
  args += [f'--config.{o}' for o in overrides]
  cpu0, t0 = cpu_seconds_of_children(), time.time()
  proc = subprocess.run(
      [sys.executable, os.path.join(ROOT, 'train.py'), *args],
      capture_output=True,
      text=True,
      check=False,
  )
  if proc.returncode != 0:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith('error:')]
    raise RunFailed((errors or lines or [f'exit code {proc.returncode}'])[-1])
  return {'wall_s': time.time() - t0, 'cpu_s': cpu_seconds_of_children() - cpu0}
