r"""PixelCNN++ (Salimans et al. 2017): discretized logistic mixture, exact likelihood.

Train, then evaluate the test NLL (nats per image and bits/dim, EMA weights):
  python train.py --config=configs/pixelcnn_pp.py:cifar10 --workdir=runs/pixelcnn_pp_cifar10
  python eval.py --workdir=runs/pixelcnn_pp_cifar10 --features=none

Presets:
  cifar10        the paper's / openai train.py's settings: F = 160 filters, 5 gated
                 resnets per resolution, K = 10 logistics, dropout 0.5, Adam(1e-3,
                 b1 0.95, b2 0.9995, eps 1e-8 inside the square root), lr x0.999995 per
                 step, Polyak EMA 0.9995, init on 16 images. Global batch 128 = openai's
                 16 per GPU x 8 GPUs (train.batch_size is global here, split over the
                 devices): the lr schedule is per step, so the same batch keeps the
                 same trajectory. 53,659,080 parameters. Expect 2.92 bits/dim test
                 after convergence (openai: ~5 days on 8 Maxwell Titan X; 3.0 after
                 ~10 hours). num_steps 500k (~1,300 epochs): an estimate, not a measured
                 point. Data: data.name=cifar10 (the CIFAR-10 source of gen.data).
  mnist, fashion_mnist
                 8-bit 28x28 grayscale, a CPU-sized network: F = 32, 2 resnets per
                 resolution (28 -> 14 -> 7), K = 5 logistics (3K = 15 outputs), batch 32.
  digits         scikit-learn's 8x8 digits (built in; 8 -> 4 -> 2), F = 32, 1 resnet.
  smoke          digits, F = 8, 0 up-pass resnets (1 per stream at 4x4 and 8x8 on the
                 way down), K = 2, 20 steps: seconds of training, minutes of XLA CPU
                 compilation on 2 loaded cores (cached afterwards).
Image height and width must be divisible by 4 (two stride-2 downsamplings); 1 or 3
channels, 8-bit (data.binarize=False), from the data.

Sampling: model.sampler=cached (default; Ramachandran et al. 2017) draws 16 images of the
cifar10 network in 14 s on 2 CPU cores, 583x faster than model.sampler=naive (a full pass
per pixel); both give the same integers for a key (docs/RESULTS.md).

Cost (cifar10 network; XLA cost analysis of the jitted train step on CPU): 2,302 GFLOP per
step of 16 images (144 GFLOP per image: 46.9 forward, the rest backward), i.e. 18.4 TFLOP
per step of 128. openai's ~5 days on 8 Maxwell Titan X at an assumed 40 % of their 6.6
TFLOPS fp32 is ~9e18 FLOP, ~6e7 images, ~500k steps of 128 (hence num_steps). One H200 at
an assumed 30 % of its 989 TFLOPS dense bf16 (train.compute_dtype=bfloat16): ~60 ms per
step, ~8-9 hours to 2.92 bits/dim; XLA CPU counts 63 GB of memory traffic per step of 16,
which at 4.8 TB/s would make it ~0.1 s per step and ~15 hours if the GPU fuses no better.
Estimates, not measured on a GPU. A CPU step of 16 took 155-243 s on 2 shared cores.
"""

from gen import config as config_lib


def cifar10():
  c = config_lib.base_config()
  c.seed = 1  # openai train.py's
  c.data.update(name='cifar10', scale='symmetric', eval_split='test')
  c.model = dict(
      name='pixelcnn_pp',
      features=160,  # nr_filters
      num_resnets=5,  # nr_resnet
      num_mixtures=10,  # nr_logistic_mix
      dropout=0.5,
      init_batch_size=16,  # images of the example batch for the data-dependent init
      conditional=False,
      sampler='cached',  # Ramachandran et al. 2017's fast generation; 'naive': a pass per pixel
  )
  c.optim = dict(
      name='adam', lr=1e-3, b1=0.95, b2=0.9995, eps=0.0, eps_root=1e-8, lr_decay=0.999995
  )
  c.train.update(
      num_steps=500_000,
      batch_size=128,
      ema_decay=0.9995,
      log_every=500,
      checkpoint_every=10_000,
      sample_every=50_000,
      num_samples=16,
  )
  c.eval.batch_size = 100
  return c


def mnist():
  c = cifar10()
  c.data.update(name='mnist')
  c.model.update(features=32, num_resnets=2, num_mixtures=5)
  c.train.update(
      num_steps=20_000, batch_size=32, log_every=200, checkpoint_every=2_000, sample_every=5_000,
      num_samples=16,
  )  # fmt: skip
  c.eval.batch_size = 500
  return c


def fashion_mnist():
  c = mnist()
  c.data.update(name='fashion_mnist')
  return c


def digits():
  c = mnist()
  c.data.update(name='digits')
  c.model.update(features=32, num_resnets=1, num_mixtures=5)
  c.train.update(num_steps=3_000, batch_size=64, log_every=250, checkpoint_every=1_000,
                 sample_every=1_000)  # fmt: skip
  c.eval.batch_size = 300
  return c


def smoke():
  c = digits()
  # No up-pass resnets: the down pass keeps one per stream at 4x4 and 8x8 (XLA CPU compiles
  # the 20-step run's step in minutes, most of a smoke run's time).
  c.model.update(features=8, num_resnets=0, num_mixtures=2, init_batch_size=16)
  c.train.update(
      num_steps=20, batch_size=32, log_every=5, checkpoint_every=10, sample_every=10, num_samples=4
  )
  return c


PRESETS = {
    'cifar10': cifar10,
    'mnist': mnist,
    'fashion_mnist': fashion_mnist,
    'digits': digits,
    'smoke': smoke,
}


def get_config(arg=None):
  return config_lib.select_preset(arg, PRESETS, default='cifar10', where='configs/pixelcnn_pp.py')
