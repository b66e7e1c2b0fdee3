"""Bad input gets a clear error through the command line, and nothing saved is lost."""

import os

import chex

from conftest import run_cli
import runs


def test_missing_dataset_names_it_and_where_it_looked(tmp_path):
  proc = runs.train(
      tmp_path / 'run', 'configs/vae.py:mnist', f'data.dir={tmp_path}/nowhere', check=False
  )
  assert proc.returncode != 0
  assert 'binarized_mnist' in proc.stderr and f'{tmp_path}/nowhere' in proc.stderr
  assert 'GEN_DATA_DIR' in proc.stderr
  assert 'Traceback' not in proc.stderr


def test_nonfinite_loss_stops_naming_step_and_quantity_and_keeps_checkpoint(tmp_path):
  work = tmp_path / 'run'
  runs.train(work, 'configs/gan.py:smoke', 'train.num_steps=10')
  assert runs.steps(work) == [10]
  before = runs.state_leaves(work, 10)
  proc = runs.train(
      work, 'configs/gan.py:smoke', 'train.num_steps=20', 'optim.d.lr=1e30', check=False
  )
  assert proc.returncode != 0
  assert (
      'Non-finite' in proc.stderr and 'at step 10;' in proc.stderr
  )  # the first update after resuming
  assert 'skip_nonfinite' in proc.stderr and 'Traceback' not in proc.stderr
  assert runs.steps(work) == [10]
  chex.assert_trees_all_equal(before, runs.state_leaves(work, 10), strict=True)


def test_skip_nonfinite_counts_and_carries_on(tmp_path):
  work = tmp_path / 'run'
  runs.train(work, 'configs/gan.py:smoke', 'optim.d.lr=1e30', 'train.skip_nonfinite=True')
  last = runs.metrics(work)[-1]
  assert last['step'] == 20 and last['nonfinite/skipped'] > 0
  assert runs.steps(work)[-1] == 20


def _corrupt(checkpoint_dir):
  for root, _, files in os.walk(checkpoint_dir / 'state'):
    for name in files:
      with open(os.path.join(root, name), 'r+b') as f:
        f.truncate(0)
        f.write(b'garbage')


def test_corrupt_checkpoint_is_reported_and_step_restores_an_earlier_one(tmp_path):
  work = tmp_path / 'run'
  runs.train(work, 'configs/gan.py:smoke')
  assert runs.steps(work) == [10, 20]
  _corrupt(work / 'checkpoints' / '20')

  proc = run_cli('eval.py', f'--workdir={work}', check=False)
  assert proc.returncode != 0 and 'Traceback' not in proc.stderr
  assert 'step 20' in proc.stderr and 'unreadable' in proc.stderr and '--step=10' in proc.stderr
  run_cli('eval.py', f'--workdir={work}', '--step=10')
  assert (work / 'eval' / 'step_10.json').exists()

  proc = runs.train(work, 'configs/gan.py:smoke', check=False)  # resuming hits it too
  assert proc.returncode != 0 and '--step=10' in proc.stderr
  run_cli('train.py', '--config=configs/gan.py:smoke', f'--workdir={work}', '--step=10')
  assert runs.steps(work) == [10, 20]
  set_aside = list((work / 'checkpoints_set_aside').glob('*/20'))
  assert len(set_aside) == 1  # kept, not deleted
