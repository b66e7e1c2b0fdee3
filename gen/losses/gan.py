"""GAN games as (discriminator loss, generator loss) on discriminator logits.

Each returns (scalar, aux) so that the caller can log the parts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def ns_d_loss(real_logits, fake_logits):
  """Cross-entropy with real -> 1, fake -> 0 (Goodfellow et al. 2014, eq. 1):
  -log D(x) - log(1 - D(G(z))), with log D = -softplus(-l), log(1 - D) = -softplus(l)."""
  real = jnp.mean(jax.nn.softplus(-real_logits))
  fake = jnp.mean(jax.nn.softplus(fake_logits))
  return real + fake, {
      'd/loss_real': real,
      'd/loss_fake': fake,
      'd/real_prob': jnp.mean(jax.nn.sigmoid(real_logits)),
      'd/fake_prob': jnp.mean(jax.nn.sigmoid(fake_logits)),
  }


def ns_g_loss(fake_logits):
  """Non-saturating generator loss -log D(G(z)) (Goodfellow et al. 2014, sec. 3)."""
  return jnp.mean(jax.nn.softplus(-fake_logits)), {}
