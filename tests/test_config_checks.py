"""Every config value is checked at start-up: a bad one is a ConfigError naming its key and value.

In process and without training: `loop.setup` is where train.py, eval.py and the benchmarks
pass before anything is written.
"""

import glob
import json
import os
import re

import pytest

from conftest import ROOT
from gen import config as config_lib
from gen.data import sources
from gen.models import registry
from gen.train import loop

GAN = 'configs/gan.py:smoke'  # ring8, MLPs
DCGAN = 'configs/gan.py:digits'  # 8x8 images, DCGAN networks
VAE = 'configs/vae.py:smoke'  # digits, dynamically binarized


def _config(spec: str, **values):
  """`spec` with `values` (dotted keys as a__b) set as in a config.json read back by eval.py,
  so that any type can be given, not only one the command line would parse."""
  tree = config_lib.load(f'{ROOT}/{spec}').to_dict()
  for key, value in values.items():
    *parents, leaf = key.split('__')
    node = tree
    for part in parents:
      node = node[part]
    node[leaf] = value
  return config_lib.from_json(json.dumps(tree))


CASES = [
    # (spec, key, bad value, what the message requires)
    (GAN, 'seed', -1, 'integer in [0, 2**32)'),
    (GAN, 'seed', 2**32, 'integer in [0, 2**32)'),
    (GAN, 'seed', 1.5, 'integer in [0, 2**32)'),
    (GAN, 'data.name', 7, 'string'),
    (GAN, 'data.scale', 'signed', 'one of unit, symmetric, none'),
    (GAN, 'data.binarize', 1, 'True or False'),
    (VAE, 'data.dequantize', True, 'exclusive'),
    (GAN, 'data.train_split', 'training', 'split of ring8: train, test'),
    (GAN, 'data.eval_split', 'valid', 'split of ring8: train, test'),
    (GAN, 'train.num_steps', 0, 'integer >= 1'),
    (GAN, 'train.batch_size', 0, 'integer >= 1'),
    (GAN, 'train.batch_size', -5, 'integer >= 1'),
    (GAN, 'train.batch_size', 64.0, 'integer >= 1'),
    (GAN, 'train.log_every', 0, 'integer >= 1'),
    (GAN, 'train.checkpoint_every', 0, 'integer >= 1'),
    (GAN, 'train.sample_every', -1, 'integer >= 1'),
    (GAN, 'train.num_samples', 0, 'integer >= 1'),
    (GAN, 'train.max_to_keep', 0, 'integer >= 1'),
    (GAN, 'train.ema_decay', 1.0, 'number in [0, 1)'),
    (GAN, 'train.ema_decay', -0.1, 'number in [0, 1)'),
    (GAN, 'train.skip_nonfinite', 'yes', 'True or False'),
    (GAN, 'eval.batch_size', 0, 'integer >= 1'),
    (GAN, 'eval.num_samples', 0, 'integer >= 1'),
    (GAN, 'eval.quality_num_samples', 0, 'integer >= 1'),
    (GAN, 'eval.num_examples', -1, 'integer >= 0'),
    (GAN, 'model.name', 'flow',
     ('one of diagonal_bilstm, gan, gated_pixelcnn, multiscale_pixelrnn, pixelcnn, pixelcnn_pp, '
      'row_lstm, vae')),
    # The GAN's keys.
    (GAN, 'model.arch', 'resnet', 'one of mlp, dcgan, infogan'),
    (GAN, 'model.game', 'wgan', 'one of mm, ns'),
    (GAN, 'model.penalty', 'gp', 'one of none, wgan_gp, dragan'),
    (GAN, 'model.d_norm', 'group', 'one of batch, layer, none'),
    (GAN, 'model.minibatch', 'yes', 'one of none, features, stddev'),
    (GAN, 'model.z_dim', 0, 'integer >= 1'),
    (GAN, 'model.g_hidden', [128, 0], 'tuple of integers >= 1'),
    (GAN, 'model.d_hidden', 128, 'tuple of integers >= 1'),
    (DCGAN, 'model.features', 0, 'integer >= 1'),
    (GAN, 'model.code_dim', 0, 'integer >= 1'),
    (GAN, 'model.n_disc', 0, 'integer >= 1'),
    (GAN, 'model.unroll_steps', -1, 'integer >= 0'),
    (GAN, 'model.penalty_weight', -1.0, 'number >= 0'),
    (GAN, 'model.clip', -0.01, 'number >= 0'),
    (GAN, 'model.began_gamma', 0.0, 'number in (0, 1]'),
    (GAN, 'model.began_gamma', 1.5, 'number in (0, 1]'),
    (GAN, 'model.began_lambda_k', -0.001, 'number >= 0'),
    (GAN, 'model.arch', 'dcgan', 'square images; ring8 has examples of shape (2,)'),
    # The GAN's compare_gan options (Lucic et al. 2018).
    (GAN, 'model.z_prior', 'gaussian', 'one of normal, uniform'),
    (GAN, 'model.g_activation', 'elu', 'one of relu, lrelu'),
    (GAN, 'model.image_output', 'linear', 'one of tanh, sigmoid'),
    (GAN, 'model.layers', 'tf', 'one of gen, compare_gan'),
    (GAN, 'model.ls_on', 'probs', 'one of output, sigmoid'),
    (GAN, 'model.penalty_on', 'probs', 'one of output, sigmoid'),
    (GAN, 'model.penalty_eps', -1e-4, 'number >= 0'),
    (GAN, 'model.penalty_with_batch_norm', 1, 'True or False'),
    (GAN, 'model.began_clip_k', 'no', 'True or False'),
    (GAN, 'model.began_autoencoder', 'dcgan', 'one of began, infogan'),
    (DCGAN, 'model.g_activation', 'lrelu', 'only the infogan networks take it; set model.arch'),
    (DCGAN, 'model.layers', 'compare_gan', 'only the infogan networks take it'),
    (GAN, 'model.image_output', 'sigmoid', "the mlp generator's output is linear"),
    (DCGAN, 'model.image_output', 'sigmoid', 'not data.scale=symmetric; set data.scale=unit'),
    # The optimizers (each player's).
    (GAN, 'optim.g.name', 'adamw', 'one of adam, rmsprop, sgd'),
    (GAN, 'optim.g.lr', 0.0, 'number > 0'),
    (GAN, 'optim.d.lr', float('nan'), 'number > 0'),
    (GAN, 'optim.d.b1', 1.0, 'number in [0, 1)'),
    (GAN, 'optim.g.b2', -0.1, 'number in [0, 1)'),
    ('configs/unrolled_gan.py:smoke', 'optim.g.eps_root', -1e-16, 'number >= 0'),
    ('configs/wgan.py:smoke', 'optim.d.decay', 1.0, 'number in [0, 1)'),
    # The VAE's keys.
    (VAE, 'model.arch', 'resnet', 'one of mlp, conv'),
    (VAE, 'model.likelihood', 'poisson', 'one of bernoulli, gaussian'),
    (VAE, 'model.latent_dim', 0, 'integer >= 1'),
    (VAE, 'model.hidden', [200, -1], 'tuple of integers >= 1'),
    (VAE, 'model.features', 0, 'integer >= 1'),
    (VAE, 'data.name', 'ring8', '2D points; the VAE models images'),
    (VAE, 'optim.lr', -1e-3, 'number > 0'),
    (VAE, 'model.latent_dim', [8, 0], 'tuple of integers >= 1'),
    (VAE, 'model.hidden', [[32], [16]], 'one tuple of widths per stochastic layer'),
    (VAE, 'model.posterior', 'bessel', 'one of gaussian, vmf'),
    (VAE, 'model.prior', 'flow', 'one of standard, vamp, uniform'),
    (VAE, 'model.prior', 'uniform', 'with a gaussian posterior must be one of standard, vamp'),
    (VAE, 'model.inference', 'sideways', 'one of bottom_up, top_down'),
    (VAE, 'model.objective', 'cubo', 'one of elbo, iwae'),
    (VAE, 'model.activation', 'gelu', 'one of tanh, relu, leaky_relu, softplus'),
    (VAE, 'model.k', 0, 'integer >= 1'),
    (VAE, 'model.beta', -1.0, 'number >= 0'),
    (VAE, 'model.kl_warmup_steps', -1, 'integer >= 0'),
    (VAE, 'model.num_pseudo', 0, 'integer >= 1'),
    (VAE, 'model.conditional', 'yes', 'True or False'),
    (VAE, 'eval.iwae_k', [0, 5], 'tuple of integers >= 1'),
    (VAE, 'eval.iwae_chunk', 0, 'integer >= 1'),
]


@pytest.mark.parametrize(
    'spec, key, value, what', CASES, ids=[f'{c[0][8:]}-{c[1]}={c[2]!r}' for c in CASES]
)
def test_a_bad_value_is_an_error_naming_key_and_value(spec, key, value, what):
  config = _config(spec, **{key.replace('.', '__'): value})
  shown = json.loads(json.dumps(value))  # as config.json gives it back (a tuple as a list)
  with pytest.raises(config_lib.ConfigError) as e:
    loop.setup(config)
  message = str(e.value)
  assert message.startswith(f'config.{key}={shown!r}: '), message
  assert what in message and '\n' not in message


def test_vae_combinations_that_cannot_work_are_errors():
  def message(**values):
    with pytest.raises(config_lib.ConfigError) as e:
      loop.setup(_config(VAE, **values))
    assert '\n' not in str(e.value)
    return str(e.value)

  assert message(model__posterior='vmf', model__prior='uniform', model__latent_dim=[1]).startswith(
      'config.model.latent_dim=1: must be >= 2 for a vMF latent'
  )
  assert 'takes one stochastic layer' in message(
      model__posterior='vmf', model__prior='uniform', model__latent_dim=[4, 2],
      model__hidden=[[16], [8]],
  )  # fmt: skip
  assert message(data__name='dsprites', model__conditional=True).startswith(
      'config.model.conditional=True: dsprites has no labels for a class-conditional VAE'
  )
  assert 'need objective=elbo' in message(model__objective='iwae', model__beta=4.0)
  assert 'pseudo-inputs' in message(model__conditional=True, model__prior='vamp')


def _build(spec, shape, **values):
  info = sources.DatasetInfo('tiny', 'image', shape, 256, None, ('train', 'test'))
  return registry.build(_config(spec, **values), info)


def test_network_sizes_are_checked_before_any_network_is_built():
  # DCGAN takes 4 * 2^n or 7 * 2^n pixels, InfoGAN a multiple of 4, the conv VAE too.
  with pytest.raises(config_lib.ConfigError, match=r"^config.model.arch='dcgan': DCGAN supports"):
    _build(DCGAN, (12, 12, 1))
  with pytest.raises(config_lib.ConfigError, match=r"^config.model.arch='infogan': InfoGAN"):
    _build(DCGAN, (10, 10, 1), model__arch='infogan')
  with pytest.raises(config_lib.ConfigError, match=r"^config.model.arch='conv': .*10x10"):
    _build(VAE, (10, 10, 1), model__arch='conv')
  # BEGAN's convolutional autoencoder takes DCGAN's sizes whatever G's networks.
  with pytest.raises(config_lib.ConfigError, match='DCGAN supports'):
    _build('configs/began.py:mnist', (12, 12, 1), model__arch='infogan')
  frey = sources.local_info('frey_face')  # 28x20, known without its file
  with pytest.raises(config_lib.ConfigError, match=r'square images; frey_face .*\(28, 20, 1\)'):
    registry.build(_config(DCGAN), frey)
  _build(DCGAN, (28, 28, 1))
  _build(DCGAN, (12, 12, 1), model__arch='mlp')


def test_every_preset_passes_its_checks():
  """No false alarms: every preset of every config file validates and builds (no data read)."""
  files = sorted(glob.glob(os.path.join(ROOT, 'configs', '*.py')))
  checked = 0
  for path in files:
    module = config_lib.sibling(path, os.path.basename(path)[: -len('.py')])
    presets = getattr(module, 'PRESETS', None) or config_lib.sibling(path, 'gan').PRESETS
    for preset in presets:
      config = config_lib.load(f'{path}:{preset}')
      config_lib.validate(config)
      registry.build(config, sources.local_info(config.data.name))
      checked += 1
  assert checked >= 60, checked


def test_a_config_json_from_before_a_key_existed_still_validates():
  config = _config(GAN)
  tree = config.to_dict()
  del tree['eval']['quality_num_samples']  # added after some runs were written
  config_lib.validate(config_lib.from_json(json.dumps(tree)))


def test_the_message_shape():
  with pytest.raises(config_lib.ConfigError, match=re.escape("config.a.b='x': must be y.")):
    config_lib.require(False, 'a.b', 'x', 'must be y')
  config_lib.require(True, 'a.b', 'x', 'must be y')
