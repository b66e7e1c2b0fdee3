"""Optimizers from config: one optax transformation per player."""

from __future__ import annotations

import optax

from gen.config import ConfigError


def make(cfg) -> optax.GradientTransformation:
  """cfg: name ('adam' | 'rmsprop' | 'sgd'), lr, and b1/b2 for Adam."""
  if cfg.name == 'adam':
    tx = optax.adam(cfg.lr, b1=cfg.get('b1', 0.9), b2=cfg.get('b2', 0.999))
  elif cfg.name == 'rmsprop':
    tx = optax.rmsprop(cfg.lr)
  elif cfg.name == 'sgd':
    tx = optax.sgd(cfg.lr)
  else:
    raise ConfigError(f'Unknown optimizer {cfg.name!r}; valid: adam, rmsprop, sgd.')
  return tx
