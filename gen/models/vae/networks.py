"""VAE networks (Kingma & Welling 2014; Burda et al. 2016's stochastic layers): MLP and
convolutional encoders whose flat output a latent family (latents.py) parses, and decoders
from z to the parameters of p(x|z). Encoders also return their last hidden features: the
deterministic bottom-up path of a Ladder VAE reads them."""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax.numpy as jnp

from gen.models.gan import networks as gan_networks
from gen.nn import MLP, Conv, ConvTranspose

ACTIVATIONS = {
    'tanh': nn.tanh,  # the IWAE paper's stochastic layers
    'relu': nn.relu,  # the S-VAE reference code
    'leaky_relu': nn.leaky_relu,  # the Ladder VAE
    'softplus': nn.softplus,
}


class MLPEncoder(nn.Module):
  """x (any shape per example) -> (h (N, out), features (N, hidden[-1]))."""

  hidden: Sequence[int]
  out: int
  activation: Callable = nn.tanh

  @nn.compact
  def __call__(self, x):
    x = x.reshape(x.shape[0], -1)
    features = self.activation(MLP(tuple(self.hidden), activation=self.activation)(x))
    return nn.Dense(self.out)(features), features


class MLPDecoder(nn.Module):
  """z -> parameters of p(x|z) with `out_channels` per pixel of `shape`."""

  hidden: Sequence[int]
  shape: Sequence[int]
  out_channels: int
  activation: Callable = nn.tanh

  @nn.compact
  def __call__(self, z):
    h, w = self.shape[0], self.shape[1]
    out = MLP(tuple(self.hidden) + (h * w * self.out_channels,), activation=self.activation)(z)
    return out.reshape(z.shape[0], h, w, self.out_channels)


class ConvEncoder(nn.Module):
  """`down` stride-2 4x4 convolutions doubling the width from `features`, then a linear
  map to h: 28 px with down = 2 (the MNIST conv VAE), 64 px with down = 4 (the beta-VAE
  encoder of Burgess et al. 2018 has four of 32 channels; here widths double)."""

  features: int
  out: int
  down: int = 2
  activation: Callable = nn.relu

  @nn.compact
  def __call__(self, x):
    for i in range(self.down):
      x = self.activation(Conv(self.features * 2**i, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)))(x))  # fmt: skip
    features = x.reshape(x.shape[0], -1)
    return nn.Dense(self.out)(features), features


class ConvDecoder(nn.Module):
  """Linear map to an (H / 2^up, W / 2^up) feature map, `up` 2x transposed convolutions
  halving the width, the last to `out_channels`."""

  features: int
  shape: Sequence[int]
  out_channels: int
  up: int = 2
  activation: Callable = nn.relu

  @nn.compact
  def __call__(self, z):
    scale = 2**self.up
    h, w = self.shape[0] // scale, self.shape[1] // scale
    x = nn.Dense(h * w * self.features * 2 ** (self.up - 1))(z)
    x = self.activation(x).reshape(z.shape[0], h, w, -1)
    for i in reversed(range(1, self.up)):
      x = self.activation(ConvTranspose(self.features * 2 ** (i - 1))(x))
    return ConvTranspose(self.out_channels)(x)


class InfoGANEncoder(nn.Module):
  """The VAE of Lucic et al. 2018 (compare_gan src/gans/VAE.py): the study's D trunk
  (InfoGAN, gen/models/gan/networks.py; batch norm a searched choice, `norm`) with a
  last FC of 2 * z_dim, std = 1e-6 + softplus(second half). Returns [mean, log_var]
  for the Gaussian family (log_var = 2 log std) and the same as features."""

  size: int
  out: int
  norm: str = 'batch'
  layers: str = 'compare_gan'

  @nn.compact
  def __call__(self, x, train: bool = True):
    h = gan_networks.InfoGANDiscriminator(
        self.size, norm=self.norm, layers=self.layers, out_features=self.out
    )(x, train)
    mean, raw = jnp.split(h, 2, axis=-1)
    h = jnp.concatenate([mean, 2.0 * jnp.log(1e-6 + nn.softplus(raw))], axis=-1)
    return h, h


class InfoGANDecoder(nn.Module):
  """The study's VAE decoder: its InfoGAN G with ReLU (compare_gan's VAE.py; the GANs'
  G uses lrelu), batch norm in every hidden layer, Bernoulli logits out."""

  size: int
  channels: int
  layers: str = 'compare_gan'

  @nn.compact
  def __call__(self, z, train: bool = True):
    return gan_networks.InfoGANGenerator(
        self.size, self.channels, activation='relu', output='none', layers=self.layers
    )(z, train)


def with_labels(x, onehot):
  """Appends one-hot labels to a network's input: as channels of an image (N, H, W, C),
  as features of a flat input (N, D) (the conditional VAE's Q(z|X,Y), P(X|z,Y))."""
  if onehot is None:
    return x
  if x.ndim == 4:
    tiled = jnp.broadcast_to(onehot[:, None, None, :], x.shape[:3] + onehot.shape[-1:])
    return jnp.concatenate([x, tiled.astype(x.dtype)], axis=-1)
  return jnp.concatenate([x.reshape(x.shape[0], -1), onehot.astype(x.dtype)], axis=-1)
