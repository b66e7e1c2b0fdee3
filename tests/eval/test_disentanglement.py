"""Tests of the beta-VAE metric (gen.eval.disentanglement) on the rendered dSprites.

The scores use num_train=500 and num_eval=300 points (the metric's defaults are 10,000 and
5,000) so that each test runs in seconds; the batch of 64 images per point is the default.
"""

import jax
import numpy as np
import pytest

from gen.data import dsprites
from gen.eval import disentanglement

# One worker runs this module, so its module-scoped fixtures are built once (under
# --dist loadgroup, ungrouped tests spread over the workers and each would build them).
pytestmark = pytest.mark.xdist_group('disentanglement')

NUM_TRAIN, NUM_EVAL = 500, 300


class _Recorder:
  """dSprites that remembers what it rendered, so an encoder can look up the true factors.

  The metric renders a chunk and encodes it right away; the oracle encoders below check that
  the images they get are that chunk as float32 in [0, 1] before reading its factors.
  """

  factor_sizes = dsprites.factor_sizes
  levels = dsprites.levels

  def __init__(self):
    self.pending = []

  def sample_factors(self, rng, n):
    return dsprites.sample_factors(rng, n)

  def render(self, factors):
    images = dsprites.render(factors)
    self.pending.append((np.array(factors), images))
    return images

  def factors_of(self, x) -> np.ndarray:
    factors, images = self.pending.pop(0)
    assert x.dtype == np.float32 and x.shape == images.shape
    np.testing.assert_array_equal(x, images.astype(np.float32))  # binary: 0/1 -> 0.0/1.0
    return factors


def _normalised(factors) -> np.ndarray:
  return factors / (np.array(dsprites.factor_sizes) - 1.0)


def _oracle(data: _Recorder, noise: float = 1e-3, mix: np.ndarray | None = None):
  rng = np.random.default_rng(123)

  def encode(x):
    z = _normalised(data.factors_of(x))
    if mix is not None:
      z = z @ mix
    return z + noise * rng.standard_normal(z.shape)

  return encode


def _score(encode, data, seed=0, **kwargs):
  kwargs = {'num_train': NUM_TRAIN, 'num_eval': NUM_EVAL, **kwargs}
  return disentanglement.beta_vae_score(encode, data, seed, **kwargs)


@pytest.fixture(scope='module')
def oracle_score():
  data = _Recorder()
  out = _score(_oracle(data), data)
  assert not data.pending  # every rendered chunk was encoded
  return out


def test_oracle_encoder_scores_near_one(oracle_score):
  out = oracle_score
  assert out['train_accuracy'] >= 0.95 and out['eval_accuracy'] >= 0.95, out
  assert (out['num_train'], out['num_eval'], out['batch_size']) == (NUM_TRAIN, NUM_EVAL, 64)


def test_encoder_ignoring_the_image_scores_near_chance():
  rng = np.random.default_rng(7)
  out = _score(lambda x: rng.standard_normal((len(x), 10)), dsprites)  # chance: 1/5
  assert out['eval_accuracy'] < 0.4, out


def _mixing_rotation() -> np.ndarray:
  """A rotation of the 5 factors that mixes them all: the one of 100 random rotations whose
  largest entry is smallest (0.65; a random one can be close to a signed permutation)."""
  draws = [np.random.default_rng(s).standard_normal((5, 5)) for s in range(100)]
  rotations = [np.linalg.qr(m)[0] for m in draws]
  return min(rotations, key=lambda q: np.abs(q).max())


def test_entangled_encoder_scores_below_the_oracle(oracle_score):
  # Every latent mixes all factors. The metric still finds the fixed factor from the pattern
  # of small differences (0.56-0.77 over 5 seeds at these sizes; 0.97 with 10,000 points for a
  # less mixing rotation): it measures a linear-readout notion of disentanglement.
  data = _Recorder()
  entangled = _score(_oracle(data, mix=_mixing_rotation()), data)
  oracle = oracle_score
  assert entangled['eval_accuracy'] < min(0.9, oracle['eval_accuracy'] - 0.1), (entangled, oracle)


def test_liblinear_one_vs_rest_also_scores_the_oracle_near_one():
  data = _Recorder()
  out = _score(_oracle(data), data, num_train=200, num_eval=100, solver='liblinear')
  assert out['eval_accuracy'] >= 0.95, out
  with pytest.raises(ValueError, match='solver'):
    _score(_oracle(data), data, solver='sag')


def test_deterministic_in_the_seed_and_accepts_jax_keys():
  def encode(x):  # a fixed function of the image: mass and centroid, of order 1
    rows, cols = x.sum(axis=(2, 3)), x.sum(axis=(1, 3))
    mass = rows.sum(1)
    grid = np.arange(64) / 64
    return np.stack([mass / 400, rows @ grid / mass, cols @ grid / mass], 1)

  small = {'num_train': 60, 'num_eval': 40, 'batch_size': 16}
  a = _score(encode, dsprites, 5, **small)
  assert a == _score(encode, dsprites, 5, **small)
  b = _score(encode, dsprites, jax.random.PRNGKey(5), **small)
  assert b == _score(encode, dsprites, jax.random.key(5), **small)
  assert 0 <= a['eval_accuracy'] <= 1 and 0 <= b['eval_accuracy'] <= 1


@pytest.mark.parametrize('num_points', [3, 37])  # one short call; several, the last padded
def test_batched_points_match_the_reference_loop(num_points):
  # disentanglement_lib's _generate_training_sample, one point at a time, with the same draws.
  batch_size = 64
  data = _Recorder()
  features, labels = disentanglement._points(
      _oracle(data, noise=0), data, np.random.default_rng(11), batch_size, num_points
  )
  rng = np.random.default_rng(11)
  for i in range(num_points):
    k = rng.integers(5)
    first = dsprites.sample_factors(rng, batch_size)
    second = dsprites.sample_factors(rng, batch_size)
    second[:, k] = first[:, k]
    expected = np.mean(np.abs(_normalised(first) - _normalised(second)), axis=0)
    assert labels[i] == k
    np.testing.assert_allclose(features[i], expected, rtol=0, atol=1e-12)
    assert expected[k] == 0


def test_bad_encoder_output_is_an_error():
  with pytest.raises(ValueError, match=r'expected \(N, d\)'):
    _score(lambda x: np.zeros(len(x)), dsprites, num_train=4, num_eval=4)
