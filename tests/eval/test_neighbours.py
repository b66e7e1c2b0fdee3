"""The nearest-training-neighbours memorisation check: exact k-NN against brute force (ties,
chunking), the summary on hand cases, a "model" that returns training images caught as
memorised (and one that returns test images not), python -m gen.eval.neighbours end to end
on a tiny digits GAN, and its one-line refusals."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import runs
from conftest import ROOT, one_error_line, run_module
from PIL import Image

from gen import config as config_lib
from gen import data as data_lib
from gen.eval import features, neighbours, sample_quality
from gen.eval import run as eval_run

# ----------------------------------------------------------------------- exact k-NN


def brute_force(queries, refs, k):
  """Every distance in float64, sorted by (distance, index)."""
  q = np.asarray(queries, np.float64).reshape(len(queries), -1)
  r = np.asarray(refs, np.float64).reshape(len(refs), -1)
  sq = np.sum((q[:, None, :] - r[None, :, :]) ** 2, axis=-1)
  index = np.stack([np.lexsort((np.arange(len(r)), row))[:k] for row in sq])
  return np.sqrt(np.take_along_axis(sq, index, axis=1)), index


@pytest.mark.parametrize('seed', range(8))
@pytest.mark.parametrize('chunk', [1, 3, 7, None, 1000])
def test_nearest_matches_brute_force_with_ties_and_any_chunk(seed, chunk):
  rng = np.random.default_rng(seed)
  n, q_count, dim = int(rng.integers(5, 60)), int(rng.integers(1, 40)), int(rng.integers(1, 8))
  # Small integer coordinates: many exactly equal distances, duplicate refs, and
  # queries that are refs (distance 0), so only the tie rule decides the order.
  refs = rng.integers(0, 3, (n, dim)).astype(np.float32)
  refs[n // 2] = refs[0]
  queries = rng.integers(0, 3, (q_count, dim)).astype(np.float32)
  queries[0] = refs[0]
  k = int(rng.integers(1, n + 1))
  dist, index = neighbours.nearest(queries, refs, k, chunk)
  want_dist, want_index = brute_force(queries, refs, k)
  np.testing.assert_array_equal(index, want_index)
  np.testing.assert_allclose(dist, want_dist, rtol=0, atol=1e-12)
  assert dist[0, 0] == 0 and index[0, 0] == 0  # the copy of ref 0, not of ref n // 2
  assert dist.dtype == np.float64 and index.dtype == np.int64


def test_nearest_on_continuous_images_is_exact_where_the_expansion_is_not():
  rng = np.random.default_rng(0)
  refs = rng.random((300, 8, 8, 1), dtype=np.float32)
  queries = np.concatenate([refs[[5, 17, 5]], rng.random((20, 8, 8, 1), dtype=np.float32)])
  dist, index = neighbours.nearest(queries, refs, 4, chunk=6)
  want_dist, want_index = brute_force(queries, refs, 4)
  np.testing.assert_array_equal(index, want_index)
  np.testing.assert_allclose(dist, want_dist, rtol=1e-12)
  assert np.all(dist[:3, 0] == 0)  # exactly 0, not sqrt of rounding noise
  np.testing.assert_array_equal(index[:3, 0], [5, 17, 5])


def test_nearest_refuses_bad_inputs():
  refs = np.zeros((4, 3), np.float32)
  with pytest.raises(ValueError, match='k <= 4'):
    neighbours.nearest(refs, refs, 5)
  with pytest.raises(ValueError, match='k <= 4'):
    neighbours.nearest(refs, refs, 0)
  with pytest.raises(ValueError, match='2 values each but refs have 3'):
    neighbours.nearest(np.zeros((2, 2)), refs, 1)
  with pytest.raises(ValueError, match='non-finite'):
    neighbours.nearest(np.full((1, 3), np.nan), refs, 1)


# ----------------------------------------------------------------------- summary


def test_distance_summary_on_hand_cases():
  test_d = np.arange(1.0, 101.0)  # 1st percentile 1.99: one test image at or below it
  copies = neighbours.distance_summary(np.zeros(50), test_d)
  assert copies['threshold'] == pytest.approx(1.99)
  assert copies['test_fraction_at_threshold'] == 0.01
  assert copies['memorised_fraction'] == 1 and copies['copy_fraction'] == 1
  assert copies['p_value'] == pytest.approx(0.01**50) and copies['memorised']
  assert copies['median_ratio'] == 0 and copies['samples']['max'] == 0

  alike = neighbours.distance_summary(test_d[::-1], test_d)
  assert alike['memorised_fraction'] == 0.01 and not alike['memorised']
  assert alike['p_value'] == pytest.approx(1 - 0.99**100)
  assert alike['median_ratio'] == 1 and alike['samples'] == alike['test']
  assert alike['samples']['median'] == 50.5 and alike['samples']['n'] == 100

  # A few copies among many new images: 3 of 100 at the threshold where 1 % is
  # expected is not yet evidence (p ~ 0.08); 10 of 100 is.
  assert not neighbours.distance_summary(np.r_[np.zeros(3), test_d[3:]], test_d)['memorised']
  assert neighbours.distance_summary(np.r_[np.zeros(10), test_d[10:]], test_d)['memorised']

  # Every test image is a copy too (duplicated data): samples at 0 are no evidence.
  same = neighbours.distance_summary(np.zeros(10), np.zeros(20))
  assert same['p_value'] == 1 and not same['memorised'] and same['median_ratio'] is None
  with pytest.raises(ValueError, match='need samples'):
    neighbours.distance_summary([], test_d)


# ----------------------------------------------------------------------- a copying "model"


class FakeModel:
  """A 'model' whose samples are draws of given images (in the data's model scale)."""

  def __init__(self, images):
    self.images = jnp.asarray(images)

  def sample(self, state, key, n):
    del state
    return self.images[jax.random.randint(key, (n,), 0, len(self.images))]


def _pool_extractor():
  """A stand-in feature space: 2x2 mean pooling of the 8x8 digits."""

  def fn(images):
    x = images.astype(np.float32).reshape(len(images), 4, 2, 4, 2).mean(axis=(2, 4))
    return {'pool': x.reshape(len(images), -1), 'logits': np.zeros((len(images), 10))}

  return features.FeatureExtractor('pool2x2', '0' * 64, 'none', fn, input_shape=(8, 8, 1))


def _digits_run(tmp_path, monkeypatch, split):
  """A run directory whose 'model' returns the images of digits' `split`."""
  config = config_lib.load(f'{ROOT}/configs/gan.py:digits')
  work = tmp_path / 'run'
  work.mkdir()
  (work / 'config.json').write_text(config_lib.to_json(config))
  info = data_lib.info(config)
  images = data_lib.source(config, split).x
  model = FakeModel(images.astype(np.float32) / 255 * 2 - 1)  # data.scale 'symmetric'
  monkeypatch.setattr(eval_run, 'load_run', lambda *a: (config, info, model, None, 7))
  monkeypatch.setattr(eval_run, 'select_extractor', lambda *a: (_pool_extractor(), None))
  return work


def test_a_model_that_returns_training_images_is_memorised(tmp_path, monkeypatch):
  work = _digits_run(tmp_path, monkeypatch, 'train')
  result = neighbours.run(str(work), num_samples=200, num_shown=4, k=3)
  for name in ('pixel', 'pool2x2'):
    s = result['distances'][name]
    assert s['samples']['max'] == 0 and s['copy_fraction'] == 1, name
    assert s['memorised_fraction'] == 1 and s['memorised'] and s['p_value'] < 1e-100, name
    assert s['test']['median'] > 0 and s['test']['n'] == 200, name
  for row in result['shown']:
    assert row['pixel']['distances'][0] == 0 and len(row['pixel']['train_indices']) == 3
  assert result['provenance']['features']['feature_extractor'] == 'pool2x2'
  assert result['provenance']['train_features_cache'] == 'computed'
  written = json.loads((work / 'neighbours' / 'step_7.json').read_text())
  assert written['distances'] == result['distances']
  with Image.open(work / 'neighbours' / 'step_7.png') as im:
    assert im.width > 1.4 * im.height  # 2 groups of 1 + 3 columns beside 4 rows
  assert (work / 'neighbours' / 'step_7_distances.png').stat().st_size > 0


def test_a_model_that_returns_test_images_is_not_memorised(tmp_path, monkeypatch):
  work = _digits_run(tmp_path, monkeypatch, 'test')
  result = neighbours.run(str(work), num_samples=200, num_shown=2, k=1)
  for name, s in result['distances'].items():
    assert not s['memorised'] and s['p_value'] > 0.01, name
    assert 0.7 < s['median_ratio'] < 1.3, name


def test_the_samples_are_those_eval_py_draws(tmp_path, monkeypatch):
  # The same key and batches as gen.eval.run's sample-quality samples.
  work = _digits_run(tmp_path, monkeypatch, 'train')
  result = neighbours.run(str(work), num_samples=10, num_shown=1, k=1)
  config = config_lib.load(f'{ROOT}/configs/gan.py:digits')
  _, info, model, _, _ = eval_run.load_run(str(work))
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 3 << 29)
  x = sample_quality.draw_samples(lambda kk, n: model.sample(None, kk, n), key, 10, 300)
  u8 = sample_quality.to_uint8(x, 'symmetric', info.levels)
  train = data_lib.source(config, 'train').x
  row = result['shown'][0]
  assert np.array_equal(train[row['pixel']['train_indices'][0]], u8[row['sample']])
  assert 'fold_in(PRNGKey(0), 1610612736)' in result['provenance']['sample_key']


# ----------------------------------------------------------------------- command line


def test_cli_on_a_digits_gan_writes_the_panel_histogram_and_finite_statistics(tmp_path):
  work = tmp_path / 'gan'
  runs.train(
      work,
      'configs/gan.py:digits',
      'train.num_steps=2',
      'train.checkpoint_every=2',
      'train.sample_every=2',
  )
  proc = run_module('gen.eval.neighbours', f'--workdir={work}', '--num_samples=64',
                    '--features=none', '--num_shown=3', '--k=2')  # fmt: skip
  out = work / 'neighbours'
  for name in ('step_2.png', 'step_2_distances.png'):
    assert (out / name).stat().st_size > 0, name
  result = json.loads((out / 'step_2.json').read_text())
  assert list(result['distances']) == ['pixel']
  s = result['distances']['pixel']
  for group in (s['samples'], s['test']):
    assert all(math.isfinite(v) for v in group.values())
  assert s['samples']['n'] == 64 and s['test']['n'] == 64 and s['samples']['min'] > 0
  assert math.isfinite(s['p_value']) and math.isfinite(s['threshold'])
  assert len(result['shown']) == 3 and len(result['shown'][0]['pixel']['distances']) == 2
  p = result['provenance']
  assert p['num_train_images'] == 1497 and p['num_samples'] == 64 and p['k'] == 2
  assert p['features'] == {'skipped': 'switched off with --features=none'}
  assert 'pixel: nearest-train distance median' in proc.stdout and 'Wrote' in proc.stdout


@pytest.mark.parametrize('case', ['missing', 'ring8'])
def test_cli_bad_input_is_oneone_error_line(tmp_path, case):
  work = tmp_path / 'run'
  if case == 'ring8':
    work.mkdir()  # config.json alone: the refusal comes before any checkpoint is read
    config = config_lib.load(f'{ROOT}/configs/gan.py:ring8')
    (work / 'config.json').write_text(config_lib.to_json(config))
  line = one_error_line(run_module('gen.eval.neighbours', f'--workdir={work}', check=False))
  want = {'missing': 'config.json not found', 'ring8': "'ring8' is 2D points, not images"}[case]
  assert want in line
  assert not (work / 'neighbours').exists()


@pytest.mark.parametrize(
    'counts, want',
    [
        ({'num_samples': 4, 'num_shown': 5}, '--num_shown=5: must be at most --num_samples=4'),
        ({'k': 0}, '--k=0: must be >= 1'),
        ({'num_samples': 0}, '--num_samples=0: must be >= 1'),
    ],
)
def test_bad_counts_are_refused_before_the_run_is_read(tmp_path, counts, want):
  with pytest.raises(neighbours.NeighboursError, match=want):
    neighbours.run(str(tmp_path / 'nothing'), **counts)
