"""Multi-layer perceptron."""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn


class MLP(nn.Module):
  """Dense layers with `activation` between them; the last layer is linear."""

  features: Sequence[int]
  activation: Callable = nn.relu

  @nn.compact
  def __call__(self, x):
    for i, f in enumerate(self.features):
      x = nn.Dense(f)(x)
      if i < len(self.features) - 1:
        x = self.activation(x)
    return x
