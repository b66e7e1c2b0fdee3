r"""A convolution's gradient, jitted on its own and inside lax.scan (of length 1).

  python bench/scan_conv.py

gen/models/gan/gan.py runs D's n_disc updates in a lax.scan. On XLA CPU
(jax 0.10.2) the gradient convolutions inside a scan body keep non-canonical
dimension orders and run many times slower than the same gradient outside it
(bench/vs_torch.py showed it first; docs/RESULTS.md, "Speed against PyTorch").
Independent of gen: plain lax convolutions.
"""

import time

import jax
import jax.numpy as jnp
from jax import lax

# (side, in, out, kernel, stride, padding): BEGAN's 3x3 conv, DCGAN D's second layer.
_CASES = ((28, 32, 32, 3, 1, 'SAME'), (14, 32, 64, 4, 2, ((1, 1), (1, 1))))


def _time(fn, *args, repeats=3) -> float:
  jax.block_until_ready(fn(*args))
  start = time.perf_counter()
  for _ in range(repeats):
    out = fn(*args)
  jax.block_until_ready(out)
  return (time.perf_counter() - start) / repeats * 1e3


def main():
  for side, cin, cout, k, s, pad in _CASES:
    x = jnp.full((64, side, side, cin), 0.1)
    w = jnp.full((k, k, cin, cout), 0.01)

    def loss(w, x, s=s, pad=pad):
      y = lax.conv_general_dilated(x, w, (s, s), pad, dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
      return jnp.mean(jax.nn.elu(y) ** 2)

    grad = jax.grad(loss, argnums=(0, 1))  # weight and input gradients, as in training
    plain = jax.jit(grad)
    scanned = jax.jit(
        lambda w, x, grad=grad: lax.scan(lambda c, xi: (c, grad(c, xi)), w, x[None])[1]
    )
    print(
        f'64x{side}x{side}x{cin} -> {cout}, k{k} s{s}: gradient {_time(plain, w, x):8.1f} ms, '
        f'inside lax.scan {_time(scanned, w, x):8.1f} ms ({jax.devices()[0].device_kind})'
    )


if __name__ == '__main__':
  main()
