"""Gated PixelCNN: exact causality without a blind spot, cached sampling equal to naive
sampling, learning on MNIST, and training / resumption / evaluation / errors through the
CLI."""

import json
import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import ROOT, data_dir_or_skip, run_cli

import runs
from gen import config as config_lib
from gen.models.autoregressive import common
from gen.models.autoregressive import gated_pixelcnn as gated
from gen.nn.conv import lax_conv
from gen.train import loop
from gen.train import step as step_lib

SMOKE = 'configs/gated_pixelcnn.py:smoke'


def _net(shape, dilations, outputs, classes=0, features=None):
  features = features or 2 * shape[-1]
  return gated.GatedPixelCNNNet(features, tuple(dilations), outputs, 3, classes)


def _params(net, shape, classes=0, key=0):
  """Random params, biases and class biases included (zero-initialised ones would hide
  where a bias leaks in)."""
  x = jnp.zeros((1,) + shape)
  labels = jnp.zeros((1,), jnp.int32) if classes else None
  params = net.init(jax.random.PRNGKey(key), x, labels)['params']
  leaves, tree = jax.tree.flatten(params)
  keys = jax.random.split(jax.random.PRNGKey(key + 1), len(leaves))
  leaves = [a + 0.3 * jax.random.normal(k, a.shape) for a, k in zip(leaves, keys)]
  return jax.tree.unflatten(tree, leaves)


def _jacobian(net, params, shape, label=None):
  """d out[0, i, j, :] / d x[0, ...] as (H, W, C_out, H, W, C_in)."""
  x = jax.random.normal(jax.random.PRNGKey(7), (1,) + shape)
  labels = None if label is None else jnp.array([label])
  fn = lambda x: net.apply({'params': params}, x, labels)[0]  # noqa: E731
  return np.asarray(jax.jit(jax.jacfwd(fn))(x))[..., 0, :, :, :]


@pytest.mark.parametrize('classes', [0, 3])
def test_rgb_outputs_see_no_future_sub_pixel(classes):
  """Logits of sub-pixel (i, g) have exactly zero gradient wrt input sub-pixels (j, g')
  with j > i, or j = i and g' >= g (R -> G -> B), with dilation and class bias; and they
  read the earlier colours of their own pixel."""
  shape, k = (5, 5, 3), 2  # k outputs per colour channel
  net = _net(shape, (1, 2), k, classes)
  jac = _jacobian(net, _params(net, shape, classes), shape, 1 if classes else None)
  order = np.arange(math.prod(shape)).reshape(shape)
  out_order = np.repeat(order, k, axis=-1)  # output block g holds k values
  future = order[None, None, None] >= out_order[:, :, :, None, None, None]
  assert np.all(jac[future] == 0.0)
  assert np.all(jac[2, 2, k : 2 * k, 2, 2, 0] != 0.0)  # G reads R
  assert np.all(jac[2, 2, 2 * k :, 2, 2, :2] != 0.0)  # B reads R and G
  assert np.all(jac[2, 2, :, 1, 4] != 0.0)  # the pixel above-right (no blind spot)


@pytest.mark.parametrize('dilations', [(1, 1, 1), (1, 2, 1)])
def test_no_blind_spot_output_reads_every_earlier_pixel(dilations):
  """Output (4, 4) of an 8x8 image depends on every pixel of rows 0-3 (the upper-right
  ones too, which stacked masked k x k convolutions miss) and of row 4 left of it, and on
  nothing else: 4 layers of kernel 3 reach 4 rows up and 4 columns left."""
  shape = (8, 8, 1)
  net = _net(shape, dilations, 1, features=4)
  jac = _jacobian(net, _params(net, shape), shape)[4, 4, 0, :, :, 0]
  seen = jac != 0.0
  expected = np.zeros((8, 8), bool)
  expected[:4] = True
  expected[4, :4] = True
  np.testing.assert_array_equal(seen, expected)


def test_dilated_conv_matches_lax_values_and_gradients():
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 9, 7, 3))
  w = jax.random.normal(jax.random.PRNGKey(1), (2, 3, 3, 4))
  pads = ((4, 0), (4, 4))

  def ours(x, w):
    return jnp.sum(jnp.sin(gated.dilated_conv(x, w, 2, pads)))

  def ref(x, w):
    return jnp.sum(jnp.sin(lax_conv(x, w, padding=pads, rhs_dilation=(2, 2))))

  np.testing.assert_allclose(
      jax.jit(lambda x, w: gated.dilated_conv(x, w, 2, pads))(x, w),
      lax_conv(x, w, padding=pads, rhs_dilation=(2, 2)), rtol=1e-5, atol=1e-5,
  )  # fmt: skip
  grads = [jax.jit(jax.grad(f, (0, 1)))(x, w) for f in (ours, ref)]
  for a, b in zip(*grads):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    'shape, levels, dilations, classes',
    [
        ((6, 6, 1), 256, (1, 2), 0),  # 8-bit grayscale
        ((6, 6, 1), 2, (1, 2, 4), 0),  # binary, a dilation wider than half the image
        ((5, 5, 3), 256, (2, 1), 0),  # RGB: three draws per pixel
        ((6, 6, 1), 256, (1, 3), 3),  # class-conditional
    ],
)
def test_cached_sampling_equals_naive_sampling(shape, levels, dilations, classes):
  """Same key, same integers: the caches reproduce the padding at row 0 / column 0, the
  biases, the dilated taps and the colour order of the full network."""
  p = common.Pixels(shape, levels, 'unit')
  net = _net(shape, dilations, p.outputs_per_channel, classes)
  params = _params(net, shape, classes)
  n = 3
  labels = jnp.arange(n) % classes if classes else None
  key = jax.random.PRNGKey(1)
  cached = jax.jit(lambda: gated.sample_cached(params, net, p, key, n, labels))()
  out_fn = lambda x: net.apply({'params': params}, x, labels)  # noqa: E731
  naive = jax.jit(lambda: common.sample_naive(out_fn, key, n, p))()
  assert cached.shape == (n,) + shape and cached.dtype == jnp.int32
  assert len(np.unique(cached)) > 1
  np.testing.assert_array_equal(cached, naive)


def _state(spec, **overrides):
  config, model, batch = runs.setup_model(spec, **overrides)
  return config, model, step_lib.init_state(model, 0.0, jax.random.PRNGKey(0), batch)


def test_model_samples_with_labels_and_either_sampler():
  """Through the Model: the default labels (here one per class), cached == naive, and
  the class bias changes the samples."""
  spec = 'configs/gated_pixelcnn.py:smoke_conditional'
  _, model, state = _state(spec)
  _, model_naive, _ = _state(spec, **{'model.sampler': 'naive'})
  key, n = jax.random.PRNGKey(3), 10
  a = jax.jit(model.sample, static_argnums=2)(state, key, n)
  np.testing.assert_array_equal(a, jax.jit(model_naive.sample, static_argnums=2)(state, key, n))
  assert a.shape == (n, 8, 8, 1) and set(np.unique(a)) <= {0.0, 1.0}
  zeros = jax.jit(model.sample, static_argnums=2)(state, key, n, jnp.zeros(n, jnp.int32))
  np.testing.assert_array_equal(zeros[0], a[0])  # default label of sample 0: class 0
  assert not np.array_equal(zeros[1:], a[1:])


# Independent 256-way pixels at the training marginals (add-0.1 smoothing, the best of
# 1, 0.1, 0.01) score 917.6 nats = 1.689 bits/dim on the MNIST test set.
INDEPENDENT_PIXELS_BPD = 1.689
# 100 steps at batch 16 measured 1.32 on the test set.
LEARNED_BPD = 1.5


def test_learns_mnist_and_evaluates_through_the_cli(tmp_path):
  """100 steps of a small Gated PixelCNN on 8-bit MNIST beat the best model that ignores
  pixel dependencies by a wide margin, so the stacks must use the context."""
  env = {'GEN_DATA_DIR': data_dir_or_skip('mnist')}
  work = tmp_path / 'gated'
  runs.train(
      work, 'configs/gated_pixelcnn.py:mnist', 'train.num_steps=100', 'train.log_every=50',
      'train.batch_size=16', 'model.features=16', 'model.dilations=(1,)', 'optim.lr=5e-3',
      'train.sample_every=100', 'train.num_samples=4', env=env,
  )  # fmt: skip
  run_cli('eval.py', f'--workdir={work}', '--features=none', env=env)
  metrics = json.loads((work / 'eval' / 'step_100.json').read_text())['metrics']
  assert metrics['num_examples'] == 10_000
  assert metrics['bits_per_dim'] < LEARNED_BPD < INDEPENDENT_PIXELS_BPD, metrics
  np.testing.assert_allclose(
      metrics['bits_per_dim'], metrics['nll_nats'] / (784 * math.log(2)), rtol=1e-12
  )


def test_smoke_trains_and_resumes_bitwise(tmp_path):
  runs.assert_resumes_bitwise(tmp_path, SMOKE)


def test_a_conditional_model_without_labels_is_a_one_line_cli_error(tmp_path):
  env = {'GEN_DATA_DIR': data_dir_or_skip('binarized_mnist')}
  spec = 'configs/gated_pixelcnn.py:binarized_mnist'
  proc = runs.train(tmp_path / 'bad', spec, 'model.conditional=True', env=env, check=False)
  assert proc.returncode == 1
  assert 'Traceback' not in proc.stderr
  message = 'error: config.model.conditional=True: binarized_mnist has no labels'
  assert proc.stderr.strip().splitlines()[-1].startswith(message), proc.stderr[-500:]
  assert not (tmp_path / 'bad' / 'checkpoints').exists()


@pytest.mark.parametrize(
    'override, message',
    [
        ({'model.sampler': 'fast'}, "config.model.sampler='fast': must be one of cached, naive"),
        ({'model.kernel_size': 4}, 'config.model.kernel_size=4: must be odd'),
    ],
)
def test_bad_settings_are_config_errors(override, message):
  config = config_lib.load(f'{ROOT}/{SMOKE}')
  with config.unlocked():
    config.update_from_flattened_dict(override)
  with pytest.raises(config_lib.ConfigError, match=re.escape(message)):
    loop.setup(config)
