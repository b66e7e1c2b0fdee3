r"""Unrolled GAN (Metz et al. 2017): G minimises the GAN value V(G, D_K) at the
discriminator after K = unroll_steps updates (Adam state included), taken
differentiably through a lax.scan; D's own update is the first of them. As in
the paper's reference code, G's loss is minus D's cross-entropy at D_K (the
minimax game, whose real-data term depends on G through D_K).

  python train.py --config=configs/unrolled_gan.py:ring8 --workdir=runs/unrolled_gan_ring8
  python eval.py --workdir=runs/unrolled_gan_ring8

Presets (networks and schedules from configs/gan.py): ring8, grid25 (2D
mixtures, MLPs), mnist, fashion_mnist (DCGAN at 28 px), smoke (seconds).
Hyperparameters (Metz et al. 2017, appendix A, mixture of Gaussians): MLPs
of two 128-unit ReLU layers, 256-d noise, batch 512, Adam b1 0.5 with G 1e-3,
D 1e-4, K = 5. Adam's eps_root = 1e-16 keeps its update differentiable where
a gradient is exactly zero (a dead ReLU), without which the look-ahead
gradient is NaN; it changes the update by < 1e-8 relative.
Measured results: docs/RESULTS.md.
"""

from gen import config as config_lib

gan = config_lib.sibling(__file__, 'gan')


def _game(c, preset):
  c.model.update(game='mm', unroll_steps=5)
  for player in ('g', 'd'):
    c.optim[player].eps_root = 1e-16


def get_config(arg=None):
  return gan.game_config(arg, 'configs/unrolled_gan.py', _game)
