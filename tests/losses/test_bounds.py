"""IWAE bounds against a linear-Gaussian model whose log p(x) is known in closed form."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen.losses import bounds

# Jitted once per (log_w_fn, k, chunk): op by op, the chunked scan takes a minute.
_iwae = jax.jit(bounds.iwae_bound, static_argnums=(0, 2, 3))

SIGMA2 = 0.5  # p(z) = N(0, 1), p(x|z) = N(z, SIGMA2): p(x) = N(0, 1 + SIGMA2)
X = jnp.array([-2.0, -0.3, 0.0, 1.1, 2.5])


def _log_normal(x, mean, var):
  return -0.5 * (math.log(2 * math.pi) + jnp.log(var) + (x - mean) ** 2 / var)


def _log_px(x):
  return _log_normal(x, 0.0, 1.0 + SIGMA2)


def _log_w_fn(q_mean, q_var):
  """One draw z ~ q(z|x) = N(q_mean, q_var) per example: log p(x, z) - log q(z|x)."""

  def log_w(key):
    z = q_mean + jnp.sqrt(q_var) * jax.random.normal(key, X.shape)
    return _log_normal(X, z, SIGMA2) + _log_normal(z, 0.0, 1.0) - _log_normal(z, q_mean, q_var)

  return log_w


def test_with_the_true_posterior_every_k_gives_log_px_exactly():
  post_var = SIGMA2 / (1 + SIGMA2)
  fn = _log_w_fn(X / (1 + SIGMA2), jnp.full_like(X, post_var))
  for k in (1, 7, 64):
    np.testing.assert_allclose(_iwae(fn, jax.random.PRNGKey(0), k), _log_px(X), atol=2e-5)


def test_bound_rises_with_k_toward_log_px():
  fn = _log_w_fn(0.3 * X, jnp.full_like(X, 1.0))  # a poor q: wrong mean, too wide
  key = jax.random.PRNGKey(1)
  values = [np.asarray(_iwae(fn, key, k, min(k, 500))) for k in (1, 10, 100, 5000)]
  truth = np.asarray(_log_px(X))
  # Averaged over the examples the ordering holds with margin. L_k <= log p(x) holds in
  # expectation: one estimate of L_5000 may lie above it by its Monte Carlo error.
  means = [float(np.mean(v)) for v in values]
  assert means[0] < means[1] < means[2] < means[3] < float(np.mean(truth)) + 0.01
  assert np.all(np.abs(values[3] - truth) < 0.05)
  assert float(np.mean(truth)) - means[0] > 0.3  # the ELBO's gap is large for this q


def test_l1_is_one_draw_and_chunks_do_not_change_the_value():
  fn = _log_w_fn(0.3 * X, jnp.full_like(X, 1.0))
  key = jax.random.PRNGKey(2)
  np.testing.assert_array_equal(bounds.iwae_bound(fn, key, 1), fn(jax.random.fold_in(key, 0)))
  whole = _iwae(fn, key, 60)
  for chunk in (1, 6, 20):
    np.testing.assert_allclose(_iwae(fn, key, 60, chunk), whole, rtol=1e-6)
  with pytest.raises(ValueError, match='multiple of chunk'):
    bounds.iwae_bound(fn, key, 60, chunk=7)


def test_logmeanexp_and_its_gradient_are_the_normalised_weights():
  log_w = jnp.array([[0.0, 1.0], [2.0, -1.0], [-3.0, 0.5]])  # (k=3, N=2)
  np.testing.assert_allclose(
      bounds.logmeanexp(log_w), np.log(np.mean(np.exp(np.asarray(log_w)), axis=0)), rtol=1e-6
  )
  grad = jax.grad(lambda lw: jnp.sum(bounds.logmeanexp(lw)))(log_w)
  np.testing.assert_allclose(grad, jax.nn.softmax(log_w, axis=0), rtol=1e-6)  # Burda eq. 14
