"""Losses against values computed by hand or in closed form."""

import math

import jax.numpy as jnp
import numpy as np
from scipy import stats

from gen.losses import kl, likelihood


def test_gaussian_kl_closed_form():
  # KL(N(1, e^0) || N(0, 1)) = 1/2 (1 + 1 - 1 - 0) = 0.5 per dimension.
  assert np.isclose(kl.gaussian_to_standard(jnp.ones((1, 3)), jnp.zeros((1, 3)))[0], 1.5)
  # N(0, s^2): 1/2 (s^2 - 1 - log s^2); s^2 = e.
  assert np.isclose(
      kl.gaussian_to_standard(jnp.zeros((1, 1)), jnp.ones((1, 1)))[0],
      0.5 * (math.e - 2.0),
      rtol=1e-6,
  )
  assert np.allclose(kl.gaussian_to_standard(jnp.zeros((2, 5)), jnp.zeros((2, 5))), 0.0)


def test_gaussian_kl_matches_monte_carlo():
  mean, log_var = np.array([[0.3, -1.2]]), np.array([[0.4, -0.7]])
  z = mean + np.exp(0.5 * log_var) * np.random.default_rng(0).standard_normal((400_000, 2))
  q = stats.norm(mean, np.exp(0.5 * log_var)).logpdf(z).sum(1)
  p = stats.norm(0, 1).logpdf(z).sum(1)
  assert np.isclose(
      kl.gaussian_to_standard(jnp.asarray(mean), jnp.asarray(log_var))[0], (q - p).mean(), atol=5e-3
  )


def test_bernoulli_log_likelihood_by_hand():
  logits = jnp.array([[0.0, 2.0, -1.0]])
  x = jnp.array([[1.0, 0.0, 0.0]])
  expected = (
      math.log(0.5) + math.log(1 - 1 / (1 + math.exp(-2))) + math.log(1 - 1 / (1 + math.exp(1)))
  )
  assert np.isclose(likelihood.bernoulli(logits, x)[0], expected, rtol=1e-6)


def test_bernoulli_is_stable_for_large_logits():
  out = likelihood.bernoulli(jnp.array([[100.0, -100.0]]), jnp.array([[1.0, 0.0]]))
  assert np.isfinite(out).all() and abs(float(out[0])) < 1e-30 + 1e-6


def test_gaussian_log_likelihood_matches_scipy():
  x, m, lv = np.array([[0.2, 0.9]]), np.array([[0.0, 1.0]]), np.array([[-1.0, 0.5]])
  expected = stats.norm(m, np.exp(0.5 * lv)).logpdf(x).sum()
  assert np.isclose(
      likelihood.gaussian(jnp.asarray(x), jnp.asarray(m), jnp.asarray(lv))[0], expected, rtol=1e-6
  )
