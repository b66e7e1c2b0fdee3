"""Configs: the shared skeleton, presets, loading `file.py:preset` and overrides.

Every config file under configs/ defines `get_config(arg)`; `arg` names a preset.
Command-line overrides are `--config.a.b=value`. Configs are locked, so a key
that does not exist is an error that names the key and lists the valid ones.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
from typing import Callable, Mapping

import ml_collections


class ConfigError(ValueError):
  """A config file, preset or override that cannot be used."""


def base_config() -> ml_collections.ConfigDict:
  """Keys every config has (the loop, data and eval rely on them)."""
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.data = dict(
      name='ring8',
      dir='',  # dir: '' -> $GEN_DATA_DIR
      train_split='train',
      eval_split='test',
      scale='symmetric',  # 'unit' [0, 1] | 'symmetric' [-1, 1] | 'none'
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
  )
  return c


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
