"""GAN networks: MLPs for 2D data; DCGAN, InfoGAN and BEGAN networks for images.

DCGAN (Radford et al. 2016) guidelines (sec. 3): strided convolutions in D and
fractionally strided ones in G, batch norm in both except G's output and D's
input, ReLU in G with a Tanh output, LeakyReLU(0.2) in D, no fully connected
hidden layers. G's first layer projects z (as a 1x1 map) with a transposed
convolution; D's last is a convolution over the whole remaining map.

InfoGAN networks (Chen et al. 2016, appendix C), as used for MNIST and
Fashion-MNIST by Lucic et al. 2018 ("Are GANs created equal?", appendix
architecture table): two fully connected layers and two 4x4 stride-2
(transposed) convolutions in each network, batch norm in G and in D's hidden
layers but its first.

The InfoGAN networks take the options of compare_gan, Lucic et al.'s code
(src/gans/abstract_gan.py, ops.py at cg@49495fd), as module fields whose
defaults keep gen's networks:
  activation  G's hidden activation: 'relu' (gen) | 'lrelu' (leaky 0.2, compare_gan).
  output      the squashing of G's images: 'tanh' for data in [-1, 1] (gen) |
              'sigmoid' for data in [0, 1] (compare_gan).
  layers      'gen' | 'compare_gan': layer conventions. gen: Flax's default init
              (LeCun normal kernels) and no bias on a layer a norm follows (its
              offset plays the bias's part); batch norm momentum 0.9, eps 1e-5.
              compare_gan: conv kernels truncated_normal(0.02) (TF1's, cut at 2
              std and not rescaled), transposed-conv and dense kernels normal(0.02),
              a zero-initialised bias on every layer, batch norm decay 0.999 and
              eps 0.001 (ops.py `batch_norm`), so that parameter counts match.
compare_gan's BEGAN D, an InfoGAN-shaped autoencoder, is
InfoGANAutoencoderDiscriminator.

BEGAN (Berthelot et al. 2017): D is an autoencoder and outputs the per-example
energy L(v) = mean |v - AE(v)| (eq. 1 with eta = 1, averaged over pixels); the
BEGAN game (elsewhere) lowers it on real data and raises it on fakes.

Discriminator options, module fields whose defaults keep the original networks:
  norm       'batch' | 'layer' | 'none': normalisation of D's hidden layers
             (DCGAN, InfoGAN). Batch norm mixes the examples of a batch, so D(x_i)
             depends on x_j; gradient-penalty games (WGAN-GP, DRAGAN) penalise a
             per-example critic, for which Gulrajani et al. 2017 (sec. 4) use
             layer norm instead. 'none' also gives a per-example critic.
  minibatch  'none' | 'features' | 'stddev': a layer that lets D compare the
             examples of a batch, inserted just before D's last layer (MLP, DCGAN,
             InfoGAN): minibatch discrimination (Salimans et al. 2016, sec. 3.2;
             `num_kernels`, `kernel_dim`) on the flattened features, or the
             minibatch standard deviation (Karras et al. 2018, sec. 3) as one more
             channel or feature.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gen.config import ConfigError
from gen.nn import MLP, Conv, ConvTranspose, MinibatchDiscrimination, MinibatchStdDev

NORMS = ('batch', 'layer', 'none')
MINIBATCH = ('none', 'features', 'stddev')
ACTIVATIONS = ('relu', 'lrelu')
OUTPUTS = ('tanh', 'sigmoid', 'none')  # 'none': logits (the study's VAE decoder)
LAYERS = ('gen', 'compare_gan')


def _check(module: nn.Module, name: str, valid: Sequence[str]):
  value = getattr(module, name)
  if value not in valid:
    raise ConfigError(
        f'Unknown {name} {value!r} for {type(module).__name__}; valid: {", ".join(valid)}.'
    )


def _minibatch(module: nn.Module, x):
  """Applies `module.minibatch`'s layer to D's features before its last layer."""
  if module.minibatch == 'features':
    return MinibatchDiscrimination(module.num_kernels, module.kernel_dim)(x)
  if module.minibatch == 'stddev':
    return MinibatchStdDev()(x)
  return x


def _batch_norm(train: bool, layers: str = 'gen'):
  if layers == 'compare_gan':  # ops.py: tf.contrib.layers.batch_norm(decay=0.999, epsilon=0.001)
    return nn.BatchNorm(use_running_average=not train, momentum=0.999, epsilon=1e-3)
  # momentum 0.9 and eps 1e-5 as PyTorch's BatchNorm2d defaults used by DCGAN.
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)


def _norm(kind: str, train: bool, x, layers: str = 'gen'):
  if kind == 'batch':
    return _batch_norm(train, layers)(x)
  if kind == 'layer':
    # Statistics over all of an example's units, scale and offset per channel,
    # eps 1e-5: Gulrajani et al.'s code (tflib Layernorm over C, H, W).
    return nn.LayerNorm(epsilon=1e-5, reduction_axes=tuple(range(1, x.ndim)))(x)
  return x


def _tf_truncated_normal(stddev: float):
  """TF1's truncated_normal_initializer: N(0, stddev^2) cut at 2 stddev, not rescaled
  (Flax's truncated_normal rescales to the given stddev)."""

  def init(key, shape, dtype=jnp.float32):
    return stddev * jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype)

  return init


_NORMAL_002 = nn.initializers.normal(0.02)  # ops.py `linear`, `deconv2d`


def _dense(features: int, layers: str, normed: bool = False):
  """A dense layer; `normed`: a norm follows it (gen then leaves out the bias)."""
  if layers == 'compare_gan':
    return nn.Dense(features, kernel_init=_NORMAL_002)
  return nn.Dense(features, use_bias=not normed)


def _conv(features: int, layers: str, normed: bool = False):
  """A 4x4 stride-2 convolution, padding 1 (TF's SAME at even sizes)."""
  conv = dict(kernel_size=(4, 4), strides=(2, 2), padding=((1, 1), (1, 1)))
  if layers == 'compare_gan':  # ops.py `conv2d`
    return Conv(features, kernel_init=_tf_truncated_normal(0.02), **conv)
  return Conv(features, use_bias=not normed, **conv)


def _deconv(features: int, layers: str, normed: bool = False):
  """A 4x4 stride-2 transposed convolution that doubles the size."""
  if layers == 'compare_gan':  # ops.py `deconv2d`
    return ConvTranspose(features, kernel_init=_NORMAL_002)
  return ConvTranspose(features, use_bias=not normed)


def _activation(name: str):
  return nn.relu if name == 'relu' else lambda x: nn.leaky_relu(x, 0.2)  # ops.py `lrelu`


def _squash(name: str):
  return {'tanh': nn.tanh, 'sigmoid': nn.sigmoid, 'none': lambda x: x}[name]


class MLPGenerator(nn.Module):
  hidden: Sequence[int]
  out_dim: int

  @nn.compact
  def __call__(self, z, train: bool = True):
    return MLP(tuple(self.hidden) + (self.out_dim,))(z)


class MLPDiscriminator(nn.Module):
  hidden: Sequence[int]
  minibatch: str = 'none'
  num_kernels: int = 100
  kernel_dim: int = 5

  def __post_init__(self):
    _check(self, 'minibatch', MINIBATCH)
    super().__post_init__()

  @nn.compact
  def __call__(self, x, train: bool = True):
    x = x.reshape(x.shape[0], -1)
    if self.minibatch == 'none':  # one MLP, the original parameter tree
      return MLP(tuple(self.hidden) + (1,))(x)[:, 0]
    if self.hidden:
      x = nn.relu(MLP(tuple(self.hidden))(x))  # MLP's last layer is linear
    return nn.Dense(1)(_minibatch(self, x))[:, 0]


def dcgan_plan(size: int) -> tuple[int, int]:
  """(base map size, number of 2x up/downsamplings) for a square image."""
  for base in (4, 7):
    n, s = 0, size
    while s > base and s % 2 == 0:
      s, n = s // 2, n + 1
    if s == base:
      return base, n
  raise ConfigError(f'DCGAN supports sizes 4*2^n or 7*2^n (e.g. 28, 32, 64); got {size}.')


class DCGANGenerator(nn.Module):
  size: int
  channels: int
  features: int = 64  # width of the last hidden layer; doubles per level down
  output: str = 'tanh'  # OUTPUTS: 'tanh' for data in [-1, 1], 'sigmoid' for [0, 1]

  def __post_init__(self):
    _check(self, 'output', OUTPUTS)
    super().__post_init__()

  @nn.compact
  def __call__(self, z, train: bool = True):
    base, n_up = dcgan_plan(self.size)
    x = z.reshape(z.shape[0], 1, 1, -1)
    x = ConvTranspose(
        self.features * 2 ** (n_up - 1), kernel_size=base, stride=1, padding=0, use_bias=False
    )(x)
    x = nn.relu(_batch_norm(train)(x))
    for level in reversed(range(n_up - 1)):
      x = ConvTranspose(self.features * 2**level, use_bias=False)(x)
      x = nn.relu(_batch_norm(train)(x))
    return _squash(self.output)(ConvTranspose(self.channels)(x))


class DCGANDiscriminator(nn.Module):
  size: int
  features: int = 64
  norm: str = 'batch'
  minibatch: str = 'none'
  num_kernels: int = 100
  kernel_dim: int = 5

  def __post_init__(self):
    _check(self, 'norm', NORMS)
    _check(self, 'minibatch', MINIBATCH)
    super().__post_init__()

  @nn.compact
  def __call__(self, x, train: bool = True):
    base, n_down = dcgan_plan(self.size)
    for level in range(n_down):
      normed = level > 0 and self.norm != 'none'
      x = Conv(
          self.features * 2**level,
          (4, 4),
          strides=(2, 2),
          padding=((1, 1), (1, 1)),
          use_bias=not normed,  # a bias before a norm's offset is redundant
      )(x)
      if normed:
        x = _norm(self.norm, train, x)
      x = nn.leaky_relu(x, 0.2)
    x = _minibatch(self, x)
    if self.minibatch == 'features':
      # Features are flat now; a dense layer is the conv over the whole map.
      return nn.Dense(1)(x)[:, 0]
    return Conv(1, (base, base), padding='VALID')(x).reshape(x.shape[0])


def infogan_quarter(size: int) -> int:
  """Side of the map after InfoGAN's two stride-2 layers."""
  if size < 4 or size % 4:
    raise ConfigError(f'InfoGAN networks need a size divisible by 4 (28 for MNIST); got {size}.')
  return size // 4


class InfoGANGenerator(nn.Module):
  """FC 1024, FC (size/4)^2 * 128, 4x4 s2 up-conv 64, 4x4 s2 up-conv `channels`.

  Batch norm and `activation` after each hidden layer, `output` squashing.
  Defaults (gen): ReLU and Tanh for data in [-1, 1], InfoGAN's appendix C; with
  `layers='gen'` a layer followed by batch norm has no bias, so the count is that
  of compare_gan less 1024 + (size/4)^2 * 128 + 64 biases. compare_gan's G
  (abstract_gan.py `generator`), the one of Lucic et al. 2018: activation
  'lrelu' (0.2), output 'sigmoid' on [0, 1] data, layers 'compare_gan'.
  """

  size: int = 28
  channels: int = 1
  activation: str = 'relu'
  output: str = 'tanh'
  layers: str = 'gen'

  def __post_init__(self):
    infogan_quarter(self.size)
    _check(self, 'activation', ACTIVATIONS)
    _check(self, 'output', OUTPUTS)
    _check(self, 'layers', LAYERS)
    super().__post_init__()

  @nn.compact
  def __call__(self, z, train: bool = True):
    s, act, layers = infogan_quarter(self.size), _activation(self.activation), self.layers

    def hidden(layer, x):
      return act(_batch_norm(train, layers)(layer(x)))

    x = hidden(_dense(1024, layers, normed=True), z)
    x = hidden(_dense(s * s * 128, layers, normed=True), x)
    x = hidden(_deconv(64, layers, normed=True), x.reshape(x.shape[0], s, s, 128))
    return _squash(self.output)(_deconv(self.channels, layers)(x))


class InfoGANDiscriminator(nn.Module):
  """4x4 s2 conv 64, 4x4 s2 conv 128 + norm, FC 1024 + norm, FC 1 -> (N,) logits.

  LeakyReLU(`leak`) after each hidden layer. 0.2 is compare_gan's lrelu, the code
  behind Lucic et al. 2018; InfoGAN's appendix C states a leaky rate of 0.1.
  compare_gan's D (abstract_gan.py `discriminator`): norm 'batch' or 'none' (its
  searched discriminator_batchnorm), layers 'compare_gan'.
  """

  size: int = 28
  norm: str = 'batch'
  minibatch: str = 'none'
  num_kernels: int = 100
  kernel_dim: int = 5
  leak: float = 0.2
  layers: str = 'gen'
  out_features: int = 0  # 0: (N,) logits; n: (N, n) from the last FC (the study's VAE encoder)

  def __post_init__(self):
    infogan_quarter(self.size)
    _check(self, 'norm', NORMS)
    _check(self, 'minibatch', MINIBATCH)
    _check(self, 'layers', LAYERS)
    super().__post_init__()

  @nn.compact
  def __call__(self, x, train: bool = True):
    normed, layers = self.norm != 'none', self.layers

    def act(h):
      return nn.leaky_relu(h, self.leak)

    x = act(_conv(64, layers)(x))
    x = act(_norm(self.norm, train, _conv(128, layers, normed)(x), layers))
    x = _dense(1024, layers, normed)(x.reshape(x.shape[0], -1))
    x = act(_norm(self.norm, train, x, layers))
    out = _dense(max(1, self.out_features), layers)(_minibatch(self, x))
    return out if self.out_features else out[:, 0]


def began_energy(x, reconstruction):
  """L(v) = mean over non-batch axes of |v - AE(v)|, shape (N,) (Berthelot et al. 2017, eq. 1)."""
  return jnp.mean(jnp.abs(x - reconstruction), axis=tuple(range(1, x.ndim)))


class MLPAutoencoderDiscriminator(nn.Module):
  """BEGAN discriminator for 2D / flat data: MLP encoder to a code, MLP decoder back.

  ELU between layers as BEGAN; the code and the reconstruction are linear
  ("not followed by any non-linearities", Berthelot et al. 2017, sec. 3.5).
  `__call__` gives the energy, `reconstruct` AE(x) with the input's shape.
  """

  hidden: Sequence[int] = (128, 128)
  code_dim: int = 8

  @nn.compact
  def reconstruct(self, x, train: bool = True):
    flat = x.reshape(x.shape[0], -1)
    code = MLP(tuple(self.hidden) + (self.code_dim,), nn.elu)(flat)
    out = MLP(tuple(reversed(self.hidden)) + (flat.shape[-1],), nn.elu)(code)
    return out.reshape(x.shape)

  def __call__(self, x, train: bool = True):
    return began_energy(x, self.reconstruct(x, train))


class ConvAutoencoderDiscriminator(nn.Module):
  """BEGAN's convolutional autoencoder (Berthelot et al. 2017, sec. 3.5, fig. 1).

  3x3 convolutions with ELU, `repeat` per resolution, no batch norm. Encoder:
  width `features` (n), each stride-2 downsampling widening by n (n, 2n, 3n, ...)
  down to the base map of `dcgan_plan(size)`, then a linear FC to the code.
  Decoder: a linear FC to a base map of width n, then nearest-neighbour 2x
  upsampling between resolutions and a last linear 3x3 conv to `channels`.
  `__call__` gives the energy, `reconstruct` AE(x).
  """

  size: int
  channels: int
  features: int = 64
  code_dim: int = 64  # N_h in the paper
  repeat: int = 2  # "typically 2"

  def __post_init__(self):
    dcgan_plan(self.size)
    super().__post_init__()

  @nn.compact
  def reconstruct(self, x, train: bool = True):
    base, n = dcgan_plan(self.size)

    def convs(h, width):
      for _ in range(self.repeat):
        h = nn.elu(Conv(width, (3, 3))(h))
      return h

    h = nn.elu(Conv(self.features, (3, 3))(x))
    for level in range(n):
      h = convs(h, self.features * (level + 1))
      h = nn.elu(Conv(self.features * (level + 2), (3, 3), strides=(2, 2))(h))
    h = convs(h, self.features * (n + 1))
    code = nn.Dense(self.code_dim)(h.reshape(h.shape[0], -1))

    h = nn.Dense(base * base * self.features)(code).reshape(-1, base, base, self.features)
    for _ in range(n):
      h = convs(h, self.features)
      h = jnp.repeat(jnp.repeat(h, 2, axis=1), 2, axis=2)
    return Conv(self.channels, (3, 3))(convs(h, self.features))

  def __call__(self, x, train: bool = True):
    return began_energy(x, self.reconstruct(x, train))


class InfoGANAutoencoderDiscriminator(nn.Module):
  """compare_gan's BEGAN discriminator (src/gans/BEGAN.py), an autoencoder of the
  InfoGAN layers: 4x4 s2 conv 64, lrelu, 4x4 s2 conv 128 (no activation), FC
  `code_dim` + norm, lrelu; FC (size/4)^2 * 128 + norm, lrelu, 4x4 s2 up-conv 64 +
  norm, lrelu, 4x4 s2 up-conv `channels`, `output` squashing. lrelu is 0.2; norm
  is compare_gan's searched discriminator_batchnorm ('batch' | 'none').
  `__call__` gives the energy, `reconstruct` AE(x). compare_gan's energy is the
  mean over the whole batch; the per-example energies here average to it.
  """

  size: int = 28
  channels: int = 1
  norm: str = 'none'
  code_dim: int = 64
  output: str = 'sigmoid'
  layers: str = 'compare_gan'

  def __post_init__(self):
    infogan_quarter(self.size)
    _check(self, 'norm', NORMS)
    _check(self, 'output', OUTPUTS)
    _check(self, 'layers', LAYERS)
    super().__post_init__()

  @nn.compact
  def reconstruct(self, x, train: bool = True):
    s, normed, layers = infogan_quarter(self.size), self.norm != 'none', self.layers

    def hidden(layer, h):
      return nn.leaky_relu(_norm(self.norm, train, layer(h), layers), 0.2)

    h = nn.leaky_relu(_conv(64, layers)(x), 0.2)
    h = _conv(128, layers)(h)
    code = hidden(_dense(self.code_dim, layers, normed), h.reshape(h.shape[0], -1))
    h = hidden(_dense(s * s * 128, layers, normed), code)
    h = hidden(_deconv(64, layers, normed), h.reshape(h.shape[0], s, s, 128))
    return _squash(self.output)(_deconv(self.channels, layers)(h))

  def __call__(self, x, train: bool = True):
    return began_energy(x, self.reconstruct(x, train))
