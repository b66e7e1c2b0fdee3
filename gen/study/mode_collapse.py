r"""Mode-collapse benchmark on 2D mixtures (Metz et al. 2017, Figure 1;
Srivastava et al. 2017, VEEGAN, Table 1).

Trains every method on ring8 and grid25 under one budget (the same number of
generator steps and batch size for all; each game keeps its own n_disc and
optimizer from its config), for several seeds, then evaluates the last
checkpoint with gen.eval.mixture.coverage (2,500 samples) and writes:

  OUT/table.md               modes_covered, hq_fraction, mode_kl: mean +- std over seeds,
                             and wall-clock / CPU minutes per run
  OUT/results.json           every run's numbers
  OUT/<dataset>_samples.png  samples over training, one row per method (its first
                             finished seed)

  python -m gen.study.mode_collapse --out=runs/mode_collapse
  python -m gen.study.mode_collapse --out=runs/mode_collapse \
      --methods=ns_gan,unrolled_gan --datasets=ring8 --seeds=0,1,2
  # the same override for every run (recorded with each run):
  python -m gen.study.mode_collapse --out=runs/unrolled_k10 \
      --methods=unrolled_gan --set=model.unroll_steps=10

Each run lives in OUT/runs/<method>_<dataset>_s<seed>; a finished run is not
trained again, so the command can be stopped and re-run to complete the table
(--report_only writes the table and figures from the finished runs alone).

A run that fails (e.g. train.py's non-finite guard stops it) is recorded with
its error and counted in the table's `failed` column; the benchmark goes on
with the next run. Runs are deterministic, so a failed run is not retried:
delete its directory to train it again.
"""

from __future__ import annotations

import json
import os
import sys

import jax
import numpy as np
from absl import app, flags, logging

from gen import cli
from gen.data import toy2d
from gen.eval import run as eval_run
from gen.study import runs
from gen.train import checkpoint as ckpt_lib
from gen.viz import points as viz_points

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
METHODS = (
    'ns_gan',
    'mm_gan',
    'ml_gan',
    'lsgan',
    'wgan',
    'wgan_gp',
    'dragan',
    'began',
    'unrolled_gan',
)

_OUT = flags.DEFINE_string('out', None, 'Output directory.')
_METHODS = flags.DEFINE_list('methods', list(METHODS), 'Config names under configs/.')
_DATASETS = flags.DEFINE_list('datasets', ['ring8', 'grid25'], 'ring8 and/or grid25.')
_SEEDS = flags.DEFINE_list('seeds', ['0', '1', '2'], 'Seeds.')
_STEPS = flags.DEFINE_integer('num_steps', 25_000, 'Generator steps per run (the budget).')
_SNAPSHOTS = flags.DEFINE_integer('snapshots', 5, 'Checkpoints shown over training.')
_SET = flags.DEFINE_multi_string(
    'set', [], 'A config override KEY=VALUE given to every run as --config.KEY=VALUE.'
)
_REPORT_ONLY = flags.DEFINE_bool(
    'report_only', False, 'Write the table and figures from finished runs; train nothing.'
)
SUMMARY = ('modes_covered', 'hq_fraction', 'mode_kl')


RunFailed = runs.RunFailed


def train_one(
    method: str, dataset: str, seed: int, num_steps: int, snapshots: int, workdir: str, overrides=()
):
  """Trains one run in its own process (so its CPU time is its own); returns times."""
  every = max(1, num_steps // snapshots)
  return runs.train(
      f'configs/{method}.py:{dataset}',
      workdir,
      [
          f'seed={seed}',
          f'train.num_steps={num_steps}',
          f'train.checkpoint_every={every}',
          f'train.max_to_keep={snapshots + 1}',
          f'train.log_every={every}',
          f'train.sample_every={num_steps}',
          *overrides,
      ],
  )


def snapshots_of(workdir: str, n: int = 2500) -> tuple[list[int], list[np.ndarray]]:
  """Samples (n points) from every kept checkpoint, with a fixed key."""
  ckpt = ckpt_lib.Checkpointer(workdir)
  try:
    steps = sorted(ckpt.steps())
  finally:
    ckpt.close()
  samples = []
  for step in steps:
    _, _, model, state, _ = eval_run.load_run(workdir, step)
    samples.append(np.asarray(model.sample(state, jax.random.PRNGKey(0), n)))
  return steps, samples


def run_one(
    method, dataset, seed, out, num_steps, snapshots, train=True, overrides=()
) -> dict | None:
  """The run's record; trains and evaluates it first unless it is finished (or
  returns None for an unfinished run when train is False)."""
  workdir = os.path.join(out, 'runs', f'{method}_{dataset}_s{seed}')
  record_path = os.path.join(workdir, 'benchmark.json')
  if os.path.exists(record_path):
    with open(record_path) as f:
      record = json.load(f)
    if (record['num_steps'], record.get('overrides', [])) == (num_steps, list(overrides)):
      return record
  if not train:
    return None
  logging.info('Training %s on %s, seed %d', method, dataset, seed)
  record = dict(
      method=method, dataset=dataset, seed=seed, num_steps=num_steps, overrides=list(overrides)
  )
  try:
    record.update(train_one(method, dataset, seed, num_steps, snapshots, workdir, overrides))
  except RunFailed as e:
    logging.warning('%s on %s, seed %d failed: %s', method, dataset, seed, e)
    record.update(failed=str(e), metrics=None)
  else:
    record['metrics'] = eval_run.run(workdir)['metrics']
    steps, samples = snapshots_of(workdir)
    np.savez(
        os.path.join(workdir, 'snapshots.npz'), steps=np.array(steps), samples=np.stack(samples)
    )
  with open(record_path, 'w') as f:
    json.dump(record, f, indent=2)
  logging.info('%s', record)
  return record


def _mean_std(values) -> str:
  values = [v for v in values if v is not None]
  if not values:
    return 'n/a'
  return f'{np.mean(values):.3g} ± {np.std(values):.2g}'


def table(records: list[dict], methods, datasets) -> str:
  """Mean +- std over the finished seeds; failed seeds are counted and listed
  below the table, and left out of the means (they have no final samples)."""
  lines = [
      '| method | data | seeds | failed | modes covered | hq fraction | mode KL '
      '| wall min/run | CPU min/run |',
      '|---|---|---|---|---|---|---|---|---|',
  ]
  failures = []
  for dataset in datasets:
    for method in methods:
      rs = [r for r in records if r['method'] == method and r['dataset'] == dataset]
      if not rs:
        continue
      failures += [r for r in rs if r.get('failed')]
      ok = [r for r in rs if not r.get('failed')]
      cells = [_mean_std([r['metrics'][k] for r in ok]) for k in SUMMARY]
      per_seed = '/'.join(
          'x' if r.get('failed') else str(r['metrics']['modes_covered']) for r in rs
      )
      times = [
          f'{np.mean([r[k] for r in ok]) / 60:.1f}' if ok else 'n/a' for k in ('wall_s', 'cpu_s')
      ]
      lines.append(
          f'| {method} | {dataset} | {len(rs)} | {len(rs) - len(ok)} | {cells[0]} ({per_seed}) '
          f'| {cells[1]} | {cells[2]} | {times[0]} | {times[1]} |'
      )
  if failures:
    lines.append('')
    lines.append('Failed runs (x above):')
    # The error's first clause (what and when); results.json keeps all of it.
    lines += [
        f'- {r["method"]} {r["dataset"]} seed {r["seed"]}: {r["failed"].split(";")[0]}'
        for r in failures
    ]
  return '\n'.join(lines) + '\n'


def figure(out: str, dataset: str, methods, seeds) -> str | None:
  """Samples over training, one row per method: its first seed that finished
  (a method whose first seed failed is labelled with the seed shown)."""
  rows, labels, cols = [], [], None
  for method in methods:
    paths = [
        (seed, os.path.join(out, 'runs', f'{method}_{dataset}_s{seed}', 'snapshots.npz'))
        for seed in seeds
    ]
    found = [(seed, path) for seed, path in paths if os.path.exists(path)]
    if not found:
      continue
    seed, path = found[0]
    snap = np.load(path)
    rows.append(list(snap['samples']))
    labels.append(method if seed == seeds[0] else f'{method} (seed {seed})')
    cols = cols or [f'step {s}' for s in snap['steps']]
  if not rows:
    return None
  width = min(len(r) for r in rows)
  png = os.path.join(out, f'{dataset}_samples.png')
  viz_points.save_scatter_grid(
      [r[:width] for r in rows], png, toy2d.MIXTURES[dataset].centres, labels, cols[:width]
  )
  return png


def main(argv):
  del argv
  cli.quiet_library_logs()
  out = _OUT.value
  os.makedirs(out, exist_ok=True)
  unknown = [m for m in _METHODS.value if not os.path.exists(f'{ROOT}/configs/{m}.py')]
  if unknown or not set(_DATASETS.value) <= set(toy2d.MIXTURES):
    sys.exit(f'error: unknown methods {unknown} or datasets {_DATASETS.value}')
  records = []
  for dataset in _DATASETS.value:
    for method in _METHODS.value:
      for seed in map(int, _SEEDS.value):
        record = run_one(
            method,
            dataset,
            seed,
            out,
            _STEPS.value,
            _SNAPSHOTS.value,
            train=not _REPORT_ONLY.value,
            overrides=_SET.value,
        )
        if record is None:
          continue
        records.append(record)
        with open(os.path.join(out, 'results.json'), 'w') as f:
          json.dump(records, f, indent=2)
        with open(os.path.join(out, 'table.md'), 'w') as f:
          f.write(table(records, _METHODS.value, _DATASETS.value))
  for dataset in _DATASETS.value:
    figure(out, dataset, _METHODS.value, [int(seed) for seed in _SEEDS.value])
  print(table(records, _METHODS.value, _DATASETS.value))


if __name__ == '__main__':
  flags.mark_flags_as_required(['out'])
  app.run(main)
