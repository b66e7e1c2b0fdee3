r"""The GAN: every key of the model, and the presets every game shares.

Each game has its own file (mm_gan.py, ns_gan.py, ..., unrolled_gan.py) that
takes these presets and sets its paper's loss, penalty and optimizer; this file
on its own is the non-saturating GAN (Goodfellow et al. 2014), with any key
open to the command line:
  python train.py --config=configs/gan.py:ring8 --workdir=runs/gan_ring8
  python eval.py --workdir=runs/gan_ring8    # hq_fraction, modes_covered, mode_kl

Presets:
  ring8, grid25  MLPs (two hidden layers of 128 ReLU units, 256-d noise, after
                 Metz et al. 2017), batch 512, Adam (b1 0.5) with G 1e-3 and
                 D 1e-4 as Metz et al., 25k steps; samples from an EMA of G's
                 weights (decay 0.999; Yazici et al. 2019), for every game.
  mnist, fashion_mnist
                 DCGAN networks at 28 px (Radford et al. 2016), batch 64,
                 Adam 2e-4, b1 0.5, no EMA; samples in samples/.
  digits         DCGAN networks at 8 px on scikit-learn's digits (built in).
  smoke          ring8, a few seconds.
Measured results: docs/RESULTS.md.
"""

from gen import config as config_lib


def _adam(lr):
  return dict(name='adam', lr=lr, b1=0.5, b2=0.999)


def ring8():
  c = config_lib.base_config()
  c.data.update(name='ring8', scale='none')
  c.model = dict(
      name='gan',
      game='ns',  # mm | ns | ml | ls | wasserstein | began (gen/losses/gan.py)
      arch='mlp',  # mlp | dcgan | infogan
      z_dim=256,
      g_hidden=(128, 128),  # mlp
      d_hidden=(128, 128),  # mlp
      features=64,  # dcgan width; began conv autoencoder width
      d_norm='batch',  # dcgan/infogan D hidden layers: batch | layer | none
      minibatch='none',  # D option: none | features (Salimans et al.) | stddev
      n_disc=1,  # D updates per G update
      penalty='none',  # none | wgan_gp | dragan (gen/losses/penalties.py)
      penalty_weight=10.0,
      clip=0.0,  # > 0: clip every D weight to [-clip, clip] (WGAN)
      unroll_steps=0,  # K look-ahead D steps in G's loss (Metz et al. 2017)
      began_gamma=0.5,
      began_lambda_k=0.001,
      code_dim=64,  # began autoencoder code
      # compare_gan's variants (Lucic et al. 2018; gen/models/gan/gan.py, configs/lucic.py):
      z_prior='normal',  # normal | uniform (U(-1, 1))
      g_activation='relu',  # infogan G: relu | lrelu (0.2)
      image_output='tanh',  # dcgan/infogan G: tanh (data.scale=symmetric) | sigmoid (unit)
      layers='gen',  # infogan init, biases, batch norm: gen | compare_gan
      ls_on='output',  # ls game on D's output | sigmoid (with the 1/2)
      penalty_on='output',  # penalised gradient: of D's output | its sigmoid
      penalty_eps=0.0,  # > 0: the gradient norm as sqrt(eps + sum g^2)
      penalty_with_batch_norm=False,  # True: allow a penalty with d_norm=batch
      began_clip_k=True,  # clip k_t to [0, 1]
      began_autoencoder='began',  # conv D of began: began (Berthelot et al.) | infogan
  )
  c.optim = dict(g=_adam(1e-3), d=_adam(1e-4))
  c.train.update(
      num_steps=25_000,
      batch_size=512,
      log_every=500,
      checkpoint_every=5_000,
      sample_every=2_000,
      num_samples=2500,
      ema_decay=0.999,
  )
  return c


def grid25():
  c = ring8()
  c.data.name = 'grid25'
  return c


def mnist():
  c = ring8()
  c.data.update(name='mnist', scale='symmetric')
  c.model.update(arch='dcgan', z_dim=100, features=32)
  c.optim = dict(g=_adam(2e-4), d=_adam(2e-4))
  c.train.update(
      num_steps=5_000,
      batch_size=64,
      log_every=100,
      checkpoint_every=1_000,
      sample_every=500,
      num_samples=64,
      ema_decay=0.0,
  )
  c.eval.batch_size = 500
  return c


def fashion_mnist():
  c = mnist()
  c.data.name = 'fashion_mnist'
  return c


def digits():
  c = mnist()
  c.data.name = 'digits'
  c.model.features = 16
  c.train.update(
      num_steps=2_000, batch_size=64, log_every=100, checkpoint_every=1_000, sample_every=1_000
  )
  c.eval.batch_size = 300
  return c


def smoke():
  c = ring8()
  c.train.update(
      num_steps=20,
      batch_size=64,
      log_every=5,
      checkpoint_every=10,
      sample_every=10,
      num_samples=256,
  )
  c.eval.num_samples = 500
  return c


PRESETS = {
    'ring8': ring8,
    'grid25': grid25,
    'mnist': mnist,
    'fashion_mnist': fashion_mnist,
    'digits': digits,
    'smoke': smoke,
}


def game_config(arg, where, adjust):
  """A preset of this file, then `adjust(config, preset_name)` sets the game."""
  name = arg or 'ring8'
  c = config_lib.select_preset(name, PRESETS, default='ring8', where=where)
  with c.unlocked():
    adjust(c, name)
  return c


def get_config(arg=None):
  return config_lib.select_preset(arg, PRESETS, default='ring8', where='configs/gan.py')
