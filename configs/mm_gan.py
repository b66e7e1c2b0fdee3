r"""Minimax GAN (Goodfellow et al. 2014, eq. 1): G minimises E log(1 - D(G(z))).

The saturating game of the paper's theory: early in training D rejects fakes
confidently and G's gradient vanishes; kept for comparison with NS and ML.

  python train.py --config=configs/mm_gan.py:ring8 --workdir=runs/mm_gan_ring8
  python eval.py --workdir=runs/mm_gan_ring8

Presets (networks and schedules from configs/gan.py): ring8, grid25 (2D
mixtures, MLPs), mnist, fashion_mnist (DCGAN at 28 px), smoke (seconds).
Hyperparameters: as ns_gan.py (Metz et al. on 2D data, DCGAN on images).
Measured results: docs/RESULTS.md.
"""

from gen import config as config_lib

gan = config_lib.sibling(__file__, 'gan')


def _game(c, preset):
  c.model.game = 'mm'


def get_config(arg=None):
  return gan.game_config(arg, 'configs/mm_gan.py', _game)
