"""gen/host_memory.py: malloc keeps freed memory when gen is imported, unless told not to."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CODE = 'import gen.host_memory as h; print(h.keep_freed_memory())'


def _run(env_value):
  env = {k: v for k, v in os.environ.items() if k != 'GEN_MALLOC_TUNING'}
  if env_value is not None:
    env['GEN_MALLOC_TUNING'] = env_value
  out = subprocess.run([sys.executable, '-c', _CODE], cwd=ROOT, env=env, capture_output=True, text=True, check=True)  # fmt: skip
  return out.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc malloc settings: Linux only')
def test_applied_on_linux_and_switched_off_by_the_environment():
  assert _run(None) == 'True'
  assert _run('0') == 'False'
