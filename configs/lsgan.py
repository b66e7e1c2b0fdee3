r"""Least-squares GAN (Mao et al. 2017, eq. 2 with a = 0, b = c = 1):
D: E (D(x) - 1)^2 + E D(G(z))^2; G: E (D(G(z)) - 1)^2, D's output linear.

  python train.py --config=configs/lsgan.py:ring8 --workdir=runs/lsgan_ring8
  python eval.py --workdir=runs/lsgan_ring8

Presets (networks and schedules from configs/gan.py): ring8, grid25 (2D
mixtures, MLPs), mnist, fashion_mnist (DCGAN at 28 px), smoke (seconds).
Hyperparameters: Adam 2e-4, b1 0.5 (Mao et al. 2017, sec. 4.1) on images;
Metz et al.'s rates on 2D data.
Measured results: docs/RESULTS.md.
"""

from gen import config as config_lib

gan = config_lib.sibling(__file__, 'gan')


def _game(c, preset):
  c.model.game = 'ls'


def get_config(arg=None):
  return gan.game_config(arg, 'configs/lsgan.py', _game)
