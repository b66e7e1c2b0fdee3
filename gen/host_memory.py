"""Freed host memory stays in the process (glibc malloc), so XLA CPU's buffers don't page-fault.

XLA CPU allocates every program's temporaries and outputs with malloc on each
run and frees them after. glibc serves large requests with fresh mmap'd pages
and returns them to the kernel on free, so every training step touches its
intermediates' pages for the first time again: each 4 KiB page costs a fault
and a zeroing. On this project's 2-core machine the InfoGAN step (25 MB
weights and gradients in its dense layers) took about 47,000 page faults and
180-230 ms of system time per step, and 100-4,700 faults and 6-70 ms with these
settings: 350-430 against 480-570 ms per step (three alternating runs each,
docs/RESULTS.md, "Host memory"). With one arena, mmap off and no trimming,
freed blocks are reused from the heap instead, as PyTorch's caching allocator
reuses its blocks.

Set when `gen` is imported, on Linux with glibc only; GEN_MALLOC_TUNING=0 in
the environment leaves malloc as it is. The cost: the process keeps its peak
heap size until it exits (a training or evaluation process runs at its peak
anyway).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8


def keep_freed_memory() -> bool:
  """Turns off mmap for allocations and heap trimming; whether it was applied."""
  if os.environ.get('GEN_MALLOC_TUNING', '1') == '0' or not sys.platform.startswith('linux'):
    return False
  try:
    libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
    mallopt = libc.mallopt
  except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
    return False
  settings = ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2**31 - 1))
  return all(mallopt(param, value) == 1 for param, value in settings)
