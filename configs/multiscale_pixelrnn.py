r"""Multi-scale PixelRNN (van den Oord et al. 2016a, sec. 3.5): an unconditional PixelRNN
of the 2-subsample x[::2, ::2] and a conditional PixelRNN of the full image whose every
LSTM layer gets the upsampled small image as a bias; trained jointly, sampled
small-then-large, exact likelihood (gen/models/autoregressive/multiscale.py).

Train, then evaluate the test NLL (nats per image and bits/dim):
  python train.py --config=configs/multiscale_pixelrnn.py:binarized_mnist --workdir=runs/ms_bmnist
  python eval.py --workdir=runs/ms_bmnist --features=none
model.layer=row_lstm (default diagonal_bilstm) switches both networks' LSTM; model.scale
is the subsampling factor f (it must divide the image size).

Presets:
  binarized_mnist  the fixed binarization of PixelRNN Table 4. The big (28 x 28) network is
                   the single-scale preset's (configs/diagonal_bilstm.py: 7 residual
                   layers of h = 16, head 32) plus an upsampler to 8 maps and a 1 x 1
                   projection per layer; the small (14 x 14) network has 3 layers of
                   h = 8, head 16. The target is a likelihood within 1 nat of the
                   single-scale model "of the same size", taken as comparable total
                   parameters: 86,098 here against 72,577 single-scale (Row LSTM: 92,946
                   against 78,849), 1.19x; the small network is 10 % of the total for a
                   quarter of the pixels, which have no neighbour closer than 2 pixels
                   (a larger one would spend the budget where the paper puts none).
                   Batch 64, Adam 1e-3, 20,000 steps (not run).
  digits           scikit-learn's 8x8 digits (built in), dynamically binarized; 4x4 small
                   image; big 2 layers of h = 8, small 1 layer of h = 8.
  smoke            digits, one layer of h = 4 in each network, 20 steps, a few seconds.
Measured (docs/RESULTS.md, "Multi-scale PixelRNN"): one layer of h = 8 in each network,
300 steps at batch 32: 104.5 nats (Row LSTM; single-scale 108.1) and 104.2 (Diagonal
BiLSTM; single-scale 105.5), at about twice the single-scale run's CPU time. The presets'
20,000 steps were not run.
"""

from gen import config as config_lib


def binarized_mnist():
  c = config_lib.base_config()
  c.data.update(name='binarized_mnist', scale='unit', eval_split='test')
  c.model = dict(
      name='multiscale_pixelrnn',
      layer='diagonal_bilstm',  # row_lstm | diagonal_bilstm, both networks
      scale=2,  # f: the small image is x[::f, ::f]
      cond_features=8,  # maps of the upsampled small image, projected to every layer's bias
      # The big (conditional) network, as configs/diagonal_bilstm.py:binarized_mnist.
      hidden=16,
      num_layers=7,
      head_features=32,
      skip=True,  # learned skip connections from every layer to the head, both networks
      small=dict(hidden=8, num_layers=3, head_features=16),  # the small image's network
      conditional=False,
  )
  c.optim = dict(name='adam', lr=1e-3, b1=0.9, b2=0.999)
  c.train.update(
      num_steps=20_000,
      batch_size=64,
      log_every=200,
      checkpoint_every=2_000,
      sample_every=5_000,
      num_samples=16,
  )
  c.eval.batch_size = 500
  c.eval.quality_num_samples = 1000  # naive sampling: a forward pass per sub-pixel
  return c


def digits():
  c = binarized_mnist()
  c.data.update(name='digits', binarize=True)
  c.model.update(hidden=8, num_layers=2, head_features=16)
  c.model.small.update(hidden=8, num_layers=1, head_features=16)
  c.train.update(num_steps=3_000, log_every=250, checkpoint_every=1_000, sample_every=1_000)
  c.eval.batch_size = 300
  return c


def smoke():
  c = digits()
  c.model.update(hidden=4, num_layers=1, head_features=8, cond_features=4)
  c.model.small.update(hidden=4, num_layers=1, head_features=8)
  c.train.update(
      num_steps=20, batch_size=32, log_every=5, checkpoint_every=10, sample_every=10, num_samples=4
  )
  return c


PRESETS = {'binarized_mnist': binarized_mnist, 'digits': digits, 'smoke': smoke}


def get_config(arg=None):
  return config_lib.select_preset(
      arg, PRESETS, default='binarized_mnist', where='configs/multiscale_pixelrnn.py'
  )
