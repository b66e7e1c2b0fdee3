"""Class labels of conditional models: how many a model needs, and the default labels of
its sample grids. Shared by every family with a class-conditional variant."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gen import config as config_lib


def default_labels(n: int, num_classes: int) -> jax.Array:
  """Classes for n conditional samples in contiguous blocks: with n = num_classes**2 the
  sample grid (ceil(sqrt(n)) columns) has a row per class."""
  return (jnp.arange(n) * num_classes) // n


def num_classes(config, info, model: str) -> int:
  """The number of classes a class-conditional model (model.conditional) needs, else 0."""
  config_lib.require_bool(config.model.conditional, 'model.conditional')
  if not config.model.conditional:
    return 0
  config_lib.require(
      bool(info.num_classes),
      'model.conditional',
      True,
      f'{info.name} has no labels for a class-conditional {model}: use a labelled dataset '
      '(e.g. data.name=mnist) or model.conditional=False',
  )
  return info.num_classes
