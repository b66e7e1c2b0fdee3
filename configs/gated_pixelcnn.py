r"""Gated PixelCNN (van den Oord et al. 2016b): exact likelihood, cached fast sampling.

Train, then evaluate the test NLL (nats per image and bits/dim):
  python train.py --config=configs/gated_pixelcnn.py:mnist --workdir=runs/gated_mnist
  python eval.py --workdir=runs/gated_mnist --features=none
Class-conditional (samples: a row per digit):
  python train.py --config=configs/gated_pixelcnn.py:mnist_conditional --workdir=runs/gated_mnist_c
Sampling speed, naive vs cached (images/s):
  python bench/ar_sampling.py --config=configs/gated_pixelcnn.py:mnist

Presets:
  mnist            8-bit MNIST, 256-way softmax per pixel: the UvA DL tutorial 12
                   network (p = 64 features, kernel 3, gated layers with dilations
                   1, 2, 1, 4, 1, 2, 1 after the input layer), which reports 0.809
                   bits/dim on the test set (a tutorial number, not a paper's; our
                   target <= 0.81). Adam 1e-3, batch 128 as that run (about 150
                   epochs = 70,000 steps); 642,432 parameters. Needs an accelerator:
                   a step at batch 64 takes seconds on a 2-core CPU.
  mnist_conditional
                   the same with a learned per-class bias in every layer (eq. 4);
                   100 samples, a row per class.
  fashion_mnist    the mnist network on Fashion-MNIST.
  binarized_mnist  the fixed binarization (Larochelle & Murray 2011), Bernoulli
                   output; compare with PixelRNN Table 4 (PixelCNN 81.30 nats,
                   from memory of the paper, unverified).
  cifar10          RGB, 256-way softmax per sub-pixel, R -> G -> B by channel groups
                   (p = 126, 15 gated layers); the data: cifar10 under $GEN_DATA_DIR.
  digits           scikit-learn's 8x8 digits (built in), dynamically binarized.
  smoke            digits, a tiny network, 20 steps, a few seconds.
  smoke_conditional
                   smoke, class-conditional.
Measured results: docs/RESULTS.md.
"""

from gen import config as config_lib

UVA_DILATIONS = (1, 2, 1, 4, 1, 2, 1)


def mnist():
  c = config_lib.base_config()
  c.data.update(name='mnist', scale='unit', eval_split='test')
  c.model = dict(
      name='gated_pixelcnn',
      features=64,  # p: each gated layer computes 2p maps, split by the gate
      kernel_size=3,
      dilations=UVA_DILATIONS,  # one gated residual layer each, after the input layer
      conditional=False,
      sampler='cached',  # or 'naive': a full forward pass per sub-pixel
  )
  c.optim = dict(name='adam', lr=1e-3, b1=0.9, b2=0.999)
  c.train.update(
      num_steps=70_000,
      batch_size=128,
      log_every=200,
      checkpoint_every=5_000,
      sample_every=5_000,
      num_samples=64,
  )
  c.eval.batch_size = 500
  return c


def mnist_conditional():
  c = mnist()
  c.model.conditional = True
  c.train.num_samples = 100
  return c


def fashion_mnist():
  c = mnist()
  c.data.name = 'fashion_mnist'
  return c


def binarized_mnist():
  c = mnist()
  c.data.name = 'binarized_mnist'
  return c


def cifar10():
  c = mnist()
  c.data.name = 'cifar10'
  c.model.update(features=126, dilations=UVA_DILATIONS * 2 + (1,))  # a multiple of 3 groups
  c.train.update(num_steps=200_000, batch_size=64, sample_every=10_000, num_samples=16)
  c.eval.batch_size = 100
  return c


def digits():
  c = mnist()
  c.data.update(name='digits', binarize=True)
  c.model.update(features=32, dilations=(1, 2, 1))
  c.train.update(
      num_steps=3_000, batch_size=64, log_every=250, checkpoint_every=1_000, sample_every=1_000
  )
  c.eval.batch_size = 300
  return c


def smoke():
  c = digits()
  c.model.update(features=8, dilations=(1, 2))
  c.train.update(
      num_steps=20, batch_size=32, log_every=5, checkpoint_every=10, sample_every=10, num_samples=16
  )
  return c


def smoke_conditional():
  c = smoke()
  c.model.conditional = True
  c.train.num_samples = 100
  return c


PRESETS = {
    'mnist': mnist,
    'mnist_conditional': mnist_conditional,
    'fashion_mnist': fashion_mnist,
    'binarized_mnist': binarized_mnist,
    'cifar10': cifar10,
    'digits': digits,
    'smoke': smoke,
    'smoke_conditional': smoke_conditional,
}


def get_config(arg=None):
  return config_lib.select_preset(arg, PRESETS, default='mnist', where='configs/gated_pixelcnn.py')
