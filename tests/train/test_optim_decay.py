"""optim.lr_decay (lr_t = lr * lr_decay**t, openai PixelCNN++ train.py) and optim.lr_stages."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from gen import config as config_lib
from gen.train import optim


def _cfg(**kw):
  return ml_collections.ConfigDict(kw)


def test_sgd_steps_on_a_quadratic_follow_the_decayed_rate():
  # f(x) = x^2 / 2, gradient x: SGD's update t is -lr_t x_t, so x_{t+1} = (1 - lr_t) x_t.
  lr, decay = 0.1, 0.5
  tx = optim.make(_cfg(name='sgd', lr=lr, lr_decay=decay))
  x = jnp.array(1.0)
  state = tx.init(x)
  for t in range(5):
    updates, state = tx.update(jax.grad(lambda x: 0.5 * x**2)(x), state, x)
    np.testing.assert_allclose(updates, -lr * decay**t * x, rtol=1e-6)
    x = x + updates


def test_adam_schedule_matches_the_per_step_product():
  # Adam's first update is -lr_0 sign(g) (bias-corrected m / sqrt(v) = g / |g|) at any rate.
  lr, decay = 1e-3, 0.999995
  tx = optim.make(_cfg(name='adam', lr=lr, b1=0.95, b2=0.9995, lr_decay=decay))
  p = jnp.array([2.0, -3.0])
  updates, _ = tx.update(jnp.array([0.5, -4.0]), tx.init(p), p)
  np.testing.assert_allclose(updates, [-lr, lr], rtol=1e-4)  # float32's 1 - b2: 2e-5
  schedule = optim._schedule(lr, decay)  # what make passes optax
  for t in (0, 1, 10, 500_000):
    np.testing.assert_allclose(schedule(jnp.int32(t)), lr * decay**t, rtol=1e-6)


def test_no_decay_keeps_a_constant_rate_and_decay_one_equals_it():
  p = jnp.array(1.0)
  for extra in ({}, {'lr_decay': 1.0}):
    tx = optim.make(_cfg(name='sgd', lr=0.1, **extra))
    state = tx.init(p)
    for _ in range(3):
      updates, state = tx.update(jnp.array(1.0), state, p)
      np.testing.assert_allclose(updates, -0.1, rtol=1e-7)


def test_decay_zero_stops_after_the_first_update():
  tx = optim.make(_cfg(name='sgd', lr=0.1, lr_decay=0.0))
  p = jnp.array(1.0)
  state = tx.init(p)
  got = []
  for _ in range(3):
    updates, state = tx.update(jnp.array(1.0), state, p)
    got.append(float(updates))
  np.testing.assert_allclose(got, [-0.1, 0.0, 0.0])


@pytest.mark.parametrize('value', [1.5, -0.1, float('nan'), 'fast', True])
def test_bad_decay_is_a_config_error(value):
  with pytest.raises(config_lib.ConfigError, match=r'config\.optim\.lr_decay=.*in \[0, 1\]'):
    optim.make(_cfg(name='adam', lr=1e-3, lr_decay=value))


def test_lr_stages_are_piecewise_constant_and_the_last_rate_continues():
  # The IWAE paper's schedule shape: stage i's rate for its steps (here 2, 3), then the last.
  tx = optim.make(_cfg(name='sgd', lr=0.1, lr_stages=((2, 0.1), (3, 0.01))))
  p = jnp.array(1.0)
  state = tx.init(p)
  got = []
  for _ in range(7):
    updates, state = tx.update(jnp.array(1.0), state, p)
    got.append(float(updates))
  np.testing.assert_allclose(got, [-0.1, -0.1, -0.01, -0.01, -0.01, -0.01, -0.01], rtol=1e-6)


@pytest.mark.parametrize('stages', [((0, 0.1),), ((2, -0.1),), (2, 0.1), 'fast'])
def test_bad_lr_stages_are_a_config_error(stages):
  with pytest.raises(config_lib.ConfigError, match=r'config\.optim\.lr_stages=.*\(\(steps, lr\)'):
    optim.make(_cfg(name='adam', lr=1e-3, lr_stages=stages))
