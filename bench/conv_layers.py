r"""Per-layer speed of the shared convolution layers' implementations, against PyTorch.

  python bench/conv_layers.py                       # the layers of the networks in bench/vs_torch.py
  python bench/conv_layers.py --layer=t:64,7,128,64,4,2,1 --layer=c:64,14,64,128,4,2,1 --in_scan

A layer is `c:N,H,CIN,COUT,K,S,P` (convolution, square input and kernel) or
`t:N,H,CIN,COUT,K,S,P` (transposed convolution, PyTorch semantics). For each
implementation it times the forward pass and forward + backward (gradients of
input and kernel), jitted, median of --repeats calls after a warm-up; with
--in_scan also forward + backward inside a one-iteration lax.scan, where XLA CPU
treats convolutions differently (gen/nn/conv.py). PyTorch (if installed) times
the same layer eagerly in the same process, interleaved, on all cores. Tool
for choosing implementations; the end-to-end comparison is bench/vs_torch.py.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from gen.nn import conv as conv_lib  # noqa: E402
from gen.nn import conv_transpose as ct_lib  # noqa: E402

DEFAULT_LAYERS = (
    # DCGAN 28 px, width 32 / 64: G then D.
    't:64,1,100,64,7,1,0', 't:64,7,64,32,4,2,1', 't:64,14,32,1,4,2,1',
    't:64,1,100,128,7,1,0', 't:64,7,128,64,4,2,1', 't:64,14,64,1,4,2,1',
    'c:64,28,1,32,4,2,1', 'c:64,14,32,64,4,2,1', 'c:64,7,64,1,7,1,0',
    'c:64,28,1,64,4,2,1', 'c:64,14,64,128,4,2,1', 'c:64,7,128,1,7,1,0',
    # DCGAN 64 px RGB, width 64.
    't:64,1,100,512,4,1,0', 't:64,4,512,256,4,2,1', 't:64,8,256,128,4,2,1',
    't:64,16,128,64,4,2,1', 't:64,32,64,3,4,2,1',
    'c:64,64,3,64,4,2,1', 'c:64,32,64,128,4,2,1', 'c:64,16,128,256,4,2,1',
    'c:64,8,256,512,4,2,1', 'c:64,4,512,1,4,1,0',
    # BEGAN's 3x3 autoencoder at 28 px, width 32.
    'c:64,28,32,32,3,1,1', 'c:64,28,32,64,3,2,1', 'c:64,14,64,64,3,1,1', 'c:64,7,96,96,3,1,1',
)  # fmt: skip

_LAYERS = flags.DEFINE_multi_string('layer', list(DEFAULT_LAYERS), 'A layer to time (repeatable; see the docstring).')
_REPEATS = flags.DEFINE_integer('repeats', 20, 'Timed calls per measurement.')
_IN_SCAN = flags.DEFINE_bool('in_scan', False, 'Also time forward + backward inside a lax.scan.')
_TORCH = flags.DEFINE_bool('torch', True, 'Time PyTorch too (if installed).')


def _median_ms(fn, repeats: int) -> float:
  fn()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return 1e3 * float(np.median(times))


def _jax_timers(kind, x, w, s, p, impl, in_scan):
  if kind == 'c':
    f = lambda x, w: conv_lib.conv(x, w, (s, s), p, impl)
  else:
    f = lambda x, w: ct_lib.conv_transpose(x, w, s, p, impl)
  grad = jax.grad(lambda x, w: jnp.sum(f(x, w) ** 2), (0, 1))
  fns = {'fwd': jax.jit(f), 'fwd+bwd': jax.jit(grad)}
  if in_scan:
    fns['in scan'] = jax.jit(lambda x, w: jax.lax.scan(lambda c, _: (c, grad(x, w)), 0, None, 1)[1])
  return {name: (lambda fn=fn: jax.block_until_ready(fn(x, w))) for name, fn in fns.items()}


def _torch_timers(kind, n, h, cin, cout, k, s, p):
  import torch  # pylint: disable=import-outside-toplevel

  torch.set_num_threads(os.cpu_count())
  if kind == 'c':
    layer = torch.nn.Conv2d(cin, cout, k, s, p, bias=False)
  else:
    layer = torch.nn.ConvTranspose2d(cin, cout, k, s, p, bias=False)
  x = torch.randn(n, cin, h, h, requires_grad=True)

  def fwd():
    with torch.no_grad():
      layer(x)

  def fwd_bwd():
    (layer(x) ** 2).sum().backward()

  return {'fwd': fwd, 'fwd+bwd': fwd_bwd}


def main(argv):
  del argv
  try:
    import torch  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import

    have_torch = _TORCH.value
  except ImportError:
    have_torch = False
  print(f'{jax.devices()[0].device_kind}, {os.cpu_count()} cores; ms (median of {_REPEATS.value})')
  for spec in _LAYERS.value:
    kind, _, dims = spec.partition(':')
    n, h, cin, cout, k, s, p = (int(v) for v in dims.split(','))
    x = jax.random.normal(jax.random.PRNGKey(0), (n, h, h, cin))
    w = jax.random.normal(jax.random.PRNGKey(1), (k, k, cin, cout)) * 0.05
    impls = conv_lib.IMPLS if kind == 'c' else ct_lib.IMPLS
    timers = {i: _jax_timers(kind, x, w, s, p, i, _IN_SCAN.value) for i in impls if i != 'auto'}
    if have_torch:
      timers['torch'] = _torch_timers(kind, n, h, cin, cout, k, s, p)
    results = {name: {} for name in timers}
    for what in ('fwd', 'fwd+bwd', 'in scan'):  # interleaved: each side in turn
      for name, fns in timers.items():
        if what in fns:
          results[name][what] = _median_ms(fns[what], _REPEATS.value)
    cells = ' | '.join(
        f'{name} ' + ' / '.join(f'{v:.2f}' for v in r.values()) for name, r in results.items()
    )
    print(f'{spec:26s} {cells}', flush=True)
  print('cells: fwd / fwd+bwd' + (' / fwd+bwd in a scan' if _IN_SCAN.value else ''))


if __name__ == '__main__':
  app.run(main)
