"""The batch iterator: determinism, epochs, resumption, per-process shards, preprocessing."""

import numpy as np
import pytest

from gen.data import iterator, preprocess


class _Range:
  """A source whose example i is the integer i."""

  def __init__(self, n):
    self.n = n

  def __len__(self):
    return self.n

  def get(self, idx):
    return {'x': np.asarray(idx, np.int64)}


def _take(it, steps):
  return np.concatenate([next(it)['x'].reshape(-1) for _ in range(steps)])


def test_deterministic_for_a_seed_and_different_across_seeds():
  a = _take(iterator.BatchIterator(_Range(100), 10, seed=3), 5)
  b = _take(iterator.BatchIterator(_Range(100), 10, seed=3), 5)
  c = _take(iterator.BatchIterator(_Range(100), 10, seed=4), 5)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)


def test_every_example_once_per_epoch_with_batches_across_epochs():
  n, batch = 103, 10  # 103 is not a multiple of 10: batches span epochs
  seen = _take(iterator.BatchIterator(_Range(n), batch, seed=0), 31)  # 310 = 3 epochs + 1
  for epoch in range(3):
    assert sorted(seen[epoch * n : (epoch + 1) * n]) == list(range(n))
  assert not np.array_equal(seen[:n], seen[n : 2 * n])  # reshuffled every epoch


def test_resumes_where_it_stopped():
  it = iterator.BatchIterator(_Range(50), 8, seed=1)
  _take(it, 4)
  state = it.get_state()
  rest = _take(it, 6)
  fresh = iterator.BatchIterator(_Range(50), 8, seed=1)
  fresh.set_state(state)
  np.testing.assert_array_equal(_take(fresh, 6), rest)


def test_processes_split_each_global_batch():
  single = iterator.BatchIterator(_Range(64), 16, seed=2)
  shards = [
      iterator.BatchIterator(_Range(64), 16, seed=2, process_index=i, process_count=4)
      for i in range(4)
  ]
  for _ in range(5):
    whole = next(single)['x']
    parts = [next(s)['x'] for s in shards]
    assert all(len(p) == 4 for p in parts)
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_micro_batches_stack_consecutive_global_batches():
  plain = _take(iterator.BatchIterator(_Range(40), 4, seed=0), 6)
  stacked = iterator.BatchIterator(_Range(40), 4, seed=0, num_micro=3)
  b = next(stacked)['x']
  assert b.shape == (3, 4)
  np.testing.assert_array_equal(
      np.concatenate([b.reshape(-1), next(stacked)['x'].reshape(-1)]), plain
  )


def test_batch_not_divisible_by_processes_is_an_error():
  with pytest.raises(ValueError, match='not divisible'):
    iterator.BatchIterator(_Range(10), 10, seed=0, process_count=3)


def test_eval_batches_cover_every_example_once():
  seen, total = [], 0
  for batch, valid in iterator.eval_batches(_Range(23), 10):
    assert batch['x'].shape == (10,)
    seen.extend(batch['x'][:valid])
    total += valid
  assert total == 23 and seen == list(range(23))


@pytest.mark.parametrize('limit, expected', [(0, 23), (7, 7), (10, 10), (15, 15), (99, 23)])
def test_eval_batches_stop_after_the_first_limit_examples(limit, expected):
  seen = []
  for batch, valid in iterator.eval_batches(_Range(23), 10, limit=limit):
    assert batch['x'].shape == (10,)
    seen.extend(batch['x'][:valid])
  assert seen == list(range(expected))


def _images(n=6):
  return {'x': np.arange(n * 4, dtype=np.uint8).reshape(n, 2, 2, 1) * 10}


def test_scaling():
  x = _images()['x']
  unit = preprocess.make('image', 256, scale='unit', binarize=False, dequantize=False)
  sym = preprocess.make('image', 256, scale='symmetric', binarize=False, dequantize=False)
  rng = np.random.default_rng(0)
  np.testing.assert_allclose(unit(_images(), rng, slice(None), 6)['x'], x / 255.0, rtol=1e-6)
  np.testing.assert_allclose(
      sym(_images(), rng, slice(None), 6)['x'], x / 127.5 - 1.0, rtol=1e-5, atol=1e-6
  )


def test_dynamic_binarization_is_bernoulli_of_intensity():
  batch = {'x': np.full((4000, 1, 1, 1), 64, np.uint8)}
  f = preprocess.make('image', 256, scale='unit', binarize=True, dequantize=False)
  out = f(batch, np.random.default_rng(0), slice(None), 4000)['x']
  assert set(np.unique(out)) <= {0.0, 1.0}
  assert abs(out.mean() - 64 / 255) < 0.02


def test_dequantization_stays_in_its_bin():
  f = preprocess.make('image', 256, scale='unit', binarize=False, dequantize=True)
  b = _images()
  out = f(b, np.random.default_rng(0), slice(None), 6)['x']
  lo = b['x'] / 256.0
  assert np.all(out >= lo) and np.all(out < lo + 1 / 256.0)


def test_random_preprocessing_is_independent_of_process_count():
  f = preprocess.make('image', 256, scale='unit', binarize=True, dequantize=False)
  b = {'x': np.full((8, 3, 3, 1), 128, np.uint8)}
  whole = f(b, np.random.default_rng([0, 1, 0]), slice(None), 8)['x']
  half = f({'x': b['x'][4:]}, np.random.default_rng([0, 1, 0]), slice(4, 8), 8)['x']
  np.testing.assert_array_equal(whole[4:], half)
