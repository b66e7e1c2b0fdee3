r"""Wasserstein GAN (Arjovsky et al. 2017, Algorithm 1): a linear critic,
every critic weight clipped to [-c, c] after each update, n_critic = 5
critic updates per generator update, RMSProp.

  python train.py --config=configs/wgan.py:ring8 --workdir=runs/wgan_ring8
  python eval.py --workdir=runs/wgan_ring8

Presets (networks and schedules from configs/gan.py): ring8, grid25 (2D
mixtures, MLPs), mnist, fashion_mnist (DCGAN at 28 px), smoke (seconds).
Hyperparameters (the paper's defaults, all presets): RMSProp lr 5e-5 for both
players (decay 0.99 and eps outside the root, as the PyTorch reference code),
c = 0.01, n_critic = 5. The reference code's extra 100 critic steps early in
training and every 500 generator steps are not part of Algorithm 1 and are
left out. d/wasserstein logs the critic's estimate of W(P_r, P_g).
Measured results: docs/RESULTS.md.
"""

from gen import config as config_lib

gan = config_lib.sibling(__file__, 'gan')


def _game(c, preset):
  c.model.update(game='wasserstein', clip=0.01, n_disc=5)
  rms = dict(name='rmsprop', lr=5e-5, decay=0.99)
  c.optim = dict(g=dict(rms), d=dict(rms))  # separate dicts: one override per player


def get_config(arg=None):
  return gan.game_config(arg, 'configs/wgan.py', _game)
