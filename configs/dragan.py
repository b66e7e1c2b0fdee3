r"""DRAGAN (Kodali et al. 2017, eq. 4): the NS GAN plus
lambda E (||grad D(x + alpha delta)||_2 - 1)^2, a penalty on D's gradient at
points perturbed around the data (delta = 0.5 std(x) U[0, 1) per coordinate,
alpha ~ U[0, 1] per example, as the paper's reference code).

  python train.py --config=configs/dragan.py:ring8 --workdir=runs/dragan_ring8
  python eval.py --workdir=runs/dragan_ring8

Presets (networks and schedules from configs/gan.py): ring8, grid25 (2D
mixtures, MLPs), mnist, fashion_mnist (DCGAN at 28 px), smoke (seconds).
Hyperparameters: lambda = 10; on images Adam lr 1e-4, b1 0.5, b2 0.9 (the
reference code), with layer norm in D since the penalty needs a per-example D.
On 2D data (ring8, grid25, smoke): Adam b1 0.5 with lr 1e-3 for G and D. With
the image rates G collapsed to a point on both mixtures, and so it did with
Metz et al.'s D lr 1e-4; without the penalty the image rates collapse the NS
GAN to one mode (docs/RESULTS.md).
Measured results: docs/RESULTS.md.
"""

from gen import config as config_lib

gan = config_lib.sibling(__file__, 'gan')


def _game(c, preset):
  c.model.update(game='ns', penalty='dragan', penalty_weight=10.0)
  c.model.d_norm = 'layer'
  if preset in ('mnist', 'fashion_mnist'):
    adam = dict(name='adam', lr=1e-4, b1=0.5, b2=0.9)
    c.optim = dict(g=dict(adam), d=dict(adam))  # separate: one override per player
  else:  # 2D: Adam b1 0.5 at 1e-3 for both players (the penalty slows D; measured)
    c.optim.d.lr = 1e-3


def get_config(arg=None):
  return gan.game_config(arg, 'configs/dragan.py', _game)
