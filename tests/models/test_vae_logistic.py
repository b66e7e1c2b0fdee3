"""The VAE on 8-bit images (model.likelihood=logistic): p(x|z) is a discretized logistic
per pixel, a pmf over the 256 levels, so its NLL and bits/dim compare with the
autoregressive models'."""

import gzip
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runs
from conftest import data_dir_or_skip
from gen import config as config_lib
from gen.eval import run as eval_run
from gen.losses import likelihood

SPEC = 'configs/vae.py:mnist_8bit'
SMALL = {'model.hidden': '(32,)', 'model.latent_dim': '(4,)'}


def test_p_x_given_z_is_a_pmf_over_the_256_levels_and_the_draw_scores_it():
  data_dir_or_skip('mnist')
  config, model, batch = runs.setup_model(SPEC, **SMALL)
  net = runs.vae_hierarchy(config)
  params = model.init(jax.random.PRNGKey(0), batch).params
  x = batch['x'][:4]
  draw = net.draw(params, x, None, jax.random.PRNGKey(1))
  # The same z again (same key), its decoder output scored by hand.
  z = net.families[0].sample(
      jax.random.split(jax.random.PRNGKey(1), 1)[0],
      net.families[0].parse(net.apply(net.encoders[0], params['enc'], x.reshape(4, -1))[0]),
  )[0]
  out = net.apply(net.decoders[0], params['dec'], z)
  assert out.shape == (4, 28, 28, 3)  # [logit, mean, log-scale] per pixel
  per_pixel = likelihood.discretized_logistic_mixture_logprob(x, out)
  np.testing.assert_allclose(draw.rec, jnp.sum(per_pixel, axis=(1, 2)), rtol=1e-6)
  # Summed over the 256 grid values, each pixel's probabilities make 1.
  grid = 2.0 * jnp.arange(256, dtype=jnp.float32) / 255.0 - 1.0
  every = jax.vmap(lambda v: likelihood.discretized_logistic_mixture_logprob(
      jnp.full_like(x, v), out))(grid)  # fmt: skip
  np.testing.assert_allclose(jnp.sum(jnp.exp(every), axis=0), 1.0, atol=1e-5)
  # Pictures: the component's clipped mean, in the data's [-1, 1].
  mean = net.data_mean(out)
  np.testing.assert_allclose(mean, jnp.clip(out[..., 1:2], -1.0, 1.0), rtol=1e-6)


@pytest.mark.parametrize(
    'overrides, message',
    [
        ({'data.binarize': 'True'}, 'models 8-bit pixels; digits has 2 levels here'),
        ({'data.scale': 'unit'}, 'must be symmetric with model.likelihood=logistic'),
    ],
)
def test_data_it_cannot_score_is_a_config_error(overrides, message):
  with pytest.raises(config_lib.ConfigError, match=message):
    runs.setup_model(SPEC, **SMALL, **{'data.name': 'digits'}, **overrides)


def _independent_pixels_bits_per_dim(data_dir: str) -> float:
  """Test bits/dim of the best model with independent pixels: each pixel's training
  histogram (add-one smoothed), i.e. what a decoder that ignores z can reach."""
  def images(name):
    with gzip.open(os.path.join(data_dir, 'mnist', name)) as f:
      return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)

  train, test = images('train-images-idx3-ubyte.gz'), images('t10k-images-idx3-ubyte.gz')
  bits = 0.0
  for i in range(784):
    p = np.bincount(train[:, i], minlength=256) + 1.0
    bits -= np.mean(np.log2(p[test[:, i]] / p.sum()))
  return bits / 784


def test_learns_8_bit_mnist_beyond_independent_pixels(tmp_path):
  data_dir = data_dir_or_skip('mnist')
  baseline = _independent_pixels_bits_per_dim(data_dir)
  assert 1.6 < baseline < 1.8  # 1.69: MNIST's background is mostly exact zeros
  runs.train(
      tmp_path, SPEC, 'train.num_steps=600', 'train.log_every=300',
      'train.checkpoint_every=600', 'train.sample_every=600', 'eval.iwae_k=(1,10)',
      'eval.num_examples=1000',
  )  # fmt: skip
  metrics = eval_run.run(str(tmp_path), features='none')['metrics']
  assert metrics['bits_per_dim'] == pytest.approx(metrics['nll'] / (784 * math.log(2)))
  assert metrics['bits_per_dim'] < baseline - 0.03, (metrics['bits_per_dim'], baseline)
