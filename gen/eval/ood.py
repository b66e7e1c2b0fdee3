"""Out-of-distribution detection metrics from per-example scores (pure NumPy).

Scores follow one convention throughout: HIGHER = MORE IN-DISTRIBUTION (e.g. log p(x)
under a model trained on the in-distribution data). Every metric is exact on ties
(thresholds sit only at distinct score values, as in sklearn.metrics):

  auroc        P(s_in > s_out) + P(s_in = s_out) / 2, the Mann-Whitney U statistic
               over n_in n_out (Hanley & McNeil 1982). Symmetric in which class is
               called positive; 0.5 is chance, and < 0.5 means the OOD set scores
               HIGHER, i.e. looks more in-distribution than the in-distribution set.
  auprc        average precision, sum_k (R_k - R_{k-1}) P_k, as sklearn's
               average_precision_score (no interpolation). It depends on which class
               is positive and on the class ratio, so both are reported: positive='out'
               (the default, "AUPR Out" of Hendrycks & Gimpel 2017, OOD detected by a
               LOW score) and positive='in' ("AUPR In", in-distribution detected by a
               HIGH score). Its chance level is the positive class's share.
  fpr_at_tpr   the fraction of OOD examples accepted as in-distribution at the highest
               threshold that still accepts >= `tpr` of the in-distribution examples
               (in-distribution is the positive class of the TPR, as in Hendrycks &
               Gimpel 2017 and Liang et al. 2018); lower is better.
"""

from __future__ import annotations

import numpy as np

POSITIVES = ('out', 'in')


def _check(in_scores, out_scores) -> tuple[np.ndarray, np.ndarray]:
  s_in = np.asarray(in_scores, np.float64).reshape(-1)
  s_out = np.asarray(out_scores, np.float64).reshape(-1)
  if not len(s_in) or not len(s_out):
    raise ValueError(f'need scores of both sets; got {len(s_in)} in and {len(s_out)} out.')
  for name, s in (('in_scores', s_in), ('out_scores', s_out)):
    if np.isnan(s).any():
      raise ValueError(f'{name} has {int(np.isnan(s).sum())} NaN of {len(s)}: no order.')
  return s_in, s_out


def _counts_at_thresholds(pos: np.ndarray, neg: np.ndarray):
  """Distinct thresholds t (descending) and the cumulative #pos, #neg with score >= t."""
  scores = np.concatenate([pos, neg])
  is_pos = np.concatenate([np.ones(len(pos), bool), np.zeros(len(neg), bool)])
  values, inverse = np.unique(-scores, return_inverse=True)  # ascending -s: descending s
  tp = np.cumsum(np.bincount(inverse, weights=is_pos, minlength=len(values)))
  fp = np.cumsum(np.bincount(inverse, weights=~is_pos, minlength=len(values)))
  return -values, tp, fp


def auroc(in_scores, out_scores) -> float:
  """Area under the ROC curve: P(s_in > s_out) + P(s_in = s_out) / 2 (ties count 1/2)."""
  s_in, s_out = _check(in_scores, out_scores)
  both = np.concatenate([s_in, s_out])
  values, inverse, counts = np.unique(both, return_inverse=True, return_counts=True)
  # Mid-ranks (1-based) of tied values: the mean of the ranks the group occupies.
  first = np.cumsum(counts) - counts + 1
  ranks = (first + (counts - 1) / 2.0)[inverse]
  n_in, n_out = len(s_in), len(s_out)
  u = ranks[:n_in].sum() - n_in * (n_in + 1) / 2.0
  return float(u / (n_in * n_out))


def auprc(in_scores, out_scores, positive: str = 'out') -> float:
  """Average precision with `positive` ('out': OOD detected by a low score; 'in')."""
  if positive not in POSITIVES:
    raise ValueError(f'positive={positive!r}; valid: {", ".join(POSITIVES)}.')
  s_in, s_out = _check(in_scores, out_scores)
  pos, neg = (-s_out, -s_in) if positive == 'out' else (s_in, s_out)
  _, tp, fp = _counts_at_thresholds(pos, neg)
  precision = tp / (tp + fp)
  recall_step = np.diff(tp, prepend=0.0) / len(pos)
  return float(np.sum(recall_step * precision))


def fpr_at_tpr(in_scores, out_scores, tpr: float = 0.95, *, return_threshold: bool = False):
  """FPR (OOD accepted) at the highest threshold accepting >= `tpr` of in-distribution.

  An example is accepted as in-distribution when its score is >= the threshold.
  With `return_threshold`, returns (fpr, threshold).
  """
  if not 0.0 < tpr <= 1.0:
    raise ValueError(f'tpr={tpr} must be in (0, 1].')
  s_in, s_out = _check(in_scores, out_scores)
  thresholds, tp, fp = _counts_at_thresholds(s_in, s_out)
  # tp / n >= tpr compares the same doubles as sklearn's roc_curve (19 / 20 == 0.95).
  k = int(np.argmax(tp / len(s_in) >= tpr))
  fpr = float(fp[k] / len(s_out))
  return (fpr, float(thresholds[k])) if return_threshold else fpr


def summary(in_scores, out_scores, tpr: float = 0.95) -> dict:
  """Every metric of this module, keyed as the OOD study writes them."""
  fpr, threshold = fpr_at_tpr(in_scores, out_scores, tpr, return_threshold=True)
  pct = f'{100 * tpr:g}'
  return {
      'auroc': auroc(in_scores, out_scores),
      'auprc_out': auprc(in_scores, out_scores, positive='out'),
      'auprc_in': auprc(in_scores, out_scores, positive='in'),
      f'fpr_at_{pct}_tpr': fpr,
      f'threshold_at_{pct}_tpr': threshold,
  }
