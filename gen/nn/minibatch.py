"""Layers that let a discriminator see the whole minibatch, against mode collapse.

MinibatchDiscrimination: Salimans et al. 2016, "Improved Techniques for Training
GANs", sec. 3.2. MinibatchStdDev: Karras et al. 2018, "Progressive Growing of
GANs", sec. 3. Both make example i's output depend on the other examples, so a
discriminator using them is not per-example (gradient penalties that assume one
critic value per input, as WGAN-GP's, no longer have that meaning).
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp


class MinibatchDiscrimination(nn.Module):
  """f (N, A) -> concat([f, o], -1) of shape (N, A + B); inputs of more dims are flattened.

  With T of shape (A, B*C) and M_i = f_i T reshaped to (B, C) (Salimans et al.
  2016, sec. 3.2):
    c_b(x_i, x_j) = exp(-||M_{i,b} - M_{j,b}||_L1),   o(x_i)_b = sum_j c_b(x_i, x_j),
  with j over the whole minibatch, i included, as the paper's formula. The
  authors' code (openai/improved-gan, nn.MinibatchLayer) leaves out j = i, which
  only shifts every o_b by c_b(x_i, x_i) = 1, a constant the next layer's bias
  absorbs; it also weight-normalises T and adds a learnt bias, which we do not.
  """

  num_kernels: int = 100  # B; 100 and 5 as in the authors' code
  kernel_dim: int = 5  # C
  # N(0, 0.05^2): the authors' code's initial theta (before its weight norm).
  kernel_init: nn.initializers.Initializer = nn.initializers.normal(0.05)

  @nn.compact
  def __call__(self, f):
    f = f.reshape(f.shape[0], -1)
    t = self.param('kernel', self.kernel_init, (f.shape[-1], self.num_kernels * self.kernel_dim))
    m = (f @ t.astype(f.dtype)).reshape(f.shape[0], self.num_kernels, self.kernel_dim)
    # (N, N, B): the L1 distance between rows b of M_i and M_j. Memory is N^2 B C,
    # small for GAN batch sizes. abs has gradient 0 at 0, so i = j is harmless.
    l1 = jnp.sum(jnp.abs(m[:, None] - m[None, :]), axis=-1)
    o = jnp.sum(jnp.exp(-l1), axis=1)
    return jnp.concatenate([f, o], axis=-1)


class MinibatchStdDev(nn.Module):
  """Appends the minibatch's mean feature standard deviation as one constant feature.

  Karras et al. 2018, sec. 3: the standard deviation of every feature at every
  position over the minibatch, averaged to one scalar, replicated over the batch
  and positions and concatenated as one extra channel: (N, H, W, C) ->
  (N, H, W, C + 1), (N, F) -> (N, F + 1). The std is the biased one with
  `epsilon` inside the square root, as the authors' code (minibatch_stddev_layer),
  which keeps its gradient finite when every example is equal. That code takes
  the std over groups of 4 examples; here it is over the whole batch, as the
  paper describes it.
  """

  epsilon: float = 1e-8

  def __call__(self, x):
    var = jnp.mean(jnp.square(x - jnp.mean(x, axis=0)), axis=0)
    s = jnp.mean(jnp.sqrt(var + self.epsilon))
    return jnp.concatenate([x, jnp.broadcast_to(s, x.shape[:-1] + (1,)).astype(x.dtype)], axis=-1)
