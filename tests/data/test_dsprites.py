"""Tests of gen.data.dsprites: the factor layout of DeepMind's dSprites and the rendering."""

import numpy as np
import pytest

from gen.data import dsprites

SQUARE, ELLIPSE, HEART = 0, 1, 2


def _one(shape=SQUARE, scale=5, orientation=0, x=16, y=16) -> np.ndarray:
  """The (64, 64) image of one factor tuple, as int (for sums and differences)."""
  return dsprites.render([[shape, scale, orientation, x, y]])[0, ..., 0].astype(np.int64)


def _centroid(image: np.ndarray) -> tuple[float, float]:
  """(x, y) of the pixel mass, in pixel coordinates where pixel i spans [i, i + 1]."""
  rows, cols = np.nonzero(image)
  return cols.mean() + 0.5, rows.mean() + 0.5


# ------------------------------------------------------------------- factors


def test_sizes_names_and_values_are_dsprites():
  assert dsprites.factor_sizes == (3, 6, 40, 32, 32)
  assert dsprites.factor_names == ('shape', 'scale', 'orientation', 'posX', 'posY')
  assert dsprites.NUM_IMAGES == 737_280
  np.testing.assert_allclose(dsprites.SCALES, [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
  assert dsprites.ORIENTATIONS[0] == 0 and np.isclose(dsprites.ORIENTATIONS[-1], 2 * np.pi)
  np.testing.assert_allclose(np.diff(dsprites.POSITIONS), 1 / 31)


def test_index_layout_is_mixed_radix_with_pos_y_fastest():
  cases = {1: [0, 0, 0, 0, 1], 32: [0, 0, 0, 1, 0], 1024: [0, 0, 1, 0, 0],
           40 * 1024: [0, 1, 0, 0, 0], 6 * 40 * 1024: [1, 0, 0, 0, 0],
           737_279: [2, 5, 39, 31, 31]}  # fmt: skip
  np.testing.assert_array_equal(dsprites.index_to_factors(list(cases)), list(cases.values()))


def test_index_factor_round_trip():
  every = np.arange(dsprites.NUM_IMAGES)
  factors = dsprites.index_to_factors(every)
  assert factors.shape == (737_280, 5)
  np.testing.assert_array_equal(dsprites.factors_to_index(factors), every)
  # Every combination exactly once.
  assert len(np.unique(factors, axis=0)) == 737_280


def test_sample_factors_covers_each_range():
  f = dsprites.sample_factors(np.random.default_rng(0), 5000)
  assert f.shape == (5000, 5)
  np.testing.assert_array_equal(f.min(0), 0)
  np.testing.assert_array_equal(f.max(0), np.array(dsprites.factor_sizes) - 1)


def test_out_of_range_factors_and_indices_are_errors():
  with pytest.raises(ValueError, match='orientation = 40'):
    dsprites.render([[0, 0, 40, 0, 0]])
  with pytest.raises(ValueError, match=r'\(N, 5\)'):
    dsprites.factors_to_index([[0, 0, 0, 0]])
  with pytest.raises(IndexError):
    dsprites.index_to_factors([737_280])
  with pytest.raises(IndexError):
    dsprites.source('test').get([10_000])


# ------------------------------------------------------------------ rendering


def test_images_are_binary_uint8():
  f = dsprites.sample_factors(np.random.default_rng(1), 300)
  x = dsprites.render(f)
  assert x.dtype == np.uint8 and x.shape == (300, 64, 64, 1)
  assert set(np.unique(x)) == {0, 1}
  assert (x.reshape(300, -1).sum(1) > 0).all()  # every sprite is visible


def test_render_matches_direct_evaluation_on_the_full_grid():
  # render pastes precomputed 32x32 sprites; render_values evaluates the implicit functions at
  # all 64x64 pixel centres. The largest sprites at every orientation in both far corners also
  # check that no sprite is cut by its window.
  rng = np.random.default_rng(2)
  corners = [[s, 5, o, x, y] for s in range(3) for o in range(40) for x, y in [(0, 0), (31, 31)]]
  f = np.concatenate([dsprites.sample_factors(rng, 200), corners])
  direct = dsprites.render_values(*dsprites.factor_values(f).T)
  np.testing.assert_array_equal(dsprites.render(f), direct)


def test_sprites_stay_inside_the_image():
  f = [[s, 5, o, x, y] for s in range(3) for o in range(0, 40, 2) for x in (0, 31) for y in (0, 31)]
  x = dsprites.render(f)[..., 0]
  border = x[:, 0, :].sum() + x[:, -1, :].sum() + x[:, :, 0].sum() + x[:, :, -1].sum()
  assert border == 0


@pytest.mark.parametrize('shape', [SQUARE, ELLIPSE, HEART])
def test_mass_grows_with_scale(shape):
  masses = [_one(shape, scale=s, orientation=7).sum() for s in range(6)]
  assert all(a < b for a, b in zip(masses, masses[1:])), masses
  # Area goes as scale^2: a factor 4 from 0.5 to 1, up to pixelation.
  assert 3.4 < masses[-1] / masses[0] < 4.6


@pytest.mark.parametrize('shape', [SQUARE, ELLIPSE, HEART])
def test_centroid_follows_position(shape):
  expected = 16.5 + np.arange(32)  # pixel centres, one pixel per position step
  xs = np.array([_centroid(_one(shape, scale=3, x=k, y=10))[0] for k in range(32)])
  ys = np.array([_centroid(_one(shape, scale=3, x=20, y=k))[1] for k in range(32)])
  assert (np.diff(xs) > 0).all() and (np.diff(ys) > 0).all()  # posY grows downwards
  np.testing.assert_allclose(xs, expected, atol=0.5)
  np.testing.assert_allclose(ys, expected, atol=0.5)
  # The other coordinate stays put.
  other = [_centroid(_one(shape, scale=3, x=k, y=10))[1] for k in (0, 31)]
  np.testing.assert_allclose(other, 16.5 + 10, atol=0.5)


def test_orientation_turns_the_square_with_its_quarter_turn_symmetry():
  base = _one(SQUARE, scale=5, orientation=0)
  mass = base.sum()
  # 5 steps of 2 pi / 39 is 46 degrees: a diamond, far from the upright square.
  assert np.abs(_one(SQUARE, scale=5, orientation=5) - base).sum() > 0.1 * mass
  # 10 steps is 92.3 degrees, not a quarter turn (the steps are 2 pi / 39, as in dSprites):
  # close to the upright square but not equal; 39 steps is 2 pi: equal.
  near = np.abs(_one(SQUARE, scale=5, orientation=10) - base).sum()
  assert 0 < near < 0.1 * mass
  np.testing.assert_array_equal(_one(SQUARE, scale=5, orientation=39), base)
  # An exact quarter turn, with the direct renderer: the same image up to pixels on the edge.
  angles = np.array([0.3, 0.3 + np.pi / 2])
  a, b = dsprites.render_values([0, 0], [1, 1], angles, [0.5, 0.5], [0.5, 0.5])
  assert np.abs(a.astype(int) - b).sum() <= 2
  eighth = dsprites.render_values(0, 1, 0.3 + np.pi / 4, 0.5, 0.5)[0]
  assert np.abs(a.astype(int) - eighth).sum() > 40


def test_heart_has_no_half_turn_symmetry_and_ellipse_has():
  half_turn = np.array([0.0, np.pi])
  heart = dsprites.render_values([2, 2], [1, 1], half_turn, [0.5, 0.5], [0.5, 0.5]).astype(int)
  ellipse = dsprites.render_values([1, 1], [1, 1], half_turn, [0.5, 0.5], [0.5, 0.5]).astype(int)
  assert np.abs(heart[0] - heart[1]).sum() > 0.2 * heart[0].sum()
  assert np.abs(ellipse[0] - ellipse[1]).sum() <= 2


def test_rotation_is_counter_clockwise_as_displayed():
  # An ellipse (long axis horizontal at 0) turned by 45 degrees counter-clockwise has its long
  # axis from bottom-left to top-right: its pixels' x and row index anti-correlate.
  image = dsprites.render_values(1, 1, np.pi / 4, 0.5, 0.5)[0, ..., 0]
  rows, cols = np.nonzero(image)
  assert np.corrcoef(rows, cols)[0, 1] < -0.5
  upright = dsprites.render_values(1, 1, 0.0, 0.5, 0.5)[0, ..., 0]
  rows, cols = np.nonzero(upright)
  assert np.ptp(cols) > 1.8 * np.ptp(rows)


def test_the_three_shapes_differ():
  images = [_one(s, scale=5, orientation=0) for s in range(3)]
  for i in range(3):
    for j in range(i + 1, 3):
      assert np.abs(images[i] - images[j]).sum() > 40, (i, j)


# --------------------------------------------------------------------- source


def test_train_source_interface():
  src = dsprites.source('train')
  assert len(src) == 737_280
  assert src.info.name == 'dsprites' and src.info.kind == 'image'
  assert src.info.shape == (64, 64, 1) and src.info.levels == 2
  assert src.info.num_classes is None and src.info.splits == ('train', 'test')
  idx = np.array([0, 1, 1234, 737_279])
  batch = src.get(idx)
  assert set(batch) == {'x', 'factors'}  # factors, not 'label': they are not a class
  assert batch['x'].dtype == np.uint8 and batch['x'].shape == (4, 64, 64, 1)
  assert batch['factors'].dtype == np.int32
  np.testing.assert_array_equal(batch['factors'], dsprites.index_to_factors(idx))
  np.testing.assert_array_equal(batch['x'], dsprites.render(batch['factors']))
  assert src.get(idx.reshape(2, 2))['x'].shape == (2, 2, 64, 64, 1)


def test_test_split_is_a_fixed_subset_of_train():
  test = dsprites.source('test')
  assert len(test) == 10_000
  indices = dsprites.test_split_indices()
  assert len(np.unique(indices)) == 10_000 and indices.min() >= 0 and indices.max() < 737_280
  np.testing.assert_array_equal(indices, dsprites.DSpritesSource('test').indices)
  # Spread over the whole dataset, not a block.
  assert np.bincount(dsprites.index_to_factors(indices)[:, 0], minlength=3).min() > 3000
  positions = np.array([0, 17, 9_999])
  np.testing.assert_array_equal(
      test.get(positions)['x'], dsprites.source('train').get(indices[positions])['x']
  )
  with pytest.raises(ValueError, match='valid'):
    dsprites.source('valid')
