"""Masked convolutions: the masks of PixelRNN sec. 3.4 / Fig. 4, exactly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen.nn import masked


def test_spatial_mask_keeps_rows_above_and_the_left_of_the_centre():
  a = masked.causal_mask((3, 5), 1, 1, 'A')[..., 0, 0]
  b = masked.causal_mask((3, 5), 1, 1, 'B')[..., 0, 0]
  np.testing.assert_array_equal(a, [[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0]])
  np.testing.assert_array_equal(b, [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0]])


def test_centre_tap_reads_earlier_colour_groups_only():
  # 3 input channels (R, G, B) -> 6 outputs (2 per group), then 6 -> 6.
  a = masked.causal_mask((3, 3), 3, 6, 'A', groups=3)[1, 1]
  b = masked.causal_mask((3, 3), 6, 6, 'B', groups=3)[1, 1]
  np.testing.assert_array_equal(
      a, [[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]]
  )  # R feeds G and B, G feeds B
  expected_b = np.kron(np.triu(np.ones((3, 3))), np.ones((2, 2)))  # g_in <= g_out
  np.testing.assert_array_equal(b, expected_b)
  # Off-centre earlier taps read every channel.
  assert masked.causal_mask((3, 3), 3, 6, 'A', groups=3)[0].min() == 1.0


def test_one_by_one_mask_a_on_one_group_is_refused_and_mask_b_is_the_identity_pattern():
  with pytest.raises(ValueError, match='all zero'):
    masked.causal_mask((1, 1), 4, 4, 'A')
  assert masked.causal_mask((1, 1), 4, 4, 'B').min() == 1.0
  with pytest.raises(ValueError, match='equal groups'):
    masked.causal_mask((3, 3), 4, 6, 'B', groups=3)


def test_masked_conv_sees_no_future_pixel_and_no_later_channel():
  """The Jacobian of a stack of a mask-A and a mask-B layer is exactly zero on every future
  sub-pixel (raster order, then R -> G -> B)."""
  h, w, c = 5, 5, 3
  net = lambda params, x: masked.MaskedConv(3, (3, 3), 'B', 3).apply(
      params[1], jax.nn.relu(masked.MaskedConv(6, (5, 5), 'A', 3).apply(params[0], x))
  )
  x = jax.random.normal(jax.random.PRNGKey(0), (1, h, w, c))
  params = (
      masked.MaskedConv(6, (5, 5), 'A', 3).init(jax.random.PRNGKey(1), x),
      masked.MaskedConv(3, (3, 3), 'B', 3).init(jax.random.PRNGKey(2), jnp.zeros((1, h, w, 6))),
  )
  jac = np.asarray(jax.jacrev(lambda x: net(params, x))(x))[0, :, :, :, 0]  # (h, w, c, h, w, c)
  order = np.arange(h * w * c).reshape(h, w, c)
  later = order[None, None, None] >= order[:, :, :, None, None, None]
  assert np.all(jac[later] == 0.0)
  assert np.count_nonzero(jac[~later]) > 0.5 * np.count_nonzero(~later)
