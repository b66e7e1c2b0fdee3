"""Image completion through Model.complete, for every autoregressive model with tiny random
networks: observed pixels kept exactly, nothing observed = `sample` with the same key,
everything observed = the input, cached = naive, and hidden pixels drawn from the raster
conditional given the kept ones."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import runs

from gen.models.autoregressive import common
from gen.models.autoregressive import gated_pixelcnn as gated
from gen.models.autoregressive import pixelcnn
from gen.train import state as state_lib

# One worker runs this module, so its module-scoped fixture is built once.
pytestmark = pytest.mark.xdist_group('complete_models')

N = 3  # examples per case

# (spec, overrides) of tiny networks on 8x8 digits: binary (PixelCNN, the Gated PixelCNNs
# class-conditional, the Row LSTM) and 256 levels (PixelCNN++).
MODELS = {
    'pixelcnn': ('configs/pixelcnn.py:smoke', {}),
    'gated_naive': ('configs/gated_pixelcnn.py:smoke_conditional', {'model.sampler': 'naive'}),
    'gated_cached': ('configs/gated_pixelcnn.py:smoke_conditional', {}),
    'pixelcnn_pp_naive': ('configs/pixelcnn_pp.py:smoke', {'model.sampler': 'naive'}),
    'pixelcnn_pp_cached': ('configs/pixelcnn_pp.py:smoke', {'model.sampler': 'cached'}),
    'row_lstm': ('configs/row_lstm.py:smoke', {}),
}
# The naive samplers whose `sample` is not compiled here: equal to their cached twin's
# completion (below), whose `sample` is; and the twins' samples are equal (the models' own
# tests). PixelCNN and the Row LSTM compare with their own `sample`.
TWIN = {'gated_naive': 'gated_cached', 'pixelcnn_pp_naive': 'pixelcnn_pp_cached'}


def _cases(batch, h, w):
  """3N examples, the first N images three times, and their observed masks: nothing, all,
  and a random mask."""
  batch = {k: jnp.concatenate([v[:N]] * 3) for k, v in batch.items()}
  rng = np.random.default_rng(0)
  observed = np.concatenate(
      [np.zeros((N, h, w), bool), np.ones((N, h, w), bool), rng.random((N, h, w)) < 0.5]
  )
  return batch, observed


def _random(shapes):
  """Random arrays N(0, 0.2^2) of a tree of shapes: from tracing an init for the shapes,
  not compiling it (PixelCNN++'s data-dependent init compiles in ~30 s)."""
  rng = np.random.default_rng(1)  # NumPy: no compilation per leaf shape
  return jax.tree.map(lambda s: jnp.asarray(0.2 * rng.normal(size=s.shape), s.dtype), shapes)


def _random_state(model, batch):
  """A State with random params of the model's shapes."""
  params = _random(jax.eval_shape(model.init, jax.random.PRNGKey(0), batch).params)
  return state_lib.create(jax.random.PRNGKey(0), params, {})


@pytest.fixture(scope='module')
def completions():
  """{name: (config, state, batch, observed, completion (3N, ...), sample (3N, ...) or
  None)}: completion with PRNGKey(7), and `sample` with the same key."""
  key = jax.random.PRNGKey(7)
  out = {}
  for name, (spec, overrides) in MODELS.items():
    config, model, batch = runs.setup_model(spec, **overrides)
    state = _random_state(model, batch)
    batch, observed = _cases(batch, *batch['x'].shape[1:3])
    labels = batch['label'] if model.num_classes else None
    if name in TWIN:
      done, drawn = jax.jit(model.complete)(state, key, batch, observed), None
    else:  # one program: about half the compile time of two

      def both(state, batch, observed, model=model, labels=labels):
        return model.complete(state, key, batch, observed), model.sample(state, key, 3 * N, labels)

      done, drawn = map(np.asarray, jax.jit(both)(state, batch, observed))
    out[name] = (config, state, batch, observed, np.asarray(done), drawn)
  return out


@pytest.mark.parametrize('name', MODELS)
def test_completion_keeps_observed_pixels_and_draws_the_rest_as_sample(completions, name):
  _, _, batch, observed, done, drawn = completions[name]
  x = np.asarray(batch['x'])
  assert done.shape == x.shape and done.dtype == np.float32
  nothing, everything, some = slice(0, N), slice(N, 2 * N), slice(2 * N, 3 * N)
  # Nothing observed: `sample` with the same key, bit for bit (the same noise per position).
  drawn = drawn if drawn is not None else completions[TWIN[name]][5]
  np.testing.assert_array_equal(done[nothing], drawn[nothing])
  # Everything observed: the input.
  np.testing.assert_array_equal(done[everything], x[everything])
  # Some observed: those pixels (every channel) exactly; the hidden ones drawn.
  seen = observed[some]
  np.testing.assert_array_equal(done[some][seen], x[some][seen])
  assert not np.array_equal(done[some], x[some])
  assert len(np.unique(done[some][~seen])) > 1


@pytest.mark.parametrize('family', ['gated', 'pixelcnn_pp'])
def test_cached_completion_equals_naive_completion(completions, family):
  cached, naive = completions[f'{family}_cached'][4], completions[f'{family}_naive'][4]
  np.testing.assert_array_equal(cached, naive)


def test_hidden_pixels_are_draws_of_the_raster_conditional_given_the_kept_ones(completions):
  """PixelCNN: one pass over a completed image gives every pixel the logit it was drawn
  from (causality); redrawing every pixel with its position's noise returns the completion
  at every hidden pixel, so each was drawn from p(x_i | x_<i) with the kept pixels before it
  read as they are. At kept pixels the redraw differs somewhere: they are the data's."""
  config, state, _, observed, done, _ = completions['pixelcnn']
  cfg = config.model
  p = common.Pixels((8, 8, 1), 2, config.data.scale)
  net = pixelcnn.PixelCNNNet(cfg.features, cfg.num_blocks, cfg.head_features, 1)
  key = jax.random.PRNGKey(7)

  @jax.jit
  def redraw(params, v):
    out = common.split_channels(net.apply({'params': params}, p.to_input(v)), p)
    draw = lambda i, logits: common.draw(key, i, logits, p)
    return jax.vmap(draw, in_axes=(0, 1), out_axes=1)(jnp.arange(64), out.reshape(len(v), 64, 1))

  v = np.asarray(p.to_levels(jnp.asarray(done)))
  redrawn = np.asarray(redraw(state_lib.network_params(state, 'net'), v)).reshape(v.shape)
  hidden = ~observed[..., None]
  np.testing.assert_array_equal(redrawn[hidden], v[hidden])
  some = slice(2 * N, 3 * N)  # the random masks
  assert np.any(redrawn[some][~hidden[some]] != v[some][~hidden[some]])


def test_rgb_cached_completion_keeps_whole_pixels_as_the_naive_one():
  """Gated PixelCNN on 8-bit RGB (three draws per pixel, each colour group reading the kept
  groups before it): the cached sampler keeps every channel of an observed pixel and gives
  the naive sampler's integers."""
  shape = (4, 4, 3)
  p = common.Pixels(shape, 256, 'unit')
  net = gated.GatedPixelCNNNet(3, (1,), p.outputs_per_channel, 3)
  x = jax.ShapeDtypeStruct((1, *shape), jnp.float32)
  params = _random(jax.eval_shape(net.init, jax.random.key(0), x)['params'])
  rng = np.random.default_rng(1)
  levels = jnp.asarray(rng.integers(0, 256, (N, *shape)), jnp.int32)
  known = common.Known(levels, jnp.asarray(rng.random((N, 4, 4)) < 0.5))
  key = jax.random.key(5)
  out_fn = lambda x: net.apply({'params': params}, x)

  @jax.jit
  def both():
    cached = gated.sample_cached(params, net, p, key, N, None, known)
    return cached, common.sample_naive(out_fn, key, N, p, known)

  cached, naive = map(np.asarray, both())
  np.testing.assert_array_equal(cached, naive)
  seen = np.asarray(known.observed)
  np.testing.assert_array_equal(cached[seen], np.asarray(known.levels)[seen])
  assert len(np.unique(cached[~seen])) > 10
