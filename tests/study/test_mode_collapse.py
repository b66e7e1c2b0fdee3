"""The mode-collapse benchmark command: runs, table, figure, resumption."""

import json
import os
import subprocess
import sys

from conftest import ROOT
from gen.study import mode_collapse


def _benchmark(out, *extra):
  return subprocess.run(
      [sys.executable, '-m', 'gen.study.mode_collapse', f'--out={out}', *extra],
      cwd=ROOT,
      env={**os.environ, 'JAX_PLATFORMS': 'cpu'},
      capture_output=True,
      text=True,
      timeout=600,
      check=True,
  )


def test_benchmark_writes_table_figure_and_reuses_finished_runs(tmp_path):
  args = [
      '--methods=ns_gan,wgan',
      '--datasets=ring8',
      '--seeds=0,1',
      '--num_steps=20',
      '--snapshots=2',
  ]
  _benchmark(tmp_path, *args)
  records = json.loads((tmp_path / 'results.json').read_text())
  assert [(r['method'], r['seed']) for r in records] == [
      ('ns_gan', 0),
      ('ns_gan', 1),
      ('wgan', 0),
      ('wgan', 1),
  ]
  for r in records:
    assert r['num_steps'] == 20 and r['cpu_s'] > 0 and 0 <= r['metrics']['hq_fraction'] <= 1
  table = (tmp_path / 'table.md').read_text()
  assert '| ns_gan | ring8 | 2 |' in table and '| wgan | ring8 | 2 |' in table
  assert (tmp_path / 'ring8_samples.png').stat().st_size > 1000
  snap = tmp_path / 'runs' / 'ns_gan_ring8_s0' / 'snapshots.npz'
  assert snap.exists()
  # A second call trains nothing: the records are read back unchanged.
  mtime = snap.stat().st_mtime
  _benchmark(tmp_path, *args)
  assert snap.stat().st_mtime == mtime
  assert json.loads((tmp_path / 'results.json').read_text()) == records


def test_benchmark_records_a_failed_run_and_goes_on(tmp_path):
  # A D learning rate of 1e30 makes the first update non-finite; train.py's
  # guard stops that run. The benchmark records the error, carries on with the
  # next method, and lists the failure under the table.
  args = [
      '--methods=ns_gan,lsgan',
      '--datasets=ring8',
      '--seeds=0',
      '--num_steps=20',
      '--snapshots=2',
      '--set=optim.d.lr=1e30',
  ]
  _benchmark(tmp_path, *args)
  records = json.loads((tmp_path / 'results.json').read_text())
  assert [r['method'] for r in records] == ['ns_gan', 'lsgan']
  for r in records:
    assert r['metrics'] is None and r['overrides'] == ['optim.d.lr=1e30']
    assert 'Non-finite' in r['failed'] and 'step 0' in r['failed']
  table = (tmp_path / 'table.md').read_text()
  assert '| ns_gan | ring8 | 1 | 1 | n/a (x) |' in table
  assert '- lsgan ring8 seed 0: error: Non-finite' in table
  # The failure is final for these settings; other overrides are a new run.
  record_path = tmp_path / 'runs' / 'ns_gan_ring8_s0' / 'benchmark.json'
  mtime = record_path.stat().st_mtime
  _benchmark(tmp_path, *args)
  assert record_path.stat().st_mtime == mtime
  same = dict(
      method='ns_gan', dataset='ring8', seed=0, out=str(tmp_path), num_steps=20, snapshots=2
  )
  assert mode_collapse.run_one(**same, train=False, overrides=['optim.d.lr=1e30'])['failed']
  assert mode_collapse.run_one(**same, train=False, overrides=['optim.d.lr=1e-3']) is None
