"""The VAE variants learn on real MNIST, trained and evaluated through the command line: a
short run beats a test-ELBO threshold that needs a latent code. The best model without one
(independent Bernoulli pixels at the training marginals) scores -205.8 nats on the test set;
a collapsed posterior (KL near 0) scores about that. Each threshold sits well below what the
short run measured on a 2-core machine (given per case)."""

import json

import jax
import numpy as np
import pytest

import runs
from conftest import data_dir_or_skip, run_cli


def _train_and_evaluate(work, spec, *overrides, env, iwae_k='(1,)'):
  # eval.iwae_k=(1,) by default: the ELBO and L_1 over the 10,000 test images take seconds;
  # the presets' L_5000 takes ~10 minutes here.
  runs.train(work, spec, *overrides, f'eval.iwae_k={iwae_k}', env=env)
  run_cli('eval.py', f'--workdir={work}', '--features=none', env=env)
  step = runs.steps(work)[-1]
  return json.loads((work / 'eval' / f'step_{step}.json').read_text())['metrics']


# spec, overrides, the test ELBO to beat (nats); measured test ELBOs in the comments.
CASES = {
    # The preset as is (leaky ReLU, KL warm-up over 10,000 steps): -125.0, -123.4, -124.3
    # (seeds 0, 1, 2). With tanh it sat on the pixel marginals past 3,000 steps (-206.7 on
    # CI); with the warm-up cut to 500 steps it collapses (KL 0.1 nats).
    'ladder_vae': ('configs/hvae.py:ladder', ('train.num_steps=3000',), -165.0),
    # -129.8 after 2,000 steps.
    'svae_d5': ('configs/svae.py:svae_d5', ('train.num_steps=2000',), -145.0),
    # 100 pseudo-inputs, not 500, for a step 5x cheaper; the preset's warm-up (5,000 steps).
    # Training ELBO -145.3 after 1,000 steps. With the warm-up cut to 200 it collapses.
    'vampprior': ('configs/vampprior.py:vae', ('train.num_steps=1000', 'model.num_pseudo=100'), -165.0),
}  # fmt: skip


@pytest.mark.parametrize('name', list(CASES))
def test_learns_dynamically_binarized_mnist(tmp_path, name):
  env = {'GEN_DATA_DIR': data_dir_or_skip('mnist')}
  spec, overrides, threshold = CASES[name]
  work = tmp_path / name
  m = _train_and_evaluate(work, spec, *overrides, 'train.checkpoint_every=1000', env=env)
  assert m['elbo'] > threshold, m
  assert min(m['active_units_per_layer']) > 0, m  # every stochastic layer in use


def test_vae_and_beta_vae_learn_binarized_mnist_and_trade_rate_for_distortion(tmp_path):
  """The plain VAE (configs/vae.py:mnist, the fixed binarization) after 2,000 steps: test
  ELBO above -125 (measured -113.2), and L_50 above L_1. beta = 4 at the same networks and
  steps (Higgins et al. 2017) buys a smaller KL, the rate, for a worse reconstruction, the
  distortion (Alemi et al. 2018): measured KL 9.3 vs 36.4 nats, log p(x|z) -126.2 vs
  -76.8, ELBO -135.6."""
  env = {'GEN_DATA_DIR': data_dir_or_skip('binarized_mnist')}
  m = {}
  for beta, ks in ((1, '(1, 50)'), (4, '(1,)')):
    m[beta] = _train_and_evaluate(
        tmp_path / f'beta{beta}', 'configs/vae.py:mnist', f'model.beta={beta}.0',
        'train.num_steps=2000', 'train.checkpoint_every=2000', env=env, iwae_k=ks,
    )  # fmt: skip
  plain, beta4 = m[1], m[4]
  assert plain['elbo'] > -125.0, plain
  assert plain['iwae_50'] > plain['iwae_1'] and plain['nll'] == -plain['iwae_50'], plain
  assert beta4['kl'] < plain['kl'] - 10.0, m
  assert beta4['rec'] < plain['rec'] - 10.0, m
  assert beta4['elbo'] > -160.0, beta4


@pytest.mark.xdist_group('mnist_classifier')
def test_conditional_samples_are_classified_as_their_class(tmp_path, mnist_classifier):
  """The CVAE's samples of class c read as c by the MNIST classifier (gen.eval.classifier,
  >= 99 % accurate on the test set) >= 90 % of the time after 2,000 steps: 100 samples per
  class from configs/cvae.py:mnist_2d, measured 0.970. The 2-D latent leaves the class to
  y; with the 50-d latent of cvae.py:mnist the samples drawn from N(0, I) fall in the prior
  hole and read as their class 0.68 of the time at 2,000 steps, 0.79 at 6,000
  (docs/RESULTS.md)."""
  env = {'GEN_DATA_DIR': data_dir_or_skip('mnist')}
  from gen.eval import classifier as classifier_lib  # pylint: disable=import-outside-toplevel
  from gen.eval import run as eval_run  # pylint: disable=import-outside-toplevel

  work = tmp_path / 'cvae'
  runs.train(work, 'configs/cvae.py:mnist_2d', 'train.num_steps=2000', 'train.checkpoint_every=2000', env=env)  # fmt: skip
  _, _, model, state, _ = eval_run.load_run(str(work))
  labels = np.repeat(np.arange(10), 100)
  samples = np.asarray(model.sample(state, jax.random.PRNGKey(0), 1000, jax.numpy.asarray(labels)))
  images = np.round(np.clip(samples, 0.0, 1.0) * 255.0).astype(np.uint8)
  logits = classifier_lib.load(str(mnist_classifier)).features(images)['logits']
  accuracy = float(np.mean(np.argmax(logits, axis=-1) == labels))
  assert accuracy >= 0.9, accuracy
