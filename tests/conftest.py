"""Shared fixtures: the real-data folder, a runner for the command-line tools and
their compilation cache."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='session', autouse=True)
def _compilation_cache(tmp_path_factory):
  """Command-line runs in the tests share one fresh compilation cache: on, as for a
  user (so the resume tests also check that cached executables reproduce bitwise),
  but never the user's own cache directory. Under pytest-xdist both workers share it
  (it sits in the session's base directory, above the workers' own): tests of a module
  are spread over the workers, and a smoke preset's programs were compiled once by each."""
  base = tmp_path_factory.getbasetemp()
  if os.environ.get('PYTEST_XDIST_WORKER'):
    base = base.parent  # xdist gives worker gwN the base directory <session base>/popen-gwN
  cache = base / 'compilation_cache'
  cache.mkdir(exist_ok=True)
  with pytest.MonkeyPatch.context() as mp:
    mp.setenv('GEN_COMPILATION_CACHE', str(cache))
    yield


@pytest.fixture(scope='session')
def mnist_classifier_run(tmp_path_factory):
  """(workdir, CompletedProcess) of the MNIST classifier's recipe, trained once per test
  process through `python -m gen.eval.classifier` (about 1.5 minutes on 2 cores). The tests
  that use it carry `@pytest.mark.xdist_group('mnist_classifier')`, so that under
  `-n 2 --dist loadgroup` one worker trains it once for all of them."""
  env = {'GEN_DATA_DIR': data_dir_or_skip('mnist')}
  work = tmp_path_factory.mktemp('classifier') / 'mnist'
  proc = run_module('gen.eval.classifier', '--dataset=mnist', f'--workdir={work}', env=env)
  return work, proc


@pytest.fixture
def mnist_classifier(mnist_classifier_run):
  """The trained MNIST classifier's directory (see `mnist_classifier_run`)."""
  return mnist_classifier_run[0]


@pytest.fixture(scope='session')
def pixelcnn_fashion_run(tmp_path_factory):
  """A 4-step PixelCNN (the smoke network, binarized) on Fashion-MNIST, trained once per test
  process. Its users (tests/study/test_ood.py, tests/test_complete.py) carry
  `@pytest.mark.xdist_group('ood')`, so one worker trains it once for all of them."""
  data_dir_or_skip('fashion_mnist', 'mnist')
  work = tmp_path_factory.mktemp('ood') / 'pixelcnn_fmnist'
  run_cli(
      'train.py',
      '--config=configs/pixelcnn.py:smoke',
      f'--workdir={work}',
      '--config.data.name=fashion_mnist',
      '--config.train.num_steps=4',
      '--config.train.log_every=2',
      '--config.train.checkpoint_every=4',
      '--config.train.sample_every=4',
      '--config.train.num_samples=1',
  )
  return work


def data_dir_or_skip(*names: str) -> str:
  """$GEN_DATA_DIR when it holds the named dataset folders, else skip."""
  path = os.environ.get('GEN_DATA_DIR')
  if not path:
    pytest.skip('GEN_DATA_DIR is not set: real datasets are not available here.')
  missing = [n for n in names if not os.path.isdir(os.path.join(path, n))]
  if missing:
    pytest.skip(f'GEN_DATA_DIR has no {", ".join(missing)}.')
  return path


def run_cli(
    script: str, *args: str, env: dict | None = None, timeout: int = 600, check: bool = True
) -> subprocess.CompletedProcess:
  """Runs train.py / eval.py as a user would, from the repository root."""
  full_env = {**os.environ, **(env or {})}
  full_env.setdefault('JAX_PLATFORMS', 'cpu')
  proc = subprocess.run(
      [sys.executable, os.path.join(ROOT, script), *args],
      cwd=ROOT,
      env=full_env,
      capture_output=True,
      text=True,
      timeout=timeout,
  )
  if check and proc.returncode != 0:
    raise AssertionError(
        f'{script} {" ".join(args)} exited {proc.returncode}:\n{proc.stderr[-4000:]}'
    )
  return proc


def one_error_line(proc: subprocess.CompletedProcess) -> str:
  """The one `error: ...` line of a command that failed as a user mistake should: exit
  status 1, no traceback, exactly one such line on stderr."""
  assert proc.returncode == 1, proc.stderr[-2000:]
  assert 'Traceback' not in proc.stderr, proc.stderr[-2000:]
  lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert len(lines) == 1, proc.stderr[-2000:]
  return lines[0]


def run_module(
    module: str, *args: str, env: dict | None = None, timeout: int = 600, check: bool = True
) -> subprocess.CompletedProcess:
  """`python -m MODULE ARGS` from the repository root, as a user runs it."""
  full_env = {**os.environ, 'JAX_PLATFORMS': 'cpu', **(env or {})}
  proc = subprocess.run(
      [sys.executable, '-m', module, *args],
      cwd=ROOT,
      env=full_env,
      capture_output=True,
      text=True,
      timeout=timeout,
  )
  if check and proc.returncode != 0:
    raise AssertionError(f'{module} exited {proc.returncode}:\n{proc.stderr[-4000:]}')
  return proc
