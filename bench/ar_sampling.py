r"""Sampling speed of an autoregressive model: images/s of its naive sampler (one full
forward pass per sub-pixel) against its cached one (Ramachandran et al. 2017).

  python bench/ar_sampling.py --config=configs/gated_pixelcnn.py:mnist
  python bench/ar_sampling.py --config=configs/gated_pixelcnn.py:mnist --batch_sizes=16 \
      --naive=full --out=ar_sampling_full.json

Random initial weights (speed does not depend on them). For a config with a
`model.sampler` key each of 'naive' and 'cached' is timed; without one, the model's
only sampler is timed as 'naive'. The cached sampler is always timed end to end
(compiled first, then the best of --repeats calls). The naive sampler takes
`--naive_passes` (default H*W*C, one per sub-pixel) identical full forward passes, so
by default (`--naive=estimate`) its time is that many times one forward pass of the
network at the same batch (`model.log_likelihood`, timed the same way); `--naive=full`
runs it whole instead (minutes per batch on a CPU). Prints a line per sampler and
batch size and writes every number, with the command's settings, as JSON (--out);
record results in docs/RESULTS.md with the command.
"""

import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from absl import app, flags  # noqa: E402

from gen import cli  # noqa: E402
from gen import config as config_lib  # noqa: E402
from gen.train import loop  # noqa: E402
from gen.train import step as step_lib  # noqa: E402

_CONFIG = flags.DEFINE_string('config', None, 'configs/<model>.py[:preset]')
_BATCH_SIZES = flags.DEFINE_list('batch_sizes', ['16', '64'], 'Images per sampling call.')
_NAIVE = flags.DEFINE_enum('naive', 'estimate', ['estimate', 'full'], 'How to time naive sampling.')
_NAIVE_PASSES = flags.DEFINE_integer(
    'naive_passes', None, 'Forward passes of naive sampling (default H*W*C; H*W for a model '
    'that draws whole pixels).'
)  # fmt: skip
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Timed calls per measurement (the best counts).')
_OUT = flags.DEFINE_string('out', 'ar_sampling.json', 'Where to write the JSON results.')
flags.mark_flags_as_required(['config'])


def _best_seconds(fn, *args, static=()) -> float:
  """Best wall time of `repeats` calls of jitted `fn`, compiled beforehand (not run)."""
  fn = jax.jit(fn, static_argnums=static).lower(*args).compile()
  args = [a for i, a in enumerate(args) if i not in static]
  best = math.inf
  for _ in range(_REPEATS.value):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    best = min(best, time.perf_counter() - start)
  return best


def _setup(sampler: str | None):
  config = cli.load_config(_CONFIG.value)
  if sampler is not None:
    config_lib.override(config, 'model.sampler', sampler)
  _, model, _ = loop.setup(config)
  batch = jax.tree.map(jnp.asarray, loop.example_batch(config, model))
  state = step_lib.init_state(model, 0.0, jax.random.PRNGKey(0), batch)
  return config, model, state, batch


def _time_sample(model, state, n: int) -> float:
  return _best_seconds(model.sample, state, jax.random.PRNGKey(1), n, static=(2,))


def _time_pass(model, state, batch, n: int) -> float:
  """One full forward pass (the likelihood) at batch n."""
  reps = -(-n // len(batch['x']))
  big = jax.tree.map(lambda a: jnp.concatenate([a] * reps)[:n], batch)
  return _best_seconds(model.log_likelihood, state, big, jax.random.PRNGKey(1))


def main(argv):
  del argv
  config = cli.load_config(_CONFIG.value)
  has_choice = 'sampler' in config.model
  shape = None
  results = []
  for n in [int(b) for b in _BATCH_SIZES.value]:
    row = {'batch_size': n}
    _, model, state, batch = _setup('naive' if has_choice else None)
    shape = tuple(batch['x'].shape[1:])
    passes = _NAIVE_PASSES.value or math.prod(shape)
    if _NAIVE.value == 'full':
      row['naive_seconds'] = _time_sample(model, state, n)
    else:
      row['pass_seconds'] = _time_pass(model, state, batch, n)
      row['naive_seconds'] = passes * row['pass_seconds']
    row['naive_images_per_sec'] = n / row['naive_seconds']
    if has_choice:
      _, model, state, _ = _setup('cached')
      row['cached_seconds'] = _time_sample(model, state, n)
      row['cached_images_per_sec'] = n / row['cached_seconds']
      row['speedup'] = row['naive_seconds'] / row['cached_seconds']
    results.append(row)
    print(
        f'batch {n}: naive {row["naive_images_per_sec"]:.4g} images/s '
        f'({row["naive_seconds"]:.4g} s, {_NAIVE.value})'
        + (
            f', cached {row["cached_images_per_sec"]:.4g} images/s ({row["cached_seconds"]:.4g} s)'
            f', speed-up {row["speedup"]:.0f}x'
            if has_choice
            else ''
        )
    )
  record = {
      'config': _CONFIG.value,
      'model': config.model.to_dict(),
      'image_shape': shape,
      'naive': _NAIVE.value,
      'naive_passes': _NAIVE_PASSES.value or math.prod(shape),
      'repeats': _REPEATS.value,
      'device': f'{jax.device_count()} x {jax.devices()[0].device_kind}',
      'results': results,
  }
  with open(_OUT.value, 'w') as f:
    json.dump(record, f, indent=2, default=list)
  print(f'Wrote {_OUT.value}')


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags_with_overrides)
