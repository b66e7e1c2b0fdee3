"""A study's unfinished trials as one SLURM job array through submitit (optional
dependency, `pip install submitit`; reference sheet cyclegan_lucic.md 3.2, 3.3): a thin
launcher, each array task the same `python -m gen.study.lucic run --dir=DIR --trial=N`
a local pool or a Kubernetes Indexed Job runs. The trial itself is what makes a rerun
safe (trials.py: idempotent, resumes from its checkpoint), so a failed or preempted
task is simply submitted again (`submit` skips finished trials).

`local` uses submitit's LocalExecutor: every trial starts at once on this machine (it
has no concurrency cap), for small studies and for testing the SLURM path.
"""

from __future__ import annotations

import os
import subprocess
import sys

from gen import config as config_lib


def folder(study_dir: str) -> str:
  return os.path.join(study_dir, 'submitit', '%j')


def _run_trial_process(study_dir: str, trial: int, extra: list[str]) -> int:
  """The array task: the trial's CLI in a fresh process (no state shared with submitit's
  worker); raises on failure so submitit marks the task failed."""
  cmd = [sys.executable, '-m', 'gen.study.lucic', 'run', f'--dir={study_dir}', f'--trial={trial}', *extra]
  proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
  sys.stdout.write(proc.stdout)
  sys.stderr.write(proc.stderr)
  if proc.returncode != 0:
    raise RuntimeError(f'trial {trial} exited {proc.returncode}: {proc.stderr.strip()[-500:]}')
  return trial


def submit(study_dir, todo, executor_name, *, timeout_min, max_parallel, partition, gpus, cpus, extra):
  """Submits `todo` as one job array; returns the submitit jobs."""
  try:
    import submitit  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise config_lib.ConfigError(
        'submit needs submitit (pip install submitit); or run the trials with '
        '`python -m gen.study.lucic run` in a pool or a job array'
    ) from e
  study_dir = os.path.abspath(study_dir)
  if executor_name == 'local':
    executor = submitit.LocalExecutor(folder=folder(study_dir))
    executor.update_parameters(timeout_min=timeout_min)
  else:
    executor = submitit.AutoExecutor(folder=folder(study_dir), cluster='slurm')
    params = dict(timeout_min=timeout_min, slurm_array_parallelism=max_parallel, cpus_per_task=cpus)
    if gpus:
      params['gpus_per_node'] = gpus
    if partition:
      params['slurm_partition'] = partition
    executor.update_parameters(**params)
  n = len(todo)
  return executor.map_array(_run_trial_process, [study_dir] * n, list(todo), [list(extra)] * n)


def wait(jobs, todo) -> list[int]:
  """Waits for the jobs; returns the trials whose job failed."""
  failed = []
  for trial, job in zip(todo, jobs):
    try:
      job.result()
    except Exception:  # pylint: disable=broad-except  # submitit re-raises the task's error
      failed.append(trial)
  return failed
