"""Shared command-line plumbing of train.py and eval.py."""

from __future__ import annotations

import os
import sys
from typing import Mapping

import jax
from absl import flags
from absl import logging

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

COMPILATION_CACHE_ENV = 'GEN_COMPILATION_CACHE'
_COMPILATION_CACHE = flags.DEFINE_string(
    'compilation_cache',
    None,
    'Directory of JAX\'s persistent compilation cache (compiled programs, shared by every '
    f'run), or "off". Default: ${COMPILATION_CACHE_ENV}, else $XDG_CACHE_HOME/gen/jax '
    '(~/.cache/gen/jax).',
)
_OFF = ('off', 'none', 'false', '0')


def parse_flags(argv: list[str]) -> list[str]:
  """absl flags_parser: a bad or missing flag is one `error:` line (exit 1), no traceback."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    sys.exit(f'error: {e}\nRun with --helpshort for the flags.')


def parse_flags_with_overrides(argv: list[str]) -> list[str]:
  """`parse_flags` that also accepts `--config.a.b=value` overrides, and no other
  argument."""
  try:
    rest, overrides = config_lib.split_overrides(argv)
  except config_lib.ConfigError as e:
    sys.exit(f'error: {e}')
  _OVERRIDES[:] = overrides
  rest = parse_flags(rest)
  if len(rest) > 1:
    # absl passes unparsed words to main, which would silently ignore them: a user's
    # `train.num_steps=10` (missing its `--config.`) would train with the default.
    hint = f' (an override is --config.{rest[1]})' if '=' in rest[1] else ''
    sys.exit(f'error: unexpected argument {rest[1]!r}{hint}; this command takes flags only.')
  return rest


def load_config(spec: str):
  """The config file and preset in `spec`, with the command line's overrides."""
  config = config_lib.load(spec)
  for key, value in _OVERRIDES:
    config_lib.override(config, key, value)
  return config


def compilation_cache_dir(flag: str | None, environ: Mapping[str, str]) -> str | None:
  """The cache directory from --compilation_cache, else $GEN_COMPILATION_CACHE, else
  $XDG_CACHE_HOME/gen/jax (~/.cache/gen/jax); None when the value is "off"."""
  value = flag if flag is not None else environ.get(COMPILATION_CACHE_ENV)
  if not value:
    base = environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    value = os.path.join(base, 'gen', 'jax')
  if value.lower() in _OFF:
    return None
  return os.path.abspath(os.path.expanduser(value))


def setup_compilation_cache() -> str | None:
  """Turns on JAX's persistent compilation cache (call before the first compilation).

  A second start of the same program (a re-run, a resume, eval.py on another
  checkpoint) loads its executables instead of compiling them again. The key is
  the program, compile options, devices and jax / XLA versions, so one directory
  serves every run and a stale entry cannot be hit. Returns the directory, None
  when off.
  """
  path = compilation_cache_dir(_COMPILATION_CACHE.value, os.environ)
  if path is None:
    jax.config.update('jax_enable_compilation_cache', False)
    return None
  os.makedirs(path, exist_ok=True)
  jax.config.update('jax_compilation_cache_dir', path)
  # JAX caches only programs that took >= 1 s to compile by default; on CPU most of
  # ours take less (the MLP steps, sampling, eager ops) and their sum is most of a
  # start-up, so every program is cached.
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.0)
  logging.info('JAX compilation cache: %s', path)
  return path


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


def start_tool(argv) -> None:
  """The start every `python -m gen...` tool shares: every input is a --flag (a stray
  positional argument is a one-line error), library logs quiet, the compilation cache."""
  if len(argv) > 1:
    sys.exit(f'error: unexpected arguments {argv[1:]}; every input is a --flag.')
  quiet_library_logs()
  setup_compilation_cache()


def quiet_library_logs() -> None:
  import logging as std_logging

  logging.get_absl_handler().addFilter(_QuietLibraries())
  std_logging.getLogger('absl').addFilter(_QuietLibraries())
