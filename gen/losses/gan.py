"""GAN games: a discriminator loss and a generator loss on D's raw outputs.

Every game sees the discriminator's outputs on a real and a fake batch (logits
for the cross-entropy games, critic values for WGAN, scores for LSGAN,
autoencoder energies for BEGAN) and returns `(scalar, aux)`; aux scalars are
logged as `player/quantity`. A game may carry scalars across steps (BEGAN's
k_t) in `extra`: `init_extra()` makes them, `update_extra` advances them after
each discriminator update. Penalties on D's input gradient live in
`gen.losses.penalties`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp


def _probs(real_logits, fake_logits):
  return {
      'd/real_prob': jnp.mean(jax.nn.sigmoid(real_logits)),
      'd/fake_prob': jnp.mean(jax.nn.sigmoid(fake_logits)),
  }


def cross_entropy_d_loss(real_logits, fake_logits, extra=None):
  """D's side of the minimax value (Goodfellow et al. 2014, eq. 1), minimised:
  -log D(x) - log(1 - D(G(z))) with log D = -softplus(-l), log(1 - D) = -softplus(l)."""
  real = jnp.mean(jax.nn.softplus(-real_logits))
  fake = jnp.mean(jax.nn.softplus(fake_logits))
  return real + fake, {'d/loss_real': real, 'd/loss_fake': fake, **_probs(real_logits, fake_logits)}


def mm_g_loss(fake_logits, extra=None):
  """Minimax: G minimises E log(1 - D(G(z))) = -E softplus(l) (Goodfellow et al. 2014, eq. 1)."""
  return -jnp.mean(jax.nn.softplus(fake_logits)), {}


def ns_g_loss(fake_logits, extra=None):
  """Non-saturating: G minimises -E log D(G(z)) = E softplus(-l) (Goodfellow et al. 2014, sec. 3)."""
  return jnp.mean(jax.nn.softplus(-fake_logits)), {}


def ml_g_loss(fake_logits, extra=None):
  """Maximum-likelihood game: J_G = -1/2 E exp(sigma^-1(D(G(z)))) = -1/2 E exp(l).

  With an optimal D, exp(l) = p_data / p_g, so the expected gradient is that of
  KL(p_data || p_g) (Goodfellow 2014, "On distinguishability criteria";
  Goodfellow 2016, NIPS tutorial, sec. 3.2.3).
  """
  return -0.5 * jnp.mean(jnp.exp(fake_logits)), {}


def ls_d_loss(real_out, fake_out, extra=None):
  """LSGAN (Mao et al. 2017, eq. 2 with a = 0, b = c = 1): E (D(x) - 1)^2 + E D(G(z))^2.

  The paper's factor 1/2 is left out; it only rescales the gradient, to which
  Adam and RMSProp are invariant.
  """
  real = jnp.mean((real_out - 1.0) ** 2)
  fake = jnp.mean(fake_out**2)
  return real + fake, {'d/loss_real': real, 'd/loss_fake': fake}


def ls_g_loss(fake_out, extra=None):
  """LSGAN generator: E (D(G(z)) - 1)^2 (Mao et al. 2017, eq. 2)."""
  return jnp.mean((fake_out - 1.0) ** 2), {}


def ls_sigmoid_d_loss(real_logits, fake_logits, extra=None):
  """compare_gan's LSGAN (src/gans/LSGAN.py, the one of Lucic et al. 2018): the
  squares on D's sigmoid outputs, with the 1/2,
  0.5 [E (s(D(x)) - 1)^2 + E s(D(G(z)))^2]; aux holds the two unhalved terms."""
  loss, aux = ls_d_loss(jax.nn.sigmoid(real_logits), jax.nn.sigmoid(fake_logits))
  return 0.5 * loss, {**aux, **_probs(real_logits, fake_logits)}


def ls_sigmoid_g_loss(fake_logits, extra=None):
  """compare_gan's LSGAN generator: 0.5 E (s(D(G(z))) - 1)^2."""
  loss, aux = ls_g_loss(jax.nn.sigmoid(fake_logits))
  return 0.5 * loss, aux


def wasserstein_d_loss(real_out, fake_out, extra=None):
  """WGAN critic (Arjovsky et al. 2017, Algorithm 1): minimises E f(G(z)) - E f(x).

  -loss estimates the Wasserstein-1 distance when f is 1-Lipschitz (weight
  clipping or a gradient penalty keeps it so); it is logged as d/wasserstein.
  """
  gap = jnp.mean(real_out) - jnp.mean(fake_out)
  return -gap, {'d/wasserstein': gap, 'd/loss_real': -jnp.mean(real_out)}


def wasserstein_g_loss(fake_out, extra=None):
  """WGAN generator: minimises -E f(G(z)) (Arjovsky et al. 2017, Algorithm 1)."""
  return -jnp.mean(fake_out), {}


@dataclasses.dataclass(frozen=True)
class BEGAN:
  """Boundary equilibrium GAN (Berthelot et al. 2017, sec. 3.4).

  D is an autoencoder; its outputs are per-example energies L(v) = |v - D(v)|
  (mean L1 over pixels). With k_0 = 0:
    L_D = L(x) - k_t L(G(z)),   L_G = L(G(z)),
    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1),
    M_global = L(x) + |gamma L(x) - L(G(z))|   (the convergence measure).
  k_t is advanced after every discriminator update from that update's L(x)
  and L(G(z)). `clip_k=False` is compare_gan's (src/gans/BEGAN.py `update_k`, the
  code of Lucic et al. 2018): k is not clipped to [0, 1]. (compare_gan also
  recomputes L(x), L(G(z)) for k after both players' updates; here they are
  those of the D update.)
  """

  gamma: float = 0.5
  lambda_k: float = 0.001
  clip_k: bool = True

  def init_extra(self):
    return {'k': jnp.zeros((), jnp.float32)}

  def d_loss(self, real_energy, fake_energy, extra):
    real, fake = jnp.mean(real_energy), jnp.mean(fake_energy)
    balance = self.gamma * real - fake
    aux = {
        'd/loss_real': real,
        'd/loss_fake': fake,
        'began/k': extra['k'],
        'began/m_global': real + jnp.abs(balance),
        'began/balance': balance,
    }
    return real - extra['k'] * fake, aux

  def g_loss(self, fake_energy, extra):
    return jnp.mean(fake_energy), {}

  def update_extra(self, extra, aux):
    k = extra['k'] + self.lambda_k * aux['began/balance']
    return {'k': jnp.clip(k, 0.0, 1.0) if self.clip_k else k}


@dataclasses.dataclass(frozen=True)
class Game:
  """A game as the GAN model uses it; see the module docstring."""

  d_loss: Callable
  g_loss: Callable
  init_extra: Callable = dict
  update_extra: Callable = lambda extra, aux: extra


GAMES = {
    'mm': Game(cross_entropy_d_loss, mm_g_loss),
    'ns': Game(cross_entropy_d_loss, ns_g_loss),
    'ml': Game(cross_entropy_d_loss, ml_g_loss),
    'ls': Game(ls_d_loss, ls_g_loss),
    'wasserstein': Game(wasserstein_d_loss, wasserstein_g_loss),
}


def make(
    name: str,
    began_gamma: float = 0.5,
    began_lambda_k: float = 0.001,
    *,
    began_clip_k: bool = True,
    ls_on: str = 'output',
) -> Game | None:
  """The game called `name`, or None when there is none by that name.

  ls_on: 'output' (the squares on D's raw output, Mao et al.) | 'sigmoid'
  (compare_gan's, `ls_sigmoid_*`); began_clip_k: see BEGAN.
  """
  if name == 'began':
    b = BEGAN(began_gamma, began_lambda_k, began_clip_k)
    return Game(b.d_loss, b.g_loss, b.init_extra, b.update_extra)
  if name == 'ls' and ls_on == 'sigmoid':
    return Game(ls_sigmoid_d_loss, ls_sigmoid_g_loss)
  return GAMES.get(name)


NAMES = tuple(GAMES) + ('began',)
LS_ON = ('output', 'sigmoid')
