"""Sample-quality evaluation on constructed features and images: identical sets score as
identical, the numbers are gen.eval.metrics' own, samples and reference features are handled
as documented (batching, uint8 quantisation, the cache), and the PRD curve is written."""

import jax
import numpy as np
import pytest
from PIL import Image

from gen.data import sources
from gen.eval import metrics, sample_quality
from gen.eval.features import FeatureError, FeatureExtractor

_FAST = sample_quality.Settings(prd_runs=1)  # where PRD is not the point


def _feats(n, d=8, shift=0.0, seed=0):
  rng = np.random.default_rng(seed)
  pool = rng.standard_normal((n, d)) + shift
  return {'pool': pool, 'logits': rng.standard_normal((n, 10)) * 3}


def test_identical_sets_score_as_identical():
  f = _feats(400)
  values, (precision, recall), details = sample_quality.metrics_from_features(f, f)
  assert list(values) == list(sample_quality.NAMES)
  assert abs(values['FID']) < 1e-8
  # The unbiased estimator's cross term keeps k(x, x): about -2 (k(x, x) - k(x, y)) / n here.
  assert abs(values['KID']) < 0.1
  assert values['precision'] == values['recall'] == values['coverage'] == values['F1'] == 1.0
  assert values['PRD F8'] == pytest.approx(1.0, abs=1e-3)
  assert values['PRD F1/8'] == pytest.approx(1.0, abs=1e-3)
  assert precision.shape == recall.shape == (1001,)
  assert details['prd_num_samples'] == 400 and set(details['seconds']) >= {'FID', 'PRD', 'prdc'}


def test_numbers_are_those_of_the_metric_functions():
  fake, real = _feats(300, shift=0.7, seed=1), _feats(200, seed=2)
  values, _, details = sample_quality.metrics_from_features(fake, real, _FAST, seed=5)
  assert values['FID'] == metrics.fid(fake['pool'], real['pool']) > 1.0
  assert (values['IS'], values['IS std']) == metrics.inception_score(fake['logits'], 10)
  assert (values['KID'], values['KID std']) == metrics.kid(fake['pool'], real['pool'], seed=5)
  p = metrics.prdc(real['pool'], fake['pool'], k=5)
  assert {k: values[k] for k in p} == p
  assert values['F1'] == metrics.f1(p['precision'], p['recall'])
  assert details['prd_num_samples'] == 200  # PRD compares equally many of each
  assert values['precision'] < 1.0


def test_too_few_samples():
  with pytest.raises(ValueError, match='at least'):
    sample_quality.metrics_from_features(_feats(8), _feats(8))


def test_to_uint8_inverts_the_data_scaling():
  np.testing.assert_array_equal(
      sample_quality.to_uint8(np.array([-1.0, 0.0, 1.0, 3.0]), 'symmetric'), [0, 128, 255, 255]
  )
  np.testing.assert_array_equal(sample_quality.to_uint8(np.array([0.0, 1.0]), 'unit'), [0, 255])
  np.testing.assert_array_equal(
      sample_quality.to_uint8(np.array([0.0, 17.0, 255.0]), 'none', 256), [0, 17, 255]
  )
  np.testing.assert_array_equal(  # binarized data are {0, 1} whatever the scale says
      sample_quality.to_uint8(np.array([0.0, 1.0]), 'none', 2, binarize=True), [0, 255]
  )
  np.testing.assert_array_equal(
      sample_quality.reference_uint8(np.array([0, 1], np.uint8), 2), [0, 255]
  )
  x = np.arange(256, dtype=np.uint8)
  assert sample_quality.reference_uint8(x, 256) is x
  # Real images survive the round trip through the data's [-1, 1] scale exactly.
  np.testing.assert_array_equal(
      sample_quality.to_uint8(x.astype(np.float32) / 255 * 2 - 1, 'symmetric'), x
  )


def test_draw_samples_batches_with_folded_keys():
  calls = []

  def sample(key, n):
    calls.append((np.asarray(jax.random.key_data(key)), n))
    return np.full((n, 1), len(calls))

  key = jax.random.PRNGKey(4)
  x = sample_quality.draw_samples(sample, key, 7, 3)
  assert x[:, 0].tolist() == [1, 1, 1, 2, 2, 2, 3]
  assert [n for _, n in calls] == [3, 3, 3]  # the last batch is drawn whole
  for i, (k, _) in enumerate(calls):
    np.testing.assert_array_equal(k, jax.random.key_data(jax.random.fold_in(key, i)))


class _Counting:
  """A deterministic extractor on small images that counts its calls."""

  def __init__(self, sha='a' * 64, name='fake:test'):
    w = np.random.default_rng(0).standard_normal((64, 12))
    self.calls = 0

    def fn(images):
      self.calls += 1
      x = images.reshape(len(images), -1).astype(np.float64) / 255.0
      return {'pool': np.tanh(x @ w), 'logits': 4 * x[:, :10]}

    self.extractor = FeatureExtractor(name, sha, 'none (test)', fn, input_shape=(8, 8, 1))


def _digits():
  return sources.load('digits', 'test').x


def test_reference_features_cache(tmp_path):
  images = _digits()
  c = _Counting()
  first, status = sample_quality.reference_features(
      c.extractor, images, str(tmp_path), 'digits', 'test'
  )
  assert status == 'computed' and c.calls == 1
  again, status = sample_quality.reference_features(
      c.extractor, images, str(tmp_path), 'digits', 'test'
  )
  assert status == 'hit' and c.calls == 1
  np.testing.assert_array_equal(again['pool'], first['pool'])

  changed = images.copy()
  changed[0, 0, 0, 0] ^= 1
  _, status = sample_quality.reference_features(
      c.extractor, changed, str(tmp_path), 'digits', 'test'
  )
  assert status == 'computed' and c.calls == 2

  (path,) = tmp_path.glob('*.npz')
  assert 'fake-test_digits_test_aaaaaaaa' in path.name
  path.write_bytes(b'garbage')
  _, status = sample_quality.reference_features(
      c.extractor, images, str(tmp_path), 'digits', 'test'
  )
  assert status == 'computed'

  other = _Counting(sha='b' * 64)  # other weights: another entry, never the old one
  _, status = sample_quality.reference_features(
      other.extractor, images, str(tmp_path), 'digits', 'test'
  )
  assert status == 'computed' and len(list(tmp_path.glob('*.npz'))) == 2
  _, status = sample_quality.reference_features(c.extractor, images, None)
  assert status == 'off'


def test_evaluate_real_images_as_samples(tmp_path):
  """A 'model' whose samples are the test images themselves scores as identical to them."""
  real = _digits()

  def sample(key, n):
    return real[:n].astype(np.float32) / 255 * 2 - 1  # in the GAN data's scale

  c = _Counting()
  png = tmp_path / 'eval' / 'step_1_prd.png'
  out = sample_quality.evaluate(
      sample,
      real,
      c.extractor,
      key=jax.random.PRNGKey(0),
      num_samples=300,
      batch_size=300,
      png_path=str(png),
      cache_dir=str(tmp_path / 'cache'),
      dataset='digits',
      split='test',
      title='test',
      settings=_FAST,
  )
  m = out['metrics']
  assert set(m) == {f'{k} (fake:test)' for k in sample_quality.NAMES}
  assert abs(m['FID (fake:test)']) < 1e-6
  assert m['precision (fake:test)'] == m['recall (fake:test)'] == m['coverage (fake:test)'] == 1.0
  p = out['provenance']
  assert p['feature_extractor'] == 'fake:test' and p['weights_sha256'] == 'a' * 64
  assert p['resize'] == 'none (test)' and p['num_samples'] == 300 and p['seed'] == 0
  assert p['reference']['dataset'] == 'digits' and p['reference']['split'] == 'test'
  assert p['reference']['num_images'] == 300 and p['reference']['features_cache'] == 'computed'
  assert p['reference']['IS (fake:test)'] == pytest.approx(m['IS (fake:test)'])
  assert 'git_commit' in p and p['prd_png'] == str(png)
  assert Image.open(png).size[0] > 100


def test_evaluate_rejects_too_few_samples():
  with pytest.raises(FeatureError, match='num_samples'):
    sample_quality.evaluate(
        lambda k, n: None,
        _digits(),
        _Counting().extractor,
        key=jax.random.PRNGKey(0),
        num_samples=5,
    )
