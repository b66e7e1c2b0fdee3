r"""WGAN with gradient penalty (Gulrajani et al. 2017, Algorithm 1): the WGAN
critic plus lambda E (||grad_y D(y)||_2 - 1)^2 at y = u x + (1 - u) G(z),
u ~ U[0, 1] per example, the norm over all non-batch axes.

  python train.py --config=configs/wgan_gp.py:ring8 --workdir=runs/wgan_gp_ring8
  python eval.py --workdir=runs/wgan_gp_ring8

Presets (networks and schedules from configs/gan.py): ring8, grid25 (2D
mixtures, MLPs), mnist, fashion_mnist (DCGAN at 28 px), smoke (seconds).
Hyperparameters (the paper's defaults): lambda = 10, n_critic = 5, Adam
lr 1e-4, b1 0, b2 0.9; the critic uses layer norm instead of batch norm
(sec. 4), so that the penalty is per example.
Measured results: docs/RESULTS.md.
"""

from gen import config as config_lib

gan = config_lib.sibling(__file__, 'gan')


def _game(c, preset):
  c.model.update(game='wasserstein', penalty='wgan_gp', penalty_weight=10.0, n_disc=5)
  c.model.d_norm = 'layer'
  adam = dict(name='adam', lr=1e-4, b1=0.0, b2=0.9)
  # Separate dicts: one player's override must not change the other's.
  c.optim = dict(g=dict(adam), d=dict(adam))


def get_config(arg=None):
  return gan.game_config(arg, 'configs/wgan_gp.py', _game)
