r"""Conditional VAE (the lecture's P(X|z, Y) and Q(z|X, Y); the label-conditional generator of
Yan et al. 2016, with a fixed N(0, I) prior): one-hot labels join the encoder's input and the
decoder's, so `sample` takes labels and eval.py draws a grid with one row per class.

  python train.py --config=configs/cvae.py:mnist --workdir=runs/cvae_mnist
  python eval.py --workdir=runs/cvae_mnist   # eval/step_N_samples_by_class.png

Its likelihood numbers (ELBO, L_k) are conditional: bounds on log p(x | y).
Presets (dynamically binarized, the IWAE paper's 1-layer tanh MLP 200-200, z 50, Adam 1e-3,
batch 100, 20k steps):
  mnist          MNIST digits.
  fashion_mnist  Fashion-MNIST.
  mnist_2d       a 2-D latent: the style manifold shared by every class. After 2,000
                 steps 97.0 % of its samples are read as their class by the MNIST
                 classifier (gen.eval.classifier; tests/models/test_vae_learning.py); with
                 mnist's 50 latents 68 % (79 % at 6,000 steps: the prior hole).
  digits         scikit-learn's 8x8 digits (built in), vae.py:digits's networks; after 2,000
                 steps 97.3 % of its samples are classified as their class by an RBF SVM.
  smoke          digits (10 classes), a few seconds.
"""

from gen import config as config_lib

vae = config_lib.sibling(__file__, 'vae')


def mnist():
  c = vae.vae_1layer()
  c.model.conditional = True
  c.train.num_steps = 20_000
  return c


def fashion_mnist():
  c = mnist()
  c.data.name = 'fashion_mnist'
  return c


def mnist_2d():
  c = mnist()
  c.model.latent_dim = (2,)
  return c


def digits():
  c = vae.digits()
  c.model.conditional = True
  c.train.num_samples = 100  # a row per class
  return c


def smoke():
  c = vae.smoke()
  c.model.conditional = True
  c.train.num_samples = 100  # a row per class
  return c


PRESETS = {
    'mnist': mnist,
    'fashion_mnist': fashion_mnist,
    'mnist_2d': mnist_2d,
    'digits': digits,
    'smoke': smoke,
}


def get_config(arg=None):
  return config_lib.select_preset(arg, PRESETS, default='mnist', where='configs/cvae.py')
