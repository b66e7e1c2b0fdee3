"""Applying Flax modules whose variables live in the State as params + batch_stats."""

from __future__ import annotations

import flax.linen as nn


def init_variables(module: nn.Module, rngs, *args, **kwargs) -> tuple[dict, dict]:
  """Returns (params, batch_stats); batch_stats is {} for modules without batch norm."""
  variables = module.init(rngs, *args, **kwargs)
  return variables['params'], variables.get('batch_stats', {})


def apply(module: nn.Module, params, batch_stats, *args, **kwargs):
  """Returns (output, new_batch_stats). Batch norm updates its running stats
  whenever the module runs in training mode (`train=True`)."""
  variables = {'params': params}
  if batch_stats:
    variables['batch_stats'] = batch_stats
    out, updates = module.apply(variables, *args, mutable=['batch_stats'], **kwargs)
    return out, updates['batch_stats']
  return module.apply(variables, *args, **kwargs), batch_stats
