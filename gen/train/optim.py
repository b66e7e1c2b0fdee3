"""Optimizers from config: one optax transformation per player."""

from __future__ import annotations

import optax

from gen.config import ConfigError


def make(cfg) -> optax.GradientTransformation:
  """cfg: name ('adam' | 'rmsprop' | 'sgd'), lr, and optionally:

  Adam: b1, b2, eps, eps_root. eps_root > 0 (inside the square root) keeps
    Adam differentiable where a gradient is exactly 0, which unrolled GANs need
    (optax.scale_by_adam's documented use).
  RMSProp: decay, eps; eps is added outside the square root as in PyTorch's
    and TensorFlow's RMSProp, which the WGAN reference code used.
  """
  if cfg.name == 'adam':
    tx = optax.adam(
        cfg.lr,
        b1=cfg.get('b1', 0.9),
        b2=cfg.get('b2', 0.999),
        eps=cfg.get('eps', 1e-8),
        eps_root=cfg.get('eps_root', 0.0),
    )
  elif cfg.name == 'rmsprop':
    tx = optax.rmsprop(
        cfg.lr, decay=cfg.get('decay', 0.9), eps=cfg.get('eps', 1e-8), eps_in_sqrt=False
    )
  elif cfg.name == 'sgd':
    tx = optax.sgd(cfg.lr)
  else:
    raise ConfigError(f'Unknown optimizer {cfg.name!r}; valid: adam, rmsprop, sgd.')
  return tx
