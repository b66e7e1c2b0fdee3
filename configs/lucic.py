r"""The GANs of Lucic et al. 2018 ("Are GANs Created Equal?", arXiv 1711.10337) as
their code, compare_gan (cg@49495fd), trains them: one preset per game on MNIST
with the study's architecture and the game's default parameters (sample 0 of the
wide search, gen/study/lucic/spaces.py).

  python train.py --config=configs/lucic.py:ns_gan --workdir=runs/lucic_ns_gan
  python eval.py --workdir=runs/lucic_ns_gan
  python train.py --config=configs/lucic.py:smoke --workdir=runs/lucic_smoke   # seconds

Presets:
  ns_gan, mm_gan, wgan, wgan_gp, dragan, lsgan, began (and vae, below)
          MNIST, pixels in [0, 1]; compare_gan's InfoGAN G (lrelu 0.2, sigmoid
          output) and D (batch norm as the game's discriminator_batchnorm), its
          init, biases and batch norm (decay 0.999, eps 0.001); z ~ U(-1, 1)^64,
          batch 64, Adam(learning_rate, beta1), b2 0.999; each game's quirks
          (gen/study/lucic/games.py GAME_QUIRKS: LSGAN on sigmoid outputs, the
          penalties' sqrt(1e-4 + sum g^2), DRAGAN's penalty on the sigmoid,
          BEGAN's unclipped k and InfoGAN-shaped autoencoder). Budget:
          compare_gan's 15,625 D steps (20 epochs of 50,000), i.e.
          train.num_steps = ceil(15,625 / disc_iters) steps of gen's loop.
  smoke   ns_gan on the built-in digits (8x8), a few steps: seconds.
Defaults per game (learning_rate, beta1, disc_iters, discriminator_batchnorm;
extra): ns_gan, mm_gan 5e-5, 0.0, 1, True; wgan 5e-5, 0.5, 5, True, clip 0.01;
wgan_gp 1e-4, 0.5, 5, False, lambda 10; dragan 1e-4, 0.5, 1, True, lambda 10;
lsgan 2e-4, 0.5, 1, True; began 1e-4, 0.5, 5, False, lambda_k 1e-3, gamma 0.75.
A trial of the study (a trials.jsonl row) is this file's preset for its game plus
`gen.study.lucic.games.trial_overrides(row)`.
  vae     the study's VAE (compare_gan src/gans/VAE.py) as gen's VAE model:
          encoder = D's trunk (batch norm per discriminator_batchnorm) + FC 2 * 64
          (std = 1e-6 + softplus), decoder = G with ReLU and batch norm, logits
          out; Bernoulli cross-entropy on [0, 1] pixels + KL, z ~ N(0, I) in
          training; samples decode z ~ U(-1, 1) as compare_gan v1's evaluation
          (model.sample_z); Adam 5e-5, beta1 0.5; 15,625 steps (one update each).
Left as gen does it: samples use the sampled batch's statistics (compare_gan's
eval graph uses the running averages); k_t is updated from the D update's losses.
Measured results: not yet measured.
"""

from gen import config as config_lib
from gen.study.lucic import games
from gen.study.lucic import spaces

gan = config_lib.sibling(__file__, 'gan')
vae = config_lib.sibling(__file__, 'vae')

D_STEPS = 20 * 50_000 // 64  # compare_gan's MNIST budget: 15,625 D steps


def _study(game: str, base, d_steps: int):
  c = base()
  with c.unlocked():
    games.apply(c, games.VAE_ARCHITECTURE if game == 'vae' else games.ARCHITECTURE)
    games.apply(c, games.overrides(game, spaces.defaults(game, spaces.WIDE), d_steps))
  return c


def _mnist(game):
  if game == 'vae':
    return lambda: _study(game, lambda: vae.base('mnist'), D_STEPS)
  return lambda: _study(game, gan.mnist, D_STEPS)


def smoke():
  c = _study('ns_gan', gan.digits, 8)
  c.train.update(batch_size=16, log_every=4, checkpoint_every=4, sample_every=8, num_samples=16)
  c.eval.batch_size = 64
  return c


PRESETS = {**{g: _mnist(g) for g in games.GAMES}, 'smoke': smoke}


def get_config(arg=None):
  return config_lib.select_preset(arg, PRESETS, default='ns_gan', where='configs/lucic.py')
