"""Tests for gen.eval.metrics (FID, IS, KID, PRD, PRDC, F1)."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.special

from gen.eval import metrics


def _rng(seed=0):
  return np.random.default_rng(seed)


def _random_spd(rng, d):
  a = rng.standard_normal((d, d))
  return a @ a.T / d + 0.1 * np.eye(d)


# --------------------------------------------------------------------------- FID


def test_fid_unit_mean_shift_identity_cov_d2048():
  d = 2048
  eye = np.eye(d)
  value = metrics.frechet_distance(np.zeros(d), eye, np.ones(d), eye)
  assert isinstance(value, float)
  assert value == pytest.approx(2048.0, rel=1e-6)


def test_fid_diagonal_gaussians_closed_form():
  rng = _rng(1)
  d = 50
  m1, m2 = rng.standard_normal(d), rng.standard_normal(d)
  s1, s2 = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
  expected = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
  value = metrics.frechet_distance(m1, np.diag(s1), m2, np.diag(s2))
  assert value == pytest.approx(expected, rel=1e-9)


def test_fid_sqrtm_form_matches_symmetric_form_on_random_spd():
  # tr sqrt(S1 S2) == tr sqrt(S1^1/2 S2 S1^1/2) for SPD S1, S2 (non-commuting here).
  rng = _rng(2)
  for d in (3, 17, 64):
    s1, s2 = _random_spd(rng, d), _random_spd(rng, d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    w, v = np.linalg.eigh(s1)
    s1_half = (v * np.sqrt(w)) @ v.T
    inner = np.linalg.eigvalsh(s1_half @ s2 @ s1_half)
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sum(np.sqrt(inner))
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)


def test_fid_singular_covariances_finite_real():
  rng = _rng(3)
  basis = rng.standard_normal((4, 16))  # features live in a 4-dim subspace of R^16
  x = rng.standard_normal((100, 4)) @ basis
  y = rng.standard_normal((100, 4)) @ basis + 0.3
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
    value = metrics.fid(x, y)
    constant = metrics.fid(np.ones((10, 5)), np.zeros((10, 5)))  # zero covariances
  assert isinstance(value, float) and np.isfinite(value) and value > 0
  assert constant == pytest.approx(5.0)


def test_fid_same_features_is_zero():
  a = _rng(4).standard_normal((500, 32))
  assert abs(metrics.fid(a, a)) < 1e-8


def test_fid_matches_stats_path_and_uses_unbiased_cov():
  rng = _rng(5)
  a, b = rng.standard_normal((60, 6)), rng.standard_normal((80, 6)) * 1.5 + 0.2
  expected = metrics.frechet_distance(
      a.mean(0), np.cov(a, rowvar=False, ddof=1), b.mean(0), np.cov(b, rowvar=False, ddof=1)
  )
  assert metrics.fid(a.astype(np.float32), b.astype(np.float32)) == pytest.approx(
      expected, rel=1e-6
  )


def test_fid_retries_with_offset_when_sqrtm_not_finite(monkeypatch):
  real_sqrtm = scipy.linalg.sqrtm
  calls = []

  def flaky_sqrtm(a):
    calls.append(a.copy())
    return np.full_like(a, np.nan) if len(calls) == 1 else real_sqrtm(a)

  monkeypatch.setattr(scipy.linalg, "sqrtm", flaky_sqrtm)
  s1, s2 = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
  value = metrics.frechet_distance(np.zeros(2), s1, np.zeros(2), s2)
  offset = 1e-6 * np.eye(2)
  assert len(calls) == 2
  np.testing.assert_allclose(calls[1], (s1 + offset) @ (s2 + offset))
  assert value == pytest.approx((1 - 3) ** 2 + (2 - 1) ** 2, rel=1e-5)


def test_fid_large_imaginary_component_raises():
  # Not a covariance: sqrtm(diag(1, -1)) has imaginary diagonal.
  with pytest.raises(ValueError, match="imaginary"):
    metrics.frechet_distance(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))


# ---------------------------------------------------------------------------- IS


def test_is_uniform_logits_is_one():
  mean, std = metrics.inception_score(np.zeros((100, 10)), splits=10)
  assert mean == pytest.approx(1.0, abs=1e-12)
  assert std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("scale", [100.0, 1e4])  # 1e4: softmax underflows to exact 0
def test_is_confident_balanced_logits_give_num_classes(scale):
  c = 7
  labels = np.arange(140) % c
  logits = scale * np.eye(c)[labels]
  mean, std = metrics.inception_score(logits, splits=1)
  assert mean == pytest.approx(c, rel=1e-9)
  assert std == 0.0


def test_is_matches_openai_formula_on_random_logits():
  logits = _rng(6).standard_normal((103, 5)) * 3  # 103 / 4: unequal consecutive chunks
  splits = 4
  preds = scipy.special.softmax(logits, axis=1)
  scores = []
  for i in range(splits):
    part = preds[(i * len(preds) // splits) : ((i + 1) * len(preds) // splits)]
    kl = part * (np.log(part) - np.log(part.mean(0, keepdims=True)))
    scores.append(np.exp(np.mean(np.sum(kl, 1))))
  mean, std = metrics.inception_score(logits, splits=splits)
  assert mean == pytest.approx(np.mean(scores), rel=1e-12)
  assert std == pytest.approx(np.std(scores), rel=1e-9)


# --------------------------------------------------------------------------- KID


def test_kid_hand_computed_1d():
  # k(x, y) = (x*y/1 + 1)^3.  a = {1, 2}, b = {0, 1}:
  # k_aa offdiag: (1*2 + 1)^3 = 27 -> 2*27 / (2*1) = 27
  # k_bb offdiag: (0*1 + 1)^3 = 1  -> 1
  # k_ab: (1*0+1)^3=1, (1*1+1)^3=8, (2*0+1)^3=1, (2*1+1)^3=27 -> mean 37/4
  # MMD^2 = 27 + 1 - 2 * 37/4 = 9.5
  mean, std = metrics.kid([[1.0], [2.0]], [[0.0], [1.0]], num_subsets=1, subset_size=2)
  assert mean == pytest.approx(9.5, rel=1e-12)
  assert std == 0.0


def test_kid_hand_computed_2d_divides_by_dim():
  # d = 2: k(x, y) = (x.y/2 + 1)^3. a = {e1, e2}, b = {(1,1), (0,0)}.
  # k_aa offdiag: (0 + 1)^3 = 1 -> 1;  k_bb offdiag: (0 + 1)^3 = 1 -> 1
  # k_ab: e1.(1,1)=1 -> 1.5^3 = 3.375, e1.0 -> 1, e2.(1,1) -> 3.375, e2.0 -> 1
  # mean k_ab = 8.75/4 = 2.1875;  MMD^2 = 1 + 1 - 2*2.1875 = -2.375
  a = [[1.0, 0.0], [0.0, 1.0]]
  b = [[1.0, 1.0], [0.0, 0.0]]
  mean, _ = metrics.kid(a, b, num_subsets=3, subset_size=1000)  # clamped to 2
  assert mean == pytest.approx(-2.375, rel=1e-12)


def test_kid_same_distribution_near_zero_and_shift_positive():
  rng = _rng(7)
  a = rng.standard_normal((2000, 16))
  b = rng.standard_normal((2000, 16))
  same, _ = metrics.kid(a, a, num_subsets=20, subset_size=200)
  indep, _ = metrics.kid(a, b, num_subsets=20, subset_size=200)
  shifted, shifted_std = metrics.kid(a, b + 0.5, num_subsets=20, subset_size=200)
  assert abs(same) < 0.03
  assert abs(indep) < 0.03
  assert shifted > 0.5 and shifted > 10 * shifted_std


def test_kid_seeded_and_deterministic():
  rng = _rng(8)
  a, b = rng.standard_normal((300, 8)), rng.standard_normal((300, 8)) + 0.1
  r1 = metrics.kid(a, b, num_subsets=5, subset_size=50, seed=3)
  r2 = metrics.kid(a, b, num_subsets=5, subset_size=50, seed=3)
  r3 = metrics.kid(a, b, num_subsets=5, subset_size=50, seed=4)
  assert r1 == r2 and r1 != r3


# --------------------------------------------------------------------------- PRD
# compare_gan prd_score_test.py values.


def test_compute_prd_no_overlap():
  result = np.ravel(metrics.compute_prd([0, 1], [1, 0]))
  np.testing.assert_almost_equal(result, 0)


def test_compute_prd_perfect_overlap():
  precision, recall = metrics.compute_prd([1, 0], [1, 0], num_angles=11)
  np.testing.assert_almost_equal([precision[5], recall[5]], [1, 1])


def test_compute_prd_low_precision_high_recall():
  precision, recall = metrics.compute_prd([0.5, 0.5], [1, 0], num_angles=11)
  np.testing.assert_almost_equal(precision[5], 0.5)
  np.testing.assert_almost_equal(recall[5], 0.5)
  np.testing.assert_almost_equal(precision[10], 0.5)
  np.testing.assert_almost_equal(recall[1], 1)


def test_compute_prd_high_precision_low_recall():
  precision, recall = metrics.compute_prd([1, 0], [0.5, 0.5], num_angles=11)
  np.testing.assert_almost_equal([precision[5], recall[5]], [0.5, 0.5])
  np.testing.assert_almost_equal(recall[1], 0.5)
  np.testing.assert_almost_equal(precision[10], 1)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(epsilon=0),
        dict(epsilon=1),
        dict(epsilon=-1),
        dict(num_angles=0),
        dict(num_angles=1),
        dict(num_angles=-1),
        dict(num_angles=1e6 + 1),
        dict(num_angles=2.5),
    ],
)
def test_compute_prd_bad_arguments(kwargs):
  with pytest.raises(ValueError):
    metrics.compute_prd([1], [1], **kwargs)


def test_prd_to_f_beta_correct_computation():
  precision = np.array([1, 1, 0, 0, 0.5, 1, 0.5])
  recall = np.array([1, 0, 1, 0, 0.5, 0.5, 1])
  np.testing.assert_almost_equal(
      metrics.prd_to_f_beta(precision, recall, beta=1), [1, 0, 0, 0, 0.5, 2 / 3, 2 / 3]
  )
  np.testing.assert_almost_equal(
      metrics.prd_to_f_beta(precision, recall, beta=2), [1, 0, 0, 0, 0.5, 5 / 9, 5 / 6]
  )
  np.testing.assert_almost_equal(
      metrics.prd_to_f_beta(precision, recall, beta=1 / 2), [1, 0, 0, 0, 0.5, 5 / 6, 5 / 9]
  )
  np.testing.assert_almost_equal(metrics.prd_to_f_beta(np.array([]), np.array([])), [])


def test_prd_to_f_beta_bad_inputs():
  for beta in (0, -3):
    with pytest.raises(ValueError):
      metrics.prd_to_f_beta(np.ones(1), np.ones(1), beta=beta)
  with pytest.raises(ValueError):
    metrics.prd_to_f_beta(-np.ones(1), np.ones(1))
  with pytest.raises(ValueError):
    metrics.prd_to_f_beta(np.ones(1), -np.ones(1))


def test_prd_f_beta_pair():
  precision = np.array([1.0, 0.5, 0.0])
  recall = np.array([0.0, 0.5, 1.0])
  f_beta, f_beta_inv = metrics.prd_f_beta(precision, recall, beta=8)
  assert f_beta == pytest.approx(0.5)  # (1,0) and (0,1) score 0; (.5,.5) scores .5
  assert f_beta_inv == pytest.approx(0.5)
  # F_8 weights recall: the high-recall point wins; F_1/8 the high-precision point.
  f_beta, f_beta_inv = metrics.prd_f_beta(np.array([0.2, 0.9]), np.array([0.9, 0.2]))
  assert f_beta == pytest.approx(metrics.prd_to_f_beta(0.2, 0.9, 8))
  assert f_beta_inv == pytest.approx(metrics.prd_to_f_beta(0.9, 0.2, 1 / 8))


def test_prd_identical_sets_near_one():
  x = _rng(9).standard_normal((200, 8))
  precision, recall = metrics.prd(x, x, num_clusters=5, num_angles=101, num_runs=2, seed=0)
  assert precision.shape == (101,) and recall.shape == (101,)
  assert precision[50] == pytest.approx(1.0, abs=1e-6)
  assert recall[50] == pytest.approx(1.0, abs=1e-6)
  f_beta, f_beta_inv = metrics.prd_f_beta(precision, recall, beta=8)
  assert f_beta > 0.99 and f_beta_inv > 0.99


def test_prd_disjoint_sets_near_zero_and_default_length():
  rng = _rng(10)
  x = rng.standard_normal((100, 4))
  y = rng.standard_normal((100, 4)) + 100.0
  precision, recall = metrics.prd(x, y, num_clusters=4, num_runs=1, seed=0)
  assert precision.shape == (1001,) and recall.shape == (1001,)
  assert precision.max() < 1e-6 and recall.max() < 1e-6


def test_prd_enforce_balance():
  with pytest.raises(ValueError):
    metrics.prd(np.array([[0.0], [0.0], [1.0]]), np.array([[0.0], [1.0]]), num_clusters=2)
  precision, _ = metrics.prd(
      np.array([[0.0], [0.0], [1.0]]),
      np.array([[0.0], [1.0]]),
      num_clusters=2,
      num_runs=1,
      enforce_balance=False,
      seed=0,
  )
  assert precision.shape == (1001,)


# -------------------------------------------------------------------------- PRDC


def _prdc_naive(real, fake, k):
  """clovaai prdc.compute_prdc on full distance matrices (sklearn distances)."""
  from sklearn.metrics import pairwise_distances

  def kth(d, kk):  # kk-th smallest per row
    return np.sort(d, axis=1)[:, kk - 1]

  real_r = kth(pairwise_distances(real, real), k + 1)
  fake_r = kth(pairwise_distances(fake, fake), k + 1)
  d_rf = pairwise_distances(real, fake)
  return dict(
      precision=(d_rf < real_r[:, None]).any(axis=0).mean(),
      recall=(d_rf < fake_r[None, :]).any(axis=1).mean(),
      density=(1.0 / k) * (d_rf < real_r[:, None]).sum(axis=0).mean(),
      coverage=(d_rf.min(axis=1) < real_r).mean(),
  )


def test_prdc_blocked_equals_naive():
  rng = _rng(11)
  real = rng.standard_normal((300, 10))
  fake = 1.2 * rng.standard_normal((200, 10)) + 0.3
  for k in (1, 5):
    expected = _prdc_naive(real, fake, k)
    got = metrics.prdc(real, fake, k=k, block_size=64)
    assert set(got) == {"precision", "recall", "density", "coverage"}
    for key in expected:
      assert got[key] == pytest.approx(expected[key], abs=1e-12), key
    # Values are non-trivial, so the comparison means something.
    assert 0 < got["precision"] < 1 and 0 < got["recall"] < 1


def test_prdc_identical_sets():
  x = _rng(12).standard_normal((256, 16))
  got = metrics.prdc(x, x.copy(), k=5, block_size=100)
  assert got["precision"] == 1.0 and got["recall"] == 1.0 and got["coverage"] == 1.0
  assert got["density"] == pytest.approx(1.0, abs=0.2)


def test_prdc_disjoint_far_apart_sets():
  rng = _rng(13)
  real = rng.standard_normal((100, 8))
  fake = rng.standard_normal((120, 8)) + 1000.0
  got = metrics.prdc(real, fake, k=3, block_size=32)
  assert got == dict(precision=0.0, recall=0.0, density=0.0, coverage=0.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_prdc_hand_built_1d(dtype):
  # k = 1. real {0, 1, 3, 7}: radii 1, 1, 2, 4.  fake {0.5, 2.5, 12, 13}: radii 2, 2, 1, 1.
  # precision: 0.5 in ball(0); 2.5 in ball(3); 12, 13 in none (|7-12| = 5 > 4) -> 2/4
  # recall: 0, 1 in ball(0.5); 3 in ball(2.5); 7 in none (4.5 > 2, 5 > 1, 6 > 1) -> 3/4
  # density: 0.5 in balls of 0 and 1 (2), 2.5 in ball of 3 (1), others 0 -> 3/(1*4)
  # coverage: nearest fakes 0.5 (<1), 0.5 (<1), 2.5 at 0.5 (<2), 2.5 at 4.5 (>=4) -> 3/4
  real = np.array([[0.0], [1.0], [3.0], [7.0]])
  fake = np.array([[0.5], [2.5], [12.0], [13.0]])
  got = metrics.prdc(real, fake, k=1, block_size=3, dtype=dtype)
  assert got == dict(precision=0.5, recall=0.75, density=0.75, coverage=0.75)


def test_prdc_memory_is_blockwise():
  rng = _rng(14)
  n, block = 4000, 100
  real = rng.standard_normal((n, 8))
  fake = rng.standard_normal((n, 8))
  tracemalloc.start()
  try:
    metrics.prdc(real, fake, k=3, block_size=block)
    _, peak = tracemalloc.get_traced_memory()
  finally:
    tracemalloc.stop()
  full_matrix = n * n * 8  # 128 MB
  assert peak < full_matrix / 8


def test_prdc_bad_k():
  with pytest.raises(ValueError):
    metrics.prdc(np.zeros((3, 2)), np.zeros((5, 2)), k=3)


# ---------------------------------------------------------------------------- F1


def test_f1_values():
  assert metrics.f1(0.5, 0.5) == pytest.approx(0.5)
  assert metrics.f1(1.0, 0.5) == pytest.approx(2 / 3)
  assert metrics.f1(0.2, 0.8) == pytest.approx(0.32)
  assert metrics.f1(1.0, 0.0) == 0.0
  assert metrics.f1(0.0, 0.0) == 0.0
  assert isinstance(metrics.f1(np.float32(0.5), np.float32(0.5)), float)
