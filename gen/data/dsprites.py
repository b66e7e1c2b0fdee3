"""A procedurally rendered stand-in for dSprites (Matthey et al. 2017), rendered on demand.

dSprites ("dSprites: Disentanglement testing Sprites dataset",
github.com/deepmind/dsprites-dataset) is the benchmark of the beta-VAE paper (Higgins et al.
2017) and of its disentanglement metric (``gen.eval.disentanglement``). Its file cannot be
downloaded here, so this module renders an equivalent dataset from the factors.

What matches DeepMind's dSprites (its README and ``latents_values``): 64x64x1 binary images
(uint8 0/1, ``levels`` = 2), one white sprite on black, and the five factors of variation with
the same order, counts and values (DeepMind's constant sixth factor, colour, is dropped, as
disentanglement_lib's ``dsprites_full`` drops it):

  0 shape        3   square, ellipse, heart
  1 scale        6   linspace(0.5, 1, 6)
  2 orientation 40   linspace(0, 2 pi, 40): both ends included, as in DeepMind's values, so
                     orientations 0 and 39 give the same image
  3 posX        32   linspace(0, 1, 32)
  4 posY        32   linspace(0, 1, 32)

Every combination appears once, 737,280 images, and the index layout is DeepMind's: the index
is the mixed-radix number of the factor indices with posY varying fastest
(``factors_to_index``).

What differs: DeepMind published neither its generator nor its sprites' outlines (the README
says only "procedurally generated"). Ours are
analytic regions, each tested at the 64x64 pixel centres after undoing translation, rotation
and scale: a square ``max(|u|, |v|) <= 1``, an ellipse with semi-axes 1.3 and 0.65 (2:1), and
the heart inside the implicit curve ``(x^2 + y^2 - 1)^3 - x^2 y^3 = 0``, shifted so that its
centroid is the sprite's centre. So the pixels differ from DeepMind's images, and so do the
sizes in pixels (which DeepMind does not state): here the shape unit is ``9.75 * scale``
pixels (a square of side 19.5 pixels at scale 1), and the sprite's centre moves 1 pixel per
position step, from pixel 16.5 to 47.5 (pixel i spans [i, i + 1]), so the largest sprite, at
any orientation, always fits in the image. Rows grow with posY (posY = 0 is the top row) and a
positive orientation turns the sprite counter-clockwise as displayed; DeepMind documents
neither direction, nor which way an orientation-0 ellipse or heart points (here: long axis
horizontal, heart upright).

Splits: ``'train'`` is all 737,280 images; ``'test'`` is a fixed seeded subset of 10,000 of
them, so test is a subset of train. It exists for evaluation code that wants a test split: on
this dataset one measures disentanglement, not generalisation. Batches are
``{'x': uint8 (N, 64, 64, 1), 'factors': int32 (N, 5)}``; the factors are deliberately not
``'label'``, so that class-conditional code does not take them for a class.

Rendering cost: positions move the sprite by whole pixels, so an image is one of 720 sprite
templates (shape x scale x orientation, 32x32 pixels, evaluated once) pasted at its position;
``render_values`` evaluates the implicit functions on the whole 64x64 grid directly, for any
real-valued factors, and agrees with ``render`` on the dataset's values.
"""

from __future__ import annotations

import functools

import numpy as np

NAME = 'dsprites'
IMAGE_SIZE = 64
SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
levels = 2  # Binary images; the metric reads this to map images to [0, 1].

factor_names = ('shape', 'scale', 'orientation', 'posX', 'posY')
factor_sizes = (3, 6, 40, 32, 32)
shape_names = ('square', 'ellipse', 'heart')
NUM_IMAGES = int(np.prod(factor_sizes))  # 737,280

# The factor values of DeepMind's latents_values, per factor index.
SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2 * np.pi, 40)
POSITIONS = np.linspace(0.0, 1.0, 32)

# Index strides: index = sum_i factor_i * stride_i (posY fastest), as DeepMind stored them.
_STRIDES = np.array([int(np.prod(factor_sizes[i + 1 :])) for i in range(5)], np.int64)

# Geometry in pixels. The shape unit at scale 1 (9.75 so that axis-aligned edges fall between
# pixel centres, never on one); the sprite centre at position value p is 16.5 + 31 p, so one
# position step is one pixel and sprites (at most 1.42 units = 13.8 pixels from their centre)
# stay inside the image.
UNIT = 9.75
_CENTRE_LO = 16.5
_CENTRE_SPAN = 31.0
# Template window: pixel offsets -16..15 from the centre pixel cover the largest sprite.
_WINDOW = 32
_HALF = 16

# The area centroid of the heart (x^2 + y^2 - 1)^3 <= x^2 y^3 is at (0, 0.2935) (numerical
# integration); we shift it there so that posX/posY place the centre of mass, as for the
# other shapes.
_HEART_CENTROID_Y = 0.2935
_ELLIPSE_AXES = (1.3, 0.65)

TEST_SIZE = 10_000
_TEST_SEED = 20170301  # Fixed: every run sees the same test subset.


# ------------------------------------------------------------------- factors


def index_to_factors(indices) -> np.ndarray:
  """Factor indices (N, 5) int64 of dataset indices (N,), DeepMind's mixed-radix layout."""
  indices = np.asarray(indices, np.int64).reshape(-1)
  if indices.size and (indices.min() < 0 or indices.max() >= NUM_IMAGES):
    raise IndexError(
        f'dsprites indices must lie in [0, {NUM_IMAGES}); got {indices.min()}..{indices.max()}'
    )
  return (indices[:, None] // _STRIDES) % np.asarray(factor_sizes, np.int64)


def factors_to_index(factors) -> np.ndarray:
  """Dataset indices (N,) int64 of factor indices (N, 5); inverse of ``index_to_factors``."""
  factors = _check_factors(factors)
  return factors @ _STRIDES


def sample_factors(rng: np.random.Generator, n: int) -> np.ndarray:
  """n factor tuples (n, 5) int64, each factor uniform and independent (as the images are)."""
  return np.stack([rng.integers(size, size=n) for size in factor_sizes], axis=1)


def factor_values(factors) -> np.ndarray:
  """The real values (N, 5) float64 of factor indices: shape id, scale, angle, posX, posY."""
  f = _check_factors(factors)
  return np.stack(
      [f[:, 0], SCALES[f[:, 1]], ORIENTATIONS[f[:, 2]], POSITIONS[f[:, 3]], POSITIONS[f[:, 4]]],
      axis=1,
  ).astype(np.float64)


def _check_factors(factors) -> np.ndarray:
  factors = np.asarray(factors)
  if factors.ndim != 2 or factors.shape[1] != 5:
    raise ValueError(f'factors must be (N, 5) {factor_names}; got shape {factors.shape}')
  factors = factors.astype(np.int64)
  bad = (factors < 0) | (factors >= np.asarray(factor_sizes))
  if bad.any():
    row, col = np.argwhere(bad)[0]
    raise ValueError(
        f'factor {factor_names[col]} = {factors[row, col]} (row {row}) is outside '
        f'[0, {factor_sizes[col]})'
    )
  return factors


# ----------------------------------------------------------------- rendering


def _inside(shape, scale, angle, dx, dy) -> np.ndarray:
  """Whether pixel offsets (dx right, dy up, in pixels) from the centre lie in the sprite.

  shape, scale, angle are (N,) arrays and dx, dy broadcast against (N, 1, 1): we rotate the
  offsets by -angle and divide by the shape unit, then evaluate the shape's region.
  """
  shape = np.asarray(shape)[:, None, None]
  unit = (UNIT * np.asarray(scale, np.float64))[:, None, None]
  cos = np.cos(np.asarray(angle, np.float64))[:, None, None]
  sin = np.sin(np.asarray(angle, np.float64))[:, None, None]
  u = (cos * dx + sin * dy) / unit
  v = (cos * dy - sin * dx) / unit
  square = np.maximum(np.abs(u), np.abs(v)) <= 1.0
  a, b = _ELLIPSE_AXES
  ellipse = (u / a) ** 2 + (v / b) ** 2 <= 1.0
  hy = v + _HEART_CENTROID_Y
  heart = (u * u + hy * hy - 1.0) ** 3 <= u * u * hy**3
  return np.where(shape == 0, square, np.where(shape == 1, ellipse, heart))


@functools.lru_cache(maxsize=1)
def _templates() -> np.ndarray:
  """The 720 sprites (shape, scale, orientation) as (720, 32, 32) uint8, centre at [16, 16].

  Row r, column c of a template is the pixel at offset (c - 16, 16 - r) pixels (right, up)
  from the sprite's centre, which is exactly the offset of the image pixel it is pasted on:
  the centre sits at a pixel centre and positions move it by whole pixels.
  """
  grid = np.stack(np.meshgrid(*[np.arange(n) for n in factor_sizes[:3]], indexing='ij'), -1)
  f = grid.reshape(-1, 3)
  offsets = np.arange(_WINDOW, dtype=np.float64) - _HALF
  dx = offsets[None, None, :]
  dy = -offsets[None, :, None]
  out = _inside(f[:, 0], SCALES[f[:, 1]], ORIENTATIONS[f[:, 2]], dx, dy).astype(np.uint8)
  out.flags.writeable = False
  return out


def render(factors) -> np.ndarray:
  """Images (N, 64, 64, 1) uint8 in {0, 1} of factor indices (N, 5)."""
  f = _check_factors(factors)
  n = len(f)
  templates = _templates()[(f[:, 0] * factor_sizes[1] + f[:, 1]) * factor_sizes[2] + f[:, 2]]
  # Window top-left = centre pixel (16 + position index) - 16 = the position index.
  rows = f[:, 4, None, None] + np.arange(_WINDOW)[None, :, None]
  cols = f[:, 3, None, None] + np.arange(_WINDOW)[None, None, :]
  images = np.zeros((n, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
  images[np.arange(n)[:, None, None], rows, cols] = templates
  return images[..., None]


def render_values(shape, scale, orientation, pos_x, pos_y) -> np.ndarray:
  """Images (N, 64, 64, 1) uint8 of real-valued factors (each (N,)): the direct evaluation.

  shape is 0/1/2 (square, ellipse, heart), scale a multiple of the unit (0.5..1 in the
  dataset), orientation in radians, positions in [0, 1]. Every pixel centre of the full grid
  is tested, so this serves any value, e.g. an exact quarter turn, which the dataset's
  orientation steps of 2 pi / 39 do not contain.
  """
  shape, scale, orientation, pos_x, pos_y = (
      np.asarray(a, np.float64).reshape(-1) for a in (shape, scale, orientation, pos_x, pos_y)
  )
  centre_x = (_CENTRE_LO + _CENTRE_SPAN * pos_x)[:, None, None]
  centre_y = (_CENTRE_LO + _CENTRE_SPAN * pos_y)[:, None, None]
  pixel = np.arange(IMAGE_SIZE, dtype=np.float64) + 0.5
  dx = pixel[None, None, :] - centre_x
  dy = centre_y - pixel[None, :, None]
  return _inside(shape.astype(np.int64), scale, orientation, dx, dy).astype(np.uint8)[..., None]


# -------------------------------------------------------------------- source


@functools.lru_cache(maxsize=1)
def test_split_indices() -> np.ndarray:
  """The dataset indices of the 'test' split: 10,000 distinct, sorted, from a fixed seed."""
  rng = np.random.default_rng(_TEST_SEED)
  out = np.sort(rng.choice(NUM_IMAGES, size=TEST_SIZE, replace=False)).astype(np.int64)
  out.flags.writeable = False
  return out


SPLITS = ('train', 'test')


class DSpritesSource:
  """Random access over one split, rendering only the requested images.

  Same interface as ``gen.data.sources.ArraySource`` (``info``, ``len``, ``get``), with
  ``'factors'`` in place of ``'label'``. It also carries the dataset's ``factor_sizes``,
  ``sample_factors`` and ``render``, so it can be handed to ``beta_vae_score`` like the module.
  """

  factor_names = factor_names
  factor_sizes = factor_sizes
  levels = levels

  def __init__(self, split: str = 'train', info=None):
    if split not in SPLITS:
      raise ValueError(f'unknown split {split!r} of {NAME!r}; valid: {list(SPLITS)}')
    if info is None:
      from gen.data import sources  # imported here: sources imports this module

      info = sources.DatasetInfo(NAME, 'image', SHAPE, levels, None, SPLITS)
    self.info = info
    self.split = split
    # None for train: position i is dataset index i.
    self.indices = test_split_indices() if split == 'test' else None

  def __len__(self) -> int:
    return NUM_IMAGES if self.indices is None else len(self.indices)

  def get(self, indices) -> dict[str, np.ndarray]:
    positions = np.asarray(indices, np.int64)
    flat = positions.reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= len(self)):
      bad = flat.min() if flat.min() < 0 else flat.max()
      raise IndexError(f'{NAME}/{self.split} has {len(self)} examples; got index {bad}')
    dataset_indices = flat if self.indices is None else self.indices[flat]
    factors = index_to_factors(dataset_indices)
    x = render(factors).reshape(positions.shape + SHAPE)
    return {'x': x, 'factors': factors.astype(np.int32).reshape(positions.shape + (5,))}

  @staticmethod
  def sample_factors(rng: np.random.Generator, n: int) -> np.ndarray:
    return sample_factors(rng, n)

  @staticmethod
  def render(factors) -> np.ndarray:
    return render(factors)


def source(split: str, info=None) -> DSpritesSource:
  """The source of one split ('train' or 'test'); ``info`` lets the registry pass its own."""
  return DSpritesSource(split, info)
