r"""PixelRNN Row LSTM (van den Oord et al. 2016a, sec. 3.1): exact likelihood, cached
raster sampling (model.sampler). configs/diagonal_bilstm.py is the same network with the
Diagonal BiLSTM layer (sec. 3.2); both come from the presets below.

Train, then evaluate the test NLL (nats per image and bits/dim):
  python train.py --config=configs/row_lstm.py:binarized_mnist --workdir=runs/row_lstm_bmnist
  python eval.py --workdir=runs/row_lstm_bmnist --features=none

Presets:
  binarized_mnist  the fixed binarization (Larochelle & Murray 2011) of PixelRNN
                   Table 4 (Row LSTM 80.54 nats, from memory of the paper,
                   unverified; Diagonal BiLSTM 79.20 with 7 layers of h = 16,
                   reprinted by later papers). Bernoulli output; 7 residual LSTM
                   layers of h = 16 (the Diagonal BiLSTM's reported size; the Row
                   LSTM's is not known and is taken the same), head 32; batch 64,
                   Adam 1e-3. The paper trained with RMSProp on GPUs; its
                   schedule is not verified.
  mnist, fashion_mnist
                   8-bit images, a 256-way softmax per pixel.
  digits           scikit-learn's 8x8 digits (built in), dynamically binarized.
  smoke            digits, one layer of h = 4, 20 steps, a few seconds.
Measured (docs/RESULTS.md, "PixelRNN"): one layer of h = 8, 300 steps at batch 32:
108.1 nats (Row LSTM), 105.5 (Diagonal BiLSTM); the presets' 20,000 steps were not
run (about 3.2 and 6.5 hours on 2 cores).
Sampling: model.sampler=cached (default) draws 16 images of the binarized_mnist network in
about 0.1 s (Row LSTM) and 0.15 s (Diagonal BiLSTM) on 2 CPU cores, some 700x and 900x
faster than model.sampler=naive (a full pass per pixel); both give the same integers
for a key (bench/ar_sampling.py).
"""

from gen import config as config_lib


def binarized_mnist(layer='row_lstm'):
  c = config_lib.base_config()
  c.data.update(name='binarized_mnist', scale='unit', eval_split='test')
  c.model = dict(
      name=layer,  # row_lstm | diagonal_bilstm
      hidden=16,  # h: LSTM state; the residual stream has 2h features
      num_layers=7,
      head_features=32,
      skip=True,  # learned skip connections from every layer to the head (sec. 3.4)
      sampler='cached',  # or 'naive': a full forward pass per sub-pixel
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
  # Naive sampling costs a forward pass per pixel (784 for MNIST): fewer samples for
  # FID & co. than the default 10,000 (eval.py --features=none skips them).
  c.eval.quality_num_samples = 1000
  return c


def mnist(layer='row_lstm'):
  c = binarized_mnist(layer)
  c.data.update(name='mnist')
  return c


def fashion_mnist(layer='row_lstm'):
  c = mnist(layer)
  c.data.update(name='fashion_mnist')
  return c


def digits(layer='row_lstm'):
  c = binarized_mnist(layer)
  c.data.update(name='digits', binarize=True)
  c.model.update(hidden=8, num_layers=2, head_features=16)
  c.train.update(num_steps=3_000, log_every=250, checkpoint_every=1_000, sample_every=1_000)
  c.eval.batch_size = 300
  return c


def smoke(layer='row_lstm'):
  c = digits(layer)
  c.model.update(hidden=4, num_layers=1, head_features=8)
  c.train.update(
      num_steps=20, batch_size=32, log_every=5, checkpoint_every=10, sample_every=10, num_samples=4
  )
  return c


PRESETS = {
    'binarized_mnist': binarized_mnist,
    'mnist': mnist,
    'fashion_mnist': fashion_mnist,
    'digits': digits,
    'smoke': smoke,
}


def config_for(arg, layer, where):
  """The preset `arg` (default binarized_mnist) with `layer`'s LSTM."""
  presets = {name: (lambda f=f: f(layer)) for name, f in PRESETS.items()}
  return config_lib.select_preset(arg, presets, default='binarized_mnist', where=where)


def get_config(arg=None):
  return config_for(arg, 'row_lstm', 'configs/row_lstm.py')
