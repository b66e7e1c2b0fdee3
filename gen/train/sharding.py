"""Data parallelism: one `data` mesh axis over every device of every process.

State is replicated, batches are sharded on their batch axis. The same jitted
step then runs on one CPU, several GPUs, a TPU slice or several hosts; XLA
inserts the cross-device reductions that the global-batch means need.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from gen.config import ConfigError


def make_mesh() -> Mesh:
  return Mesh(np.asarray(jax.devices()), ('data',))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh, leading_axes: int = 0) -> NamedSharding:
  """Shards the batch axis, which comes after `leading_axes` unsharded ones (a
  micro-batch axis for models with batches_per_step > 1, a call axis in front of
  it with train.steps_per_call > 1)."""
  return NamedSharding(mesh, P(*(None,) * leading_axes, 'data'))


def leading_axes(model, steps_per_call: int = 1) -> int:
  """The axes in front of the batch axis of the batches the loop feeds `model`."""
  return int(steps_per_call > 1) + int(model.batches_per_step > 1)


def put_batch(batch, sharding: NamedSharding):
  """Assembles the global batch from every process's local part."""
  return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, x), batch)


def to_host(tree):
  """Pulls (replicated) device arrays to NumPy; works across processes."""

  def get(x):
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
      return np.asarray(x.addressable_data(0))
    return np.asarray(x)

  return jax.tree.map(get, tree)


def check_batch_size(global_batch: int) -> None:
  n = jax.device_count()
  if global_batch % n:
    raise ConfigError(
        f'train.batch_size={global_batch} is not divisible by the {n} devices; '
        f'use a multiple of {n}.'
    )


def constrain_batch(x):
  """Shards axis 0 of an array made inside a step (e.g. latent noise) on `data`,
  so that the generator's work is split like the real batch; a no-op outside a
  mesh context (jax.set_mesh)."""
  mesh = jax.sharding.get_abstract_mesh()
  if mesh.empty or 'data' not in mesh.axis_names:
    return x
  return jax.lax.with_sharding_constraint(x, P('data'))
