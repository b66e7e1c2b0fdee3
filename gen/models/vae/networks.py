"""VAE encoders and decoders (Kingma & Welling 2014): MLP and convolutional."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from gen.nn import MLP, Conv, ConvTranspose


class MLPEncoder(nn.Module):
  """x -> (mean, log_var) of q(z|x)."""

  hidden: Sequence[int]
  latent_dim: int

  @nn.compact
  def __call__(self, x):
    h = MLP(tuple(self.hidden) + (2 * self.latent_dim,), activation=nn.tanh)(
        x.reshape(x.shape[0], -1)
    )
    return jnp.split(h, 2, axis=-1)


class MLPDecoder(nn.Module):
  """z -> parameters of p(x|z) with `out_channels` per pixel of `shape`."""

  hidden: Sequence[int]
  shape: Sequence[int]
  out_channels: int

  @nn.compact
  def __call__(self, z):
    h, w = self.shape[0], self.shape[1]
    out = MLP(tuple(self.hidden) + (h * w * self.out_channels,), activation=nn.tanh)(z)
    return out.reshape(z.shape[0], h, w, self.out_channels)


class ConvEncoder(nn.Module):
  """Two stride-2 convolutions, then a linear map to (mean, log_var)."""

  features: int
  latent_dim: int

  @nn.compact
  def __call__(self, x):
    for f in (self.features, 2 * self.features):
      x = nn.relu(Conv(f, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)))(x))
    h = nn.Dense(2 * self.latent_dim)(x.reshape(x.shape[0], -1))
    return jnp.split(h, 2, axis=-1)


class ConvDecoder(nn.Module):
  """Linear map to an (H/4, W/4) feature map, two 2x transposed convolutions."""

  features: int
  shape: Sequence[int]
  out_channels: int

  @nn.compact
  def __call__(self, z):
    h, w = self.shape[0] // 4, self.shape[1] // 4
    x = nn.relu(nn.Dense(h * w * 2 * self.features)(z)).reshape(z.shape[0], h, w, -1)
    x = nn.relu(ConvTranspose(self.features)(x))
    return ConvTranspose(self.out_channels)(x)
