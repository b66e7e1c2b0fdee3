"""Shared command-line plumbing of train.py and eval.py."""

from __future__ import annotations

import sys

import jax
from absl import flags

from gen import config as config_lib
from gen.data import sources
from gen.eval import features
from gen.train import checkpoint
from gen.train import loop

# Errors caused by what the user gave (config, data, run directory): the mains
# print their message alone; anything else is a bug and keeps its traceback.
USER_ERRORS = (
    config_lib.ConfigError,
    sources.DatasetNotFoundError,
    sources.DatasetCorruptError,
    checkpoint.CheckpointError,
    loop.NonFiniteError,
    loop.WorkdirError,
    features.FeatureError,
)

_OVERRIDES: list[tuple[str, str]] = []


def parse_flags_with_overrides(argv: list[str]) -> list[str]:
  """absl flags_parser that also accepts `--config.a.b=value` overrides."""
  try:
    rest, overrides = config_lib.split_overrides(argv)
  except config_lib.ConfigError as e:
    sys.exit(f'error: {e}')
  _OVERRIDES[:] = overrides
  try:
    return flags.FLAGS(rest)
  except flags.Error as e:
    sys.exit(f'error: {e}\nRun with --helpshort for the flags.')


def load_config(spec: str):
  """The config file and preset in `spec`, with the command line's overrides."""
  config = config_lib.load(spec)
  for key, value in _OVERRIDES:
    config_lib.override(config, key, value)
  return config


def init_distributed(
    coordinator_address: str | None, num_processes: int | None, process_id: int | None, auto: bool
) -> None:
  """jax.distributed.initialize for multi-host runs.

  `auto` lets JAX detect the cluster (TPU pods, SLURM, Open MPI); otherwise the
  three explicit values are used. On CPU the collectives go through gloo.
  """
  if coordinator_address:
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')
    jax.distributed.initialize(coordinator_address, num_processes, process_id)
  elif auto:
    jax.distributed.initialize()


class _QuietLibraries:
  """Drops INFO chatter of orbax (dozens of lines per checkpoint) and of JAX's
  backend probing (e.g. 'Unable to initialize backend tpu' on every CPU run)."""

  _PATHS = ('/orbax/', '/jax/_src/xla_bridge')

  def filter(self, record) -> bool:
    return record.levelno >= 30 or not any(p in record.pathname for p in self._PATHS)


def quiet_library_logs() -> None:
  import logging as std_logging
  from absl import logging

  logging.get_absl_handler().addFilter(_QuietLibraries())
  std_logging.getLogger('absl').addFilter(_QuietLibraries())
