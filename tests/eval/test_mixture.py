"""2D mixture coverage against hand-built sample sets."""

import math

import numpy as np

from gen.data import toy2d
from gen.eval import mixture


def test_all_modes_balanced():
  m = toy2d.MIXTURES['ring8']
  samples = np.repeat(m.centres, 25, axis=0) + 0.01
  out = mixture.coverage(samples, m.centres, m.std)
  assert out['hq_fraction'] == 1.0 and out['modes_covered'] == 8
  assert abs(out['mode_kl']) < 1e-12


def test_collapse_to_one_mode_and_low_quality():
  m = toy2d.MIXTURES['ring8']
  hq = np.repeat(m.centres[:1], 30, axis=0)
  far = np.zeros((70, 2))  # the ring's centre: 2 from every mode
  out = mixture.coverage(np.concatenate([hq, far]), m.centres, m.std)
  assert np.isclose(out['hq_fraction'], 0.3) and out['modes_covered'] == 1
  assert np.isclose(out['mode_kl'], math.log(8))


def test_threshold_of_three_std_and_twenty_samples():
  m = toy2d.MIXTURES['grid25']
  inside = m.centres[0] + np.array([2.9 * m.std, 0])
  outside = m.centres[1] + np.array([3.1 * m.std, 0])
  out = mixture.coverage(
      np.stack([inside] * 20 + [outside] * 19 + [m.centres[2]] * 19), m.centres, m.std
  )
  assert out['modes_covered'] == 1  # mode 2 has only 19
  assert np.isclose(out['hq_fraction'], 39 / 58)
  assert out['mode_kl'] is not None


def test_no_high_quality_samples():
  m = toy2d.MIXTURES['ring8']
  out = mixture.coverage(np.zeros((10, 2)), m.centres, m.std)
  assert out['hq_fraction'] == 0.0 and out['modes_covered'] == 0 and out['mode_kl'] is None
