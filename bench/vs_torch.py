r"""Our jitted train step against an eager PyTorch twin of it, network by network.

  pip install -r requirements-bench.txt                # torch (CPU); without it, ours only
  python bench/vs_torch.py --out=runs/vs_torch.json    # every network below
  python bench/vs_torch.py --networks=dcgan28_w32,ring8_mlp --steps=50
  python bench/vs_torch.py --set=train.steps_per_call=4   # applied where the key exists
  python bench/vs_torch.py --check                     # twins' parameter tensors vs ours
  python bench/vs_torch.py --no_torch                  # ours only

Both sides run in this one process on all cores (XLA's default; torch with
set_num_threads(os.cpu_count())). After `--warmup` untimed steps each
(compilation excluded), `--steps` steps of each side are timed one by one in
interleaved rounds of `--round_steps` (the side that goes first alternates), so
a change in machine load hits both alike; the medians are reported. Each side
trains on one fixed batch. The twins (bench/torch_twins.py) have our layers,
parameter shapes, batch, optimizer and update order.

The table and the JSON (--out) give per network: ms/step of both, ratio = torch
ms / gen ms (> 1: gen is faster), GFLOP/step of our compiled step from XLA's
cost analysis (of the step with its convolutions in lax form: XLA counts no FLOPs in
gen/nn/onednn.py's kernels), the achieved GFLOP/s of both sides with that same FLOP count, and
the MFU where the device's peak FLOP/s is known (PEAK_FLOPS; null on CPU, with
the reason), plus the machine, versions and git commit. XLA counts what our
compiled step executes, so GFLOP/step is an upper bound on the networks' useful
work where a layer multiplies zeros (a transposed convolution's forward pass is
a convolution of the zero-dilated input). Record results in
docs/RESULTS.md ("Speed against PyTorch") with the command.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from gen import config as config_lib  # noqa: E402
from gen.data import sources  # noqa: E402
from gen.models import registry  # noqa: E402
from gen.nn import onednn  # noqa: E402
from gen.train import loop, sharding  # noqa: E402
from gen.train import step as step_lib  # noqa: E402

try:
  import torch  # noqa: E402
  import torch_twins  # noqa: E402

  TORCH_MISSING = None
except ImportError as e:  # CI installs requirements.txt only
  torch = torch_twins = None
  TORCH_MISSING = f'torch is not installed ({e}); pip install -r requirements-bench.txt'


@dataclasses.dataclass(frozen=True)
class Network:
  spec: str  # configs/<file>.py:<preset>
  overrides: tuple = ()  # (key, value) applied before --set
  synthetic_shape: tuple | None = None  # random data of this shape instead of the dataset
  what: str = ''


NETWORKS = {
    'dcgan28_w32': Network('configs/gan.py:mnist', what='DCGAN 28 px, width 32, NS, batch 64'),
    'dcgan28_w64': Network(
        'configs/gan.py:mnist', (('model.features', '64'),), what='DCGAN 28 px, width 64'
    ),
    'dcgan64_w64': Network(
        'configs/gan.py:mnist',
        (('model.features', '64'),),
        synthetic_shape=(64, 64, 3),
        what='DCGAN 64 px RGB, width 64 (pytorch/examples), random data',
    ),
    'infogan28': Network(
        'configs/gan.py:mnist', (('model.arch', 'infogan'),), what='InfoGAN-style nets, 28 px'
    ),
    'vae_conv': Network('configs/vae.py:mnist_conv', what='conv VAE, binarized MNIST, batch 100'),
    'began28': Network('configs/began.py:mnist', what='BEGAN: DCGAN G, conv autoencoder D'),
    'ring8_mlp': Network('configs/gan.py:ring8', what='MLP GAN, batch 512, EMA 0.999 of G'),
    'pixelcnn_bmnist': Network(
        'configs/pixelcnn.py:binarized_mnist', what='PixelCNN, binarized MNIST, batch 64'
    ),
    'gated_pixelcnn_mnist': Network(
        'configs/gated_pixelcnn.py:mnist',
        (('train.batch_size', '64'),),
        what='Gated PixelCNN, 8-bit MNIST, 256-way softmax, batch 64',
    ),
    'row_lstm_bmnist': Network(
        'configs/row_lstm.py:binarized_mnist',
        what='PixelRNN Row LSTM, 7 layers h=16, binarized MNIST, batch 64',
    ),
    'diagonal_bilstm_bmnist': Network(
        'configs/diagonal_bilstm.py:binarized_mnist',
        what='PixelRNN Diagonal BiLSTM, 7 layers h=16, binarized MNIST, batch 64',
    ),
}

# Dense peak FLOP/s per chip (vendor datasheets, without sparsity). NVIDIA's fp32
# is the CUDA-core rate (TF32 tensor cores are faster); TPUs publish bf16 only.
_H100 = {'bf16': 989.4e12, 'fp32': 66.9e12}
_A100 = {'bf16': 312e12, 'fp32': 19.5e12}
PEAK_FLOPS = {
    'NVIDIA H100 80GB HBM3': _H100,  # H100 SXM5
    'NVIDIA H200': _H100,  # the H100's compute, more memory
    'NVIDIA A100-SXM4-40GB': _A100,
    'NVIDIA A100-SXM4-80GB': _A100,
    'TPU v4': {'bf16': 275e12, 'fp32': None},
    'TPU v5 lite': {'bf16': 197e12, 'fp32': None},  # v5e's device_kind
    'TPU v5e': {'bf16': 197e12, 'fp32': None},
}

_NETWORKS = flags.DEFINE_list('networks', list(NETWORKS), f'Any of: {", ".join(NETWORKS)}.')
_STEPS = flags.DEFINE_integer('steps', 20, 'Timed steps of each side (the median is reported).')
_WARMUP = flags.DEFINE_integer('warmup', 3, 'Untimed steps of each side first.')
_ROUND = flags.DEFINE_integer('round_steps', 5, 'Consecutive steps of one side per round.')
_OUT = flags.DEFINE_string('out', None, 'Write the results as JSON here.')
_SET = flags.DEFINE_multi_string(
    'set', [], 'KEY=VALUE config override for every network whose config has KEY.'
)
_NO_TORCH = flags.DEFINE_bool('no_torch', False, 'Time ours only.')
_CHECK = flags.DEFINE_bool(
    'check', False, 'Compare the twins\' parameter tensors with ours and exit (no timing).'
)
_FORMATS = flags.DEFINE_list(
    'torch_formats',
    ['channels_last', 'contiguous'],
    'torch memory formats to time on image networks (contiguous is torch\'s default); '
    'the ratio uses the fastest.',
)
# fused (one kernel per tensor) ran the Adam update of InfoGAN's 13 M parameters on CPU
# 8x faster than torch's default (a loop of per-tensor ops) and 5x faster than foreach.
_ADAM = flags.DEFINE_enum(
    'torch_adam', 'fused', ['default', 'foreach', 'fused'], 'torch.optim.Adam implementation.'
)


class Skip(Exception):
  """A network that cannot run here (missing data, an option the twin lacks)."""


def _has_key(config, key: str) -> bool:
  node = config
  for part in key.split('.'):
    if not hasattr(node, 'keys') or part not in node:
      return False
    node = node[part]
  return True


def load_config(net: Network, sets: list[str]):
  """The network's config with its own overrides, then every --set whose key exists."""
  config = config_lib.load(os.path.join(ROOT, net.spec))
  for key, value in net.overrides:
    config_lib.override(config, key, value)
  skipped = []
  for item in sets:
    key, eq, value = item.partition('=')
    if not eq:
      raise config_lib.ConfigError(f'--set needs KEY=VALUE; got {item!r}.')
    if _has_key(config, key):
      config_lib.override(config, key, value)
    else:
      skipped.append(key)
  return config, skipped


def build(net: Network, config):
  """(dataset info, model, mesh, host batch) of our side."""
  if net.synthetic_shape is None:
    try:
      info, model, mesh = loop.setup(config)
      return info, model, mesh, loop.example_batch(config, model)
    except (sources.DatasetNotFoundError, sources.DatasetCorruptError) as e:
      raise Skip(f'dataset {config.data.name!r} not available: {str(e).splitlines()[0]}') from e
  info = sources.DatasetInfo(
      name='synthetic', kind='image', shape=net.synthetic_shape, levels=256, num_classes=None,
      splits=('train',),
  )  # fmt: skip
  model = registry.build(config, info)
  shape = (config.train.batch_size,) + net.synthetic_shape
  if model.batches_per_step > 1:
    shape = (model.batches_per_step,) + shape
  x = np.random.default_rng(0).uniform(-1.0, 1.0, shape).astype(np.float32)
  return info, model, sharding.make_mesh(), {'x': x}


def param_summary(params) -> dict:
  sizes = sorted(math.prod(x.shape) for x in jax.tree.leaves(params))
  return {'tensors': len(sizes), 'count': sum(sizes), 'sizes': sizes}


def params_match(ours: dict, twin: dict) -> bool:
  """Same number of tensors, same total, and the same size of every tensor (shapes
  may differ by a transposition: torch's Linear weight is (out, in), ours (in, out))."""
  return all(ours[k] == twin[k] for k in ('tensors', 'count', 'sizes'))


def _init_fn(model, config):
  return lambda k, b: step_lib.init_state(model, config.train.ema_decay, k, b)


def our_params(model, config, batch) -> dict:
  shapes = jax.eval_shape(_init_fn(model, config), jax.random.PRNGKey(0), batch)
  return param_summary(shapes.params)


def _xla_flops(model, config, repl, batch_sh, state, batch) -> float | None:
  """XLA's FLOP count of the step with every convolution in lax form: its cost analysis
  sees no FLOPs inside gen/nn/onednn.py's custom calls. A new step function, so that it
  is traced anew under `onednn.disabled()`."""
  with onednn.disabled():
    jitted = jax.jit(
        step_lib.make_train_step(model, config.train.ema_decay),
        in_shardings=(repl, batch_sh),
        out_shardings=(repl, repl),
    )
    cost = jitted.lower(state, batch).compile().cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost  # older jax: one per device
  return float(cost['flops']) if cost and 'flops' in cost else None


class OurSide:
  """Our step, compiled once; `call()` runs one call and waits for it."""

  def __init__(self, model, config, mesh, batch):
    repl = sharding.replicated(mesh)
    batch_sh = sharding.batch_sharding(mesh, model.batches_per_step > 1)
    self.batch = sharding.put_batch(batch, batch_sh)
    self.state = jax.jit(_init_fn(model, config), out_shardings=repl)(
        jax.random.PRNGKey(config.seed), self.batch
    )
    self.params = param_summary(self.state.params)
    jitted = jax.jit(
        step_lib.make_train_step(model, config.train.ema_decay),
        in_shardings=(repl, batch_sh),
        out_shardings=(repl, repl),
        donate_argnums=0,
    )
    start = time.perf_counter()
    self.compiled = jitted.lower(self.state, self.batch).compile()
    self.compile_s = time.perf_counter() - start
    self.flops = _xla_flops(model, config, repl, batch_sh, self.state, self.batch)

  def call(self):
    self.state, metrics = self.compiled(self.state, self.batch)
    jax.block_until_ready((self.state, metrics))


class TorchSide:

  def __init__(self, config, info, batch, memory_format: str, device: str, adam: str, calls: int):
    fmt = {'channels_last': torch.channels_last, 'contiguous': torch.contiguous_format}
    if memory_format not in fmt:
      raise ValueError(f'Unknown torch memory format {memory_format!r}; valid: {", ".join(fmt)}.')
    try:
      self.twin = torch_twins.build(config, info, device, fmt[memory_format], adam)
    except torch_twins.Unsupported as e:
      raise Skip(f'no torch twin for {e}') from e
    x = batch['x']
    while x.ndim > len(info.shape) + 1:  # stacked micro-batches: the twin steps on the first
      x = x[0]
    self.batch = self.twin.put_batch({'x': x})
    self.params = self.twin.param_summary()
    self.calls, self.cuda = calls, device == 'cuda'

  def call(self):
    for _ in range(self.calls):
      self.twin.step(self.batch)
    if self.cuda:
      torch.cuda.synchronize()


def time_interleaved(sides: dict, steps: int, warmup: int, round_steps: int) -> dict:
  """{side: [seconds per call]}: warm-up, then rounds of `round_steps` calls per side."""
  for side in sides.values():
    for _ in range(warmup):
      side.call()
  times = {name: [] for name in sides}
  order = list(sides)
  r = 0
  while any(len(t) < steps for t in times.values()):
    for name in order if r % 2 == 0 else order[::-1]:
      for _ in range(min(round_steps, steps - len(times[name]))):
        start = time.perf_counter()
        sides[name].call()
        times[name].append(time.perf_counter() - start)
    r += 1
  return times


def _mfu(flops_per_s, peaks) -> dict | None:
  """Achieved / peak FLOP/s of all the step's devices, against each published peak."""
  if peaks is None or flops_per_s is None:
    return None
  n = jax.device_count()
  return {f'vs_{k}_peak': (flops_per_s / (n * v) if v else None) for k, v in peaks.items()}


def _cpu_model() -> str:
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def _git(*args) -> str | None:
  try:
    return subprocess.run(
        ['git', *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return None


def environment(torch_device: str | None) -> dict:
  import flax
  import jaxlib
  import optax

  dev = jax.devices()[0]
  status = _git('status', '--porcelain', '--untracked-files=no')
  return {
      'machine': {
          'cpu_model': _cpu_model(),
          'cpu_count': os.cpu_count(),
          'cpus_usable': len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else None,
          'load_average_1m_at_start': os.getloadavg()[0] if hasattr(os, 'getloadavg') else None,
          'platform': platform.platform(),
          'jax_backend': jax.default_backend(),
          'device_kind': dev.device_kind,
          'device_count': jax.device_count(),
      },
      'versions': {
          'python': platform.python_version(),
          'jax': jax.__version__,
          'jaxlib': jaxlib.__version__,
          'flax': flax.__version__,
          'optax': optax.__version__,
          'numpy': np.__version__,
          'torch': torch.__version__ if torch is not None else None,
          'onednn': onednn.version(),
      },
      'gen_convolutions': 'oneDNN (gen/nn/onednn.py)' if onednn.available() else 'XLA',
      'git': {
          'commit': _git('rev-parse', 'HEAD'),
          'dirty': None if status is None else bool(status),
      },
      'torch': {
          'available': torch is not None,
          'used': torch_device is not None,
          'reason': TORCH_MISSING,
          'device': torch_device,
          'num_threads': torch.get_num_threads() if torch is not None else None,
          'memory_formats': _FORMATS.value if torch_device else None,
          'adam': _ADAM.value if torch_device else None,
          'compile': False,  # eager is the reference
      },
  }


def _torch_device() -> str | None:
  """Where the twins run: the accelerator when both frameworks have it, else the CPU."""
  if torch is None or _NO_TORCH.value:
    return None
  torch.set_num_threads(os.cpu_count())
  if jax.default_backend() == 'gpu' and torch.cuda.is_available():
    return 'cuda'
  return 'cpu'


def run_network(name: str, torch_device: str | None, peaks) -> dict:
  net = NETWORKS[name]
  config, skipped = load_config(net, _SET.value)
  for key in skipped:
    logging.warning('%s: its config has no key %r; --set ignored for it.', name, key)
  record = {
      'what': net.what,
      'config': net.spec,
      'overrides': [f'{k}={v}' for k, v in net.overrides] + list(_SET.value),
      'set_ignored': skipped,
      'batch_size': int(config.train.batch_size),
  }
  calls = int(config.train.get('steps_per_call', 1))  # updates per call of our step
  record['updates_per_call'] = calls
  try:
    info, model, mesh, batch = build(net, config)
  except Skip as e:
    record['skipped'] = str(e)
    logging.warning('%s skipped: %s', name, e)
    return record
  record['data'] = 'synthetic uniform [-1, 1]' if net.synthetic_shape else info.name
  record['shape'] = list(info.shape)
  with jax.set_mesh(mesh):
    if _CHECK.value:
      record['params'] = {'gen': our_params(model, config, batch)}
      sides = {}
    else:
      ours = OurSide(model, config, mesh, batch)
      record['params'] = {'gen': ours.params}
      record['compile_s'] = ours.compile_s
      sides = {'gen': ours}
    if torch_device is not None:
      try:
        # Without 4-D tensors the memory format changes nothing: time one.
        for fmt in _FORMATS.value if info.kind == 'image' else ['contiguous']:
          side = TorchSide(config, info, batch, fmt, torch_device, _ADAM.value, calls)
          record['params']['torch'] = side.params
          sides[f'torch_{fmt}'] = side
        record['params']['match'] = params_match(record['params']['gen'], side.params)
      except Skip as e:
        record['torch_skipped'] = str(e)
        logging.warning('%s: torch side skipped: %s', name, e)
        sides = {k: v for k, v in sides.items() if k == 'gen'}
    if _CHECK.value:
      return record
    times = time_interleaved(sides, _STEPS.value, _WARMUP.value, _ROUND.value)
  per_step = {k: [t / calls * 1e3 for t in v] for k, v in times.items()}
  ms = {k: statistics.median(v) for k, v in per_step.items()}
  flops = ours.flops / calls if ours.flops is not None else None
  record.update(
      gen_ms=ms['gen'],
      gen_ms_all=per_step['gen'],
      gflop_per_step=flops / 1e9 if flops is not None else None,
  )
  gen_flops_s = flops / (ms['gen'] / 1e3) if flops is not None else None
  record['gen_gflops'] = gen_flops_s / 1e9 if gen_flops_s else None
  record['mfu_gen'] = _mfu(gen_flops_s, peaks)
  torch_keys = [k for k in ms if k.startswith('torch_')]
  if torch_keys:
    best = min(torch_keys, key=ms.get)
    torch_flops_s = flops / (ms[best] / 1e3) if flops is not None else None
    record.update(
        torch_ms=ms[best],
        torch_format=best[len('torch_') :],
        torch_ms_by_format={k[len('torch_') :]: ms[k] for k in torch_keys},
        torch_ms_all={k[len('torch_') :]: per_step[k] for k in torch_keys},
        ratio=ms[best] / ms['gen'],
        torch_gflops=torch_flops_s / 1e9 if torch_flops_s else None,
        # The twins run on torch_device; peaks are those of jax's device.
        mfu_torch=_mfu(torch_flops_s, peaks) if torch_device != 'cpu' else None,
    )
  return record


def _fmt(v, spec='.1f'):
  return '-' if v is None else format(v, spec)


def print_table(results: dict, check: bool) -> None:
  if check:
    print('| network | gen tensors / params | torch tensors / params | match |')
    print('| --- | --- | --- | --- |')
    for name, r in results.items():
      p = r.get('params', {})
      g, t = p.get('gen'), p.get('torch')
      cells = [f'{x["tensors"]} / {x["count"]:,}' if x else '-' for x in (g, t)]
      match = p.get('match', r.get('skipped') or r.get('torch_skipped') or '-')
      print(f'| {name} | {cells[0]} | {cells[1]} | {match} |')
    return
  print(
      '| network | gen ms/step | torch ms/step (format) | ratio | GFLOP/step | gen GFLOP/s '
      '| torch GFLOP/s | torch, other formats |'
  )
  print('| --- | --- | --- | --- | --- | --- | --- | --- |')
  for name, r in results.items():
    if 'gen_ms' not in r:
      print(f'| {name} | skipped: {r.get("skipped")} | | | | | | |')
      continue
    torch_cell, others = '-', '-'
    if 'torch_ms' in r:
      torch_cell = f'{r["torch_ms"]:.2f} ({r["torch_format"]})'
      rest = {k: v for k, v in r['torch_ms_by_format'].items() if k != r['torch_format']}
      others = ', '.join(f'{k} {v:.2f}' for k, v in rest.items()) or '-'
    elif 'torch_skipped' in r:
      torch_cell = r['torch_skipped']
    print(
        f'| {name} | {r["gen_ms"]:.2f} | {torch_cell} | {_fmt(r.get("ratio"), ".2f")} | '
        f'{_fmt(r["gflop_per_step"], ".3f")} | {_fmt(r["gen_gflops"])} | '
        f'{_fmt(r.get("torch_gflops"))} | {others} |'
    )


def write(out: dict, complete: bool) -> None:
  if _OUT.value:
    os.makedirs(os.path.dirname(os.path.abspath(_OUT.value)), exist_ok=True)
    with open(_OUT.value, 'w') as f:
      json.dump({**out, 'complete': complete}, f, indent=2)


def main(argv):
  del argv
  unknown = [n for n in _NETWORKS.value if n not in NETWORKS]
  if unknown:
    sys.exit(f'error: unknown network(s) {", ".join(unknown)}; valid: {", ".join(NETWORKS)}.')
  torch_device = _torch_device()
  if torch_device is None:
    print(TORCH_MISSING or '--no_torch: timing ours only.')
  env = environment(torch_device)
  kind = env['machine']['device_kind']
  peaks = PEAK_FLOPS.get(kind)
  out = {
      'benchmark': 'vs_torch',
      'command': ' '.join(['python', 'bench/vs_torch.py', *sys.argv[1:]]),
      'time_utc': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
      **env,
      'settings': {
          'steps': _STEPS.value,
          'warmup': _WARMUP.value,
          'round_steps': _ROUND.value,
          'set': _SET.value,
          'check_only': _CHECK.value,
      },
      'peak_flops_per_chip': peaks,
      'mfu_reason': None if peaks else f'no published peak FLOP/s for device kind {kind!r}',
      'flops_note': (
          "XLA's cost analysis of our compiled step with its convolutions in lax form (what "
          'that program executes, zeros a layer multiplies included); torch GFLOP/s use the '
          'same count'
      ),
      'networks': {},
  }
  for name in _NETWORKS.value:
    logging.info('%s ...', name)
    start = time.perf_counter()
    out['networks'][name] = r = run_network(name, torch_device, peaks)
    logging.info(
        '%s: gen %s ms, torch %s ms (%.0f s)',
        name, _fmt(r.get('gen_ms'), '.2f'), _fmt(r.get('torch_ms'), '.2f'),
        time.perf_counter() - start,
    )  # fmt: skip
    write(out, complete=False)  # a long run that stops keeps the networks done so far
  if hasattr(os, 'getloadavg'):
    out['machine']['load_average_1m_at_end'] = os.getloadavg()[0]
  print_table(out['networks'], _CHECK.value)
  write(out, complete=True)
  if _OUT.value:
    print(f'Wrote {_OUT.value}')
  mismatched = [n for n, r in out['networks'].items() if r.get('params', {}).get('match') is False]
  if mismatched:
    sys.exit(f'error: twin parameters differ from ours for {", ".join(mismatched)}.')


if __name__ == '__main__':
  app.run(main)
