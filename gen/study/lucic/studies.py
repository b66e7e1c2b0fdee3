"""Named studies: how many trials of the Lucic et al. 2018 protocol, how long each
trains and how it is scored. `full` is the paper's; `cpu` and `smoke` are the same
protocol made small.

  full   the paper (reference sheet cyclegan_lucic.md 2.5, 2.6; generate_tasks_lib.py
         `TuneParams`, `GetTasks`): phase 1 100 wide samples, phase 2 50 narrow
         samples, phase 3 50 seeds of each game's best phase-1 setting; 20 epochs
         at batch 64 on MNIST and Fashion-MNIST (15,625 D steps), 100 on CIFAR-10
         (78,125), a checkpoint every 5 epochs; Inception FID, 10k vs 10k. CelebA
         (40 epochs) is left out: gen has no CelebA source.
  cpu    MNIST on a 2-core CPU: 3 phase-1 samples per game (the defaults and 2
         random), no phase 2 (its sample 0 would repeat the defaults), phase 3 with 2
         seeds; 1,000 D steps (1.3 epochs of 50,000), a checkpoint every 250;
         classifier FID on 2,000 samples vs 2,000 test images. Sized from the measured
         InfoGAN step (0.14-0.23 s per D step on 2 cores, configs/lucic.py): about
         5 minutes a trial with its 4 evaluations; 24 trials in phase 1 and 8 in
         phase 3 (seed 0 repeats its phase-1 trial and takes its result), about 2.7
         hours (measured: 2 h 24 min for the 7 GAN games, about 25 minutes more for
         the VAE, run later; docs/RESULTS.md).
  smoke  seconds: 2 samples per game, 20 D steps, on the built-in digits.

The samples of a study depend on its sample counts (one random stream runs through
all 8 games, as in compare_gan), so only `full` reproduces compare_gan's trial
list; smaller studies draw from the same sampler.
"""

from __future__ import annotations

import ml_collections

from gen import config as config_lib
from gen.study.lucic import spaces

SAMPLER_SEED = 123  # generate_tasks_lib.py `GetTasks`: random.seed(123)
BATCH_SIZE = 64  # gan_lib.py: "same batch size and latent space dimension for all GANs"
FEATURES = ('inception', 'classifier')


def _epochs(epochs: int, epoch_size: int, batch_size: int = BATCH_SIZE) -> dict:
  """D steps and checkpoint interval as `TuneParams`: `epochs * epoch // 64`, and a
  checkpoint every 5 epochs (plus one at the end)."""
  return dict(d_steps=epochs * epoch_size // batch_size, checkpoint_every=5 * epoch_size // batch_size)


def _study(name, datasets, steps, num_samples, num_seeds, eval_cfg) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = name
  c.games = list(spaces.GAMES)  # compare_gan's order; a subset keeps every game's samples
  c.datasets = list(datasets)
  c.sampler_seed = SAMPLER_SEED
  c.phase1 = dict(num_samples=num_samples[0])  # wide range, seed 0
  c.phase2 = dict(num_samples=num_samples[1])  # narrow range, seed 0; 0: no phase 2
  c.phase3 = dict(num_seeds=num_seeds, from_phase=1)  # seeds 0.. of the best phase-1 setting
  c.batch_size = BATCH_SIZE
  c.steps = {d: steps[d] for d in datasets}  # per dataset: d_steps, checkpoint_every
  c.eval = eval_cfg
  return c


def full():
  # compare_gan counts an MNIST / Fashion epoch as 50,000 images (`epoch = 50000`),
  # not 60,000: 20 * 50000 // 64 = 15,625 D steps, checkpoints every 3,906.
  steps = dict(mnist=_epochs(20, 50_000), fashion_mnist=_epochs(20, 50_000))
  steps['cifar10'] = _epochs(100, 50_000)
  # FID on 10,000 test images against 10,000 samples (eval_gan_lib.py --num_test_examples).
  return _study(
      'full',
      ['mnist', 'fashion_mnist', 'cifar10'],
      steps,
      (100, 50),
      50,
      dict(features='inception', num_samples=10_000, num_real=10_000, real_split='test'),
  )


def cpu():
  return _study(
      'cpu',
      ['mnist'],
      dict(mnist=dict(d_steps=1_000, checkpoint_every=250)),
      (3, 0),
      2,
      dict(features='classifier', num_samples=2_000, num_real=2_000, real_split='test'),
  )


def smoke():
  # digits is built in (scikit-learn, 8x8), so a smoke run needs no download.
  return _study(
      'smoke',
      ['digits'],
      dict(digits=dict(d_steps=20, checkpoint_every=10)),
      (2, 2),
      1,
      dict(features='classifier', num_samples=256, num_real=256, real_split='test'),
  )


STUDIES = {'full': full, 'cpu': cpu, 'smoke': smoke}


def get(name: str) -> ml_collections.ConfigDict:
  """The named study, checked and locked; an unknown name lists the valid ones."""
  if name not in STUDIES:
    raise config_lib.ConfigError(
        f'unknown study {name!r}; valid studies: {", ".join(sorted(STUDIES))}'
    )
  c = STUDIES[name]()
  check(c)
  c.lock()
  return c


def check(c: ml_collections.ConfigDict) -> None:
  """Refuses a study whose values cannot make a plan (ConfigError naming the key)."""
  games = list(c.games)
  config_lib.require(
      bool(games) and games == [g for g in spaces.GAMES if g in games],
      'games',
      games,
      f'must be distinct games of {", ".join(spaces.GAMES)}, in that order',
  )
  config_lib.require(bool(c.datasets), 'datasets', list(c.datasets), 'must not be empty')
  config_lib.require_int(c.sampler_seed, 'sampler_seed', 0)
  config_lib.require_int(c.phase1.num_samples, 'phase1.num_samples')
  config_lib.require_int(c.phase2.num_samples, 'phase2.num_samples', 0)  # 0: no phase 2
  config_lib.require_int(c.phase3.num_seeds, 'phase3.num_seeds')
  config_lib.require_int(c.batch_size, 'batch_size')
  for d in c.datasets:
    config_lib.require(d in c.steps, f'steps.{d}', None, 'must give d_steps and checkpoint_every')
    config_lib.require_int(c.steps[d].d_steps, f'steps.{d}.d_steps')
    config_lib.require_int(c.steps[d].checkpoint_every, f'steps.{d}.checkpoint_every')
  config_lib.require_choice(c.eval.features, 'eval.features', FEATURES)
  config_lib.require_int(c.eval.num_samples, 'eval.num_samples')
  config_lib.require_int(c.eval.num_real, 'eval.num_real')
