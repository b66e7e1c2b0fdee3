"""2D Gaussian-mixture toy datasets for mode-coverage experiments.

- ``ring8``: 8 Gaussians evenly spaced on a circle of radius 2 (centre k at
  angle 2*pi*k/8), std 0.02 (Metz et al. 2017, "Unrolled Generative
  Adversarial Networks").
- ``grid25``: a 5x5 grid of Gaussians with centres {-4, -2, 0, 2, 4}^2,
  variance 0.0025, i.e. std 0.05 (Srivastava et al. 2017, "VEEGAN", and
  PacGAN, Lin et al. 2018, which reuses it).

Both mixtures have equal weights. As datasets, each split is a fixed sample
drawn with a fixed seed (``SPLITS``); the label of a point is the index of
the component that generated it (the row of ``Mixture.centres``).
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Mixture:
  """An isotropic, equally weighted Gaussian mixture in 2D."""

  centres: np.ndarray  # (K, 2) float64
  std: float

  def __post_init__(self):
    # Shared module-level constants: make accidental in-place edits fail.
    self.centres.flags.writeable = False


# split -> (number of points, seed); fixed so every run sees the same data.
SPLITS = {'train': (100_000, 0), 'test': (10_000, 1)}


def _ring_centres(num: int, radius: float) -> np.ndarray:
  angles = 2 * np.pi * np.arange(num) / num
  return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _grid_centres(side: int, spacing: float) -> np.ndarray:
  ticks = spacing * (np.arange(side) - (side - 1) / 2)
  xs, ys = np.meshgrid(ticks, ticks, indexing='ij')
  return np.stack([xs.ravel(), ys.ravel()], axis=1)


MIXTURES: dict[str, Mixture] = {
    'ring8': Mixture(centres=_ring_centres(8, radius=2.0), std=0.02),
    'grid25': Mixture(centres=_grid_centres(5, spacing=2.0), std=0.05),
}


def sample(name: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """Draws n points: (points float32 (n, 2), component labels int32 (n,))."""
  if name not in MIXTURES:
    raise ValueError(f'unknown 2D mixture {name!r}; valid: {sorted(MIXTURES)}')
  mixture = MIXTURES[name]
  rng = np.random.default_rng(seed)
  labels = rng.integers(len(mixture.centres), size=n)
  points = mixture.centres[labels] + mixture.std * rng.standard_normal((n, 2))
  return points.astype(np.float32), labels.astype(np.int32)


def sample_split(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
  """The fixed sample of one split (see ``SPLITS``)."""
  if split not in SPLITS:
    raise ValueError(f'unknown split {split!r} for {name!r}; valid: {sorted(SPLITS)}')
  n, seed = SPLITS[split]
  return sample(name, n, seed)
