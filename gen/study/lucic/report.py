"""The report of a Lucic et al. 2018 study directory: the paper's table, its budget plot
and precision / recall / F1 per game, every number traceable to its trial.

Per dataset and game, from the trials' result.json (trials.py):
  phase 1  trials finished; the FID of sample 0 (the game's defaults); the best FID
           over the whole budget (the minimum of the trials' best FIDs) and its trial;
           the precision, recall and F1 of that trial at its best checkpoint;
  phase 3  mean and standard deviation (ddof 1) of the best FID over the seeds of the
           best phase-1 setting: the paper's Table 2 (reference sheet 2.7). The paper
           removed outliers by a rule it does not state (unverified); here every seed
           counts, a failed one as +inf, and the count of failed seeds is given.
The budget plot (budget.py): per game the bootstrap mean of the minimum phase-1 FID
among k trials, k = 1..n, with the 2.5-97.5 % band. The paper's point is that the
spread between games shrinks as k grows; `spread` gives the range of the games'
means at k = 1 and at the largest k.
"""

from __future__ import annotations

import json
import math
import os
from typing import Mapping, Sequence

import numpy as np

from gen.eval import provenance
from gen.study.lucic import budget
from gen.study.lucic import trials as trials_lib
from gen.viz import pyplot

REPORT_JSON, REPORT_MD, BUDGET_PNG = 'report.json', 'report.md', 'budget_{dataset}.png'
NUM_RESAMPLES = 5000  # the paper's bootstrap (believed; reference sheet 2.8)


def _finite(values: Sequence[float]) -> list[float]:
  return [v for v in values if math.isfinite(v)]


def _at_best(result: Mapping) -> dict:
  """The checkpoint record of a trial's best FID."""
  return next((r for r in result['checkpoints'] if r['step'] == result['best_step']), {})


def _cell(dataset: str, game: str, done: Sequence[Mapping]) -> dict:
  mine = [r for r in done if r['row']['dataset'] == dataset and r['row']['game'] == game]
  p1 = [r for r in mine if r['row']['phase'] == 1]
  p3 = [r for r in mine if r['row']['phase'] == 3]
  cell = {'dataset': dataset, 'game': game, 'phase1_trials': len(p1), 'phase3_seeds': len(p3)}
  defaults = [r for r in p1 if r['row']['sample_id'] == 0]
  cell['defaults_fid'] = defaults[0]['best_fid'] if defaults else None
  if p1:
    best = min(p1, key=lambda r: (r['best_fid'], r['trial']))
    at = _at_best(best)
    cell.update(
        best_fid=best['best_fid'], best_trial=best['trial'], best_step=best['best_step'],
        precision=at.get('precision'), recall=at.get('recall'), f1=at.get('F1'),
        phase1_best_fids=[r['best_fid'] for r in p1], phase1_trial_ids=[r['trial'] for r in p1],
    )  # fmt: skip
  if p3:
    fids = [r['best_fid'] for r in p3]
    ok = _finite(fids)
    cell.update(
        phase3_mean=float(np.mean(ok)) if ok else math.inf,
        phase3_std=float(np.std(ok, ddof=1)) if len(ok) > 1 else 0.0,
        phase3_failed=len(fids) - len(ok),
        phase3_fids=fids,
        phase3_trial_ids=[r['trial'] for r in p3],
    )
  return cell


def curves(cells: Sequence[Mapping], seed: int = 0) -> dict[str, dict]:
  """Per game (one dataset's cells): the budget curve of its phase-1 best FIDs."""
  out = {}
  for cell in cells:
    fids = cell.get('phase1_best_fids') or []
    if fids:
      c = budget.budget_curve(fids, range(1, len(fids) + 1), NUM_RESAMPLES, seed)
      out[cell['game']] = {k: v.tolist() for k, v in c.items()}
  return out


def spread(game_curves: Mapping[str, Mapping]) -> dict | None:
  """max - min over games of the bootstrap mean at k = 1 and at the largest k all games
  share (finite means only)."""
  if len(game_curves) < 2:
    return None
  k = min(len(c['mean']) for c in game_curves.values())
  first = _finite([c['mean'][0] for c in game_curves.values()])
  last = _finite([c['mean'][k - 1] for c in game_curves.values()])
  width = lambda v: max(v) - min(v) if len(v) > 1 else None  # noqa: E731
  return {'k_first': 1, 'k_last': k, 'at_first': width(first), 'at_last': width(last)}


def plot_budget(path: str, dataset: str, game_curves: Mapping[str, Mapping], features: str) -> None:
  plt = pyplot.pyplot()
  fig, ax = plt.subplots(figsize=(6.5, 4.2))
  for game, c in game_curves.items():
    k = np.asarray(c['budget'])
    mean, low, high = (np.asarray(c[n], dtype=float) for n in ('mean', 'low', 'high'))
    ok = np.isfinite(mean)
    (line,) = ax.plot(k[ok], mean[ok], label=game)
    band = np.isfinite(low) & np.isfinite(high)
    ax.fill_between(k[band], low[band], high[band], color=line.get_color(), alpha=0.15)
  ax.set_xlabel('budget: hyperparameter samples k')
  ax.set_ylabel(f'min FID among k trials ({features})')
  ax.set_title(f'Lucic et al. 2018 budget plot, {dataset} (mean, 95 % band)')
  ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def _fmt(v, digits=1) -> str:
  if v is None:
    return ''
  return 'inf' if not math.isfinite(v) else f'{v:.{digits}f}'


def markdown(cells: Sequence[Mapping], spreads: Mapping, features: str) -> str:
  head = (
      f'| dataset | game | phase-1 trials | FID of the defaults | best FID (trial) | '
      f'precision / recall / F1 at it | phase-3 FID, mean ± std (seeds, failed) |\n'
      '| --- | --- | --- | --- | --- | --- | --- |\n'
  )
  lines = []
  for c in cells:
    p3 = ''
    if c['phase3_seeds']:
      p3 = f'{_fmt(c["phase3_mean"])} ± {_fmt(c["phase3_std"])} ({c["phase3_seeds"]}, {c["phase3_failed"]})'
    best = f'{_fmt(c.get("best_fid"))} ({c.get("best_trial", "")})' if c['phase1_trials'] else ''
    prf = ' / '.join(_fmt(c.get(k), 2) for k in ('precision', 'recall', 'f1')) if c['phase1_trials'] else ''
    lines.append(
        f'| {c["dataset"]} | {c["game"]} | {c["phase1_trials"]} | {_fmt(c["defaults_fid"])} | '
        f'{best} | {prf} | {p3} |'
    )
  notes = [f'\nFID in the features of {features}; every number comes from trials/<N>/result.json.']
  for dataset, s in spreads.items():
    if s and s['at_first'] is not None and s['at_last'] is not None:
      notes.append(
          f'Budget plot, {dataset}: the games\' mean min-FID spans {s["at_first"]:.1f} at k = 1 and '
          f'{s["at_last"]:.1f} at k = {s["k_last"]}.'
      )
  return head + '\n'.join(lines) + '\n' + '\n'.join(notes) + '\n'


def write_report(study_dir: str) -> dict:
  """Writes report.json, report.md and budget_<dataset>.png into the study directory."""
  plan, rows = trials_lib.read_plan(study_dir)
  done = trials_lib.results(study_dir)
  if not done:
    raise trials_lib.config_lib.ConfigError(
        f'no trial of {study_dir} has finished; run them first: '
        f'python -m gen.study.lucic run --dir={study_dir}'
    )
  feature_names = sorted({r['features'] for r in done})
  features = ', '.join(feature_names)
  datasets = list(dict.fromkeys(r['dataset'] for r in rows))
  games = list(dict.fromkeys(r['game'] for r in rows))
  cells = [_cell(d, g, done) for d in datasets for g in games]
  all_curves, spreads, plots = {}, {}, {}
  for d in datasets:
    game_curves = curves([c for c in cells if c['dataset'] == d])
    all_curves[d], spreads[d] = game_curves, spread(game_curves)
    if game_curves:
      plots[d] = BUDGET_PNG.format(dataset=d)
      plot_budget(os.path.join(study_dir, plots[d]), d, game_curves, features)
  report = {
      'study': plan['study'],
      'trials_sha256': plan['trials_sha256'],
      'trials_finished': len(done),
      'trials_planned': len(rows),
      'features': feature_names,
      'weights_sha256': sorted({r['weights_sha256'] for r in done}),
      'table': cells,
      'budget_curves': all_curves,
      'spread': spreads,
      'budget_plots': plots,
      'bootstrap': {'num_resamples': NUM_RESAMPLES, 'seed': 0, 'band': [2.5, 97.5]},
      # same_run_as: a trial whose run is another's (phase 3's seed 0; trials.py).
      'trials': {r['trial']: {'row': r['row'], 'status': r['status'], 'best_fid': r['best_fid'],
                              'same_run_as': r.get('same_run_as')} for r in done},  # fmt: skip
      'code': {'git_commit': provenance.git_commit(), 'git_dirty': provenance.git_dirty()},
  }
  trials_lib.write_json(os.path.join(study_dir, REPORT_JSON), report)
  with open(os.path.join(study_dir, REPORT_MD), 'w') as f:
    f.write(markdown(cells, spreads, features))
  return report
