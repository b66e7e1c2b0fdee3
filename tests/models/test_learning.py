"""Each model learns on small real data, trained and evaluated through the CLI."""

import json

import jax
import numpy as np

from conftest import ROOT, data_dir_or_skip, run_cli
from gen import config as config_lib
from gen import data as data_lib
from gen.data import sources
from gen.eval import run as eval_run
from gen.train import loop
from gen.train import step as step_lib
import runs


def _evaluate(work) -> dict:
  run_cli('eval.py', f'--workdir={work}')
  step = runs.steps(work)[-1]
  return json.loads((work / 'eval' / f'step_{step}.json').read_text())['metrics']


def _evaluate_at_init(spec) -> dict:
  config = config_lib.load(f'{ROOT}/{spec}')
  _, model, _ = loop.setup(config)
  state = step_lib.init_state(
      model, 0.0, jax.random.PRNGKey(config.seed), loop.example_batch(config, model)
  )
  return model.evaluate(state, data_lib.eval_batches(config), jax.random.PRNGKey(1))


def test_vae_learns_binarized_mnist(tmp_path):
  """3,000 steps (~15 s on 2 cores) reach a test ELBO above -125 nats.

  The best model that ignores pixel dependencies (independent Bernoulli pixels
  with the training marginals) scores -205.8 nats on this test set, so -125
  needs a latent code; the paper's MLP VAE reaches about -100 after long training.
  """
  env = {'GEN_DATA_DIR': data_dir_or_skip('binarized_mnist')}
  work = tmp_path / 'vae'
  # L_50 only: the preset's L_5000 over 10,000 test images takes ~10 minutes here.
  runs.train(
      work, 'configs/vae.py:mnist', 'train.num_steps=3000', 'train.log_every=500',
      'eval.iwae_k=(1, 50)', env=env,
  )  # fmt: skip
  logged = runs.metrics(work)
  assert logged[-1]['vae/elbo'] > logged[0]['vae/elbo'] + 10
  result = run_cli('eval.py', f'--workdir={work}', env=env)
  m = json.loads((work / 'eval' / 'step_3000.json').read_text())['metrics']
  assert m['elbo'] > -125.0, (m['elbo'], result.stdout)
  assert m['iwae_50'] > m['iwae_1'] and m['nll'] == -m['iwae_50']  # importance sampling helps


def test_vae_learns_digits(tmp_path):
  spec = 'configs/vae.py:digits'
  before = _evaluate_at_init(spec)['elbo']
  work = tmp_path / 'vae'
  runs.train(work, spec, 'train.num_steps=1500')
  after = _evaluate(work)['elbo']
  assert after > before + 15.0, (before, after)


def test_conditional_vae_samples_are_classified_as_their_class(tmp_path):
  """2,000 steps on the 8x8 digits (~20 s); 100 samples per class, scored by an RBF SVM
  fitted on the training digits (0.953 accurate on the held-out writers of their test
  split), must be read as their class >= 90 % of the time (the issue's bar for MNIST; measured
  0.973)."""
  from sklearn.svm import SVC  # pylint: disable=import-outside-toplevel

  work = tmp_path / 'cvae'
  runs.train(work, 'configs/cvae.py:digits', 'train.num_steps=2000', 'train.checkpoint_every=2000')
  _, _, model, state, _ = eval_run.load_run(str(work))
  train, test = sources.load('digits', 'train'), sources.load('digits', 'test')
  (x_train, y_train), (x_test, y_test) = (train.x, train.label), (test.x, test.label)
  flat = lambda x: np.asarray(x, np.float32).reshape(len(x), -1)
  clf = SVC(C=10.0, gamma='scale').fit(flat(x_train) / 255.0, y_train)
  assert clf.score(flat(x_test) / 255.0, y_test) > 0.94
  labels = np.repeat(np.arange(10), 100)
  samples = model.sample(state, jax.random.PRNGKey(0), 1000, jax.numpy.asarray(labels))
  accuracy = float(np.mean(clf.predict(flat(samples)) == labels))
  assert accuracy >= 0.9, accuracy


def test_gan_covers_more_ring_modes_than_at_initialisation(tmp_path):
  spec = 'configs/gan.py:ring8'
  before = _evaluate_at_init(spec)
  work = tmp_path / 'gan'
  runs.train(work, spec)  # the preset as is: 25k steps, about a minute
  after = _evaluate(work)
  assert after['modes_covered'] > before['modes_covered'], (before, after)
  assert after['hq_fraction'] > before['hq_fraction'] + 0.2, (before, after)


def test_unrolled_gan_covers_more_ring_modes_than_ns_gan(tmp_path):
  """Metz et al. 2017, Figure 1: at the same budget, unrolling spreads G over the ring
  while the NS GAN has found at most a mode or two. 5,000 steps, no EMA, summed over seeds
  1 and 2: one seed is not enough, as the outcome at 5,000 steps turns on rounding (seed 0
  gave unrolled 5 modes, NS 0 on one 2-core machine and 0 against 1 on another). Measured
  (modes unrolled / NS): seed 1 2 / 2, seed 2 7 / 0; about 150 s per seed on 2 cores."""
  covered = {'ns_gan': 0, 'unrolled_gan': 0}
  for seed in (1, 2):
    for game in covered:
      work = tmp_path / f'{game}_{seed}'
      runs.train(
          work,
          f'configs/{game}.py:ring8',
          f'seed={seed}',
          'train.num_steps=5000',
          'train.ema_decay=0.0',
          'train.checkpoint_every=5000',
      )
      covered[game] += _evaluate(work)['modes_covered']
  assert covered['unrolled_gan'] > covered['ns_gan'], covered
