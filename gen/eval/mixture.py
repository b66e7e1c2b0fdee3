"""Mode coverage of samples from a 2D Gaussian mixture.

As in Srivastava et al. 2017 (VEEGAN, sec. 5.1) after Metz et al. 2017: a
sample is high quality when it lies within 3 standard deviations of the
nearest mode centre; a mode is covered when it receives at least 20 high-quality
samples (of 2,500); mode_kl is KL(p || uniform) of the high-quality samples'
histogram over modes (0 when perfectly balanced, log K when all on one mode).
"""

from __future__ import annotations

import numpy as np


def coverage(samples: np.ndarray, centres: np.ndarray, std: float, min_count: int = 20) -> dict:
  samples = np.asarray(samples, np.float64)
  d2 = ((samples[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
  nearest = d2.argmin(1)
  hq = np.sqrt(d2[np.arange(len(samples)), nearest]) <= 3.0 * std
  counts = np.bincount(nearest[hq], minlength=len(centres))
  if hq.any():
    p = counts / counts.sum()
    nz = p > 0
    mode_kl = float(np.sum(p[nz] * np.log(p[nz] * len(centres))))
  else:
    mode_kl = None  # undefined without high-quality samples
  return {
      'hq_fraction': float(hq.mean()),
      'modes_covered': int((counts >= min_count).sum()),
      'mode_kl': mode_kl,
      'num_modes': int(len(centres)),
      'num_samples': int(len(samples)),
  }
