r"""PixelCNN (van den Oord et al. 2016a): exact likelihood, naive raster sampling.

Train, then evaluate the test NLL (nats per image and bits/dim):
  python train.py --config=configs/pixelcnn.py:binarized_mnist --workdir=runs/pixelcnn_bmnist
  python eval.py --workdir=runs/pixelcnn_bmnist --features=none

Presets:
  binarized_mnist  the fixed binarization (Larochelle & Murray 2011) that the
                   PixelRNN paper's Table 4 uses (PixelCNN: 81.30 nats; that
                   number is from memory of the paper, unverified); Bernoulli
                   output; 2h = 64 features, 7 residual blocks, batch 64,
                   Adam 1e-3. Paper width/depth for MNIST are not verified.
  mnist, fashion_mnist
                   8-bit images, a 256-way softmax per pixel.
  cifar10          RGB, 256-way softmax per sub-pixel, R -> G -> B (the data:
                   cifar-10-binary.tar.gz under $GEN_DATA_DIR/cifar10/).
  digits           scikit-learn's 8x8 digits (built in), dynamically binarized.
  smoke            digits, a tiny network, a few seconds.
Measured results: docs/RESULTS.md.
"""

from gen import config as config_lib


def binarized_mnist():
  c = config_lib.base_config()
  c.data.update(name='binarized_mnist', scale='unit', eval_split='test')
  c.model = dict(
      name='pixelcnn',
      features=64,  # 2h, a multiple of 2 x channels
      num_blocks=7,
      head_features=64,
      kernel_size=3,
      conditional=False,
  )
  c.optim = dict(name='adam', lr=1e-3, b1=0.9, b2=0.999)
  c.train.update(
      num_steps=20_000,
      batch_size=64,
      log_every=200,
      checkpoint_every=2_000,
      sample_every=5_000,
      num_samples=64,
  )
  c.eval.batch_size = 500
  # Naive sampling costs a forward pass per sub-pixel (784 for MNIST): fewer samples for
  # FID & co. than the default 10,000 (eval.py --features=none skips them).
  c.eval.quality_num_samples = 1000
  return c


def mnist():
  c = binarized_mnist()
  c.data.update(name='mnist')
  return c


def fashion_mnist():
  c = mnist()
  c.data.update(name='fashion_mnist')
  return c


def cifar10():
  c = mnist()
  c.data.update(name='cifar10')
  c.model.update(features=126, head_features=126, num_blocks=15)  # multiples of 2 x 3 groups
  c.train.update(num_steps=100_000, batch_size=16, sample_every=10_000, num_samples=16)
  c.eval.batch_size = 100
  return c


def digits():
  c = binarized_mnist()
  c.data.update(name='digits', binarize=True)
  c.model.update(features=32, num_blocks=3, head_features=32)
  c.train.update(num_steps=3_000, log_every=250, checkpoint_every=1_000, sample_every=1_000)
  c.eval.batch_size = 300
  return c


def smoke():
  c = digits()
  c.model.update(features=8, num_blocks=1, head_features=8)
  c.train.update(
      num_steps=20, batch_size=32, log_every=5, checkpoint_every=10, sample_every=10, num_samples=16
  )
  return c


PRESETS = {
    'binarized_mnist': binarized_mnist,
    'mnist': mnist,
    'fashion_mnist': fashion_mnist,
    'cifar10': cifar10,
    'digits': digits,
    'smoke': smoke,
}


def get_config(arg=None):
  return config_lib.select_preset(
      arg, PRESETS, default='binarized_mnist', where='configs/pixelcnn.py'
  )
