"""PixelCNN: exact causality, the blind spot where stacked masked kernels leave it, the
likelihood, naive sampling, and training / evaluation / resumption through the CLI."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import ROOT, data_dir_or_skip, run_cli

import runs
from gen import config as config_lib
from gen.models.autoregressive import common, pixelcnn
from gen.train import loop
from gen.train import step as step_lib

SMOKE = 'configs/pixelcnn.py:smoke'


def _jacobian(net, shape, key=0):
  """d out[0, i, j, :] / d x[0, ...] as (H, W, C_out, H, W, C_in)."""
  x = jax.random.normal(jax.random.PRNGKey(key), (1,) + shape)
  params = net.init(jax.random.PRNGKey(key + 1), x)
  return np.asarray(jax.jacrev(lambda x: net.apply(params, x)[0])(x))[..., 0, :, :, :]


def test_rgb_outputs_see_no_future_sub_pixel():
  """Logits of sub-pixel (i, g) have exactly zero gradient wrt input sub-pixels (j, g')
  with j > i, or j = i and g' >= g (PixelRNN eq. 2, R -> G -> B)."""
  h, w, c, k = 5, 5, 3, 2  # k outputs per colour channel
  jac = _jacobian(pixelcnn.PixelCNNNet(12, 2, 6, k), (h, w, c))
  order = np.arange(h * w * c).reshape(h, w, c)
  out_order = np.repeat(order, k, axis=-1)  # output block g holds k values
  future = order[None, None, None] >= out_order[:, :, :, None, None, None]
  assert np.all(jac[future] == 0.0)
  # The blocks read earlier colours of their own pixel, G from R, B from R and G, at some
  # pixels at least (a ReLU can switch a path off at any one pixel).
  same = np.stack([jac[i, j, :, i, j, :] for i in range(h) for j in range(w)])  # (HW, Co, Ci)
  reads = np.any(same != 0.0, axis=0).reshape(c, k, c).any(axis=1)
  np.testing.assert_array_equal(reads, [[0, 0, 0], [1, 0, 0], [1, 1, 0]])


def _footprint(kernel, mask_type):
  """Offsets (dy, dx) a masked k x k kernel reads (gen.nn.masked, one channel group)."""
  r = kernel // 2
  return {(dy, dx) for dy in range(-r, 1) for dx in range(-r, r + 1)
          if dy < 0 or dx < 0 or (dx == 0 and mask_type == 'B')}  # fmt: skip


def test_stacked_masked_kernels_leave_the_blind_spot():
  """The dependence pattern is exactly the Minkowski sum of the layers' footprints
  (7x7 A, then 3x3 B per block): it misses pixels above and to the right that precede the
  current one in raster order, the blind spot of van den Oord et al. 2016b, Fig. 1."""
  h = w = 15
  blocks = 2
  net = pixelcnn.PixelCNNNet(8, blocks, 8, 1)
  # Any one input can switch a ReLU path off: the union over a few random inputs.
  jac = sum(np.abs(_jacobian(net, (h, w, 1), key)[7, 7, 0, :, :, 0]) for key in range(0, 8, 2))
  reach = _footprint(7, 'A')
  for _ in range(blocks):
    reach = {(a + c, b + d) for a, b in reach for c, d in _footprint(3, 'B')}
  seen = {(int(dy) - 7, int(dx) - 7) for dy, dx in zip(*np.nonzero(jac))}
  assert seen == reach, (sorted(reach - seen), sorted(seen - reach))
  blind = {(dy, dx) for dy in range(-5, 0) for dx in range(8) if (dy, dx) not in reach}
  assert (-1, 6) in blind and (-2, 7) in blind and (-5, 5) not in blind, sorted(blind)


def test_likelihood_is_the_sum_of_per_pixel_bernoulli_and_softmax_terms():
  p2 = common.Pixels((2, 2, 1), 2, 'unit')
  out = jnp.array([[[[0.0], [1.0]], [[-2.0], [3.0]]]])
  v = jnp.array([[[[1], [0]], [[0], [1]]]])
  expected = math.log(0.5) + math.log(1 - 1 / (1 + math.exp(-1))) + math.log(
      1 - 1 / (1 + math.exp(2))
  ) + math.log(1 / (1 + math.exp(-3)))
  np.testing.assert_allclose(common.subpixel_log_prob(out, v, p2), [expected], rtol=1e-6)
  p256 = common.Pixels((1, 1, 3), 256, 'unit')
  logits = jax.random.normal(jax.random.PRNGKey(0), (1, 1, 1, 3 * 256))
  v = jnp.array([[[[0, 17, 255]]]])
  logp = jax.nn.log_softmax(logits.reshape(3, 256), axis=-1)
  np.testing.assert_allclose(
      common.subpixel_log_prob(logits, v, p256), [logp[0, 0] + logp[1, 17] + logp[2, 255]],
      rtol=1e-6,
  )  # fmt: skip


def test_levels_round_trip_through_every_data_scale():
  v = jnp.arange(256, dtype=jnp.int32).reshape(1, 16, 16, 1)
  for scale in ('unit', 'symmetric', 'none'):
    p = common.Pixels((16, 16, 1), 256, scale)
    np.testing.assert_array_equal(p.to_levels(p.to_data(v)), v)


def test_naive_sampling_gives_levels_and_depends_only_on_the_key():
  config = config_lib.load(f'{ROOT}/{SMOKE}')
  _, model, _ = loop.setup(config)
  batch = {k: jnp.asarray(v) for k, v in loop.example_batch(config, model).items()}
  state = step_lib.init_state(model, 0.0, jax.random.PRNGKey(0), batch)
  sample = jax.jit(model.sample, static_argnums=2)
  a, b = sample(state, jax.random.PRNGKey(3), 4), sample(state, jax.random.PRNGKey(3), 4)
  np.testing.assert_array_equal(a, b)
  assert a.shape == (4, 8, 8, 1) and set(np.unique(a)) <= {0.0, 1.0}
  assert not np.array_equal(a, sample(state, jax.random.PRNGKey(4), 4))


def test_learns_binarized_mnist_and_evaluates_through_the_cli(tmp_path):
  """300 steps of a small PixelCNN reach a test NLL below 130 nats. The best model
  that ignores pixel dependencies (independent Bernoulli pixels at the training marginals)
  scores 205.8 nats on this test set, so the masked convolutions must use the context."""
  env = {'GEN_DATA_DIR': data_dir_or_skip('binarized_mnist')}
  work = tmp_path / 'pixelcnn'
  runs.train(
      work, 'configs/pixelcnn.py:binarized_mnist', 'train.num_steps=300', 'train.log_every=100',
      'train.batch_size=32', 'model.features=16', 'model.num_blocks=2', 'model.head_features=16',
      'train.sample_every=300', 'train.num_samples=4', env=env,
  )  # fmt: skip
  run_cli('eval.py', f'--workdir={work}', '--features=none', env=env)
  metrics = json.loads((work / 'eval' / 'step_300.json').read_text())['metrics']
  assert metrics['num_examples'] == 10_000
  assert metrics['nll_nats'] < 130.0, metrics
  np.testing.assert_allclose(
      metrics['bits_per_dim'], metrics['nll_nats'] / (784 * math.log(2)), rtol=1e-12
  )


def test_smoke_resumes_bitwise(tmp_path):
  runs.assert_resumes_bitwise(tmp_path, SMOKE)


@pytest.mark.parametrize(
    'overrides, message',
    [
        ({'data.binarize': False, 'data.dequantize': True}, 'PixelCNN is a discrete likelihood'),
        ({'model.features': 9}, 'config.model.features=9: must be a multiple of 2'),
        ({'data.name': 'ring8'}, "config.data.name='ring8': is 2D points"),
    ],
)
def test_bad_settings_are_config_errors(overrides, message):
  config = config_lib.load(f'{ROOT}/{SMOKE}')
  with config.unlocked():
    config.update_from_flattened_dict(overrides)
  with pytest.raises(config_lib.ConfigError, match=message):
    loop.setup(config)


def test_a_conditional_pixelcnn_is_a_one_line_cli_error(tmp_path):
  proc = runs.train(tmp_path / 'bad', SMOKE, 'model.conditional=True', check=False)
  assert proc.returncode == 1 and 'Traceback' not in proc.stderr
  last = proc.stderr.strip().splitlines()[-1]
  assert last.startswith('error: config.model.conditional=True: PixelCNN is unconditional'), last
