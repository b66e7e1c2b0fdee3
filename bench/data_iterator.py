r"""Host time per batch: our BatchIterator vs grain's per-record MapDataset pipeline.

  python bench/data_iterator.py                      # ring8, batch 512
  python bench/data_iterator.py --dataset=digits --batch=64

Record results in docs/RESULTS.md with the command.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import grain  # noqa: E402
from absl import app, flags  # noqa: E402

from gen.data import iterator, sources  # noqa: E402

_DATASET = flags.DEFINE_string('dataset', 'ring8', 'A built-in or local dataset name.')
_BATCH = flags.DEFINE_integer('batch', 512, 'Batch size.')
_BATCHES = flags.DEFINE_integer('batches', 100, 'Timed batches.')


class _Records:
  """One example per __getitem__, as grain's MapDataset reads a source."""

  def __init__(self, source):
    self.source = source

  def __len__(self):
    return len(self.source)

  def __getitem__(self, i):
    return self.source.get([i])['x'][0]


def _ms_per_batch(next_batch) -> float:
  next_batch(0)
  start = time.perf_counter()
  for i in range(1, _BATCHES.value + 1):
    next_batch(i)
  return (time.perf_counter() - start) / _BATCHES.value * 1e3


def main(argv):
  del argv
  source = sources.load(_DATASET.value, 'train')
  ours = iterator.BatchIterator(source, _BATCH.value, seed=0)
  records = grain.MapDataset.source(_Records(source)).shuffle(seed=0).batch(_BATCH.value)
  print(f'{_DATASET.value}, batch {_BATCH.value}:')
  print(f'  gen BatchIterator          {_ms_per_batch(lambda i: next(ours)):8.3f} ms/batch')
  print(f'  grain MapDataset (records) {_ms_per_batch(lambda i: records[i]):8.3f} ms/batch')


if __name__ == '__main__':
  app.run(main)
