"""Mistakes a new user makes get one line on stderr, `error: ...`, exit status 1 and no
traceback, naming the value that was wrong; nothing already saved is touched."""

import numpy as np
import pytest

from conftest import ROOT, one_error_line, run_cli
from gen import config as config_lib
from gen.eval import inception


@pytest.mark.parametrize('batch_size', ['0', '-5'])
def test_a_bad_batch_size_is_one_line_and_writes_nothing(tmp_path, batch_size):
  work = tmp_path / 'run'
  proc = run_cli(
      'train.py',
      '--config=configs/gan.py:smoke',
      f'--workdir={work}',
      f'--config.train.batch_size={batch_size}',
      check=False,
  )
  line = one_error_line(proc)
  assert f'config.train.batch_size={batch_size}: must be an integer >= 1' in line
  assert not work.exists()


def test_a_workdir_that_is_a_file_is_one_line_and_the_file_is_kept(tmp_path):
  work = tmp_path / 'notes.txt'
  work.write_text('my notes')
  for script, args in (('train.py', ['--config=configs/gan.py:smoke']), ('eval.py', [])):
    line = one_error_line(run_cli(script, f'--workdir={work}', *args, check=False))
    assert f'--workdir={work} is a file' in line, script
  assert work.read_text() == 'my notes'


def test_inception_weights_of_random_bytes_are_one_line_naming_the_file(tmp_path):
  # A run directory needs only its config.json here: the weights are read before a
  # checkpoint is restored, so a bad file costs the user no sampling.
  work = tmp_path / 'run'
  work.mkdir()
  config = config_lib.load(f'{ROOT}/configs/gan.py:digits')
  (work / 'config.json').write_text(config_lib.to_json(config))
  weights = tmp_path / 'downloaded.pth'
  weights.write_bytes(np.random.default_rng(0).bytes(1 << 16))
  proc = run_cli(
      'eval.py',
      f'--workdir={work}',
      '--features=inception',
      f'--inception_weights={weights}',
      check=False,
  )
  line = one_error_line(proc)
  assert f'Inception weights {weights} is not a readable torch.save file' in line
  assert inception.WEIGHTS_FILE in line
  assert '--inception_weights' in line
  assert sorted(p.name for p in work.iterdir()) == ['config.json']  # nothing written


def test_an_override_without_its_config_prefix_is_one_line_and_trains_nothing(tmp_path):
  # absl hands unparsed words to main; ignored, `train.num_steps=10` would train the
  # preset's full schedule.
  work = tmp_path / 'run'
  for script, args in (('train.py', ['--config=configs/gan.py:smoke']), ('eval.py', [])):
    line = one_error_line(run_cli(script, f'--workdir={work}', *args, 'train.num_steps=10', check=False))
    assert "unexpected argument 'train.num_steps=10'" in line, script
    assert '--config.train.num_steps=10' in line, script
  assert not work.exists()
