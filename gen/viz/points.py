"""Scatter plots of 2D samples over the mixture's mode centres."""

from __future__ import annotations

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_scatter(
    points: np.ndarray,
    path: str,
    centres: np.ndarray | None = None,
    title: str = '',
    limit: float | None = None,
) -> None:
  fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
  ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5, c='tab:blue', linewidths=0)
  if centres is not None:
    ax.scatter(centres[:, 0], centres[:, 1], s=25, marker='x', c='tab:red')
    limit = limit or float(np.abs(centres).max()) * 1.5
  if limit:
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
  ax.set_aspect('equal')
  ax.set_title(title, fontsize=9)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)
