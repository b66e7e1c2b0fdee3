"""Configs: the shared skeleton, presets, loading `file.py:preset` and overrides.

Every config file under configs/ defines `get_config(arg)`; `arg` names a preset.
Command-line overrides are `--config.a.b=value`. Configs are locked, so a key
that does not exist is an error that names the key and lists the valid ones.
`validate` checks every shared key against its meaning at start-up (the models
and optimizers check their own keys with the same `require_*` helpers).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import math
import os
from typing import Callable, Mapping

import ml_collections


class ConfigError(ValueError):
  """A config file, preset or override that cannot be used."""


SCALES = ('unit', 'symmetric', 'none')  # data.scale: [0, 1], [-1, 1], as stored


def base_config() -> ml_collections.ConfigDict:
  """Keys every config has (the loop, data and eval rely on them)."""
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.data = dict(
      name='ring8',
      dir='',  # dir: '' -> $GEN_DATA_DIR
      train_split='train',
      eval_split='test',
      scale='symmetric',  # SCALES: 'unit' [0, 1] | 'symmetric' [-1, 1] | 'none'
      binarize=False,  # dynamic binarization
      dequantize=False,
  )  # uniform dequantization
  c.model = dict(name='')
  c.train = dict(
      num_steps=1000,
      batch_size=64,
      log_every=100,
      checkpoint_every=1000,
      sample_every=1000,
      num_samples=64,  # images in each sample grid
      ema_decay=0.0,  # > 0: EMA of the networks the model names
      skip_nonfinite=False,  # skip and count non-finite updates instead of stopping
      max_to_keep=3,
      # Train steps per jitted call (a lax.scan over that many batches), for small,
      # dispatch-bound steps; num_steps and the *_every intervals must be multiples.
      steps_per_call=1,
      # 'float32' | 'bfloat16': the dtype networks compute in; params, optimizer
      # state, losses and batch-norm statistics stay float32 (gen/nn/apply.py).
      compute_dtype='float32',
  )
  c.eval = dict(
      batch_size=500,  # evaluation batches; also the sampling batch of sample-quality metrics
      num_samples=2500,  # samples of the 2D mixture coverage metrics
      quality_num_samples=10_000,  # samples of FID / IS / KID / PRD / prdc (eval.py --num_samples)
      # The model's own numbers (ELBO, bounds, bits/dim) on the first this many examples
      # of the evaluated split, for a quick look; 0: the whole split (what papers report).
      num_examples=0,
  )
  return c


# train.compute_dtype: the dtype networks compute in (gen.nn.apply keeps params float32).
COMPUTE_DTYPES = ('float32', 'bfloat16')


# -- Checks: one message shape, 'config.<key>=<value>: <what is required>.' -------------------


def require(ok: bool, key: str, value, what: str) -> None:
  """Raises ConfigError naming `config.<key>` and its value unless `ok`; `what` is the rule."""
  if not ok:
    raise ConfigError(f'config.{key}={value!r}: {what}.')


def is_int(value) -> bool:
  return isinstance(value, int) and not isinstance(value, bool)  # True is an int in Python


def require_int(value, key: str, minimum: int = 1) -> None:
  require(is_int(value) and value >= minimum, key, value, f'must be an integer >= {minimum}')


def require_number(
    value, key: str, low: float, high: float = math.inf, *, open_low=False, closed_high=False
) -> None:
  """A finite number from `low` (excluded if open_low) up to `high` (included if closed_high)."""
  if high == math.inf:
    where = f'{">" if open_low else ">="} {low:g}'
  else:
    where = f'in {"(" if open_low else "["}{low:g}, {high:g}{"]" if closed_high else ")"}'
  ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
  ok = ok and (low < value if open_low else low <= value)
  ok = ok and (value <= high if closed_high else value < high)
  require(ok, key, value, f'must be a number {where}')


def require_choice(value, key: str, choices) -> None:
  require(value in choices, key, value, f'must be one of {", ".join(map(str, choices))}')


def require_bool(value, key: str) -> None:
  require(isinstance(value, bool), key, value, 'must be True or False')


def require_sizes(value, key: str) -> None:
  """Layer widths: a tuple (a list once read back from config.json) of integers >= 1."""
  ok = isinstance(value, (tuple, list)) and all(is_int(v) and v >= 1 for v in value)
  require(ok, key, value, 'must be a tuple of integers >= 1, e.g. (128, 128)')


def _require_string(value, key: str) -> None:
  require(isinstance(value, str), key, value, 'must be a string')


def _require_seed(value, key: str) -> None:
  # PRNGKey keeps the low 32 bits: seed 2**32 would silently be seed 0.
  require(is_int(value) and 0 <= value < 2**32, key, value, 'must be an integer in [0, 2**32)')


# Every key of base_config and its check (value, key) -> None.
_CHECKS = (
    ('seed', _require_seed),
    ('data.name', _require_string),
    ('data.dir', _require_string),
    ('data.train_split', _require_string),
    ('data.eval_split', _require_string),
    ('data.scale', functools.partial(require_choice, choices=SCALES)),
    ('data.binarize', require_bool),
    ('data.dequantize', require_bool),
    ('model.name', _require_string),
    ('train.num_steps', require_int),
    ('train.batch_size', require_int),
    ('train.log_every', require_int),
    ('train.checkpoint_every', require_int),
    ('train.sample_every', require_int),
    ('train.num_samples', require_int),
    ('train.ema_decay', functools.partial(require_number, low=0.0, high=1.0)),
    ('train.skip_nonfinite', require_bool),
    ('train.max_to_keep', require_int),
    ('train.steps_per_call', require_int),
    ('train.compute_dtype', functools.partial(require_choice, choices=COMPUTE_DTYPES)),
    ('eval.batch_size', require_int),
    ('eval.num_samples', require_int),
    ('eval.quality_num_samples', require_int),
    ('eval.num_examples', functools.partial(require_int, minimum=0)),
)
_MISSING = object()


def _get(config, key: str):
  """The value at dotted `key`, or _MISSING (a config.json written before the key existed)."""
  node = config
  for part in key.split('.'):
    if part not in node:
      return _MISSING
    node = node[part]
  return node


def validate(config) -> None:
  """Checks every key of `base_config` against its meaning; ConfigError names the first bad one.

  Model and optimizer keys are checked where they are read (each model's `build`,
  `gen.train.optim.make`); split names, which depend on the dataset, by `gen.data.info`.
  """
  for key, check in _CHECKS:
    value = _get(config, key)
    if value is not _MISSING:
      check(value, key)
  require(
      not (config.data.get('binarize') and config.data.get('dequantize')),
      'data.dequantize',
      True,
      'data.binarize and data.dequantize are exclusive: choose one',
  )
  # Logs, samples, checkpoints and SIGTERM are handled between calls of
  # train.steps_per_call steps, so a logged metric is exactly its step's.
  k = config.train.get('steps_per_call', 1)
  for key in ('num_steps', 'log_every', 'checkpoint_every', 'sample_every'):
    value = config.train[key]
    if value % k:
      lower, upper = value - value % k, value - value % k + k
      use = f'{lower} or {upper}' if lower else f'{upper}'
      require(
          False, f'train.{key}', value, f'must be a multiple of train.steps_per_call={k} (logs, '
          f'samples and checkpoints happen between calls): use {use}'
      )  # fmt: skip


def select_preset(
    arg: str | None, presets: Mapping[str, Callable], default: str, where: str
) -> ml_collections.ConfigDict:
  """Builds the named preset; an unknown name lists the valid ones."""
  name = arg or default
  if name not in presets:
    raise ConfigError(
        f'Unknown preset {name!r} for {where}. ' f'Valid presets: {", ".join(sorted(presets))}.'
    )
  config = presets[name]()
  config.lock()
  return config


def _exec_file(path: str, module_name: str):
  module_spec = importlib.util.spec_from_file_location(module_name, path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module


def sibling(config_file: str, name: str):
  """Imports `name`.py from the directory of `config_file` (a config's __file__).

  Lets a config build on another (e.g. every GAN game on configs/gan.py)
  wherever the configs directory lives, without it being a package.
  """
  path = os.path.join(os.path.dirname(os.path.abspath(config_file)), name + '.py')
  return _exec_file(path, f'gen_config_{name}')


def load(spec: str) -> ml_collections.ConfigDict:
  """Loads `path/to/config.py[:preset]`."""
  path, _, arg = spec.partition(':')
  if not os.path.isfile(path):
    raise ConfigError(f'Config file {path!r} not found (from --config={spec}).')
  module = _exec_file(path, 'gen_config_file')
  if not hasattr(module, 'get_config'):
    raise ConfigError(f'{path} defines no get_config(arg).')
  config = module.get_config(arg or None)
  config.lock()
  return config


def _parse_value(text: str, old):
  if isinstance(old, bool):
    if text.lower() in ('true', '1', 'yes'):
      return True
    if text.lower() in ('false', '0', 'no'):
      return False
    raise ConfigError(f'expected a boolean, got {text!r}')
  if isinstance(old, str):
    return text
  try:
    value = ast.literal_eval(text)
  except (ValueError, SyntaxError):
    raise ConfigError(f'cannot parse {text!r} as a {type(old).__name__}') from None
  if isinstance(old, float) and isinstance(value, int):
    value = float(value)
  if isinstance(old, tuple) and isinstance(value, list):
    value = tuple(value)
  if old is not None and not isinstance(value, type(old)):
    raise ConfigError(f'expected a {type(old).__name__}, got {text!r}')
  return value


def _child(node, part: str, key: str, path: list[str]):
  if not isinstance(node, ml_collections.ConfigDict):
    raise ConfigError(f'Unknown config key {key!r}: {".".join(path)} is a value, not a section.')
  if part not in node:
    where = '.'.join(path) or 'the top level'
    raise ConfigError(
        f'Unknown config key {key!r} (no {part!r} in {where}). '
        f'Valid keys there: {", ".join(sorted(node.keys()))}.'
    )
  return node[part]


def override(config: ml_collections.ConfigDict, key: str, text: str) -> None:
  """Sets dotted `key` from its command-line text; unknown keys are errors."""
  *parents, leaf = key.split('.')
  node, path = config, []
  for part in parents:
    node = _child(node, part, key, path)
    path.append(part)
  old = _child(node, leaf, key, path)
  if isinstance(old, ml_collections.ConfigDict):
    raise ConfigError(
        f'{key!r} is a section; set one of its keys: {", ".join(sorted(old.keys()))}.'
    )
  try:
    node[leaf] = _parse_value(text, old)
  except ConfigError as e:
    raise ConfigError(f'Bad value for --config.{key}: {e}.') from None


def split_overrides(argv: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
  """Separates `--config.a.b=v` (and `--config.a.b v`) from the other flags."""
  rest, overrides, i = [], [], 0
  while i < len(argv):
    arg = argv[i]
    if arg.startswith('--config.'):
      key, eq, value = arg[len('--config.') :].partition('=')
      if not eq:
        if i + 1 >= len(argv):
          raise ConfigError(f'{arg} needs a value.')
        value, i = argv[i + 1], i + 1
      overrides.append((key, value))
    else:
      rest.append(arg)
    i += 1
  return rest, overrides


def to_json(config: ml_collections.ConfigDict) -> str:
  return json.dumps(config.to_dict(), indent=2, sort_keys=True, default=list)


def from_json(text: str) -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict(json.loads(text))
  config.lock()
  return config
