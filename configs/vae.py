r"""Variational autoencoder (Kingma & Welling 2014).

Train, then evaluate the test ELBO:
  python train.py --config=configs/vae.py:mnist --workdir=runs/vae_mnist
  python eval.py --workdir=runs/vae_mnist

Presets:
  mnist       MLP (one hidden layer of 500 tanh units, 50 latents as in the
              paper's MNIST runs), Bernoulli likelihood, statically binarized
              MNIST (Larochelle & Murray 2011), batch 100, Adam 1e-3.
  mnist_conv  the same with a convolutional encoder/decoder.
  frey_face   MLP (200 hidden, 20 latents), Gaussian likelihood on uniformly
              dequantized pixels in [0, 1] (on raw 8-bit values the variance
              can collapse onto exact pixel values and the density diverge).
  digits      scikit-learn's 8x8 digits (built in; no download), Bernoulli on
              dynamically binarized pixels.
  smoke       digits, a few seconds.
Measured results: docs/RESULTS.md.
"""

from gen import config as config_lib


def _base():
  c = config_lib.base_config()
  c.data.name = 'binarized_mnist'
  c.data.scale = 'unit'
  c.model = dict(
      name='vae', arch='mlp', likelihood='bernoulli', hidden=(500,), features=32, latent_dim=50
  )
  c.optim = dict(name='adam', lr=1e-3, b1=0.9, b2=0.999)
  c.train.update(
      num_steps=20_000,
      batch_size=100,
      log_every=200,
      checkpoint_every=5_000,
      sample_every=5_000,
      num_samples=100,
  )
  c.eval.batch_size = 1000
  return c


def mnist():
  return _base()


def mnist_conv():
  c = _base()
  c.model.arch = 'conv'
  return c


def frey_face():
  c = _base()
  c.data.update(name='frey_face', dequantize=True)  # a density needs continuous data
  c.model.update(likelihood='gaussian', hidden=(200,), latent_dim=20)
  c.train.update(num_steps=10_000, log_every=500)
  return c


def digits():
  c = _base()
  c.data.update(name='digits', binarize=True)
  c.model.update(hidden=(200,), latent_dim=16)
  c.train.update(num_steps=5_000, log_every=500, checkpoint_every=2_500, sample_every=2_500)
  c.eval.batch_size = 300
  return c


def smoke():
  c = digits()
  c.train.update(
      num_steps=20, batch_size=32, log_every=5, checkpoint_every=10, sample_every=10, num_samples=16
  )
  return c


PRESETS = {
    'mnist': mnist,
    'mnist_conv': mnist_conv,
    'frey_face': frey_face,
    'digits': digits,
    'smoke': smoke,
}


def get_config(arg=None):
  return config_lib.select_preset(arg, PRESETS, default='mnist', where='configs/vae.py')
