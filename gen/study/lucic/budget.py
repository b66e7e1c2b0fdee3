"""The budget plot of Lucic et al. 2018 (Figure "FID vs computational budget"): the
minimum FID a game reaches among k random hyperparameter trials, for k = 1..100.

The paper gives no code for it (reference sheet cyclegan_lucic.md 2.8, UNVERIFIED
details): it resamples k of the phase-1 runs with replacement, takes the minimum,
repeats (believed 5,000 times) and plots the mean with a confidence band. Here: a
pure function of the per-trial best FIDs (each trial's min over its checkpoints).

A failed trial (NaN or +-inf FID, e.g. stopped by the non-finite guard) counts as
+inf: it never wins a minimum, and a resample made of failed trials only has
minimum +inf. So the mean is +inf at budgets where such a resample occurred
(`frac_failed` > 0 says how often); the median and percentiles stay finite as long
as fewer than that share of resamples failed.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def _as_fids(best_fids) -> np.ndarray:
  fids = np.asarray(best_fids, dtype=np.float64).reshape(-1)
  if fids.size == 0:
    raise ValueError('budget_curve needs at least one trial')
  return np.where(np.isfinite(fids), fids, np.inf)  # NaN, -inf, +inf: a failed trial


def percentile(values: np.ndarray, q: float) -> float:
  """numpy's default (linear) percentile, defined with +inf values too.

  np.percentile interpolates +inf with a finite neighbour into NaN (inf - inf) and
  even gives NaN at an exact order statistic next to +inf (inf * 0); here an
  interpolation that puts weight on +inf is +inf, and one that puts none is not.
  """
  s = np.sort(np.asarray(values, dtype=np.float64))
  h = (s.size - 1) * q / 100.0
  lo = math.floor(h)
  hi, t = min(lo + 1, s.size - 1), h - lo
  if t == 0.0 or s[lo] == s[hi]:
    return float(s[lo])
  if math.isinf(s[hi]):
    return math.inf
  return float(s[lo] + t * (s[hi] - s[lo]))


def expected_min(best_fids, k: int) -> float:
  """Exact E[min of k draws with replacement]: what the bootstrap mean estimates.

  With the sorted values x_1 <= .. <= x_n, P(min = x_i) = ((n-i+1)/n)^k - ((n-i)/n)^k.
  """
  x = np.sort(_as_fids(best_fids))
  n = x.size
  i = np.arange(1, n + 1)
  p = ((n - i + 1) / n) ** k - ((n - i) / n) ** k
  if np.isinf(x[-1]) and p[-1] > 0:
    return math.inf
  return float(np.sum(p[np.isfinite(x)] * x[np.isfinite(x)]))


def budget_curve(
    best_fids: Sequence[float],
    budgets: Sequence[int],
    num_resamples: int = 5000,
    seed: int = 0,
    percentiles: tuple[float, float] = (2.5, 97.5),
) -> dict[str, np.ndarray]:
  """Per budget k: mean, median and the two percentiles (default 2.5, 97.5) of the
  minimum FID over k trials drawn with replacement, num_resamples times, and the
  fraction of resamples in which every trial failed.

  Draws come from np.random.default_rng(seed), budget after budget in the given order:
  (num_resamples, k) indices per budget.
  """
  fids = _as_fids(best_fids)
  budgets = [int(k) for k in budgets]
  if not budgets or min(budgets) < 1:
    raise ValueError(f'budgets={budgets}: every budget must be an integer >= 1')
  if num_resamples < 1:
    raise ValueError(f'num_resamples={num_resamples}: must be >= 1')
  rng = np.random.default_rng(seed)
  out = {key: [] for key in ('mean', 'median', 'low', 'high', 'frac_failed')}
  for k in budgets:
    mins = fids[rng.integers(0, fids.size, size=(num_resamples, k))].min(axis=1)
    failed = np.isinf(mins)
    out['mean'].append(math.inf if failed.any() else float(mins.mean()))
    out['median'].append(percentile(mins, 50.0))
    out['low'].append(percentile(mins, percentiles[0]))
    out['high'].append(percentile(mins, percentiles[1]))
    out['frac_failed'].append(float(failed.mean()))
  result = {key: np.asarray(v, dtype=np.float64) for key, v in out.items()}
  result['budget'] = np.asarray(budgets, dtype=np.int64)
  return result
