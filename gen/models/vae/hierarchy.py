"""A VAE with L >= 1 stochastic layers z_1 (bottom) .. z_L (top): its networks, one
importance-weighted draw, generation, and posterior means.

Generative model: p(z_L) p(z_{L-1}|z_L) .. p(z_1|z_2) p(x|z_1) (p(x|z_1, y) when
conditional). Inference, `inference`:
  'bottom_up'  q(z_1|x) q(z_2|z_1) .. q(z_L|z_{L-1}) (Burda et al. 2016, sec. 3): each
               layer's encoder reads the sample below.
  'top_down'   the Ladder VAE (Sønderby et al. 2016, sec. 2.2): a deterministic up-pass
               d_l = f_l(d_{l-1}), d_0 = x, gives estimates N(mu^_l, s^_l); z_L ~ N(mu^_L,
               s^_L), then down the layers q(z_l|.) is the precision-weighted merge of
               N(mu^_l, s^_l) with the generative p(z_l|z_{l+1}) (eq. 19-20).
Priors on z_L, `prior`: 'standard' N(0, I); 'uniform' on the sphere (vMF latents); 'vamp'
(Tomczak & Welling 2018, eq. 9): (1/K) sum_k q(z_L | u_k), K learned pseudo-inputs
u_k = hardtanh_[0,1](w_k) (their `models/Model.py`). With bottom-up inference q(z_L|u) is
the top posterior reached by passing the means of the layers below (exact for L = 1; for
L > 1 a stand-in for E_{z_{<L}} q(z_L|z_{L-1}), still a normalised prior, so bounds stay
bounds); top-down inference gives q(z_L|u) exactly.

Networks (params keys): 'enc' (x -> layer 1) .. 'enc<l>' (-> layer l), 'dec' (z_1 -> x),
'dec<l>' (z_l -> layer l - 1), 'pseudo' (the pseudo-inputs).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from gen.distributions import vmf
from gen.models.vae import latents
from gen.models.vae.networks import with_labels

INFERENCES = ('bottom_up', 'top_down')
PRIORS = ('standard', 'vamp', 'uniform')


class Draw(NamedTuple):
  """One z ~ q(z|x) per example, (N,) each: log p(x|z), log p(z), log q(z|x), the KL term
  (closed form where there is one, else log q - log p) and the rejection sampler's score
  term `ell` (latents.py)."""

  rec: jax.Array
  log_pz: jax.Array
  log_qz: jax.Array
  kl: jax.Array
  ell: jax.Array

  @property
  def log_w(self):
    return self.rec + self.log_pz - self.log_qz


def _name(kind: str, layer: int) -> str:  # layer 0 is z_1
  return kind if layer == 0 else f'{kind}{layer + 1}'


@dataclasses.dataclass(frozen=True)
class Hierarchy:
  families: tuple  # latents.Gaussian / VonMisesFisher per layer, bottom first
  encoders: tuple  # modules -> (h, features); encoders[0] reads x (and labels)
  decoders: tuple  # decoders[0]: p(x|z_1) parameters; decoders[l]: h of p(z_l | z_{l+1})
  inference: str
  prior: str
  log_likelihood: Callable  # (decoder output, x) -> (N,)
  data_mean: Callable  # decoder output -> the mean of p(x|z)
  data_shape: tuple
  num_pseudo: int = 0
  pseudo_init: tuple = (0.05, 0.01)  # mean, std of the pseudo-inputs' initial values
  apply: Callable = None  # (module, params, *args) -> output (gen.nn.apply with the dtype)
  image_input: bool = False  # the first encoder takes images (conv), not flat vectors

  @property
  def depth(self) -> int:
    return len(self.families)

  @property
  def network_names(self) -> tuple[str, ...]:
    names = [_name('enc', l) for l in range(self.depth)] + [_name('dec', l) for l in range(self.depth)]
    return tuple(names) + (('pseudo',) if self.prior == 'vamp' else ())

  def has_closed_form_kl(self) -> bool:
    return self.depth == 1 and self.prior in ('standard', 'uniform')

  # ---------------------------------------------------------------- initialisation

  def init(self, key, x, onehot) -> tuple[dict[str, Any], dict[str, Any]]:
    """(params, batch_stats) by network name; batch_stats holds the networks with
    batch norm only."""
    keys = iter(jax.random.split(key, 2 * self.depth + 1))
    params, stats, inp = {}, {}, self._input(x, onehot)

    def init_one(name, module, *args):
      variables = module.init(next(keys), *args)
      params[name] = variables['params']
      if variables.get('batch_stats'):
        stats[name] = variables['batch_stats']
      return module.apply(variables, *args, mutable=True)[0]

    for l, fam in enumerate(self.families):
      h, features = init_one(_name('enc', l), self.encoders[l], inp)
      z = jnp.zeros(h.shape[:1] + (fam.dim,), h.dtype)
      inp = features if self.inference == 'top_down' else z
      init_one(_name('dec', l), self.decoders[l], with_labels(z, onehot) if l == 0 else z)
    if self.prior == 'vamp':
      mean, std = self.pseudo_init
      shape = (self.num_pseudo,) + tuple(self.data_shape)
      params['pseudo'] = mean + std * jax.random.normal(next(keys), shape)
    return params, stats

  def _input(self, x, onehot):
    """The first encoder's input: labels appended as channels of the image (conv
    encoders) or as features of the flattened image (MLP encoders)."""
    if onehot is None or self.image_input:
      return with_labels(x, onehot)
    return with_labels(x.reshape(x.shape[0], -1), onehot)

  # ---------------------------------------------------------------- inference

  def _up(self, params, x, onehot):
    """Top-down inference's deterministic pass: the estimate of each layer's q (parsed)."""
    estimates, inp = [], self._input(x, onehot)
    for l, fam in enumerate(self.families):
      h, inp = self.apply(self.encoders[l], params[_name('enc', l)], inp)
      estimates.append(fam.parse(h))
    return estimates

  def _conditional(self, params, l, z_above):
    """The parameters of p(z_l | z_{l+1}) (Gaussian), from decoders[l + 1]."""
    h, _ = self.apply(self.decoders[l + 1], params[_name('dec', l + 1)], z_above)
    return self.families[l].parse(h)

  def draw(self, params, x, onehot, key) -> Draw:
    """One z per example from q(z|x) and the log-densities of that draw."""
    keys = jax.random.split(key, self.depth)
    zero = jnp.zeros(x.shape[0], jnp.float32)
    log_q, log_p, ell = zero, zero, zero
    zs, q_params = [None] * self.depth, [None] * self.depth
    if self.inference == 'bottom_up':
      inp = self._input(x, onehot)
      for l, fam in enumerate(self.families):
        h, _ = self.apply(self.encoders[l], params[_name('enc', l)], inp)
        q_params[l] = fam.parse(h)
        zs[l], e = fam.sample(keys[l], q_params[l])
        log_q, ell, inp = log_q + fam.log_prob(zs[l], q_params[l]), ell + e, zs[l]
      for l in range(self.depth - 1):
        p_l = self._conditional(params, l, zs[l + 1])
        log_p = log_p + self.families[l].log_prob(zs[l], p_l)
    else:
      estimates, top = self._up(params, x, onehot), self.depth - 1
      q_params[top] = estimates[top]
      zs[top], ell = self.families[top].sample(keys[top], q_params[top])
      log_q = self.families[top].log_prob(zs[top], q_params[top])
      for l in reversed(range(top)):
        p_l = self._conditional(params, l, zs[l + 1])
        q_params[l] = latents.precision_merge(*estimates[l], *p_l)
        zs[l], _ = self.families[l].sample(keys[l], q_params[l])
        log_q = log_q + self.families[l].log_prob(zs[l], q_params[l])
        log_p = log_p + self.families[l].log_prob(zs[l], p_l)
    log_p = log_p + self.prior_log_prob(params, zs[-1])
    out = self.apply(self.decoders[0], params['dec'], with_labels(zs[0], onehot))
    rec = self.log_likelihood(out, x)
    if self.has_closed_form_kl():
      kl = self.families[0].kl_to_prior(q_params[0])
    else:
      kl = log_q - log_p
    return Draw(rec=rec, log_pz=log_p, log_qz=log_q, kl=kl, ell=ell)

  def posterior_means(self, params, x, onehot) -> list:
    """E_q[z_l] per layer, each layer's q given the means of the layers below (bottom-up)
    or of those above (top-down): the means active units and figures read."""
    if self.inference == 'bottom_up':
      means, inp = [], self._input(x, onehot)
      for l, fam in enumerate(self.families):
        h, _ = self.apply(self.encoders[l], params[_name('enc', l)], inp)
        means.append(fam.mean(fam.parse(h)))
        inp = means[-1]
      return means
    estimates, top = self._up(params, x, onehot), self.depth - 1
    means = [None] * self.depth
    means[top] = self.families[top].mean(estimates[top])
    for l in reversed(range(top)):
      merged = latents.precision_merge(*estimates[l], *self._conditional(params, l, means[l + 1]))
      means[l] = self.families[l].mean(merged)
    return means

  # ---------------------------------------------------------------- prior and generation

  def _pseudo_posterior(self, params):
    """The top layer's q at the K pseudo-inputs (VampPrior components)."""
    u = jnp.clip(params['pseudo'], 0.0, 1.0)  # hardtanh to the data's [0, 1]
    if self.inference == 'top_down':
      return self._up(params, u, None)[-1]
    means = self.posterior_means(params, u, None)
    if self.depth == 1:
      h, _ = self.apply(self.encoders[0], params['enc'], self._input(u, None))
    else:
      h, _ = self.apply(self.encoders[-1], params[_name('enc', self.depth - 1)], means[-2])
    return self.families[-1].parse(h)

  def prior_log_prob(self, params, z):
    fam = self.families[-1]
    if self.prior == 'standard':
      return latents.gaussian_log_prob(z, jnp.zeros_like(z), jnp.zeros_like(z))
    if self.prior == 'uniform':
      return jnp.full(z.shape[:1], -vmf.log_uniform_area(fam.dim), z.dtype)
    components = self._pseudo_posterior(params)  # each (K, ...)
    per = jax.vmap(lambda *p: fam.log_prob(z, p), out_axes=1)(*components)  # (N, K)
    return jax.nn.logsumexp(per, axis=1) - math.log(self.num_pseudo)

  def prior_sample(self, params, key, n):
    fam = self.families[-1]
    if self.prior == 'standard':
      return jax.random.normal(key, (n, fam.dim))
    if self.prior == 'uniform':
      z = jax.random.normal(key, (n, fam.dim))
      return z / jnp.linalg.norm(z, axis=-1, keepdims=True)
    k_pick, k_z = jax.random.split(key)
    pick = jax.random.randint(k_pick, (n,), 0, self.num_pseudo)
    components = self._pseudo_posterior(params)
    return fam.sample(k_z, tuple(c[pick] for c in components))[0]

  def generate(self, params, key, n, onehot):
    """x's mean under p(x|z_1) for z drawn from the generative model."""
    keys = jax.random.split(key, self.depth)
    z = self.prior_sample(params, keys[-1], n)
    for l in reversed(range(self.depth - 1)):
      z, _ = self.families[l].sample(keys[l], self._conditional(params, l, z))
    return self.decode(params, z, onehot)

  def decode(self, params, z1, onehot):
    return self.data_mean(self.apply(self.decoders[0], params['dec'], with_labels(z1, onehot)))
