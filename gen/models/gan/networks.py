"""GAN networks: MLPs for 2D data, DCGAN (Radford et al. 2016) for images.

DCGAN guidelines (sec. 3): strided convolutions in D and fractionally strided
ones in G, batch norm in both except G's output and D's input, ReLU in G with a
Tanh output, LeakyReLU(0.2) in D, no fully connected hidden layers. G's first
layer projects z (as a 1x1 map) with a transposed convolution; D's last is a
convolution over the whole remaining map.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn

from gen.config import ConfigError
from gen.nn import MLP, ConvTranspose


class MLPGenerator(nn.Module):
  hidden: Sequence[int]
  out_dim: int

  @nn.compact
  def __call__(self, z, train: bool = True):
    return MLP(tuple(self.hidden) + (self.out_dim,))(z)


class MLPDiscriminator(nn.Module):
  hidden: Sequence[int]

  @nn.compact
  def __call__(self, x, train: bool = True):
    return MLP(tuple(self.hidden) + (1,))(x.reshape(x.shape[0], -1))[:, 0]


def dcgan_plan(size: int) -> tuple[int, int]:
  """(base map size, number of 2x up/downsamplings) for a square image."""
  for base in (4, 7):
    n, s = 0, size
    while s > base and s % 2 == 0:
      s, n = s // 2, n + 1
    if s == base:
      return base, n
  raise ConfigError(f'DCGAN supports sizes 4*2^n or 7*2^n (e.g. 28, 32, 64); got {size}.')


def _batch_norm(train: bool):
  # momentum 0.9 and eps 1e-5 as PyTorch's BatchNorm2d defaults used by DCGAN.
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)


class DCGANGenerator(nn.Module):
  size: int
  channels: int
  features: int = 64  # width of the last hidden layer; doubles per level down

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
    return nn.tanh(ConvTranspose(self.channels)(x))


class DCGANDiscriminator(nn.Module):
  size: int
  features: int = 64

  @nn.compact
  def __call__(self, x, train: bool = True):
    base, n_down = dcgan_plan(self.size)
    for level in range(n_down):
      x = nn.Conv(
          self.features * 2**level,
          (4, 4),
          strides=(2, 2),
          padding=((1, 1), (1, 1)),
          use_bias=level == 0,
      )(x)
      if level > 0:
        x = _batch_norm(train)(x)
      x = nn.leaky_relu(x, 0.2)
    return nn.Conv(1, (base, base), padding='VALID')(x).reshape(x.shape[0])
