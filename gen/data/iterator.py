"""The deterministic, checkpointable, per-process batch iterator.

The stream of examples is the concatenation of epoch permutations: position p is
example `perm(seed, p // N)[p % N]`. A training step consumes the next
`global_batch` positions; each process gathers only its own contiguous slice of
every global batch. Consequences, all by construction:
  * a seed fixes the order; every example is seen exactly once per epoch (no
    remainder is dropped, batches run across epoch boundaries);
  * the iterator state is a single integer (`position`), so resuming is exact;
  * the global batch is the same whatever the number of processes or devices,
    so 1 device, 8 devices and 2 hosts see identical data.

We gather whole batches with one fancy index from a random-access source
instead of a per-record pipeline (e.g. grain's `MapDataset`): the datasets here
are in memory or array_record, and per-record Python costs more than the
2D-mixture training step itself.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from gen.config import ConfigError

Batch = dict[str, np.ndarray]


@functools.lru_cache(maxsize=4)
def _epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
  return np.random.default_rng([seed, epoch]).permutation(n)


def stream_indices(seed: int, start: int, count: int, n: int) -> np.ndarray:
  """Dataset indices at stream positions [start, start + count)."""
  positions = np.arange(start, start + count)
  epochs, offsets = np.divmod(positions, n)
  out = np.empty(count, np.int64)
  for epoch in np.unique(epochs):
    sel = epochs == epoch
    out[sel] = _epoch_permutation(seed, int(epoch), n)[offsets[sel]]
  return out


class BatchIterator:
  """Yields this process's share of each global batch, forever.

  With `num_micro > 1` every step draws `num_micro` consecutive global batches
  and stacks them on a new leading axis (e.g. one per discriminator update).
  `preprocess(batch, rng, local_slice, global_batch)` runs on the host; its rng
  is seeded by (seed, position) and draws for the whole global batch before
  taking this process's slice, so random preprocessing is also independent of
  the process count.
  """

  def __init__(
      self,
      source,
      global_batch: int,
      seed: int,
      *,
      process_index: int = 0,
      process_count: int = 1,
      num_micro: int = 1,
      preprocess: Callable[[Batch, np.random.Generator, slice, int], Batch] | None = None,
      position: int = 0,
  ):
    if global_batch % process_count:
      raise ConfigError(
          f'batch_size {global_batch} is not divisible by the '
          f'{process_count} processes; choose a multiple.'
      )
    self.source = source
    self.global_batch = global_batch
    self.seed = seed
    self.num_micro = num_micro
    self.preprocess = preprocess
    self.position = position
    local = global_batch // process_count
    self._slice = slice(process_index * local, (process_index + 1) * local)

  def _one(self, start: int) -> Batch:
    idx = stream_indices(self.seed, start, self.global_batch, len(self.source))
    batch = self.source.get(idx[self._slice])
    if self.preprocess is not None:
      rng = np.random.default_rng([self.seed, 1, start])
      batch = self.preprocess(batch, rng, self._slice, self.global_batch)
    return batch

  def __iter__(self):
    return self

  def __next__(self) -> Batch:
    starts = [self.position + j * self.global_batch for j in range(self.num_micro)]
    self.position += self.num_micro * self.global_batch
    if self.num_micro == 1:
      return self._one(starts[0])
    parts = [self._one(s) for s in starts]
    return {k: np.stack([p[k] for p in parts]) for k in parts[0]}

  def get_state(self) -> dict:
    return {'position': int(self.position)}

  def set_state(self, state: dict) -> None:
    self.position = int(state['position'])


def eval_batches(source, batch_size: int, preprocess=None, seed: int = 0, limit: int = 0):
  """Every example of `source` once (the first `limit` if that is > 0), in order: yields
  (batch, num_valid).

  The last batch is padded by repeating its first example so that shapes stay
  static under jit; callers weight by the first `num_valid` rows.
  """
  n = min(len(source), limit) if limit > 0 else len(source)
  for start in range(0, n, batch_size):
    idx = np.arange(start, min(start + batch_size, n))
    valid = len(idx)
    idx = np.concatenate([idx, np.full(batch_size - valid, idx[0])])
    batch = source.get(idx)
    if preprocess is not None:
      batch = preprocess(batch, np.random.default_rng([seed, 2, start]), slice(None), batch_size)
    yield batch, valid
