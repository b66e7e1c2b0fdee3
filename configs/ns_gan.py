r"""Non-saturating GAN (Goodfellow et al. 2014, sec. 3): G minimises -E log D(G(z)).

  python train.py --config=configs/ns_gan.py:ring8 --workdir=runs/ns_gan_ring8
  python eval.py --workdir=runs/ns_gan_ring8

Presets (networks and schedules from configs/gan.py): ring8, grid25 (2D
mixtures, MLPs), mnist, fashion_mnist (DCGAN at 28 px), smoke (seconds).
Hyperparameters: Metz et al. 2017 on 2D data (Adam b1 0.5, G 1e-3, D 1e-4);
DCGAN (Radford et al. 2016: Adam 2e-4, b1 0.5) on images.
Measured results: docs/RESULTS.md.
"""

from gen import config as config_lib

gan = config_lib.sibling(__file__, 'gan')


def _game(c, preset):
  c.model.game = 'ns'


def get_config(arg=None):
  return gan.game_config(arg, 'configs/ns_gan.py', _game)
