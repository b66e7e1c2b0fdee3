r"""Training throughput of a config's jitted step (compilation excluded).

  python bench/train_speed.py --config=configs/gan.py:ring8 --steps=500
  python bench/train_speed.py --config=configs/vae.py:mnist --config.train.batch_size=256

Prints steps/s and examples/s; record results in docs/RESULTS.md with the command.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
from absl import app, flags  # noqa: E402

from gen import cli  # noqa: E402
from gen.train import loop, sharding  # noqa: E402
from gen.train import step as step_lib  # noqa: E402

_CONFIG = flags.DEFINE_string('config', None, 'configs/<model>.py[:preset]')
_STEPS = flags.DEFINE_integer('steps', 200, 'Timed steps (after one warm-up step).')
flags.mark_flags_as_required(['config'])


def main(argv):
  del argv
  config = cli.load_config(_CONFIG.value)
  _, model, mesh = loop.setup(config)
  repl = sharding.replicated(mesh)
  batch_sh = sharding.batch_sharding(mesh, model.batches_per_step > 1)
  with jax.set_mesh(mesh):
    batch = sharding.put_batch(loop.example_batch(config, model), batch_sh)
    state = jax.jit(
        lambda k, b: step_lib.init_state(model, config.train.ema_decay, k, b), out_shardings=repl
    )(jax.random.PRNGKey(0), batch)
    step = jax.jit(
        step_lib.make_train_step(model, config.train.ema_decay),
        in_shardings=(repl, batch_sh),
        out_shardings=(repl, repl),
        donate_argnums=0,
    )
    state, _ = step(state, batch)
    jax.block_until_ready(state)
    start = time.perf_counter()
    for _ in range(_STEPS.value):
      state, metrics = step(state, batch)
    jax.block_until_ready((state, metrics))
    seconds = time.perf_counter() - start
  rate = _STEPS.value / seconds
  print(
      f'{_CONFIG.value}: {rate:.1f} steps/s, '
      f'{rate * config.train.batch_size * model.batches_per_step:.0f} examples/s '
      f'({jax.device_count()} x {jax.devices()[0].device_kind}, batch {config.train.batch_size})'
  )


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags_with_overrides)
