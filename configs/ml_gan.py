r"""Maximum-likelihood GAN (Goodfellow 2014, "On distinguishability criteria";
Goodfellow 2016, NIPS tutorial sec. 3.2.3): G minimises -1/2 E exp(logit D(G(z))),
whose expected gradient with an optimal D is that of KL(p_data || p_g).

  python train.py --config=configs/ml_gan.py:ring8 --workdir=runs/ml_gan_ring8
  python eval.py --workdir=runs/ml_gan_ring8

Presets (networks and schedules from configs/gan.py): ring8, grid25 (2D
mixtures, MLPs), mnist, fashion_mnist (DCGAN at 28 px), smoke (seconds).
Hyperparameters: as ns_gan.py (Metz et al. on 2D data, DCGAN on images).
Measured results: docs/RESULTS.md.
"""

from gen import config as config_lib

gan = config_lib.sibling(__file__, 'gan')


def _game(c, preset):
  c.model.game = 'ml'


def get_config(arg=None):
  return gan.game_config(arg, 'configs/ml_gan.py', _game)
