"""Host-side preprocessing: scaling, dynamic binarization, uniform dequantization.

Random transforms draw their noise for the whole global batch and keep this
process's slice (see iterator.py), so results do not depend on the number of
processes.
"""

from __future__ import annotations

import numpy as np

from gen.config import SCALES, ConfigError


def _noise(rng: np.random.Generator, sl: slice, n_global: int, shape) -> np.ndarray:
  return rng.random((n_global,) + tuple(shape), dtype=np.float32)[sl]


def make(kind: str, levels: int | None, *, scale: str, binarize: bool, dequantize: bool):
  """Returns preprocess(batch, rng, local_slice, global_batch) -> batch.

  Images arrive as uint8 with `levels` intensity levels (0..levels-1):
    binarize:   x ~ Bernoulli(x / (levels - 1)), resampled every time an
                example is seen (dynamic binarization, Salakhutdinov & Murray 2008).
    dequantize: x = (x + u) / levels, u ~ U[0, 1) (Theis et al. 2016), in [0, 1).
    scale:      'unit' -> [0, 1], 'symmetric' -> [-1, 1], 'none' -> float32 as is.
  Points (2D mixtures) pass through unchanged.
  """
  if scale not in SCALES:
    raise ConfigError(f'data.scale={scale!r} is not one of {SCALES}.')
  if binarize and dequantize:
    raise ConfigError('data.binarize and data.dequantize are exclusive: choose one.')

  def preprocess(batch, rng, sl, n_global):
    if kind != 'image':
      return batch
    x = batch['x'].astype(np.float32)
    top = float(levels - 1)
    if binarize:
      x = (_noise(rng, sl, n_global, x.shape[1:]) < x / top).astype(np.float32)
    elif dequantize:
      x = (x + _noise(rng, sl, n_global, x.shape[1:])) / levels
    elif scale != 'none':
      x = x / top
    if scale == 'symmetric':
      x = 2.0 * x - 1.0
    return {**batch, 'x': x}

  return preprocess
