"""The VAE family's mechanics, in process on the built-in digits: bounds, the hierarchy's
log-densities against hand computations, priors, schedules and conditional sampling."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runs
from gen import data as data_lib
from gen.losses import likelihood
from gen.models.vae import latents
from gen.train import step as step_lib

SMOKE = 'configs/vae.py:smoke'


def _trained(spec, steps=30, **overrides):
  config, model, batch = runs.setup_model(spec, **overrides)
  state = step_lib.init_state(model, 0.0, jax.random.PRNGKey(0), batch)
  step = jax.jit(step_lib.make_train_step(model, 0.0))
  metrics = []
  for _ in range(steps):
    state, m = step(state, batch)
    metrics.append(jax.device_get(m))
  return config, model, state, batch, metrics


def _one_eval_batch(config, n=64):
  batch, valid = next(iter(data_lib.eval_batches(config, batch_size=n)))
  return [(batch, valid)]


def test_l1_is_the_monte_carlo_elbo_exactly_and_the_bound_rises_with_k():
  config, model, state, _, _ = _trained(SMOKE, **{'eval.iwae_k': '(1, 10, 200)'})
  out = model.evaluate(state, _one_eval_batch(config), jax.random.PRNGKey(3))
  assert out['iwae_1'] == out['elbo_mc']  # the same draw of z: Burda et al.'s L_1
  assert out['iwae_1'] < out['iwae_10'] < out['iwae_200'] < 0
  assert out['nll'] == -out['iwae_200'] and out['num_examples'] == 64
  assert out['bits_per_dim'] == pytest.approx(out['nll'] / (64 * math.log(2)))
  assert 0 <= out['active_units'] <= 16
  # log_likelihood is the largest k's bound, with the same key.
  (batch, _), = _one_eval_batch(config)
  ll = model.log_likelihood(state, {k: jnp.asarray(v) for k, v in batch.items()}, jax.random.fold_in(jax.random.PRNGKey(3), 0))  # fmt: skip
  np.testing.assert_allclose(float(jnp.mean(ll)), out['iwae_200'], rtol=1e-5)


def test_two_bottom_up_layers_give_the_iwae_papers_log_weight():
  """log w = log p(x|z1) + log p(z1|z2) + log p(z2) - log q(z1|x) - log q(z2|z1), with
  every density recomputed here from the networks' outputs."""
  config, model, state, batch, _ = _trained(
      SMOKE, steps=2, **{'model.hidden': '((32,), (16,))', 'model.latent_dim': '(8, 4)'}
  )
  net = runs.vae_hierarchy(config)
  params, x = state.params, batch['x']
  key = jax.random.PRNGKey(5)
  draw = net.draw(params, x, None, key)
  k1, k2 = jax.random.split(key)
  apply = lambda name, module, inp: module.apply({'params': params[name]}, inp)
  q1 = net.families[0].parse(apply('enc', net.encoders[0], x.reshape(len(x), -1))[0])
  z1 = latents.gaussian_sample(k1, *q1)
  q2 = net.families[1].parse(apply('enc2', net.encoders[1], z1)[0])
  z2 = latents.gaussian_sample(k2, *q2)
  p1 = net.families[0].parse(apply('dec2', net.decoders[1], z2)[0])
  logits = apply('dec', net.decoders[0], z1)
  log_w = (
      likelihood.bernoulli(logits, x) + latents.gaussian_log_prob(z1, *p1)
      + latents.gaussian_log_prob(z2, jnp.zeros_like(z2), jnp.zeros_like(z2))
      - latents.gaussian_log_prob(z1, *q1) - latents.gaussian_log_prob(z2, *q2)
  )  # fmt: skip
  np.testing.assert_allclose(draw.log_w, log_w, rtol=1e-5, atol=1e-4)
  np.testing.assert_allclose(draw.kl, draw.log_qz - draw.log_pz, rtol=1e-6)  # no closed form


def test_precision_merge_is_the_normalised_product_of_two_gaussians():
  rng = np.random.default_rng(0)
  ma, mb = rng.normal(size=3), rng.normal(size=3)
  la, lb = rng.normal(size=3), rng.normal(size=3)
  mean, log_var = latents.precision_merge(ma, la, mb, lb)
  z = np.linspace(-3, 3, 7)[:, None]
  # log N(z; a) + log N(z; b) - log N(z; merged) is the same for every z (a constant).
  diff = [
      sum(float(latents.gaussian_log_prob(jnp.full((1, 3), v), m[None], l[None])[0]) * s
          for m, l, s in ((ma, la, 1), (mb, lb, 1), (mean, log_var, -1)))
      for v in z[:, 0]
  ]  # fmt: skip
  np.testing.assert_allclose(diff, diff[0], rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(np.exp(-log_var), np.exp(-la) + np.exp(-lb), rtol=1e-6)


def test_vampprior_is_the_mixture_of_the_encoders_posteriors_at_the_pseudo_inputs():
  config, model, state, _, _ = _trained('configs/vampprior.py:smoke', steps=2)
  net = runs.vae_hierarchy(config)
  params = state.params
  u = jnp.clip(params['pseudo'], 0.0, 1.0)
  mean, log_var = net.families[0].parse(
      net.encoders[0].apply({'params': params['enc']}, u.reshape(len(u), -1))[0]
  )
  z = jax.random.normal(jax.random.PRNGKey(1), (5, mean.shape[-1]))
  per = np.stack([np.asarray(latents.gaussian_log_prob(z, mean[k][None], log_var[k][None])) for k in range(len(u))], 1)  # fmt: skip
  expected = np.log(np.mean(np.exp(per.astype(np.float64)), axis=1))
  np.testing.assert_allclose(net.prior_log_prob(params, z), expected, rtol=1e-5, atol=1e-5)
  assert 'pseudo' in model.ema_networks


def test_kl_warmup_and_the_capacity_schedule():
  *_, metrics = _trained(SMOKE, steps=6, **{'model.kl_warmup_steps': 4, 'model.beta': 2.0})
  # beta_t = beta min(1, t / warm-up) at update t = 0, 1, ...
  np.testing.assert_allclose([m['vae/beta'] for m in metrics], [0, 0.5, 1, 1.5, 2, 2], rtol=1e-6)
  *_, metrics = _trained(
      SMOKE, steps=4, **{'model.capacity.gamma': 10.0, 'model.capacity.max_nats': 6.0, 'model.capacity.steps': 3}  # fmt: skip
  )
  np.testing.assert_allclose([m['vae/capacity'] for m in metrics], [0.0, 2.0, 4.0, 6.0], rtol=1e-6)


def test_conditional_samples_take_labels_and_default_to_a_row_per_class():
  config, model, state, _, _ = _trained('configs/cvae.py:smoke', steps=2)
  assert model.num_classes == 10
  key = jax.random.PRNGKey(0)
  x = model.sample(state, key, 100)
  assert x.shape == (100, 8, 8, 1) and float(jnp.min(x)) >= 0 and float(jnp.max(x)) <= 1
  np.testing.assert_array_equal(x, model.sample(state, key, 100, jnp.arange(100) // 10))
  assert not np.allclose(x, model.sample(state, key, 100, jnp.zeros(100, jnp.int32)))


@pytest.mark.parametrize('spec', ['configs/svae.py:smoke', 'configs/hvae.py:smoke'])
def test_variant_trains_with_finite_losses_and_samples(spec):
  config, model, state, _, metrics = _trained(spec, steps=5)
  assert all(np.isfinite(m['vae/loss']) for m in metrics)
  x = model.sample(state, jax.random.PRNGKey(0), 8)
  assert x.shape == (8, 8, 8, 1) and bool(jnp.all(jnp.isfinite(x)))
