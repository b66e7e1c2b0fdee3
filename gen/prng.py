"""JAX's threefry PRNG lowered as straight-line code on CPU too.

JAX lowers the threefry2x32 hash (Salmon et al. 2011) behind every
jax.random draw to a rolled five-iteration loop on CPU, to compile faster, and
to straight-line code on every other backend. On XLA CPU the loop keeps the
counters in memory and copies them every iteration: drawing a GAN's noise
batch of 512 x 256 cost about as much as the rest of the 2D GAN's train step
(docs/RESULTS.md). The straight-line lowering computes the same bits (the same
hash, so every seed gives the numbers it gave before); this module registers
it for CPU, once, when `gen` is imported.
"""

from __future__ import annotations

import functools


def use_straight_line_threefry_on_cpu() -> None:
  """Registers the lowering; a JAX without these internals (not the pinned one) keeps its own."""
  try:
    from jax._src.interpreters import mlir  # pylint: disable=import-outside-toplevel
    from jax._src.random import threefry2x32 as _threefry  # pylint: disable=import-outside-toplevel
  except ImportError:
    return
  rule = mlir.lower_fun(
      functools.partial(_threefry._threefry2x32_lowering, use_rolled_loops=False),  # pylint: disable=protected-access
      multiple_results=True,
  )
  # Out of line, as JAX emits it for other backends: one function however many draws.
  mlir.register_lowering(_threefry.threefry2x32_p, rule, platform='cpu', inline=False)
