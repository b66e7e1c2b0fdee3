"""bench/vs_torch.py runs and writes its record; the twins have our parameter shapes.

Structure only, never speed: two steps of the smallest network.
"""

import importlib.util
import json
import os

import pytest

from conftest import run_cli

_TINY = ('--networks=ring8_mlp', '--steps=2', '--warmup=1', '--round_steps=1')
_SETS = ('--set=train.batch_size=64', '--set=model.no_such_key=1')


def _record(tmp_path, *args, env=None) -> dict:
  out = tmp_path / 'vs_torch.json'
  run_cli('bench/vs_torch.py', *args, f'--out={out}', env=env)
  with open(out) as f:
    return json.load(f)


def _check_common(record: dict) -> dict:
  assert record['benchmark'] == 'vs_torch' and record['complete']
  for key in ('cpu_model', 'cpu_count', 'device_kind', 'jax_backend'):
    assert key in record['machine']
  for key in ('jax', 'jaxlib', 'torch', 'onednn'):
    assert key in record['versions']
  assert 'commit' in record['git']
  net = record['networks']['ring8_mlp']
  assert net['batch_size'] == 64  # --set reached the config
  assert net['set_ignored'] == ['model.no_such_key']  # a key the config lacks is skipped
  assert len(net['gen_ms_all']) == 2 and net['gen_ms'] > 0
  assert net['gflop_per_step'] > 0 and net['gen_gflops'] > 0
  assert net['params']['gen']['tensors'] == 12  # G and D: 3 dense layers each
  if record['machine']['jax_backend'] == 'cpu':
    assert net['mfu_gen'] is None and 'cpu' in record['mfu_reason']
  return net


def test_runs_without_torch(tmp_path):
  # A `torch` package that fails to import stands in for a machine without torch.
  fake = tmp_path / 'no_torch' / 'torch'
  fake.mkdir(parents=True)
  (fake / '__init__.py').write_text('raise ImportError("No module named torch")\n')
  path = os.pathsep.join([str(fake.parent), os.environ.get('PYTHONPATH', '')])
  record = _record(tmp_path, *_TINY, *_SETS, env={'PYTHONPATH': path})
  assert (
      record['torch']['available'] is False
      and 'requirements-bench.txt' in record['torch']['reason']
  )
  assert record['versions']['torch'] is None
  net = _check_common(record)
  assert 'torch_ms' not in net and 'torch' not in net['params']


@pytest.mark.skipif(importlib.util.find_spec('torch') is None, reason='torch is not installed')
def test_twin_runs_and_matches_our_parameters(tmp_path):
  record = _record(tmp_path, *_TINY, *_SETS)
  assert record['torch']['available'] and record['torch']['used']
  net = _check_common(record)
  assert net['params']['match'] is True
  assert net['params']['torch']['count'] == net['params']['gen']['count']
  assert list(net['torch_ms_by_format']) == ['contiguous']  # 2D data: one format
  assert len(net['torch_ms_all']['contiguous']) == 2
  assert net['ratio'] == pytest.approx(net['torch_ms'] / net['gen_ms'])
  assert net['torch_gflops'] > 0


@pytest.mark.skipif(importlib.util.find_spec('torch') is None, reason='torch is not installed')
def test_check_every_twin(tmp_path):
  # Networks on MNIST need the datasets; the others run on built-in or random data.
  data = os.environ.get('GEN_DATA_DIR', '')
  have = all(os.path.isdir(os.path.join(data, d)) for d in ('mnist', 'binarized_mnist'))
  names = None if data and have else 'dcgan64_w64,ring8_mlp'
  args = ['--check'] + ([f'--networks={names}'] if names else [])
  record = _record(tmp_path, *args)
  assert record['settings']['check_only']
  # bench/vs_torch.py NETWORKS: 7 of issue 9, PixelCNN, Gated PixelCNN, PixelRNN's Row
  # LSTM and Diagonal BiLSTM
  every = 11
  assert len(record['networks']) == (2 if names else every)
  for name, net in record['networks'].items():
    assert net['params']['match'] is True, name
    assert 'gen_ms' not in net
