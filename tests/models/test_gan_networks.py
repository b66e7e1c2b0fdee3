"""GAN networks: shapes, norm placement, per-example critics, minibatch layers, BEGAN energy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen import nn as gnn
from gen.config import ConfigError
from gen.models.gan import networks

KEY = jax.random.PRNGKey(0)


def _images(n, size, channels=1, seed=0):
  return jax.random.uniform(
      jax.random.PRNGKey(seed), (n, size, size, channels), minval=-1, maxval=1
  )


def _run(module, x):
  """Initialises `module` on x and runs it in training mode: (output, params, batch_stats)."""
  params, stats = gnn.init_variables(module, KEY, x)
  return gnn.apply(module, params, stats, x, train=True)[0], params, stats


def _count(tree):
  return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(tree))


def _cross_example(module, x):
  """(largest |d out_i / d x_j| over i != j, smallest max |d out_i / d x_i|), training mode."""
  params, stats = gnn.init_variables(module, KEY, x)
  jac = jax.jacrev(lambda v: gnn.apply(module, params, stats, v, train=True)[0])(x)
  n = x.shape[0]
  off = max(float(jnp.abs(jac[i, j]).max()) for i in range(n) for j in range(n) if i != j)
  diag = min(float(jnp.abs(jac[i, i]).max()) for i in range(n))
  return off, diag


# --- Shapes -------------------------------------------------------------------


@pytest.mark.parametrize('size', [28, 32, 64])
def test_infogan_shapes(size):
  z = jax.random.normal(KEY, (2, 16))
  x, _, g_stats = _run(networks.InfoGANGenerator(size, channels=3), z)
  assert x.shape == (2, size, size, 3) and float(jnp.abs(x).max()) <= 1.0  # tanh output
  assert len(g_stats) == 3  # batch norm after every hidden layer of G
  for norm in networks.NORMS:
    logits, _, d_stats = _run(networks.InfoGANDiscriminator(size, norm=norm), x)
    assert logits.shape == (2,)
    assert len(d_stats) == (2 if norm == 'batch' else 0)  # not after D's first layer


@pytest.mark.parametrize('size', [28, 32, 64])
def test_conv_autoencoder_shapes(size):
  x = _images(2, size, 3)
  d = networks.ConvAutoencoderDiscriminator(size, 3, features=4, code_dim=8, repeat=1)
  energy, params, stats = _run(d, x)
  assert energy.shape == (2,) and stats == {}  # BEGAN: no batch norm
  recon, _ = gnn.apply(d, params, stats, x, train=True, method='reconstruct')
  assert recon.shape == x.shape
  base, n = networks.dcgan_plan(size)
  assert params['Dense_0']['kernel'].shape == (base * base * 4 * (n + 1), 8)  # to the code
  assert params['Dense_1']['kernel'].shape == (8, base * base * 4)  # to the base map
  # Encoder 1 + n (repeat + 1 downsampling) + repeat; decoder (n + 1) repeat + 1.
  assert sum(k.startswith('Conv_') for k in params) == 1 + 2 * n + 1 + (n + 1) + 1


def test_mlp_autoencoder_shapes():
  for x in (jax.random.normal(KEY, (5, 2)), _images(3, 8)):
    d = networks.MLPAutoencoderDiscriminator(hidden=(16, 8), code_dim=3)
    energy, params, _ = _run(d, x)
    assert energy.shape == (x.shape[0],)
    assert params['MLP_0']['Dense_2']['kernel'].shape == (8, 3)  # the code
    assert params['MLP_1']['Dense_2']['kernel'].shape == (16, int(np.prod(x.shape[1:])))


# --- Norm placement -----------------------------------------------------------


@pytest.mark.parametrize('size', [28, 32, 64])
def test_dcgan_discriminator_norms(size):
  _, n_down = networks.dcgan_plan(size)
  x = _images(2, size, 3)
  # Default: batch norm on every hidden layer but the first (Radford et al. 2016).
  _, params, stats = _run(networks.DCGANDiscriminator(size, 8), x)
  assert len(stats) == n_down - 1
  assert ['bias' in params[f'Conv_{i}'] for i in range(n_down + 1)] == (
      [True] + [False] * (n_down - 1) + [True]
  )
  _, params, stats = _run(networks.DCGANDiscriminator(size, 8, norm='layer'), x)
  assert stats == {} and sum(k.startswith('LayerNorm') for k in params) == n_down - 1
  assert params['LayerNorm_0']['scale'].shape == (16,)  # per channel
  _, params, stats = _run(networks.DCGANDiscriminator(size, 8, norm='none'), x)
  assert stats == {} and set(params) == {f'Conv_{i}' for i in range(n_down + 1)}
  assert all('bias' in p for p in params.values())


# --- Per-example critics ------------------------------------------------------


@pytest.mark.parametrize('arch', ['dcgan', 'infogan'])
def test_discriminator_is_per_example_without_batch_norm(arch):
  def make(**kw):
    if arch == 'dcgan':
      return networks.DCGANDiscriminator(28, 4, **kw)
    return networks.InfoGANDiscriminator(28, **kw)

  x = _images(3, 28)
  for norm in ('layer', 'none'):
    off, diag = _cross_example(make(norm=norm), x)
    assert off == 0.0 and diag > 0, (norm, off, diag)
  off, _ = _cross_example(make(norm='batch'), x)
  assert off > 1e-6  # batch statistics couple the examples
  for minibatch in ('features', 'stddev'):
    off, _ = _cross_example(make(norm='none', minibatch=minibatch), x)
    assert off > 1e-7, minibatch  # by design


def test_began_discriminators_are_per_example():
  off, diag = _cross_example(networks.MLPAutoencoderDiscriminator((8,), 2), jnp.ones((3, 2)))
  assert off == 0.0 and diag > 0
  d = networks.ConvAutoencoderDiscriminator(28, 1, features=4, code_dim=4, repeat=1)
  off, diag = _cross_example(d, _images(2, 28))
  assert off == 0.0 and diag > 0


# --- Minibatch layers before the last layer ------------------------------------


def test_minibatch_widens_the_last_layer_input():
  kw = {'num_kernels': 10, 'kernel_dim': 3}
  x2 = jax.random.normal(KEY, (4, 2))
  _, p, _ = _run(networks.MLPDiscriminator((16, 8)), x2)
  assert set(p) == {'MLP_0'} and p['MLP_0']['Dense_2']['kernel'].shape == (8, 1)
  _, p, _ = _run(networks.MLPDiscriminator((16, 8), 'features', **kw), x2)
  assert p['MinibatchDiscrimination_0']['kernel'].shape == (8, 30)
  assert p['Dense_0']['kernel'].shape == (8 + 10, 1)
  _, p, _ = _run(networks.MLPDiscriminator((16, 8), 'stddev'), x2)
  assert p['Dense_0']['kernel'].shape == (8 + 1, 1)
  _, p, _ = _run(networks.MLPDiscriminator((16,), 'features'), x2)  # the paper's B, C
  assert p['MinibatchDiscrimination_0']['kernel'].shape == (16, 100 * 5)

  # DCGAN at 32 px, features 8: the last hidden map is 4 x 4 x 32.
  x = _images(4, 32, 3)
  _, p, _ = _run(networks.DCGANDiscriminator(32, 8), x)
  assert p['Conv_3']['kernel'].shape == (4, 4, 32, 1)
  out, p, _ = _run(networks.DCGANDiscriminator(32, 8, minibatch='features', **kw), x)
  assert out.shape == (4,) and 'Conv_3' not in p
  assert p['Dense_0']['kernel'].shape == (4 * 4 * 32 + 10, 1)
  out, p, _ = _run(networks.DCGANDiscriminator(32, 8, minibatch='stddev'), x)
  assert out.shape == (4,) and p['Conv_3']['kernel'].shape == (4, 4, 32 + 1, 1)

  x = _images(4, 28)
  _, p, _ = _run(networks.InfoGANDiscriminator(minibatch='features', **kw), x)
  assert p['Dense_1']['kernel'].shape == (1024 + 10, 1)
  _, p, _ = _run(networks.InfoGANDiscriminator(minibatch='stddev'), x)
  assert p['Dense_1']['kernel'].shape == (1024 + 1, 1)


# --- InfoGAN parameter counts ---------------------------------------------------


def test_infogan_parameter_counts_by_hand():
  z_dim, s = 62, 7  # 28 px: a 7 x 7 map after two stride-2 layers
  g_layers = [
      z_dim * 1024,  # FC 1024, no bias (batch norm follows)
      2 * 1024,  # its batch norm's scale and offset
      1024 * s * s * 128,  # FC 7*7*128, no bias
      2 * s * s * 128,  # batch norm
      4 * 4 * 128 * 64,  # 4x4 up-conv 64, no bias
      2 * 64,  # batch norm
      4 * 4 * 64 * 1 + 1,  # 4x4 up-conv to 1 channel, with bias
  ]
  g_stats = 2 * (1024 + s * s * 128 + 64)  # batch norm means and variances
  _, params, stats = _run(networks.InfoGANGenerator(), jnp.zeros((2, z_dim)))
  assert (_count(params), _count(stats)) == (sum(g_layers), g_stats)

  d_layers = [
      4 * 4 * 1 * 64 + 64,  # 4x4 conv 64, with bias
      4 * 4 * 64 * 128,  # 4x4 conv 128, bias only without a norm (below)
      s * s * 128 * 1024,  # FC 1024, same
      1024 + 1,  # FC 1
  ]
  x = _images(2, 28)
  for norm, extra, stats_count in [
      ('batch', 2 * 128 + 2 * 1024, 2 * (128 + 1024)),
      ('layer', 2 * 128 + 2 * 1024, 0),  # per-channel scale and offset
      ('none', 128 + 1024, 0),  # the two biases instead
  ]:
    _, params, stats = _run(networks.InfoGANDiscriminator(norm=norm), x)
    assert (_count(params), _count(stats)) == (sum(d_layers) + extra, stats_count), norm


def _shapes_count(module, x):
  """Parameter count of `module` on x, from shapes alone (nothing computed)."""
  variables = jax.eval_shape(module.init, KEY, x)
  return _count(variables['params'])


def test_compare_gan_parameter_counts_by_hand():
  # compare_gan's abstract_gan.py / BEGAN.py at 28 px, z 64: every layer has a bias
  # (ops.py linear, conv2d, deconv2d), batch norm a scale and an offset.
  z, s, cg = jnp.zeros((2, 64)), 7, {'layers': 'compare_gan'}
  g = [
      64 * 1024 + 1024 + 2 * 1024,  # g_fc1, g_bn1
      1024 * s * s * 128 + s * s * 128 + 2 * s * s * 128,  # g_fc2, g_bn2
      4 * 4 * 128 * 64 + 64 + 2 * 64,  # g_dc3, g_bn3
      4 * 4 * 64 * 1 + 1,  # g_dc4
  ]
  study_g = networks.InfoGANGenerator(28, 1, 'lrelu', 'sigmoid', **cg)
  assert _shapes_count(study_g, z) == sum(g) == 6_642_241
  x = jnp.zeros((2, 28, 28, 1))
  d = [4 * 4 * 1 * 64 + 64, 4 * 4 * 64 * 128 + 128, s * s * 128 * 1024 + 1024, 1024 + 1]
  d_bn = 2 * 128 + 2 * 1024  # d_bn2, d_bn3 when discriminator_batchnorm
  assert _shapes_count(networks.InfoGANDiscriminator(28, 'batch', **cg), x) == sum(d) + d_bn
  assert _shapes_count(networks.InfoGANDiscriminator(28, 'none', **cg), x) == sum(d) == 6_556_865
  ae = [
      4 * 4 * 1 * 64 + 64,  # d_conv1
      4 * 4 * 64 * 128 + 128,  # d_conv2
      s * s * 128 * 64 + 64,  # d_fc6, the code
      64 * s * s * 128 + s * s * 128,  # d_fc1
      4 * 4 * 128 * 64 + 64,  # d_deconv1
      4 * 4 * 64 * 1 + 1,  # d_deconv2
  ]
  ae_bn = 2 * 64 + 2 * s * s * 128 + 2 * 64  # d_bn1, d_bn2, d_bn3
  for norm, extra in (('none', 0), ('batch', ae_bn)):
    module = networks.InfoGANAutoencoderDiscriminator(28, 1, norm)
    assert _shapes_count(module, x) == sum(ae) + extra, norm


def test_study_generator_lrelu_sigmoid_and_init():
  z = jax.random.uniform(KEY, (4, 8), minval=-1, maxval=1)
  study = networks.InfoGANGenerator(8, 1, 'lrelu', 'sigmoid', layers='compare_gan')
  x, params, stats = _run(study, z)
  assert x.shape == (4, 8, 8, 1) and float(x.min()) > 0 and float(x.max()) < 1  # sigmoid
  relu = gnn.apply(study.clone(activation='relu'), params, stats, z, train=True)[0]
  assert not np.allclose(x, relu)  # the same weights with ReLU give other images
  assert all('bias' in params[k] for k in ('Dense_0', 'Dense_1', 'ConvTranspose_0'))
  kernel = np.asarray(params['Dense_1']['kernel'])  # normal(0.02)
  assert abs(kernel.std() - 0.02) < 1e-3
  conv = np.asarray(networks._tf_truncated_normal(0.02)(KEY, (4, 4, 64, 128)))
  # TF1's truncated_normal(0.02): cut at 2 std and not rescaled (std 0.88 * 0.02).
  assert np.abs(conv).max() <= 0.04 and abs(conv.std() - 0.02 * 0.8796) < 1e-3
  bn = networks._batch_norm(True, 'compare_gan')
  assert (bn.momentum, bn.epsilon) == (0.999, 1e-3)  # ops.py batch_norm


# --- BEGAN energy ---------------------------------------------------------------


@pytest.mark.parametrize(
    'module,x',
    [
        (networks.MLPAutoencoderDiscriminator(), jax.random.normal(KEY, (6, 2))),
        (networks.ConvAutoencoderDiscriminator(28, 1, features=4, code_dim=8), _images(3, 28)),
    ],
)
def test_began_energy_is_mean_l1_reconstruction_error(module, x):
  params, stats = gnn.init_variables(module, KEY, x)
  energy, _ = gnn.apply(module, params, stats, x, train=True)
  recon, _ = gnn.apply(module, params, stats, x, train=True, method='reconstruct')
  expected = np.abs(np.asarray(x) - np.asarray(recon)).reshape(x.shape[0], -1).mean(-1)
  np.testing.assert_allclose(energy, expected, rtol=1e-5)
  assert float(jnp.min(energy)) > 0


# --- Option errors ----------------------------------------------------------------


def test_bad_options_raise_config_error():
  with pytest.raises(ConfigError, match='valid: none, features, stddev'):
    networks.MLPDiscriminator((8,), minibatch='batch')
  with pytest.raises(ConfigError, match='valid: none, features, stddev'):
    networks.DCGANDiscriminator(32, minibatch='std')
  with pytest.raises(ConfigError, match='valid: batch, layer, none'):
    networks.DCGANDiscriminator(32, norm='group')
  with pytest.raises(ConfigError, match='valid: batch, layer, none'):
    networks.InfoGANDiscriminator(norm='spectral')
  with pytest.raises(ConfigError, match='valid: none, features, stddev'):
    networks.InfoGANDiscriminator(minibatch='')
  for make in (networks.InfoGANGenerator, networks.InfoGANDiscriminator):
    with pytest.raises(ConfigError, match='divisible by 4'):
      make(30)
  with pytest.raises(ConfigError, match='got 30'):
    networks.ConvAutoencoderDiscriminator(30, 1)
  with pytest.raises(ConfigError, match='valid: relu, lrelu'):
    networks.InfoGANGenerator(activation='elu')
  with pytest.raises(ConfigError, match='valid: tanh, sigmoid'):
    networks.InfoGANAutoencoderDiscriminator(output='linear')
  with pytest.raises(ConfigError, match='valid: gen, compare_gan'):
    networks.InfoGANDiscriminator(layers='tf')
