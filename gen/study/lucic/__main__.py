r"""python -m gen.study.lucic COMMAND --flags: the Lucic et al. 2018 study.

  python -m gen.eval.classifier --dataset=mnist          # once: the FID features
  python -m gen.study.lucic plan --study=cpu --out=runs/lucic_cpu
  python -m gen.study.lucic run --dir=runs/lucic_cpu --workers=1
  python -m gen.study.lucic plan --out=runs/lucic_cpu --phase=3
  python -m gen.study.lucic run --dir=runs/lucic_cpu --workers=1
  python -m gen.study.lucic report --dir=runs/lucic_cpu

Commands:
  plan    --study --out: writes OUT/trials.jsonl (phases 1 and 2, one trial a line) and
          OUT/plan.json (study, trials sha256, code version); re-running it on the same
          OUT is a no-op, and an OUT holding another plan is refused.
          --out --phase=3: once phase 1 has finished, appends phase 3 (seeds of each
          game's best phase-1 trial); trial numbers of phases 1 and 2 keep their meaning.
  run     --dir [--trial=N]: trains and scores trial N into DIR/trials/N/ (trials.py);
          idempotent, resumes a killed trial; a trial repeating a finished trial's
          run (phase 3's seed 0) takes its result unless --retrain_repeats. Without --trial: $SLURM_ARRAY_TASK_ID or
          $JOB_COMPLETION_INDEX (a SLURM job array, a Kubernetes Indexed Job) if set,
          else every unfinished trial through a pool of --workers processes, each
          `run --trial=N` with its log in DIR/trials/N/log.txt.
  submit  --dir --executor=slurm|local: every unfinished trial as one job array
          through submitit (optional dependency: pip install submitit); `local` runs
          them on this machine (all at once: submitit's local executor has no cap).
  report  --dir: DIR/report.md, report.json and budget_<dataset>.png (report.py).
Studies (gen/study/lucic/studies.py): full (the paper's), cpu (MNIST on 2 cores),
smoke (seconds).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent import futures

from absl import app
from absl import flags

from gen import cli
from gen import config as config_lib
from gen.study.lucic import plan as plan_lib
from gen.study.lucic import studies

COMMANDS = ('plan', 'report', 'run', 'submit')
EXECUTORS = ('slurm', 'local')

_STUDY = flags.DEFINE_string('study', None, f'plan: study, one of {", ".join(sorted(studies.STUDIES))}.')
_OUT = flags.DEFINE_string('out', None, 'plan: study directory (trials.jsonl, plan.json).')
_PHASE = flags.DEFINE_integer('phase', None, 'plan: 3 adds phase 3 to the plan in --out.')
_DIR = flags.DEFINE_string('dir', None, 'run, submit, report: the study directory.')
_TRIAL = flags.DEFINE_integer('trial', None, 'run: the trial index (default: see the docstring).')
_WORKERS = flags.DEFINE_integer('workers', 1, 'run without --trial: trials run at once.')
_CLASSIFIER = flags.DEFINE_string('classifier', None, 'Classifier run directory for classifier features (default as eval.py).')  # fmt: skip
_INCEPTION = flags.DEFINE_string('inception_weights', None, 'FID Inception weights (inception features).')
_RETRAIN = flags.DEFINE_bool('retrain_repeats', False, 'run, submit: train a trial that repeats a finished trial\'s run (phase 3\'s seed 0) instead of taking its result.')  # fmt: skip
_EXECUTOR = flags.DEFINE_string('executor', None, f'submit: {", ".join(EXECUTORS)}.')
_TIMEOUT = flags.DEFINE_integer('timeout_min', 600, 'submit: minutes per trial job.')
_PARALLEL = flags.DEFINE_integer('max_parallel', 16, 'submit (slurm): array tasks at once.')
_PARTITION = flags.DEFINE_string('slurm_partition', None, 'submit (slurm): the partition.')
_GPUS = flags.DEFINE_integer('gpus_per_task', 0, 'submit (slurm): GPUs per trial.')
_CPUS = flags.DEFINE_integer('cpus_per_task', 2, 'submit (slurm): CPU cores per trial.')



def _need(**values) -> None:
  missing = [f'--{name}' for name, value in values.items() if value is None]
  if missing:
    sys.exit(f'error: this command needs {" and ".join(missing)}; see --helpshort.')


def _plan() -> None:
  if _PHASE.value is not None:
    return _plan_phase3()
  if not _STUDY.value or not _OUT.value:
    sys.exit(
        'error: plan needs --study=STUDY and --out=DIR; valid studies: '
        f'{", ".join(sorted(studies.STUDIES))}'
    )
  result = plan_lib.write_plan(studies.get(_STUDY.value), _OUT.value)
  out = _OUT.value
  if result['written']:
    print(
        f'Wrote {result["num_trials"]} trials (phases 1 and 2) of study {result["study"]} to '
        f'{out}/{plan_lib.TRIALS_FILE} (sha256 {result["trials_sha256"][:12]}) and {out}/{plan_lib.PLAN_FILE}.'
    )
  else:
    print(
        f'{out} already holds this plan ({result["num_trials"]} trials, sha256 '
        f'{result["trials_sha256"][:12]}); nothing written.'
    )


def _plan_phase3() -> None:
  from gen.study.lucic import trials  # pylint: disable=import-outside-toplevel

  _need(out=_OUT.value)
  if _PHASE.value != 3:
    sys.exit(f'error: --phase={_PHASE.value}: phases 1 and 2 are planned up front; only 3 is added later.')
  best = trials.best_of_phase(_OUT.value, 1)
  result = plan_lib.add_phase3(_OUT.value, best)
  n3 = result['num_trials'] - sum(1 for r in trials.read_plan(_OUT.value)[1] if r['phase'] != 3)
  verb = 'Added' if result['written'] else 'Already planned:'
  print(f'{verb} {n3} phase-3 trials (best phase-1 trial per game: {result["phase3_best"]}).')


def _trial_from_env() -> int | None:
  from gen.study.lucic import trials  # pylint: disable=import-outside-toplevel

  for name in trials.INDEX_ENV:
    if os.environ.get(name, '') != '':
      try:
        return int(os.environ[name])
      except ValueError:
        sys.exit(f'error: ${name}={os.environ[name]!r} is not a trial index.')
  return None


def _run() -> None:
  from gen.study.lucic import trials  # pylint: disable=import-outside-toplevel

  _need(dir=_DIR.value)
  trial = _TRIAL.value if _TRIAL.value is not None else _trial_from_env()
  if trial is not None:
    cli.setup_compilation_cache()
    result = trials.run_trial(
        _DIR.value, trial, classifier=_CLASSIFIER.value, inception_weights=_INCEPTION.value,
        retrain_repeats=_RETRAIN.value,
    )
    print(f'Trial {trial} ({result["name"]}): {result["status"]}, best FID {result["best_fid"]:.3f} '
          f'at step {result["best_step"]} ({result["features"]})'
          + (f', the run of trial {result["same_run_as"]}.' if 'same_run_as' in result else '.'))  # fmt: skip
    return
  if _WORKERS.value < 1:
    sys.exit(f'error: --workers={_WORKERS.value}: must be >= 1.')
  todo = trials.pending(_DIR.value)
  print(f'{len(todo)} trials to run, {_WORKERS.value} at a time.')
  failed = run_pool(_DIR.value, todo, _WORKERS.value, _pass_through_flags())
  if failed:
    logs = ', '.join(f'{n}: {trials.trial_dir(_DIR.value, n)}/log.txt' for n in failed[:5])
    sys.exit(f'error: {len(failed)} trials failed ({logs}); rerun to retry them.')
  print(f'All trials of {_DIR.value} finished.')


def _pass_through_flags() -> list[str]:
  out = []
  if _CLASSIFIER.value:
    out.append(f'--classifier={_CLASSIFIER.value}')
  if _INCEPTION.value:
    out.append(f'--inception_weights={_INCEPTION.value}')
  if _RETRAIN.value:
    out.append('--retrain_repeats')
  return out


def run_pool(study_dir: str, todo: list[int], workers: int, extra: list[str]) -> list[int]:
  """Runs `run --trial=N` for each N in `todo`, `workers` processes at a time; returns
  the trials whose process failed. Each writes DIR/trials/N/log.txt."""
  from gen.study.lucic import trials  # pylint: disable=import-outside-toplevel

  def one(n: int) -> int:
    work = trials.trial_dir(study_dir, n)
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, 'log.txt'), 'a') as log:
      log.write(f'--- {time.strftime("%Y-%m-%d %H:%M:%S")} run --trial={n}\n')
      log.flush()
      cmd = [sys.executable, '-m', 'gen.study.lucic', 'run', f'--dir={study_dir}', f'--trial={n}', *extra]
      return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False).returncode

  failed = []
  with futures.ThreadPoolExecutor(max_workers=workers) as pool:
    for n, code in zip(todo, pool.map(one, todo)):
      print(f'trial {n}: {"done" if code == 0 else f"failed (exit {code})"}', flush=True)
      if code != 0:
        failed.append(n)
  return failed


def _submit() -> None:
  from gen.study.lucic import submit  # pylint: disable=import-outside-toplevel
  from gen.study.lucic import trials  # pylint: disable=import-outside-toplevel

  _need(dir=_DIR.value, executor=_EXECUTOR.value)
  if _EXECUTOR.value not in EXECUTORS:
    sys.exit(f'error: --executor={_EXECUTOR.value!r}; valid: {", ".join(EXECUTORS)}.')
  todo = trials.pending(_DIR.value)
  jobs = submit.submit(
      _DIR.value, todo, _EXECUTOR.value, timeout_min=_TIMEOUT.value,
      max_parallel=_PARALLEL.value, partition=_PARTITION.value, gpus=_GPUS.value,
      cpus=_CPUS.value, extra=_pass_through_flags(),
  )  # fmt: skip
  print(f'Submitted {len(jobs)} trials ({_EXECUTOR.value}); logs in {submit.folder(_DIR.value)}.')
  if _EXECUTOR.value == 'local':
    failed = submit.wait(jobs, todo)
    if failed:
      sys.exit(f'error: trials {failed} failed; their logs are in {submit.folder(_DIR.value)}.')
    print('All submitted trials finished.')


def _report() -> None:
  from gen.study.lucic import report  # pylint: disable=import-outside-toplevel

  _need(dir=_DIR.value)
  out = report.write_report(_DIR.value)
  with open(os.path.join(_DIR.value, report.REPORT_MD)) as f:
    print(f.read())
  print(f'{out["trials_finished"]} of {out["trials_planned"]} trials; wrote {report.REPORT_MD}, '
        f'{report.REPORT_JSON} and {", ".join(out["budget_plots"].values())} in {_DIR.value}.')  # fmt: skip


def main(argv):
  valid = ', '.join(COMMANDS)
  if len(argv) < 2:
    sys.exit(f'error: no command given; valid commands: {valid}')
  command, rest = argv[1], argv[2:]
  if command not in COMMANDS:
    sys.exit(f'error: unknown command {command!r}; valid commands: {valid}')
  if rest:
    sys.exit(f'error: unexpected arguments {rest}; after the command every input is a --flag.')
  cli.quiet_library_logs()
  try:
    {'plan': _plan, 'run': _run, 'submit': _submit, 'report': _report}[command]()
  except (*cli.USER_ERRORS, config_lib.ConfigError) as e:
    sys.exit(f'error: {e}')


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
