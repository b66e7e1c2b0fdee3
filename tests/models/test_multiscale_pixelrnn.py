"""Multi-scale PixelRNN: exact causality of both networks (the big one may read the small
image only through its per-layer bias), the likelihood assembled by hand from the two
networks, normalisation over every 4x4 binary image, sampling (the small model's sample
on the sub-lattice, the likelihood's distribution), learning on binarized MNIST through
the CLI, bitwise resumption and config errors."""

import functools
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import runs
from conftest import ROOT, data_dir_or_skip, one_error_line, run_cli

from gen import config as config_lib
from gen.data import sources
from gen.models import registry
from gen.models.autoregressive import common, multiscale
from gen.train import loop
from gen.train import state as state_lib

SMOKE = 'configs/multiscale_pixelrnn.py:smoke'
LAYERS = ('row_lstm', 'diagonal_bilstm')


def _config(layer, **model):
  config = config_lib.load(f'{ROOT}/{SMOKE}')
  with config.unlocked():
    config.model.update(layer=layer, **model)
  return config


def _random(tree, seed, std=0.5):
  """Normal(0, std) arrays of the shapes of `tree` (ShapeDtypeStructs): random weights
  (biases and initial states too) without compiling the networks' init."""
  rng = np.random.default_rng(seed)
  return jax.tree.map(lambda s: jnp.asarray(rng.normal(0.0, std, s.shape), s.dtype), tree)


@functools.cache
def _model(layer, shape):
  """(config, model, state) of a tiny binary model of `shape` images (the smoke preset's
  networks, f = 2, data.scale 'none': a batch is its levels), random weights."""
  config = _config(layer)
  with config.unlocked():
    config.data.update(scale='none')
  info = sources.DatasetInfo('tiny', 'image', shape, 2, None, ('train', 'test'))
  m = registry.build(config, info)
  state = jax.eval_shape(m.init, jax.random.PRNGKey(0), {'x': jnp.zeros((1,) + shape)})
  return config, m, state.replace(params=_random(state.params, 0))


def _all_binary_images(shape):
  bits = (np.arange(2 ** math.prod(shape))[:, None] >> np.arange(math.prod(shape))) & 1
  return bits.reshape((-1,) + shape).astype(np.float32)


def _jacobians(fn, *args):
  """d fn(*args)[0, i, j, :] / d arg[0, ...] for each arg, as (H, W, C_out, H', W', C_in)."""
  jac = jax.jit(jax.jacrev(lambda *a: fn(*a)[0], argnums=tuple(range(len(args)))))(*args)
  return [np.asarray(j)[..., 0, :, :, :] for j in jac]


def _raster(shape):
  return np.arange(math.prod(shape)).reshape(shape)


@pytest.mark.parametrize('layer', LAYERS)
@pytest.mark.parametrize('c, levels', [(1, 2), (3, 3)], ids=['binary', 'rgb'])
def test_big_network_reads_the_future_only_through_the_small_image(layer, c, levels):
  """6x6 images, f = 2, random weights. With x_s a separate input, the big network is
  exactly causal in x (PixelRNN eq. 2, R -> G -> B: output (i, g) has zero gradient wrt
  input sub-pixels (j, g') with j > i, or j = i and g' >= g), so x_s reaches it only
  through the bias: as the model runs it (x_s = x[::2, ::2]) no off-lattice pixel j >= i
  is read. The bias does carry the future sub-lattice: pixel (0, 1) reads x_s (1, 1).
  The small network is an unconditional PixelRNNNet (tests/models/test_pixelrnn.py)."""
  h, f = 6, 2
  cfg = _config(layer, hidden=6, num_layers=2, head_features=6, cond_features=4).model
  p = common.Pixels((h, h, c), levels, 'none')
  _, big, _ = multiscale.networks(cfg, p)
  x = jax.random.normal(jax.random.PRNGKey(0), (1, h, h, c))
  xs = multiscale.sublattice(x, f)
  params = _random(jax.eval_shape(big.init, jax.random.PRNGKey(1), x, xs), 1)
  jac_x, jac_xs = _jacobians(lambda x, xs: big.apply(params, x, xs), x, xs)
  k = p.outputs_per_channel  # 1 Bernoulli logit, or 3 softmax logits per sub-pixel
  order = _raster((h, h, c))
  future = order[None, None, None] >= np.repeat(order, k, axis=-1)[:, :, :, None, None, None]
  assert np.all(jac_x[future] == 0.0)
  same = np.stack([jac_x[i, j, :, i, j, :] for i in range(h) for j in range(h)])
  reads = np.any(same != 0.0, axis=0).reshape(c, k, c).any(axis=1)
  np.testing.assert_array_equal(reads, np.tril(np.ones((c, c)), -1))
  assert np.all(jac_xs[0, 1, :, 1, 1] != 0.0)


def test_log_likelihood_is_the_small_image_plus_the_scored_pixels_by_hand():
  """log p(x) = log p_small(x_s) + sum over pixels off the sub-lattice of the big
  network's Bernoulli log-probabilities, assembled in NumPy from the two networks'
  logits (every 4x4 binary image with x[0, 0] = 0 and x[0, 1] = 1, f = 2)."""
  config, m, state = _model('row_lstm', (4, 4, 1))
  v = _all_binary_images((4, 4, 1))[2::4]
  small, big, _ = multiscale.networks(config.model, common.Pixels((4, 4, 1), 2, 'none'))
  params = state_lib.network_params(state, 'net')
  x, xs = 2 * v - 1, 2 * v[:, ::2, ::2] - 1
  small_logits = np.asarray(jax.jit(small.apply)({'params': params['small']}, xs), np.float64)
  big_logits = np.asarray(jax.jit(big.apply)({'params': params['big']}, x, xs), np.float64)
  bernoulli = lambda l, v: v * l - np.logaddexp(0.0, l)
  log_p_small = bernoulli(small_logits, v[:, ::2, ::2]).sum(axis=(1, 2, 3))
  log_p_big = sum(
      bernoulli(big_logits[:, r, c, 0], v[:, r, c, 0])
      for r in range(4) for c in range(4) if r % 2 or c % 2
  )  # fmt: skip
  log_p = jax.jit(m.log_likelihood)(state, {'x': v}, None)
  np.testing.assert_allclose(log_p, log_p_small + log_p_big, rtol=1e-5)


@pytest.mark.parametrize('layer', LAYERS)
def test_likelihood_sums_to_one_over_every_4x4_binary_image(layer):
  """A pmf: exp(log p) sums to 1 over all 2^16 binary 4x4 images (f = 2, random weights).
  It would not if the big network read a future off-lattice pixel, or scored a
  sub-lattice one, or the small image were not the sub-lattice."""
  _, m, state = _model(layer, (4, 4, 1))
  log_p = jax.jit(m.log_likelihood)(state, {'x': _all_binary_images((4, 4, 1))}, None)
  np.testing.assert_allclose(float(jax.nn.logsumexp(log_p)), 0.0, atol=1e-4)


def test_samples_keep_the_small_sample_and_follow_the_likelihood():
  """Sampling with k_small, k_big = split(key): the sub-lattice of a 4x4 sample is the
  small network's naive sample with k_small (the model samples it cached); samples are
  binary and a function of the key; completion keeps what is observed. On 2x2 images (a 1x1 small image, three drawn pixels), the frequencies of 20,000
  samples match exp(log p) of the 16 images within 5 standard errors each."""
  config, m, state = _model('row_lstm', (4, 4, 1))
  key, n = jax.random.PRNGKey(7), 5
  sample = jax.jit(m.sample, static_argnums=2)
  v = np.asarray(sample(state, key, n))
  np.testing.assert_array_equal(v, np.asarray(sample(state, key, n)))
  assert not np.array_equal(v, np.asarray(sample(state, jax.random.PRNGKey(8), n)))
  assert set(np.unique(v)) <= {0.0, 1.0}
  small, _, small_p = multiscale.networks(config.model, common.Pixels((4, 4, 1), 2, 'none'))
  params = state_lib.network_params(state, 'net')['small']
  run_small = lambda xs: small.apply({'params': params}, xs)
  v_small = common.sample_naive(run_small, jax.random.split(key)[0], n, small_p)
  np.testing.assert_array_equal(v[:, ::2, ::2], v_small)
  # Completion: observed pixels, on and off the sub-lattice, kept; none observed = sample.
  complete = jax.jit(m.complete)
  x = jnp.asarray(np.random.default_rng(0).integers(0, 2, (n, 4, 4, 1)), jnp.float32)
  observed = jnp.zeros((n, 4, 4), bool).at[:, :2].set(True)
  np.testing.assert_array_equal(np.asarray(complete(state, key, {'x': x}, observed))[:, :2], x[:, :2])
  np.testing.assert_array_equal(complete(state, key, {'x': x}, jnp.zeros_like(observed)), v)

  _, m, state = _model('diagonal_bilstm', (2, 2, 1))
  draws = np.asarray(jax.jit(m.sample, static_argnums=2)(state, key, 20_000))
  index = draws.reshape(-1, 4).astype(int) @ (1 << np.arange(4))
  freq = np.bincount(index, minlength=16) / len(index)
  images = _all_binary_images((2, 2, 1))
  prob = np.exp(np.asarray(jax.jit(m.log_likelihood)(state, {'x': images}, None), np.float64))
  np.testing.assert_allclose(prob.sum(), 1.0, rtol=1e-5)
  assert prob.max() > 5 * prob.min(), prob  # far from uniform: the conditionals matter
  assert np.all(np.abs(freq - prob) <= 5 * np.sqrt(prob * (1 - prob) / len(index))), (freq, prob)


# The learning test's run; the resume test repeats it for 20 steps, so on one worker
# (xdist_group) it finds its executables in the session's compilation cache.
BMNIST = 'configs/multiscale_pixelrnn.py:binarized_mnist'
LEARN = (
    'model.layer=row_lstm', 'model.hidden=8', 'model.num_layers=1', 'model.head_features=16',
    'model.small.num_layers=1', 'train.log_every=100', 'train.batch_size=32',
    'train.sample_every=300', 'train.num_samples=2', 'train.checkpoint_every=300',
)  # fmt: skip


@pytest.mark.xdist_group('multiscale_pixelrnn_cli')
def test_learns_binarized_mnist_and_evaluates_through_the_cli(tmp_path):
  """300 steps of a multi-scale Row LSTM (one layer of h = 8 in each network) reach a
  test NLL below 130 nats, the bound of the single-scale learning test
  (tests/models/test_pixelrnn.py; measured 104.5, single-scale 108.1); independent
  Bernoulli pixels score 205.8. The two parts are logged, and the samples written."""
  env = {'GEN_DATA_DIR': data_dir_or_skip('binarized_mnist')}
  work = tmp_path / 'ms'
  runs.train(work, BMNIST, *LEARN, 'train.num_steps=300', env=env)
  run_cli('eval.py', f'--workdir={work}', '--features=none', env=env)
  metrics = json.loads((work / 'eval' / 'step_300.json').read_text())['metrics']
  assert metrics['num_examples'] == 10_000
  assert metrics['nll_nats'] < 130.0, metrics
  np.testing.assert_allclose(
      metrics['bits_per_dim'], metrics['nll_nats'] / (784 * math.log(2)), rtol=1e-12
  )
  last = runs.metrics(work)[-1]
  np.testing.assert_allclose(last['ar/nll_small'] + last['ar/nll_big'], last['ar/nll'], rtol=1e-5)
  assert (work / 'samples' / 'step_300.png').stat().st_size > 0


@pytest.mark.xdist_group('multiscale_pixelrnn_cli')
def test_resumes_bitwise(tmp_path):
  data_dir_or_skip('binarized_mnist')
  runs.assert_resumes_bitwise(tmp_path, BMNIST, *LEARN)


def test_a_scale_that_does_not_divide_the_image_is_one_error_line(tmp_path):
  proc = run_cli(
      'train.py', f'--config={SMOKE}', f'--workdir={tmp_path / "w"}', '--config.model.scale=3',
      check=False,
  )  # fmt: skip
  assert one_error_line(proc) == (
      'error: config.model.scale=3: must divide the image size 8x8 (the small image is every '
      'scale-th pixel): use one of 2, 4, 8.'
  )
  assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize(
    'overrides, message',
    [
        ({'model.scale': 1}, 'config.model.scale=1: must be an integer >= 2'),
        ({'model.layer': 'gru'}, "config.model.layer='gru': must be one of diagonal_bilstm"),
        ({'model.small.hidden': 0}, 'config.model.small.hidden=0: must be an integer >= 1'),
        ({'model.cond_features': 0}, 'config.model.cond_features=0'),
        ({'model.conditional': True}, 'Multi-scale PixelRNN is not class-conditional'),
    ],
)
def test_bad_settings_are_config_errors(overrides, message):
  config = config_lib.load(f'{ROOT}/{SMOKE}')
  with config.unlocked():
    config.update_from_flattened_dict(overrides)
  with pytest.raises(config_lib.ConfigError, match=message):
    loop.setup(config)
