r"""Forward and weight-gradient time of the two transposed-convolution implementations.

  python bench/conv_transpose.py                      # DCGAN's 64x16x16x128 -> 64, k4 s2
  python bench/conv_transpose.py --batch=64 --size=8 --cin=256 --cout=128

Record results in docs/RESULTS.md with the command and the hardware.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from absl import app, flags  # noqa: E402

from gen.nn.conv_transpose import conv_transpose  # noqa: E402

_BATCH = flags.DEFINE_integer('batch', 64, 'Batch size.')
_SIZE = flags.DEFINE_integer('size', 16, 'Input height and width.')
_CIN = flags.DEFINE_integer('cin', 128, 'Input channels.')
_COUT = flags.DEFINE_integer('cout', 64, 'Output channels.')
_REPEATS = flags.DEFINE_integer('repeats', 10, 'Timed calls.')


def _time(fn, *args) -> float:
  jax.block_until_ready(fn(*args))
  start = time.perf_counter()
  for _ in range(_REPEATS.value):
    out = fn(*args)
  jax.block_until_ready(out)
  return (time.perf_counter() - start) / _REPEATS.value * 1e3


def main(argv):
  del argv
  kx, kw = jax.random.split(jax.random.PRNGKey(0))
  x = jax.random.normal(kx, (_BATCH.value, _SIZE.value, _SIZE.value, _CIN.value))
  w = jax.random.normal(kw, (4, 4, _CIN.value, _COUT.value)) * 0.02
  for impl in ('xla', 'subpixel'):
    fwd = jax.jit(lambda x, w, impl=impl: conv_transpose(x, w, 2, 1, impl))
    wgrad = jax.jit(
        jax.grad(lambda w, x, impl=impl: jnp.sum(conv_transpose(x, w, 2, 1, impl) ** 2))
    )
    print(
        f'{impl:9s} forward {_time(fwd, x, w):8.1f} ms   weight gradient {_time(wgrad, w, x):8.1f} ms'
        f'   ({jax.devices()[0].device_kind}, x {tuple(x.shape)}, k4 s2 -> {_COUT.value})'
    )


if __name__ == '__main__':
  app.run(main)
