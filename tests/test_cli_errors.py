"""Mistakes a new user makes get one line on stderr, `error: ...`, exit status 1 and no
traceback, naming the value that was wrong; nothing already saved is touched."""

import pytest

from conftest import run_cli


def _error_line(proc) -> str:
  """The one `error:` line of a failed command, after checking how it failed."""
  assert proc.returncode == 1, proc.stderr[-2000:]
  assert 'Traceback' not in proc.stderr, proc.stderr[-2000:]
  lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert len(lines) == 1, proc.stderr[-2000:]
  return lines[0]


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
  line = _error_line(proc)
  assert f'config.train.batch_size={batch_size}: must be an integer >= 1' in line
  assert not work.exists()


def test_a_workdir_that_is_a_file_is_one_line_and_the_file_is_kept(tmp_path):
  work = tmp_path / 'notes.txt'
  work.write_text('my notes')
  for script, args in (('train.py', ['--config=configs/gan.py:smoke']), ('eval.py', [])):
    line = _error_line(run_cli(script, f'--workdir={work}', *args, check=False))
    assert f'--workdir={work} is a file' in line, script
  assert work.read_text() == 'my notes'
