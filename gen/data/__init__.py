"""Data: named sources, host preprocessing, and the sharded batch iterator.

Entry points used by the loop and by evaluation:
  info(config)                                   -> DatasetInfo
  train_iterator(config, process_index, count)  -> BatchIterator (checkpointable)
  eval_batches(config, split, batch_size)        -> iterator of (batch, num_valid)
"""

from __future__ import annotations

from gen import config as config_lib
from gen.data import iterator as iterator_lib
from gen.data import preprocess as preprocess_lib
from gen.data import sources


def source(config, split: str):
  return sources.load(config.data.name, split, config.data.dir or None)


def info(config) -> sources.DatasetInfo:
  """The dataset's info. Split names a local dataset lacks are errors naming their config key,
  so that a bad `data.train_split` fails at start-up, not once training begins."""
  local = sources.local_info(config.data.name)
  if local is not None:
    for key in ('train_split', 'eval_split'):
      split = config.data[key]
      config_lib.require(
          split in local.splits,
          f'data.{key}',
          split,
          f'must be a split of {local.name}: {", ".join(local.splits)}',
      )
  return source(config, config.data.eval_split).info


def preprocessor(config, dataset_info: sources.DatasetInfo):
  return preprocess_lib.make(
      dataset_info.kind,
      dataset_info.levels,
      scale=config.data.scale,
      binarize=config.data.binarize,
      dequantize=config.data.dequantize,
  )


def train_iterator(
    config, process_index: int = 0, process_count: int = 1, num_micro: int = 1
) -> iterator_lib.BatchIterator:
  src = source(config, config.data.train_split)
  return iterator_lib.BatchIterator(
      src,
      config.train.batch_size,
      config.seed,
      process_index=process_index,
      process_count=process_count,
      num_micro=num_micro,
      preprocess=preprocessor(config, src.info),
  )


def binarization(config) -> str:
  """The binarization protocol of a run's data, as eval provenance records it."""
  if config.data.name == 'binarized_mnist':
    return 'fixed: the Larochelle & Murray (2011) files'
  if config.data.binarize:
    return (
        'dynamic: x ~ Bernoulli(pixel intensity), train resampled every batch, the evaluated '
        f'split binarized once (seed {config.seed}, the same draw on every evaluation)'
    )
  return 'none'


def eval_batches(config, split: str | None = None, batch_size: int | None = None):
  """The split's examples in order, the first `eval.num_examples` of them where that is > 0."""
  src = source(config, split or config.data.eval_split)
  return iterator_lib.eval_batches(
      src,
      batch_size or config.eval.batch_size,
      preprocessor(config, src.info),
      seed=config.seed,
      limit=config.eval.get('num_examples', 0),
  )
