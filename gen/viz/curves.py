"""Curves: precision-recall (PRD) plots."""

from __future__ import annotations

import numpy as np

from gen.viz import pyplot


def save_pr_curve(
    precision: np.ndarray,
    recall: np.ndarray,
    path: str,
    title: str = '',
    label: str = 'PRD',
    point: tuple[float, float] | None = None,
    point_label: str = 'k-NN (recall, precision)',
) -> None:
  """Writes a PNG of a precision-recall curve (recall on x, precision on y, both in
  [0, 1]), as Sajjadi et al. 2018 plot PRD; `point` marks one (precision, recall) pair."""
  plt = pyplot.pyplot()
  fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
  ax.plot(np.asarray(recall), np.asarray(precision), lw=1.5, c='tab:blue', label=label)
  if point is not None:
    p, r = point
    ax.scatter([r], [p], s=30, marker='o', c='tab:red', label=point_label, zorder=3)
  ax.set_xlim(0, 1.01)
  ax.set_ylim(0, 1.01)
  ax.set_xlabel('recall')
  ax.set_ylabel('precision')
  ax.set_aspect('equal')
  ax.grid(alpha=0.3)
  ax.legend(loc='lower left', fontsize=8)
  ax.set_title(title, fontsize=8)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)
