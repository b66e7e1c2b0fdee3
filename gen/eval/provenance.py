"""What every evaluation record carries about how it was made: code version, file digests."""

from __future__ import annotations

import hashlib
import os
import subprocess


def _git(*args: str) -> str | None:
  try:
    return subprocess.run(
        ['git', *args],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.abspath(__file__)),
        check=True,
    ).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return None


def git_commit() -> str | None:
  """HEAD of the repository holding this code; None outside a git checkout."""
  return _git('rev-parse', 'HEAD')


def git_dirty() -> bool | None:
  """Whether tracked files differ from HEAD (the commit alone does not describe the code)."""
  status = _git('status', '--porcelain', '--untracked-files=no')
  return None if status is None else bool(status)


def sha256_bytes(data: bytes) -> str:
  return hashlib.sha256(data).hexdigest()


def sha256_file(path) -> str:
  h = hashlib.sha256()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      h.update(block)
  return h.hexdigest()
