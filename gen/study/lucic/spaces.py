"""The search spaces of Lucic et al. 2018 ("Are GANs Created Equal?", arXiv 1711.10337),
exactly as compare_gan's src/params.py at cg@49495fd (the paper's code).

Every game has a default (sample 0 of every search: "the ones used in the paper",
generate_tasks_lib.py `GetDefaultParams`) and, per phase, a range and a
distribution, kept as params.py states them (`ParamInfo(default, range,
is_log_scale, is_discrete)`):

  uniform      random.uniform(lo, hi)
  log_uniform  10 ** random.uniform(lo, hi)   (lo, hi are exponents)
  choice       random.choice(values)

Parameter names are compare_gan's (beta1, learning_rate, disc_iters,
discriminator_batchnorm, weight_clipping, lambda, gamma); mapping them onto gen's
config keys is the runner's job. Quirks kept on purpose (reference sheet
cyclegan_lucic.md, 2.4):
  - disc_iters "[1, 5]" is choice{1, 5}, not 1..5 (phase 1); {1} for every game in
    phase 2, while the defaults keep 5 for WGAN, WGAN-GP and BEGAN;
  - the narrow beta1 is the single choice {0.5} (sample 0 keeps NS / MM's 0.0);
  - DRAGAN's narrow batch-norm range is {False} but its default stays True
    (params.py `DRAGANHyperParams` updates the default after adding the range);
    the VAE's narrow default is False, its wide one True;
  - BEGAN's narrow lambda is log_uniform(-3, -3): always 1e-3, but it still draws
    a random number, which shifts every later draw.
"""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Any

# compare_gan's order (generate_tasks_lib.py `ALL_GANS`) and names. The order is part
# of the sampler: one random stream runs through the games in this order.
GAMES = ('ns_gan', 'mm_gan', 'wgan', 'wgan_gp', 'dragan', 'vae', 'lsgan', 'began')
COMPARE_GAN_NAME = {
    'ns_gan': 'GAN',
    'mm_gan': 'GAN_MINMAX',
    'wgan': 'WGAN',
    'wgan_gp': 'WGAN_GP',
    'dragan': 'DRAGAN',
    'vae': 'VAE',
    'lsgan': 'LSGAN',
    'began': 'BEGAN',
}
WIDE, NARROW = 'wide', 'narrow'  # phase 1, phase 2 (params.py WIDE_RANGE, NARROW_RANGE)
KINDS = ('uniform', 'log_uniform', 'choice')


@dataclasses.dataclass(frozen=True)
class Param:
  """One hyperparameter: its default and the distribution of a random sample."""

  default: Any
  kind: str  # KINDS
  values: tuple  # (lo, hi) for uniform and log_uniform (exponents), else the choices

  def sample(self, rng: random.Random):
    """One draw, consuming the random stream exactly as `GetSample` under Python 2.7."""
    if self.kind == 'choice':
      # compare_gan ran on Python 2.7, whose random.choice is seq[int(random() * len)].
      # Python 3's choice draws through getrandbits and gives other values (and
      # consumes the stream differently), so the Python 2 rule is spelled out here.
      return self.values[int(rng.random() * len(self.values))]
    lo, hi = self.values
    v = rng.uniform(lo, hi)  # lo + (hi - lo) * random(), the same in Python 2 and 3
    return math.pow(10, v) if self.kind == 'log_uniform' else v

  def bounds(self) -> tuple[float, float]:
    """The interval a continuous sample lies in (log_uniform: 10**lo .. 10**hi)."""
    lo, hi = self.values
    return (math.pow(10, lo), math.pow(10, hi)) if self.kind == 'log_uniform' else (lo, hi)

  def contains(self, value) -> bool:
    """Whether `value` is a possible random sample of this parameter."""
    if self.kind == 'choice':
      return any(type(value) is type(c) and value == c for c in self.values)
    lo, hi = self.bounds()
    return isinstance(value, float) and lo <= value <= hi


def _uniform(default, lo, hi):
  return Param(default, 'uniform', (lo, hi))


def _log(default, lo, hi):
  return Param(default, 'log_uniform', (lo, hi))


def _choice(default, *values):
  return Param(default, 'choice', values)


def _base(range_type: str) -> dict[str, Param]:
  """params.py `GetDefaultWideRange` / `GetDefaultNarrowRange` (defaults replaced per game)."""
  if range_type == WIDE:
    return dict(
        beta1=_uniform(0.5, 0.0, 1.0),
        learning_rate=_log(0.0001, -5.0, -2.0),
        disc_iters=_choice(1, 1, 5),  # {1, 5}: random.choice([1, 5])
        discriminator_batchnorm=_choice(True, True, False),
    )
  # Narrow: no batch-norm entry here; every game adds its own (params.py NOTE).
  return dict(
      beta1=_choice(0.5, 0.5),
      learning_rate=_log(0.0001, -4.0, -3.0),
      disc_iters=_choice(1, 1),
  )


# Per game: the defaults (params.py `UpdateDefaults`), the narrow batch-norm entry
# (`AddRange("discriminator_batchnorm", ...)` under NARROW_RANGE) and the game's own
# parameters per range. Batch norm is D's (the VAE's encoder's; BEGAN's autoencoder's).
_DEFAULTS = {
    'ns_gan': dict(beta1=0.0, learning_rate=0.00005, disc_iters=1, discriminator_batchnorm=True),
    'mm_gan': dict(beta1=0.0, learning_rate=0.00005, disc_iters=1, discriminator_batchnorm=True),
    'wgan': dict(beta1=0.5, learning_rate=0.00005, disc_iters=5, discriminator_batchnorm=True),
    'wgan_gp': dict(beta1=0.5, learning_rate=0.0001, disc_iters=5, discriminator_batchnorm=False),
    'dragan': dict(beta1=0.5, learning_rate=0.0001, disc_iters=1, discriminator_batchnorm=True),
    'vae': dict(beta1=0.5, learning_rate=0.00005),  # disc_iters unused by the VAE
    'lsgan': dict(beta1=0.5, learning_rate=0.0002, disc_iters=1, discriminator_batchnorm=True),
    'began': dict(beta1=0.5, learning_rate=0.0001, disc_iters=5, discriminator_batchnorm=False),
}
_NARROW_BATCHNORM = {
    'ns_gan': _choice(True, True, False),
    'mm_gan': _choice(True, True, False),
    'wgan': _choice(True, True, False),
    'wgan_gp': _choice(False, False),  # "From the barplot, clearly False is better."
    'dragan': _choice(False, False),  # same comment; the default is then set back to True
    'vae': _choice(False, True, False),  # "Needed because AbstractGAN expects this param."
    'lsgan': _choice(True, True, False),
    'began': _choice(False, True, False),
}
_EXTRA = {
    WIDE: {
        'wgan': dict(weight_clipping=_log(0.01, -3.0, 0.0)),
        'wgan_gp': {'lambda': _log(10.0, -1.0, 2.0)},  # gradient-penalty weight
        'dragan': {'lambda': _log(10.0, -1.0, 2.0)},
        'began': {'lambda': _log(0.001, -4.0, -2.0), 'gamma': _uniform(0.75, 0.0, 1.0)},  # k rate
    },
    NARROW: {
        'wgan': dict(weight_clipping=_log(0.01, -2.0, 0.0)),
        'wgan_gp': {'lambda': _log(10.0, -1.0, 1.0)},
        'dragan': {'lambda': _log(10.0, -1.0, 1.0)},
        'began': {'lambda': _log(0.001, -3.0, -3.0), 'gamma': _uniform(0.75, 0.6, 0.9)},
    },
}


def space(game: str, range_type: str) -> dict[str, Param]:
  """params.py `GetParameters(gan_type, dataset, range_type)` for gen's game name:
  {name: Param}, in params.py's order of insertion (the sampler sorts the names)."""
  if game not in GAMES:
    raise ValueError(f'unknown game {game!r}; valid games: {", ".join(GAMES)}')
  if range_type not in (WIDE, NARROW):
    raise ValueError(f'unknown range {range_type!r}; valid ranges: {WIDE}, {NARROW}')
  params = _base(range_type)
  if range_type == NARROW:
    params['discriminator_batchnorm'] = _NARROW_BATCHNORM[game]
  for name, default in _DEFAULTS[game].items():
    params[name] = dataclasses.replace(params[name], default=default)
  params.update(_EXTRA[range_type].get(game, {}))
  return params


def defaults(game: str, range_type: str) -> dict[str, Any]:
  """Sample 0 of a search: every parameter at its default."""
  return {name: p.default for name, p in space(game, range_type).items()}


def draw(game: str, range_type: str, rng: random.Random) -> dict[str, Any]:
  """One random sample, parameters drawn in sorted-name order (`GetSample`)."""
  return {name: p.sample(rng) for name, p in sorted(space(game, range_type).items())}
