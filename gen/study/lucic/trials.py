"""Running the trials of a study directory, one index at a time, as compare_gan's
`compare_gan_run_one_task` (reference sheet cyclegan_lucic.md 2.10): trial N trains
into DIR/trials/N/ through gen's training loop (the function train.py calls), then
every checkpoint is scored (FID, IS, precision / recall / F1 with the study's
features, gen.eval.run, the function eval.py calls), and DIR/trials/N/result.json is
written last, atomically.

Idempotent, so any scheduler may run an index twice or rerun a killed one:
  - result.json present: nothing is done;
  - training resumes from the trial's latest checkpoint (bitwise where it stopped);
  - a checkpoint whose eval/step_<S>.json holds the study's FID is not scored again
    (evaluations are deterministic: fixed sample key, fixed reference set);
  - a trial that trains exactly the run of a finished earlier trial (phase 3's seed 0
    is its phase-1 trial again: the same config and seed, and gen's runs are
    deterministic) takes that trial's result, marked `same_run_as`, instead of training
    it again; compare_gan retrained it. `retrain_repeats=True` (run --retrain_repeats)
    trains it anyway: a check that the run reproduces.
A trial that the non-finite guard stops (gen.train.loop.NonFiniteError) is final, as
runs are deterministic: its checkpoints before the stop are scored, and with none its
best FID is +inf (compare_gan's sentinel FID is 31337.0; +inf never wins a minimum).

The per-trial statistic is the minimum FID over its checkpoints (compare_gan's
`BestFIDPerModel`; reference sheet 2.6: inferred, unverified for the paper's Table 2).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Mapping

import ml_collections
from absl import logging

from gen import config as config_lib
from gen import data as data_lib
from gen.eval import provenance
from gen.eval import run as eval_run
from gen.study.lucic import games
from gen.study.lucic import plan as plan_lib
from gen.train import checkpoint as ckpt_lib
from gen.train import loop

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TRIALS_DIR, RESULT_FILE = 'trials', 'result.json'
# Where a job array gives a task its trial index: SLURM, a Kubernetes Indexed Job.
INDEX_ENV = ('SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX')
# Sample-quality metrics a trial records per checkpoint (gen.eval.sample_quality names).
METRICS = ('FID', 'IS', 'KID', 'precision', 'recall', 'F1', 'PRD F8', 'PRD F1/8')


def read_plan(study_dir: str) -> tuple[dict, list[dict]]:
  """(plan.json, trials.jsonl rows) of a study directory; ConfigError if it has no plan
  or its trials file is not the one plan.json names."""
  plan_path = os.path.join(study_dir, plan_lib.PLAN_FILE)
  trials_path = os.path.join(study_dir, plan_lib.TRIALS_FILE)
  if not (os.path.isfile(plan_path) and os.path.isfile(trials_path)):
    raise config_lib.ConfigError(
        f'{study_dir} holds no study plan ({plan_lib.PLAN_FILE}, {plan_lib.TRIALS_FILE}); '
        f'write one with: python -m gen.study.lucic plan --study=STUDY --out={study_dir}'
    )
  with open(plan_path) as f:
    plan = json.load(f)
  with open(trials_path, 'rb') as f:
    data = f.read()
  if provenance.sha256_bytes(data) != plan['trials_sha256']:
    raise config_lib.ConfigError(
        f'{trials_path} is not the trial list {plan_path} names (sha256 '
        f'{plan["trials_sha256"][:12]}): it was changed by hand (restore it or start another '
        'study), or a `plan --phase=3` was interrupted (run it again).'
    )
  return plan, [json.loads(line) for line in data.splitlines()]


def trial_row(study_dir: str, trial: int) -> dict:
  _, rows = read_plan(study_dir)
  if not (config_lib.is_int(trial) and 0 <= trial < len(rows)):
    raise config_lib.ConfigError(
        f'--trial={trial!r}: the plan in {study_dir} has trials 0..{len(rows) - 1}.'
    )
  return rows[trial]


def trial_dir(study_dir: str, trial: int) -> str:
  return os.path.join(study_dir, TRIALS_DIR, str(trial))


def gen_steps(row: Mapping) -> int:
  """gen steps (each n_disc D updates and one G update) between a row's checkpoints: its
  checkpoint interval in D steps, counted as compare_gan does."""
  return max(1, row['checkpoint_every'] // plan_lib.d_steps_per_step(row['game'], row['params']))


def config_of(row: Mapping) -> ml_collections.ConfigDict:
  """The trial's gen config: configs/lucic.py's preset for its game with the row's
  dataset, seed, parameters and budget, every checkpoint kept for scoring."""
  config = config_lib.load(f'{ROOT}/configs/lucic.py:{row["game"]}')
  every = gen_steps(row)
  values = {
      **games.trial_overrides(row),
      'train.checkpoint_every': every,
      'train.sample_every': every,
      'train.log_every': max(1, min(every, 100)),
      'train.max_to_keep': math.ceil(row['g_steps'] / every) + 1,
      'eval.quality_num_samples': row['eval']['num_samples'],
      'data.eval_split': row['eval']['real_split'],
  }
  games.apply(config, values)
  return config


def _scored(workdir: str, step: int, fid_key: str | None) -> dict | None:
  """The metrics of eval/step_<step>.json when it holds the study's FID, else None."""
  path = os.path.join(workdir, 'eval', f'step_{step}.json')
  try:
    with open(path) as f:
      metrics = json.load(f)['metrics']
  except (OSError, ValueError, KeyError):
    return None
  if fid_key is None:
    return metrics if any(k.startswith('FID (') for k in metrics) else None
  return metrics if fid_key in metrics else None


def _record(step: int, metrics: Mapping[str, Any]) -> dict:
  """One checkpoint's numbers by plain name (the feature extractor goes to the result)."""
  out = {'step': step}
  for name in METRICS:
    key = next((k for k in metrics if k.startswith(f'{name} (')), None)
    value = metrics.get(key, math.nan) if key else math.nan
    out[name] = value if isinstance(value, (int, float)) else math.nan
  return out


def _finite_or_inf(value: float) -> float:
  return value if math.isfinite(value) else math.inf


def write_json(path: str, obj) -> None:
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(obj, f, indent=2, sort_keys=True, default=str)
  os.replace(tmp, path)


def same_run(study_dir: str, row: Mapping) -> dict | None:
  """The result of a finished earlier trial that trains exactly `row`'s run (the same
  gen config, seed included, and the same scoring), else None."""
  _, rows = read_plan(study_dir)
  config = None
  for other in rows[: row['trial']]:
    path = os.path.join(trial_dir(study_dir, other['trial']), RESULT_FILE)
    if other['game'] != row['game'] or other['eval'] != row['eval'] or not os.path.isfile(path):
      continue
    config = config_of(row).to_dict() if config is None else config
    if config_of(other).to_dict() == config:
      with open(path) as f:
        return json.load(f)
  return None


def run_trial(study_dir: str, trial: int, *, classifier: str | None = None,
              inception_weights: str | None = None, retrain_repeats: bool = False) -> dict:  # fmt: skip
  """Trains and scores trial `trial` of the study in `study_dir` (module docstring);
  returns its result (also in trials/<trial>/result.json)."""
  row = trial_row(study_dir, trial)
  workdir = trial_dir(study_dir, trial)
  result_path = os.path.join(workdir, RESULT_FILE)
  if os.path.isfile(result_path):
    with open(result_path) as f:
      return json.load(f)
  config = config_of(row)
  started = os.path.isdir(os.path.join(workdir, 'checkpoints'))  # a retrain killed midway goes on
  source = None if retrain_repeats or started else same_run(study_dir, row)
  if source is not None:  # the run exists: its checkpoints stay in the source's directory
    os.makedirs(workdir, exist_ok=True)
    result = dict(source, trial=trial, name=row['name'], row=row, same_run_as=source['trial'])
    write_json(result_path, result)
    return result
  features = row['eval']['features']
  # Bad feature settings (no classifier trained) fail before any training.
  extractor, _ = eval_run.select_extractor(
      config, data_lib.info(config), features, classifier, inception_weights
  )
  stopped = None
  try:
    loop.train(config, workdir)
  except loop.NonFiniteError as e:  # final: the same run stops the same way again
    stopped = str(e)
    logging.warning('Trial %d stopped: %s', trial, e)
  records = []
  fid_key = f'FID ({extractor.name})'
  for step in _checkpoint_steps(workdir):
    metrics = _scored(workdir, step, fid_key)
    if metrics is None:
      metrics = eval_run.run(
          workdir, step, features=features, classifier=classifier,
          inception_weights=inception_weights, num_real=row['eval']['num_real'],
      )['metrics']  # fmt: skip
    records.append(_record(step, metrics))
  fids = [_finite_or_inf(r['FID']) for r in records]
  best = min(range(len(fids)), key=lambda i: (fids[i], records[i]['step'])) if fids else None
  result = {
      'trial': trial,
      'name': row['name'],
      'row': row,
      'status': 'stopped' if stopped else 'done',
      'stopped': stopped,
      'features': extractor.name,
      'weights_sha256': extractor.weights_sha256,
      'checkpoints': records,
      'best_fid': fids[best] if best is not None else math.inf,
      'best_step': records[best]['step'] if best is not None else None,
      'last_fid': fids[-1] if fids else math.inf,
      'code': {'git_commit': provenance.git_commit(), 'git_dirty': provenance.git_dirty()},
  }
  write_json(result_path, result)
  return result


def _checkpoint_steps(workdir: str) -> list[int]:
  ckpt = ckpt_lib.Checkpointer(workdir)
  try:
    return sorted(ckpt.steps())
  finally:
    ckpt.close()


def results(study_dir: str) -> list[dict]:
  """The result.json of every finished trial, in trial order."""
  _, rows = read_plan(study_dir)
  out = []
  for row in rows:
    path = os.path.join(trial_dir(study_dir, row['trial']), RESULT_FILE)
    if os.path.isfile(path):
      with open(path) as f:
        out.append(json.load(f))
  return out


def pending(study_dir: str) -> list[int]:
  """Trials without a result.json, in order."""
  _, rows = read_plan(study_dir)
  return [r['trial'] for r in rows if not os.path.isfile(os.path.join(trial_dir(study_dir, r['trial']), RESULT_FILE))]  # fmt: skip


def best_of_phase(study_dir: str, phase: int = 1) -> dict[tuple[str, str], dict]:
  """{(dataset, game): the trial row with the lowest best FID} over a phase's trials
  (compare_gan `BestFIDPerModel`; ties: the lower trial number). Every trial of the phase
  must be finished (ConfigError naming the pending ones): the choice must not depend on
  which trials happened to finish first. Pairs whose trials all failed are left out."""
  _, rows = read_plan(study_dir)
  phase_rows = [r for r in rows if r['phase'] == phase]
  done = {r['trial']: r for r in results(study_dir)}
  missing = [r['trial'] for r in phase_rows if r['trial'] not in done]
  if missing:
    shown = ', '.join(map(str, missing[:10])) + (' ...' if len(missing) > 10 else '')
    raise config_lib.ConfigError(
        f'phase {phase} of {study_dir} is not finished: {len(missing)} trials to run ({shown}); '
        f'run them first: python -m gen.study.lucic run --dir={study_dir}'
    )
  best = {}
  for row in phase_rows:
    fid = done[row['trial']]['best_fid']
    key = (row['dataset'], row['game'])
    if math.isfinite(fid) and (key not in best or fid < best[key][0]):
      best[key] = (fid, row)
  return {key: row for key, (_, row) in best.items()}
