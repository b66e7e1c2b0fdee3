"""Scatter plots of 2D samples over the mixture's mode centres."""

from __future__ import annotations

import numpy as np

from gen.viz import pyplot


def save_scatter(
    points: np.ndarray,
    path: str,
    centres: np.ndarray | None = None,
    title: str = '',
    limit: float | None = None,
) -> None:
  plt = pyplot.pyplot()
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


def save_scatter_grid(
    panels: list[list[np.ndarray]],
    path: str,
    centres: np.ndarray,
    row_labels: list[str],
    col_labels: list[str],
) -> None:
  """A rows x columns figure of 2D samples (e.g. methods x training steps, as
  Metz et al. 2017, Figure 1); every panel on the same axes as the mixture."""
  plt = pyplot.pyplot()
  rows, cols = len(panels), len(panels[0])
  limit = float(np.abs(centres).max()) * 1.5
  fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.6 * rows), dpi=100, squeeze=False)
  for i, row in enumerate(panels):
    for j, points in enumerate(row):
      ax = axes[i][j]
      ax.scatter(points[:, 0], points[:, 1], s=1, alpha=0.4, c='tab:blue', linewidths=0)
      ax.scatter(centres[:, 0], centres[:, 1], s=6, marker='x', c='tab:red', linewidths=0.7)
      ax.set_xlim(-limit, limit)
      ax.set_ylim(-limit, limit)
      ax.set_aspect('equal')
      ax.set_xticks([])
      ax.set_yticks([])
      if i == 0:
        ax.set_title(col_labels[j], fontsize=7)
      if j == 0:
        ax.set_ylabel(row_labels[i], fontsize=7)
  fig.tight_layout(pad=0.2)
  fig.savefig(path)
  plt.close(fig)
