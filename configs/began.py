r"""Boundary equilibrium GAN (Berthelot et al. 2017): D is an autoencoder with
L1 reconstruction energy L(v); L_D = L(x) - k_t L(G(z)), L_G = L(G(z)),
k_t by proportional control with gamma and lambda_k, clipped to [0, 1];
began/m_global logs the convergence measure.

  python train.py --config=configs/began.py:ring8 --workdir=runs/began_ring8
  python eval.py --workdir=runs/began_ring8

Presets (networks and schedules from configs/gan.py): ring8, grid25 (2D
mixtures, MLPs), mnist, fashion_mnist (DCGAN at 28 px), smoke (seconds).
Hyperparameters (the paper's): gamma = 0.5, lambda_k = 0.001, k_0 = 0,
Adam lr 1e-4 (b1 0.5, b2 0.999 as the public implementations), code size 64;
an MLP autoencoder on 2D data, a convolutional one (ELU, no batch norm) on
images.
Measured results: docs/RESULTS.md.
"""

from gen import config as config_lib

gan = config_lib.sibling(__file__, 'gan')


def _game(c, preset):
  c.model.update(game='began', began_gamma=0.5, began_lambda_k=0.001, code_dim=64)
  adam = dict(name='adam', lr=1e-4, b1=0.5, b2=0.999)
  # Separate dicts: one player's override must not change the other's.
  c.optim = dict(g=dict(adam), d=dict(adam))


def get_config(arg=None):
  return gan.game_config(arg, 'configs/began.py', _game)
