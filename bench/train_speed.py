r"""Training throughput of a config's jitted step (compilation excluded).

  python bench/train_speed.py --config=configs/gan.py:ring8 --steps=500
  python bench/train_speed.py --config=configs/gan.py:ring8 --steps=2000 \
      --config.train.steps_per_call=10
  python bench/train_speed.py --config=configs/vae.py:mnist --config.train.batch_size=256

With train.steps_per_call = k each jitted call runs k steps (a lax.scan over k
stacked copies of the batch); time per step = time per call / k. Prints steps/s,
examples/s and the process's CPU time per step; record results in docs/RESULTS.md
with the command.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from gen import cli  # noqa: E402
from gen.train import loop, sharding  # noqa: E402
from gen.train import step as step_lib  # noqa: E402

_CONFIG = flags.DEFINE_string('config', None, 'configs/<model>.py[:preset]')
_STEPS = flags.DEFINE_integer(
    'steps', 200, 'Timed steps (after one warm-up call), rounded up to whole calls.'
)
_NOOP = flags.DEFINE_bool(
    'noop',
    False,
    'Time a call that only bumps the step counter (same state, batches, shardings and '
    'donation): the per-call dispatch cost that steps_per_call amortises.',
)
flags.mark_flags_as_required(['config'])


def main(argv):
  del argv
  config = cli.load_config(_CONFIG.value)
  k = config.train.steps_per_call
  _, model, mesh = loop.setup(config)
  repl = sharding.replicated(mesh)
  single_sh = sharding.batch_sharding(mesh, sharding.leading_axes(model))
  call_sh = sharding.batch_sharding(mesh, sharding.leading_axes(model, k))
  host = loop.example_batch(config, model)
  with jax.set_mesh(mesh):
    state = jax.jit(
        lambda key, b: step_lib.init_state(model, config.train.ema_decay, key, b),
        out_shardings=repl,
    )(jax.random.PRNGKey(0), sharding.put_batch(host, single_sh))
    if k > 1:  # the same batch k times, as the loop's k stacked batches
      host = jax.tree.map(lambda x: np.stack([x] * k), host)
    batch = sharding.put_batch(host, call_sh)
    fn = step_lib.make_train_call(model, config.train.ema_decay, k)
    if _NOOP.value:
      fn = lambda s, b: (s.replace(step=s.step + k), {})  # noqa: E731
    call = jax.jit(
        fn,
        in_shardings=(repl, call_sh),
        out_shardings=(repl, repl),
        donate_argnums=0,
    )
    state, _ = call(state, batch)
    jax.block_until_ready(state)
    calls = -(-_STEPS.value // k)
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(calls):
      state, metrics = call(state, batch)
    jax.block_until_ready((state, metrics))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
  if _NOOP.value:
    print(
        f'{_CONFIG.value}: no-op call {1e6 * seconds / calls:.0f} us, '
        f'{1e6 * cpu_seconds / calls:.0f} us CPU time ({len(jax.tree.leaves(state))} state arrays)'
    )
    return
  rate = calls * k / seconds
  # CPU time (all threads) per step as well: on a shared machine wall time also
  # counts the other processes' share of the cores.
  print(
      f'{_CONFIG.value}: {rate:.1f} steps/s, '
      f'{rate * config.train.batch_size * model.batches_per_step:.0f} examples/s, '
      f'{1e3 * cpu_seconds / (calls * k):.2f} ms CPU time/step, {k} step(s) per call '
      f'({jax.device_count()} x {jax.devices()[0].device_kind}, batch {config.train.batch_size}, '
      f'{config.train.compute_dtype})'
  )


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags_with_overrides)
