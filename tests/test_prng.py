"""gen's CPU lowering of threefry: the same bits as the algorithm, without a loop."""

import jax
import jax.numpy as jnp
import numpy as np
from jax._src.random import threefry2x32

import gen  # noqa: F401  (registers the lowering)


def test_threefry_known_answers():
  """Random123's known-answer vectors for threefry2x32 with 20 rounds (Salmon et al. 2011)."""
  hash_fn = jax.jit(threefry2x32.threefry_2x32)
  cases = [
      ((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
      ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
      ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
  ]
  for key, count, expected in cases:
    out = hash_fn(jnp.array(key, jnp.uint32), jnp.array(count, jnp.uint32))
    np.testing.assert_array_equal(np.asarray(out), np.array(expected, np.uint32))


def test_draws_lower_without_a_loop_and_keep_their_values():
  key = jax.random.PRNGKey(0)
  draw = jax.jit(lambda k: jax.random.normal(k, (3,)))
  assert 'while' not in draw.lower(key).as_text()
  # What JAX's own (rolled) CPU lowering draws for PRNGKey(0): the bits are unchanged.
  np.testing.assert_allclose(draw(key), [1.6226422, 2.0252647, -0.43359444], rtol=1e-6)
