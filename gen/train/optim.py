"""Optimizers from config: one optax transformation per player."""

from __future__ import annotations

import optax

from gen import config as config_lib

# Each optimizer's optional keys and their ranges: (low, high) is [low, high), (low,) >= low.
_RANGES = {
    'adam': {'b1': (0.0, 1.0), 'b2': (0.0, 1.0), 'eps': (0.0,), 'eps_root': (0.0,)},
    'rmsprop': {'decay': (0.0, 1.0), 'eps': (0.0,)},
    'sgd': {},
}
NAMES = tuple(_RANGES)


def _check(cfg, key: str) -> None:
  # Keys of another optimizer are left alone: switching `name` on the command line keeps them.
  config_lib.require_choice(cfg.name, f'{key}.name', NAMES)
  config_lib.require_number(cfg.lr, f'{key}.lr', 0.0, open_low=True)
  for name, bounds in _RANGES[cfg.name].items():
    if name in cfg:
      config_lib.require_number(cfg[name], f'{key}.{name}', *bounds)


def make(cfg, key: str = 'optim') -> optax.GradientTransformation:
  """cfg: the dict at config key `key` (named in errors): name ('adam' | 'rmsprop' | 'sgd'),
  lr > 0, and optionally:

  Adam: b1, b2, eps, eps_root. eps_root > 0 (inside the square root) keeps
    Adam differentiable where a gradient is exactly 0, which unrolled GANs need
    (optax.scale_by_adam's documented use).
  RMSProp: decay, eps; eps is added outside the square root as in PyTorch's
    and TensorFlow's RMSProp, which the WGAN reference code used.
  Betas and decay are in [0, 1), eps and eps_root >= 0 (ConfigError otherwise).
  """
  _check(cfg, key)
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
  else:
    tx = optax.sgd(cfg.lr)
  return tx
