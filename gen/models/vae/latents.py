"""One stochastic layer of a VAE: how a network's output parameterises q, how z is drawn,
and its log-densities. Gaussian (Kingma & Welling 2014) or von Mises-Fisher (Davidson et
al. 2018, the S-VAE).

A family maps the encoder's flat output h (N, out_size) to its parameters, draws a
reparameterised z with `sample` (plus `ell`, the per-example score term of a rejection
sampler's gradient correction; 0 for the Gaussian), and gives log q(z) and E_q[z].
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from gen.distributions import vmf
from gen.losses import kl as kl_lib
from gen.losses import likelihood


def gaussian_log_prob(z, mean, log_var):
  """log N(z; mean, diag(exp(log_var))), summed over the latent units."""
  return likelihood.gaussian(z, mean, log_var)


def gaussian_sample(key, mean, log_var):
  """z = mean + sigma * eps (Kingma & Welling 2014, eq. 10)."""
  return mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape, mean.dtype)


def precision_merge(mean_a, log_var_a, mean_b, log_var_b):
  """The product of two Gaussians renormalised (Sønderby et al. 2016, eq. 19-20): precisions
  add, means are precision-weighted. In log-variances, so no variance underflows."""
  log_var = -jnp.logaddexp(-log_var_a, -log_var_b)
  mean = (mean_a * jnp.exp(-log_var_a) + mean_b * jnp.exp(-log_var_b)) * jnp.exp(log_var)
  return mean, log_var


@dataclasses.dataclass(frozen=True)
class Gaussian:
  """q(z) = N(mean, diag(exp(log_var))); h = [mean, log_var]."""

  dim: int

  @property
  def out_size(self) -> int:
    return 2 * self.dim

  def parse(self, h):
    mean, log_var = jnp.split(h, 2, axis=-1)
    return mean, log_var

  def sample(self, key, params):
    return gaussian_sample(key, *params), jnp.zeros(params[0].shape[0], params[0].dtype)

  def log_prob(self, z, params):
    return gaussian_log_prob(z, *params)

  def mean(self, params):
    return params[0]

  def kl_to_prior(self, params):
    """KL(q || N(0, I)) in closed form."""
    return kl_lib.gaussian_to_standard(*params)


@dataclasses.dataclass(frozen=True)
class VonMisesFisher:
  """q(z) = vMF(mu, kappa) on the sphere S^{dim-1} in R^dim (dim: ambient). As the S-VAE
  reference code: mu = h[:dim] / ||h[:dim]||, kappa = softplus(h[dim]) + 1 (the +1 keeps
  q from collapsing to the uniform)."""

  dim: int

  @property
  def out_size(self) -> int:
    return self.dim + 1

  def parse(self, h):
    direction = h[..., : self.dim]
    mu = direction / jnp.linalg.norm(direction, axis=-1, keepdims=True)
    kappa = jax.nn.softplus(h[..., self.dim]) + 1.0
    return mu, kappa

  def sample(self, key, params):
    return vmf.sample_with_score(key, *params)

  def log_prob(self, z, params):
    return vmf.log_prob(z, *params)

  def mean(self, params):
    mu, kappa = params
    return vmf.bessel_ratio(self.dim, kappa)[..., None] * mu

  def kl_to_prior(self, params):
    """KL(q || uniform on the sphere) in closed form; it does not depend on mu."""
    return vmf.kl_to_uniform(params[1], self.dim)


def family(name: str, dim: int):
  return {'gaussian': Gaussian, 'vmf': VonMisesFisher}[name](dim)
