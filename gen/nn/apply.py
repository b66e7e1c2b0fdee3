"""Applying Flax modules whose variables live in the State as params + batch_stats.

Mixed precision (`dtype`, the config's train.compute_dtype) is applied here, where
every network of every model is run, so no network needs a dtype field of its
own: floating params and inputs are cast to the compute dtype, so every layer
computes in it; floating outputs come back as float32 and batch statistics in
their stored float32, so losses, their reductions, gradients, params and
optimizer states stay float32 (Micikevicius et al. 2018, "Mixed precision
training", sec. 3; bfloat16 keeps float32's exponent range, so no loss scaling).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gen import config as config_lib

# train.compute_dtype -> the dtype networks compute in; None: as they are, no casts.
_DTYPES = {'float32': None, 'bfloat16': jnp.bfloat16}


def compute_dtype(name: str):
  """The `dtype` argument of `apply` for a train.compute_dtype value."""
  config_lib.require_choice(name, 'train.compute_dtype', config_lib.COMPUTE_DTYPES)
  return _DTYPES[name]


def cast_floating(tree, dtype):
  """`tree` with its floating arrays cast to `dtype` (integers, bools, keys as they are)."""

  def cast(x):
    if hasattr(x, 'dtype') and jnp.issubdtype(x.dtype, jnp.floating):
      return jnp.asarray(x, dtype)
    return x

  return jax.tree.map(cast, tree)


def init_variables(module: nn.Module, rngs, *args, **kwargs) -> tuple[dict, dict]:
  """Returns (params, batch_stats); batch_stats is {} for modules without batch norm."""
  variables = module.init(rngs, *args, **kwargs)
  return variables['params'], variables.get('batch_stats', {})


def apply(module: nn.Module, params, batch_stats, *args, dtype=None, **kwargs):
  """Returns (output, new_batch_stats). Batch norm updates its running stats
  whenever the module runs in training mode (`train=True`).

  `dtype` (e.g. jnp.bfloat16): the module computes in it (see the module
  docstring); None runs it unchanged.
  """
  if dtype is not None:
    params, args, kwargs = cast_floating((params, args, kwargs), dtype)
  variables = {'params': params}
  if batch_stats:
    # Batch statistics go in as stored (float32): flax computes a batch's mean and
    # variance in float32 and blends them into the running averages in float32.
    variables['batch_stats'] = batch_stats
    out, updates = module.apply(variables, *args, mutable=['batch_stats'], **kwargs)
    new_stats = updates['batch_stats']
  else:
    out, new_stats = module.apply(variables, *args, **kwargs), batch_stats
  if dtype is not None:
    out = cast_floating(out, jnp.float32)
    new_stats = jax.tree.map(lambda new, old: new.astype(old.dtype), new_stats, batch_stats)
  return out, new_stats
