"""PixelRNN's cached sampler: the same integers as the naive one for the same key, drawn
from the full network's outputs, for the Row LSTM and the Diagonal BiLSTM (binary and
RGB, with and without skip connections, non-zero learned initial states, known pixels),
and through the Model with the configs' default sampler."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runs
from gen.models.autoregressive import common, pixelrnn, pixelrnn_cached
from gen.nn import recurrent
from gen.train import step as step_lib


def _net_and_params(layer, p: common.Pixels, skip: bool, seed=0):
  """Two layers of h = 2C and random params: every kernel normal with variance 1 / fan-in,
  every bias and learned initial state (h0, c0) 0.5 x normal, so that a bias or initial
  state the sampler drops shows. NumPy draws them on the param shapes: nothing compiles."""
  c = p.shape[-1]
  net = pixelrnn.PixelRNNNet(layer, 2 * c, 2, 2 * c, p.outputs_per_channel, skip)
  shapes = jax.eval_shape(net.init, jax.random.PRNGKey(0), jnp.zeros((1,) + p.shape))['params']
  rng = np.random.default_rng(seed)

  def draw(path, a):
    kernel = path[-1].key.endswith('kernel')
    scale = math.prod(a.shape[:-1]) ** -0.5 if kernel else 0.5
    return jnp.asarray(scale * rng.standard_normal(a.shape), jnp.float32)

  return net, jax.tree_util.tree_map_with_path(draw, shapes)


def _naive(net, params, p, key, n, known=None):
  out_fn = functools.partial(net.apply, {'params': params})
  return jax.jit(lambda: common.sample_naive(out_fn, key, n, p, known))()


def test_left_boundary_states_by_hand():
  """The skewed scan's state entering column 0 of rows 0, 1, 2: h0, c0; then the cell on
  zero input from h0 above (row 0's initial state) and h0, c0 to the left; then row 2's
  phantom column 1, which reads row 1's phantom column 0 above and its own to the left,
  both equal to row 1's."""
  h, k = 2, jax.random.split(jax.random.PRNGKey(0), 3)
  kernel = jax.random.normal(k[0], (1, 2 * h, 4 * h))
  h0, c0 = jax.random.normal(k[1], (1, h)), jax.random.normal(k[2], (1, h))
  hs, cs = recurrent.left_boundary_states(kernel, h0, c0, 1, 3)
  h1, c1 = recurrent.lstm_cell(jnp.concatenate([h0, h0], -1) @ kernel[0], c0, 1)
  h2, c2 = recurrent.lstm_cell(jnp.concatenate([h1, h1], -1) @ kernel[0], c1, 1)
  np.testing.assert_allclose(hs, jnp.stack([h0, h1, h2]), atol=1e-6)
  np.testing.assert_allclose(cs, jnp.stack([c0, c1, c2]), atol=1e-6)
  assert np.all(np.abs(hs[1] - h0) > 1e-3)  # row 1 does not start from h0


def _known(p: common.Pixels, n: int, seed=3) -> common.Known:
  """Random levels, about half the pixels observed."""
  rng = np.random.default_rng(seed)
  levels = rng.integers(0, p.levels, (n,) + p.shape, dtype=np.int32)
  return common.Known(jnp.asarray(levels), jnp.asarray(rng.random((n,) + p.shape[:2]) < 0.5))


@pytest.mark.parametrize(
    'layer, shape, levels, skip, completion',
    [
        ('row_lstm', (5, 6, 1), 2, True, False),
        ('row_lstm', (4, 5, 3), 4, False, False),  # RGB: three draws per pixel
        ('diagonal_bilstm', (5, 6, 1), 2, False, False),
        ('diagonal_bilstm', (4, 5, 3), 4, True, True),  # with known pixels (common.Known)
    ],
)
def test_cached_sampling_equals_naive_sampling(layer, shape, levels, skip, completion):
  """Same key, same integers, on a non-square image; and every sub-pixel was drawn from
  the outputs the full network gives at it on the sampled image (causality makes the
  later sub-pixels irrelevant), so the states, the boundaries (zero above and left for
  the Row LSTM, the learned phantom states for the Diagonal BiLSTM), the right-to-left
  direction's shift and the colour order are the network's. With known pixels (image
  completion) the observed ones keep their levels and the others are drawn as the naive
  sampler draws them given the same observed pixels."""
  p = common.Pixels(shape, levels, 'unit')
  net, params = _net_and_params(layer, p, skip)
  key, n = jax.random.PRNGKey(1), 4
  known = _known(p, n) if completion else None
  sample = jax.jit(lambda: pixelrnn_cached.sample_with_outputs(params, net, p, key, n, known))
  cached, outs = sample()
  assert cached.shape == (n,) + shape and cached.dtype == jnp.int32
  assert len(np.unique(cached)) == levels
  if completion:
    seen = np.asarray(known.observed)
    assert 0 < seen.sum() < seen.size
    np.testing.assert_array_equal(cached[seen], known.levels[seen])
  full = jax.jit(lambda x: net.apply({'params': params}, x))(p.to_input(cached))
  np.testing.assert_allclose(outs, common.split_channels(full, p), atol=1e-5, rtol=1e-5)
  np.testing.assert_array_equal(cached, _naive(net, params, p, key, n, known))


def test_model_samples_with_the_configs_default_sampler():
  """Through the Model: the presets (configs/row_lstm.py's, which diagonal_bilstm.py
  reuses) default to the cached sampler, which gives the naive sampler's images (in the
  data's scale)."""
  spec = 'configs/diagonal_bilstm.py:smoke'
  config, model, batch = runs.setup_model(spec)
  assert config.model.sampler == 'cached'
  _, model_naive, _ = runs.setup_model(spec, **{'model.sampler': 'naive'})
  state = step_lib.init_state(model, 0.0, jax.random.PRNGKey(0), batch)
  key, n = jax.random.PRNGKey(3), 5
  a = jax.jit(model.sample, static_argnums=2)(state, key, n)
  np.testing.assert_array_equal(a, jax.jit(model_naive.sample, static_argnums=2)(state, key, n))
  assert a.shape == (n, 8, 8, 1) and set(np.unique(a)) == {0.0, 1.0}
