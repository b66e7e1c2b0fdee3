"""The trial list of a Lucic et al. 2018 study, generated up front and deterministically,
as compare_gan does (src/generate_tasks_lib.py at cg@49495fd; reference sheet
cyclegan_lucic.md 2.4, 2.5, 2.10, 2.11).

The sampler is compare_gan's `GetTasks` -> `TuneParams` -> `GetSample`:
`random.seed(123)` once per experiment (one phase on one dataset), then the games
in `ALL_GANS` order, and per game sample 0 = the defaults followed by
num_samples - 1 random samples, each drawing its parameters in sorted-name order.
The random stream is shared: game k's samples depend on how many samples the games
before it drew. Checked against compare_gan's own code run under Python 2.7.18
(tests/study/lucic_reference_py2.py): phase 1 and phase 2 of the `full` study are
the same parameters, float for float (tests/study/test_lucic_plan.py). Every
dataset of a phase gets the same samples (each experiment re-seeds).

Phases 1 and 2 are known up front and make `trials.jsonl`; phase 3 (N seeds of each
game's best phase-1 setting, `Phase3Auto`) depends on phase 1's results and is built
by `phase3_trials` from them.

Budgets are counted in D steps, as compare_gan's `training_steps`; `g_steps` =
ceil(d_steps / disc_iters) is the number of G updates of gen's loop (a step of
n_disc D updates then one G update). compare_gan itself makes one more: it updates G
when (step - 1) % disc_iters == 0 for step = 0.., and also at step 0 (g_loss is
None), i.e. 1 + ceil((d_steps - 1) / disc_iters) for disc_iters > 1
(abstract_gan.py `run_single_train_step`). The VAE makes one update per step.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
from typing import Iterable, Mapping

import ml_collections

from gen import config as config_lib
from gen.eval import provenance
from gen.study.lucic import spaces
from gen.study.lucic import studies

TRIALS_FILE, PLAN_FILE = 'trials.jsonl', 'plan.json'
_RANGE = {1: spaces.WIDE, 2: spaces.NARROW}


def sample_trials(
    phase: int, num_samples: int, seed: int = studies.SAMPLER_SEED, games: Iterable[str] = spaces.GAMES
) -> list[dict]:
  """[{game, sample_id, params}] of one phase-1 (wide) or phase-2 (narrow) experiment.

  All 8 games are always sampled, in compare_gan's order, and `games` only filters
  the result, so a game's samples do not depend on which games a study runs. A
  private random.Random(seed) gives the stream of `random.seed(seed)` without
  touching the global one.
  """
  if phase not in _RANGE:
    raise ValueError(f'phase {phase!r} is not sampled; sampled phases: 1 (wide), 2 (narrow)')
  if not (config_lib.is_int(num_samples) and num_samples >= 1):
    raise ValueError(f'num_samples={num_samples!r}: must be an integer >= 1 (sample 0 is the defaults)')
  range_type, rng, keep, rows = _RANGE[phase], random.Random(seed), set(games), []
  for game in spaces.GAMES:
    samples = [spaces.defaults(game, range_type)]
    samples += [spaces.draw(game, range_type, rng) for _ in range(num_samples - 1)]
    if game in keep:
      rows += [dict(game=game, sample_id=i, params=p) for i, p in enumerate(samples)]
  return rows


def d_steps_per_step(game: str, params: Mapping) -> int:
  """D steps in one step of gen's loop: disc_iters (the VAE's is sampled but unused: one
  update per step)."""
  return 1 if game == 'vae' else params['disc_iters']


def g_steps(game: str, params: Mapping, d_steps: int) -> int:
  """G updates in a budget of d_steps D steps (the VAE: one update per step)."""
  return math.ceil(d_steps / d_steps_per_step(game, params))


def _trial(study, phase, dataset, game, sample_id, seed, params) -> dict:
  steps = study.steps[dataset]
  return dict(
      name=f'p{phase}_{dataset}_{game}_{sample_id:03d}_s{seed}',
      study=study.name,
      phase=phase,
      dataset=dataset,
      game=game,
      compare_gan_model=spaces.COMPARE_GAN_NAME[game],
      sample_id=sample_id,  # compare_gan's: kept "for joins"; 0 = the defaults
      seed=seed,  # compare_gan's tf_seed
      params=dict(params),
      batch_size=study.batch_size,
      d_steps=steps.d_steps,
      g_steps=g_steps(game, params, steps.d_steps),
      checkpoint_every=steps.checkpoint_every,  # each checkpoint, and the last step, is scored
      eval=dict(study.eval),
  )


def _numbered(rows: list[dict], start: int) -> list[dict]:
  return [dict(row, trial=start + i) for i, row in enumerate(rows)]


def _study(study) -> ml_collections.ConfigDict:
  return studies.get(study) if isinstance(study, str) else study


def plan_trials(study) -> list[dict]:
  """Phases 1 and 2 of a study (a name or a study config): per phase, per dataset,
  the games in order, their samples in order, seed 0 (compare_gan's rep1)."""
  study, rows = _study(study), []
  for phase in (1, 2):
    n = study[f'phase{phase}'].num_samples
    if n == 0:  # a study without this phase
      continue
    samples = sample_trials(phase, n, study.sampler_seed, study.games)
    for dataset in study.datasets:
      rows += [_trial(study, phase, dataset, s['game'], s['sample_id'], 0, s['params']) for s in samples]
  return _numbered(rows, 0)


def phase3_trials(study, best: Mapping[tuple[str, str], Mapping], start: int | None = None) -> list[dict]:
  """Phase 3 (compare_gan `Phase3Auto`): seeds 0..num_seeds-1 of each (dataset, game)'s
  best phase-1 trial, `best[(dataset, game)]` a trial row (its params and sample_id
  are kept). Pairs without a best trial (every trial failed) are left out. Trial
  numbers continue after phases 1 and 2 unless `start` is given. Seed 0 repeats the
  phase-1 run itself, as in compare_gan."""
  study = _study(study)
  start = len(plan_trials(study)) if start is None else start
  rows = []
  for dataset in study.datasets:
    for game in study.games:
      row = best.get((dataset, game))
      if row is None:
        continue
      for seed in range(study.phase3.num_seeds):
        rows.append(_trial(study, 3, dataset, game, row['sample_id'], seed, row['params']))
  return _numbered(rows, start)


def trials_bytes(rows: list[dict]) -> bytes:
  """JSON lines, sorted keys: the same rows give the same bytes."""
  return b''.join(json.dumps(r, sort_keys=True, allow_nan=False).encode() + b'\n' for r in rows)


def _write_atomic(path: str, data: bytes) -> None:
  tmp = f'{path}.tmp'
  with open(tmp, 'wb') as f:
    f.write(data)
  os.replace(tmp, path)


def _existing_sha256(out_dir: str) -> tuple[str, str] | None:
  """(study, sha256) of the plan already in out_dir, None when there is none."""
  plan_path, trials_path = (os.path.join(out_dir, f) for f in (PLAN_FILE, TRIALS_FILE))
  if os.path.exists(plan_path):
    with open(plan_path) as f:
      plan = json.load(f)
    return plan.get('study', '?'), plan.get('trials_sha256', '?')
  if os.path.exists(trials_path):  # a write stopped before plan.json
    with open(trials_path, 'rb') as f:
      return '?', provenance.sha256_bytes(f.read())
  return None


def write_plan(study, out_dir: str) -> dict:
  """Writes OUT/trials.jsonl (phases 1 and 2) and OUT/plan.json; returns plan.json's
  content with `written` (False when OUT already holds this very plan: nothing is
  rewritten). A directory holding another plan is refused (ConfigError), so a run
  directory's trial numbers never change meaning."""
  study = _study(study)
  data = trials_bytes(plan_trials(study))
  sha = hashlib.sha256(data).hexdigest()
  existing = _existing_sha256(out_dir)
  if existing is not None and existing[1] != sha:
    raise config_lib.ConfigError(
        f'{out_dir} holds another plan (study {existing[0]}, trials sha256 {existing[1][:12]}) '
        f'than study {study.name} (sha256 {sha[:12]}); give another --out or remove it.'
    )
  plan = dict(
      study=study.name,
      trials_file=TRIALS_FILE,
      trials_sha256=sha,
      num_trials=data.count(b'\n'),
      phases=[1, 2],
      phase3=f'{study.phase3.num_seeds} seeds of each game\'s best phase-{study.phase3.from_phase} '
      'trial (min FID over its checkpoints), planned from phase-1 results',
      study_config=study.to_dict(),
      code=dict(git_commit=provenance.git_commit(), git_dirty=provenance.git_dirty()),
  )
  if existing is not None and os.path.exists(os.path.join(out_dir, PLAN_FILE)):
    with open(os.path.join(out_dir, PLAN_FILE)) as f:
      return dict(json.load(f), written=False)
  os.makedirs(out_dir, exist_ok=True)
  _write_atomic(os.path.join(out_dir, TRIALS_FILE), data)
  plan_json = json.dumps(plan, indent=2, sort_keys=True, allow_nan=False) + '\n'
  _write_atomic(os.path.join(out_dir, PLAN_FILE), plan_json.encode())
  return dict(plan, written=True)


def _strip(row: Mapping) -> dict:
  return {k: v for k, v in row.items() if k != 'trial'}


def add_phase3(out_dir: str, best: Mapping[tuple[str, str], Mapping]) -> dict:
  """Appends phase 3 (`phase3_trials` of `best`) to OUT/trials.jsonl and records it in
  OUT/plan.json; returns plan.json's content with `written`. Trial numbers of phases 1
  and 2 keep their meaning. Re-running with the same best rows is a no-op; with others
  for a pair already planned (a changed phase 1) it is refused. Pairs new to `best` (a
  game whose phase-1 trials finished after phase 3 was planned) are appended after the
  existing phase-3 trials, whose numbers stay."""
  with open(os.path.join(out_dir, PLAN_FILE)) as f:
    plan = json.load(f)
  with open(os.path.join(out_dir, TRIALS_FILE), 'rb') as f:
    rows = [json.loads(line) for line in f.read().splitlines()]
  study = ml_collections.ConfigDict(plan['study_config'])
  first = [r for r in rows if r['phase'] in (1, 2)]
  old = [r for r in rows if r['phase'] == 3]
  planned = {(r['dataset'], r['game']) for r in old}
  wanted = phase3_trials(study, best, start=len(first))
  key = lambda r: (r['dataset'], r['game'], r['seed'])
  kept = [_strip(r) for r in wanted if (r['dataset'], r['game']) in planned]
  if sorted(kept, key=key) != sorted(map(_strip, old), key=key):  # old: in the order added
    raise config_lib.ConfigError(
        f'{out_dir} already holds a phase 3 planned from other phase-1 results; '
        'remove its phase-3 trials by hand or start another study directory.'
    )
  added = [r for r in wanted if (r['dataset'], r['game']) not in planned]
  if 3 in plan['phases'] and not added:
    return dict(plan, written=False)
  new = old + _numbered([_strip(r) for r in added], len(first) + len(old))
  data = trials_bytes(first + new)
  plan.update(
      phases=[1, 2, 3],
      trials_sha256=hashlib.sha256(data).hexdigest(),
      num_trials=len(first) + len(new),
      phase3_best={f'{d}/{g}': row['trial'] for (d, g), row in sorted(best.items())},
  )
  _write_atomic(os.path.join(out_dir, TRIALS_FILE), data)
  plan_json = json.dumps(plan, indent=2, sort_keys=True, allow_nan=False) + '\n'
  _write_atomic(os.path.join(out_dir, PLAN_FILE), plan_json.encode())
  return dict(plan, written=True)
