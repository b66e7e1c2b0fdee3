"""gen.nn.max_pool: nn.max_pool's values, and its gradient where no window has a tie."""

import chex
import flax.linen as nn
import jax
import numpy as np
import pytest

from gen.nn import max_pool


@pytest.mark.parametrize(
    'shape, window, strides, padding',
    [
        ((2, 28, 28, 3), (2, 2), (2, 2), 'SAME'),  # the classifier's pools: a reshape
        ((2, 14, 14, 3), (2, 2), (2, 2), 'VALID'),
        ((2, 7, 7, 3), (2, 2), (2, 2), 'SAME'),  # odd size: nn.max_pool pads
        ((2, 9, 9, 3), (3, 3), (2, 2), 'VALID'),  # overlapping windows: nn.max_pool
    ],
)
def test_equals_flax_in_values_and_gradients(shape, window, strides, padding):
  x = jax.random.normal(jax.random.PRNGKey(0), shape)  # continuous: no ties
  ours = lambda x: max_pool(x, window, strides, padding)  # noqa: E731
  flax = lambda x: nn.max_pool(x, window, strides, padding=padding)  # noqa: E731
  np.testing.assert_array_equal(ours(x), flax(x))
  ct = jax.random.normal(jax.random.PRNGKey(1), flax(x).shape)
  chex.assert_trees_all_close(
      jax.vjp(ours, x)[1](ct), jax.vjp(flax, x)[1](ct), rtol=0, atol=0
  )


def test_a_tiled_window_shares_the_gradient_among_tied_maxima():
  x = np.zeros((1, 2, 2, 1), np.float32)  # one window, four tied maxima
  (dx,) = jax.vjp(lambda x: max_pool(x, (2, 2), (2, 2)), x)[1](np.ones((1, 1, 1, 1), np.float32))
  np.testing.assert_allclose(dx, np.full((1, 2, 2, 1), 0.25))
