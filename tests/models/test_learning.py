"""Each model learns on small real data, trained and evaluated through the CLI (the VAE
variants on MNIST: test_vae_learning.py)."""

import json

import jax

from conftest import ROOT, run_cli
from gen import config as config_lib
from gen import data as data_lib
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


def test_vae_learns_digits(tmp_path):
  spec = 'configs/vae.py:digits'
  before = _evaluate_at_init(spec)['elbo']
  work = tmp_path / 'vae'
  runs.train(work, spec, 'train.num_steps=1500')
  after = _evaluate(work)['elbo']
  assert after > before + 15.0, (before, after)


def test_gan_covers_more_ring_modes_than_at_initialisation(tmp_path):
  """The ring8 preset (EMA samples included) with D's learning rate raised to G's, 1e-3,
  for 5,000 steps: modes covered / hq fraction 4 / 0.48, 1 / 0.38, 4 / 0.39 (seeds 0, 1,
  2), from 0 / 0.00. The preset as is (D at 1e-4, Metz et al.) covers no mode with hq
  samples until ~20,000 steps and took 250 s of the suite's 30 minutes on CI; its 25,000
  steps are measured in docs/RESULTS.md (the mode-collapse benchmark)."""
  spec = 'configs/gan.py:ring8'
  before = _evaluate_at_init(spec)
  work = tmp_path / 'gan'
  runs.train(work, spec, 'optim.d.lr=1e-3', 'train.num_steps=5000', 'train.checkpoint_every=5000')
  after = _evaluate(work)
  assert after['modes_covered'] > before['modes_covered'], (before, after)
  assert after['hq_fraction'] > before['hq_fraction'] + 0.2, (before, after)


def test_unrolled_gan_covers_more_ring_modes_than_ns_gan(tmp_path):
  """Metz et al. 2017, Figure 1: at the same budget, unrolling spreads G over the ring
  while the NS GAN has found at most a mode or two. 5,000 steps at batch 128 (the presets'
  512 costs 3x as much per step), no EMA, summed over seeds 1 and 3: one seed is not
  enough, as the outcome at 5,000 steps turns on rounding. Measured on one 2-core machine
  (modes unrolled / NS) at batch 128: seed 0 2 / 0, seed 1 4 / 0, seed 2 2 / 1, seed 3
  3 / 0; at batch 256: seed 0 0 / 1, seed 1 6 / 0, seed 2 2 / 0, seed 3 5 / 0; at batch
  512: seed 0 0 / -, seed 1 5 / 1, seed 2 6 / 0, seed 3 5 / 0. The unrolled step runs at
  76 steps/s at batch 128 and 49 at 256 (at batch 512 the test took 530 s of the suite,
  at 256 about 320 s)."""
  covered = {'ns_gan': 0, 'unrolled_gan': 0}
  for seed in (1, 3):
    for game in covered:
      work = tmp_path / f'{game}_{seed}'
      runs.train(
          work,
          f'configs/{game}.py:ring8',
          f'seed={seed}',
          'train.batch_size=128',
          'train.num_steps=5000',
          'train.ema_decay=0.0',
          'train.checkpoint_every=5000',
      )
      covered[game] += _evaluate(work)['modes_covered']
  assert covered['unrolled_gan'] > covered['ns_gan'], covered
