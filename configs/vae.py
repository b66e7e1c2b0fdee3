r"""Variational autoencoders (Kingma & Welling 2014) and the IWAE (Burda et al. 2016).

Train, then evaluate (ELBO, L_1, L_50, L_5000, NLL, bits/dim, active units; figures in
eval/: reconstructions, interpolations, traversals, the prior hole, the 2-D manifold):
  python train.py --config=configs/vae.py:vae_1layer --workdir=runs/vae_1layer
  python eval.py --workdir=runs/vae_1layer
The 2-layer IWAE of the paper's Table 1 (k = 50):
  python train.py --config=configs/vae.py:iwae_2layer --workdir=runs/iwae_2layer
Any preset trains as an IWAE with --config.model.objective=iwae --config.model.k=50.

Presets:
  vae_1layer   the IWAE paper's 1-layer model on dynamically binarized MNIST (train
               resampled every batch, test binarized once with the seed): tanh MLP
               784-200-200-z50 and back, Bernoulli, ELBO with k = 1 (their "VAE");
               paper: NLL 86.76 nats (L_5000, Table 1, from memory, unverified).
               CPU settings: Adam 1e-3, batch 100, 30k steps (50 epochs).
               Measured: NLL 92.07 (L_5000; ELBO -97.98), 4.5 min of training and
               17 min of evaluation on 2 cores (docs/RESULTS.md).
  iwae_2layer  their 2-layer model (x-200-200-z1 100, z1-100-100-z2 50, mirrored
               generative nets), objective L_50 (k = 50); paper: NLL 82.90 nats.
  vae_1layer_paper, iwae_2layer_paper
               the paper's optimisation: Adam b1 0.99, b2 0.999, eps 1e-4, batch 20,
               8 stages i = 1..8 of 3^(i-1) epochs at lr 1e-4 * round(10^(1 - (i-1)/7), 1)
               (3,280 epochs, 9.84M steps; yburda/iwae experiments.py). Differences from
               their code: Adam's second moment starts at 0 (theirs at 1), minibatches are
               reshuffled every epoch (theirs: a fixed order), 60,000 training images
               (theirs: 59,600 and 400 for validation).
  mnist        the first VAE of this project: the fixed binarization (Larochelle &
               Murray 2011), MLP 500 tanh units, 50 latents, batch 100, Adam 1e-3.
  mnist_8bit   the same MLP on 8-bit MNIST with a discretized logistic per pixel
               (model.likelihood=logistic, data.scale=symmetric): a pmf over the 256
               levels, so its NLL compares with the autoregressive models' (and with
               data.name=fashion_mnist for the OOD study).
  mnist_conv   the same with a convolutional encoder/decoder.
  frey_face    MLP (200 hidden, 20 latents), Gaussian likelihood on uniformly
               dequantized pixels in [0, 1] (on raw 8-bit values the variance can
               collapse onto exact pixel values and the density diverge).
  frey_face_2d the same with a 2-D latent: the AEVB Fig. 4 manifold.
  mnist_2d     dynamically binarized MNIST, 2-D latent: the manifold and the prior hole.
  digits       scikit-learn's 8x8 digits (built in; no download), dynamic binarization.
  smoke        digits, a few seconds.
Measured results: docs/RESULTS.md.
"""

from gen import config as config_lib

MNIST_TRAIN = 60_000


def model(**overrides) -> dict:
  """The VAE's model keys (gen/models/vae/vae.py), with `overrides`."""
  m = dict(
      name='vae',
      arch='mlp',  # 'mlp' | 'conv' | 'infogan'
      likelihood='bernoulli',  # 'bernoulli' | 'gaussian' | 'logistic' (8-bit, discretized)
      hidden=(500,),  # widths; one tuple per stochastic layer for a hierarchy
      features=32,  # conv width
      conv_down=2,  # stride-2 convolutions of the conv encoder (and upsamplings back)
      latent_dim=(50,),  # one per stochastic layer, bottom first
      activation='tanh',
      inference='bottom_up',  # 'bottom_up' | 'top_down' (Ladder VAE)
      posterior='gaussian',  # 'gaussian' | 'vmf'
      prior='standard',  # 'standard' | 'vamp' | 'uniform' (on the sphere, vMF)
      num_pseudo=500,  # VampPrior pseudo-inputs
      pseudo_init=(0.05, 0.01),  # their initial values ~ N(mean, std)
      conditional=False,  # Q(z|x, y), P(x|z, y) with the dataset's labels y
      objective='elbo',  # 'elbo' | 'iwae'
      k=1,  # draws of z per example in training
      beta=1.0,  # the KL's weight (beta-VAE)
      kl_warmup_steps=0,  # beta rises linearly from 0 over these steps
      capacity=dict(gamma=0.0, max_nats=25.0, steps=100_000),  # gamma > 0: Burgess et al.
      # arch='infogan' (the VAE of Lucic et al. 2018, configs/lucic.py:vae) only:
      norm='batch',  # the encoder's batch norm: 'batch' | 'none'
      layers='compare_gan',  # init and batch-norm conventions: 'compare_gan' | 'gen'
      sample_z='prior',  # 'prior' | 'uniform': samples decode z ~ U(-1, 1) (compare_gan v1)
  )
  m.update(overrides)
  return m


def base(data_name='binarized_mnist', **model_overrides):
  c = config_lib.base_config()
  c.data.name = data_name
  c.data.scale = 'unit'
  c.model = model(**model_overrides)
  c.optim = dict(name='adam', lr=1e-3, b1=0.9, b2=0.999)
  c.train.update(
      num_steps=20_000,
      batch_size=100,
      log_every=200,
      checkpoint_every=5_000,
      sample_every=5_000,
      num_samples=100,
  )
  c.eval.update(
      batch_size=1000,
      iwae_k=(1, 50, 5000),  # the bounds eval.py reports; the largest is the NLL
      iwae_chunk=100,  # draws evaluated at a time
  )
  return c


def _dynamic_mnist(c):
  c.data.update(name='mnist', binarize=True)
  return c


def _paper_optimizer(c):
  """yburda/iwae: Adam(0.99, 0.999, 1e-4), batch 20, 8 stages of 3^(i-1) epochs."""
  c.train.batch_size = 20
  steps_per_epoch = MNIST_TRAIN // 20
  stages = tuple(
      (3**i * steps_per_epoch, 1e-4 * round(10 ** (1 - i / 7), 1)) for i in range(8)
  )  # fmt: skip
  c.optim = dict(name='adam', lr=stages[0][1], b1=0.99, b2=0.999, eps=1e-4, lr_stages=stages)
  c.train.update(
      num_steps=sum(s for s, _ in stages),
      log_every=3000,
      checkpoint_every=300_000,
      sample_every=300_000,
  )
  return c


def vae_1layer():
  c = _dynamic_mnist(base(hidden=(200, 200), latent_dim=(50,)))
  c.train.update(num_steps=30_000, log_every=500, checkpoint_every=5_000, sample_every=5_000)
  return c


def iwae_2layer():
  c = vae_1layer()
  c.model.update(hidden=((200, 200), (100, 100)), latent_dim=(100, 50), objective='iwae', k=50)
  return c


def vae_1layer_paper():
  return _paper_optimizer(vae_1layer())


def iwae_2layer_paper():
  return _paper_optimizer(iwae_2layer())


def mnist():
  return base()


def mnist_8bit():
  c = base('mnist', likelihood='logistic')
  c.data.scale = 'symmetric'  # the discretized logistic's 8-bit grid of [-1, 1]
  return c


def mnist_conv():
  c = base(arch='conv', activation='relu')
  return c


def frey_face():
  c = base('frey_face', likelihood='gaussian', hidden=(200,), latent_dim=(20,))
  c.data.dequantize = True  # a density needs continuous data
  c.train.update(num_steps=10_000, log_every=500)
  c.eval.batch_size = 200
  return c


def frey_face_2d():
  c = frey_face()
  c.model.latent_dim = (2,)
  return c


def mnist_2d():
  c = _dynamic_mnist(base(hidden=(500,), latent_dim=(2,)))
  return c


def digits():
  c = base('digits', hidden=(200,), latent_dim=(16,))
  c.data.binarize = True
  c.train.update(num_steps=5_000, log_every=500, checkpoint_every=2_500, sample_every=2_500)
  c.eval.update(batch_size=300, iwae_k=(1, 50, 500))
  return c


def smoke():
  c = digits()
  c.train.update(
      num_steps=20, batch_size=32, log_every=5, checkpoint_every=10, sample_every=10, num_samples=16
  )
  c.eval.iwae_k = (1, 10)
  return c


PRESETS = {
    'vae_1layer': vae_1layer,
    'iwae_2layer': iwae_2layer,
    'vae_1layer_paper': vae_1layer_paper,
    'iwae_2layer_paper': iwae_2layer_paper,
    'mnist': mnist,
    'mnist_8bit': mnist_8bit,
    'mnist_conv': mnist_conv,
    'frey_face': frey_face,
    'frey_face_2d': frey_face_2d,
    'mnist_2d': mnist_2d,
    'digits': digits,
    'smoke': smoke,
}


def get_config(arg=None):
  return config_lib.select_preset(arg, PRESETS, default='mnist', where='configs/vae.py')
