"""Optimizers from config: one optax transformation per player."""

from __future__ import annotations

import math

import jax.numpy as jnp
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
  if 'lr_decay' in cfg:
    config_lib.require_number(cfg.lr_decay, f'{key}.lr_decay', 0.0, 1.0, closed_high=True)
  if cfg.get('lr_stages'):
    stages = cfg.lr_stages
    ok = isinstance(stages, (tuple, list)) and all(
        isinstance(s, (tuple, list)) and len(s) == 2 and config_lib.is_int(s[0]) and s[0] >= 1
        and isinstance(s[1], (int, float)) and s[1] > 0 for s in stages
    )  # fmt: skip
    config_lib.require(ok, f'{key}.lr_stages', stages, 'must be ((steps, lr), ...), steps >= 1, lr > 0')
    config_lib.require('lr_decay' not in cfg, f'{key}.lr_stages', stages, f'excludes {key}.lr_decay')
  for name, bounds in _RANGES[cfg.name].items():
    if name in cfg:
      config_lib.require_number(cfg[name], f'{key}.{name}', *bounds)


def _schedule(lr: float, decay: float) -> optax.Schedule:
  """t -> lr * decay**t, as exp(t log decay) with the log taken in float64: float32's
  rounding of 0.999995 alone would shift the rate by 1.5 % after 500k steps."""
  if decay == 0.0:
    return lambda t: jnp.where(t == 0, lr, 0.0)
  log_decay = math.log(decay)
  return lambda t: lr * jnp.exp(t * log_decay)


def _stages(stages) -> optax.Schedule:
  """Piecewise constant: stage i's lr for its steps, the last stage's lr after them."""
  ends = jnp.cumsum(jnp.array([s for s, _ in stages]))
  rates = jnp.array([lr for _, lr in stages], jnp.float32)
  return lambda t: rates[jnp.minimum(jnp.searchsorted(ends, t, side='right'), len(stages) - 1)]


def make(cfg, key: str = 'optim') -> optax.GradientTransformation:
  """cfg: the dict at config key `key` (named in errors): name ('adam' | 'rmsprop' | 'sgd'),
  lr > 0, and optionally:

  Adam: b1, b2, eps, eps_root. eps_root > 0 (inside the square root) keeps
    Adam differentiable where a gradient is exactly 0, which unrolled GANs need
    (optax.scale_by_adam's documented use).
  RMSProp: decay, eps; eps is added outside the square root as in PyTorch's
    and TensorFlow's RMSProp, which the WGAN reference code used.
  Any optimizer: lr_stages ((steps, lr), ...), a piecewise constant rate (the IWAE
    paper's 8 stages; the last stage's rate continues after its steps; lr then only
    documents the first), or lr_decay in [0, 1], a multiplicative decay every step,
    lr_t = lr * lr_decay**t at update t = 0, 1, ... (PixelCNN++: openai train.py's
    lr * 0.999995 per step, which decays before each update, so its update t uses
    lr_decay**(t + 1)); absent, the rate is constant.
  Betas and decay are in [0, 1), eps and eps_root >= 0 (ConfigError otherwise).
  """
  _check(cfg, key)
  lr = _schedule(cfg.lr, cfg.lr_decay) if 'lr_decay' in cfg else cfg.lr
  if cfg.get('lr_stages'):
    lr = _stages(cfg.lr_stages)
  if cfg.name == 'adam':
    tx = optax.adam(
        lr,
        b1=cfg.get('b1', 0.9),
        b2=cfg.get('b2', 0.999),
        eps=cfg.get('eps', 1e-8),
        eps_root=cfg.get('eps_root', 0.0),
    )
  elif cfg.name == 'rmsprop':
    tx = optax.rmsprop(
        lr, decay=cfg.get('decay', 0.9), eps=cfg.get('eps', 1e-8), eps_in_sqrt=False
    )
  else:
    tx = optax.sgd(lr)
  return tx
