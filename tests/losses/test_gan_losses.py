"""GAN games and penalties against values computed by hand."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen.losses import gan, penalties


def sp(x):  # softplus in float64
  return math.log1p(math.exp(x))


def test_cross_entropy_d_loss():
  # D = sigmoid(0) = 1/2 everywhere: -log 1/2 - log 1/2 = 2 log 2.
  loss, aux = gan.cross_entropy_d_loss(jnp.zeros(4), jnp.zeros(4))
  assert np.isclose(loss, 2 * math.log(2)) and np.isclose(aux['d/real_prob'], 0.5)
  # Real logit 2, fake -1: -log s(2) - log(1 - s(-1)) = softplus(-2) + softplus(-1).
  loss, _ = gan.cross_entropy_d_loss(jnp.array([2.0]), jnp.array([-1.0]))
  assert np.isclose(loss, sp(-2) + sp(-1), rtol=1e-6)


@pytest.mark.parametrize(
    'fn, expected',
    [
        # NS: -log D = -log s(l) = softplus(-l).
        (gan.ns_g_loss, lambda l: sp(-l)),
        # MM: log(1 - D) = log s(-l) = -softplus(l).
        (gan.mm_g_loss, lambda l: -sp(l)),
        # ML: -1/2 exp(sigma^-1(D)) = -1/2 exp(l).
        (gan.ml_g_loss, lambda l: -0.5 * math.exp(l)),
        (gan.ls_g_loss, lambda l: (l - 1) ** 2),
        (gan.wasserstein_g_loss, lambda l: -l),
    ],
)
def test_generator_losses(fn, expected):
  logits = [1.0, -0.5, 2.0]
  loss, _ = fn(jnp.array(logits))
  assert np.isclose(loss, np.mean([expected(l) for l in logits]), rtol=1e-6)


def test_ml_gradient_is_kl_direction():
  # d/dl of -1/2 exp(l) at l = log(p_data / p_g) = log 3 is -3/2 (Goodfellow 2016, sec. 3.2.3).
  g = jax.grad(lambda l: gan.ml_g_loss(l)[0])(jnp.array([math.log(3.0)]))
  assert np.isclose(g[0], -1.5, rtol=1e-6)


def test_lsgan_d_loss():
  loss, aux = gan.ls_d_loss(jnp.array([0.5, 2.0]), jnp.array([0.0, -1.0]))
  # ((0.5-1)^2 + (2-1)^2)/2 + (0 + 1)/2 = 0.625 + 0.5
  assert np.isclose(loss, 1.125) and np.isclose(aux['d/loss_fake'], 0.5)


def test_lsgan_on_sigmoid_outputs_as_compare_gan():
  # compare_gan's LSGAN.py: squares on s(D), halved. s(log 3) = 3/4, s(-log 3) = 1/4:
  # d = 0.5 [(3/4 - 1)^2 + (1/4)^2] = 1/16; g = 0.5 (1/4 - 1)^2 = 9/32.
  l3 = math.log(3.0)
  loss, aux = gan.ls_sigmoid_d_loss(jnp.array([l3]), jnp.array([-l3]))
  assert np.isclose(loss, 1 / 16, rtol=1e-6) and np.isclose(aux['d/loss_real'], 1 / 16, rtol=1e-6)
  assert np.isclose(aux['d/real_prob'], 0.75, rtol=1e-6)
  assert np.isclose(gan.ls_sigmoid_g_loss(jnp.array([-l3]))[0], 9 / 32, rtol=1e-6)
  assert gan.make('ls', ls_on='sigmoid').d_loss is gan.ls_sigmoid_d_loss
  assert gan.make('ls').d_loss is gan.ls_d_loss  # the default: Mao et al. on D's output


def test_wasserstein_d_loss():
  loss, aux = gan.wasserstein_d_loss(jnp.array([1.0, 3.0]), jnp.array([-1.0, 0.0]))
  assert np.isclose(aux['d/wasserstein'], 2.5) and np.isclose(loss, -2.5)


def test_began_losses_and_k_update():
  b = gan.BEGAN(gamma=0.5, lambda_k=0.001)
  extra = {'k': jnp.float32(0.2)}
  loss, aux = b.d_loss(jnp.array([0.4, 0.6]), jnp.array([0.1, 0.3]), extra)
  # L(x) = 0.5, L(G(z)) = 0.2: L_D = 0.5 - 0.2 * 0.2; balance = 0.25 - 0.2 = 0.05.
  assert np.isclose(loss, 0.46)
  assert np.isclose(aux['began/balance'], 0.05)
  assert np.isclose(aux['began/m_global'], 0.55)
  assert np.isclose(b.g_loss(jnp.array([0.1, 0.3]), extra)[0], 0.2)
  assert np.isclose(b.update_extra(extra, aux)['k'], 0.2 + 0.001 * 0.05)
  # Proportional control is clipped to [0, 1].
  assert b.update_extra({'k': jnp.float32(0.0)}, {'began/balance': -5.0})['k'] == 0.0
  assert b.update_extra({'k': jnp.float32(0.9999)}, {'began/balance': 5.0})['k'] == 1.0
  assert float(b.init_extra()['k']) == 0.0


def test_began_k_unclipped_as_compare_gan():
  # compare_gan's BEGAN.py: k <- k + lambda (gamma L(x) - L(G(z))), no clip, k_0 = 0.
  b = gan.BEGAN(gamma=0.5, lambda_k=0.1, clip_k=False)
  assert float(b.init_extra()['k']) == 0.0
  assert np.isclose(b.update_extra({'k': jnp.float32(0.95)}, {'began/balance': 1.0})['k'], 1.05)
  assert np.isclose(b.update_extra({'k': jnp.float32(0.0)}, {'began/balance': -1.0})['k'], -0.1)
  game = gan.make('began', 0.5, 0.1, began_clip_k=False)
  assert np.isclose(game.update_extra({'k': jnp.float32(0.0)}, {'began/balance': -1.0})['k'], -0.1)


def test_all_games_named():
  assert set(gan.NAMES) == {'mm', 'ns', 'ml', 'ls', 'wasserstein', 'began'}
  assert gan.make('nope') is None


def test_gradient_penalty_of_a_linear_critic():
  # D(y) = <w, y> over all of (H, W, C): the gradient is w for every example,
  # its norm |w|, the penalty (|w| - 1)^2 whatever the points.
  w = jnp.arange(12.0).reshape(2, 3, 2) / 10
  y = jax.random.normal(jax.random.PRNGKey(0), (5, 2, 3, 2))
  pen, norm = penalties.gradient_penalty(lambda v: jnp.einsum('nhwc,hwc->n', v, w), y)
  expected_norm = float(np.sqrt(np.sum(np.asarray(w) ** 2)))
  assert np.isclose(norm, expected_norm, rtol=1e-6)
  assert np.isclose(pen, (expected_norm - 1) ** 2, rtol=1e-6)


def test_gradient_penalty_norm_is_per_example_over_all_axes():
  # D(y) = 1/2 sum y^2: gradient y, norm |y_i| over all non-batch axes.
  y = jnp.array([[[3.0, 0.0], [0.0, 4.0]], [[0.0, 0.0], [1.0, 0.0]]])  # norms 5 and 1
  norms = penalties.gradient_norms(lambda v: 0.5 * jnp.sum(v**2, axis=(1, 2)), y)
  np.testing.assert_allclose(norms, [5.0, 1.0], rtol=1e-6)
  pen, _ = penalties.gradient_penalty(lambda v: 0.5 * jnp.sum(v**2, axis=(1, 2)), y)
  assert np.isclose(pen, (16 + 0) / 2)


def test_gradient_penalty_is_differentiable():
  # d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w| for the linear critic.
  w = jnp.array([3.0, 4.0])
  y = jnp.ones((4, 2))
  g = jax.grad(lambda w: penalties.gradient_penalty(lambda v: v @ w, y)[0])(w)
  np.testing.assert_allclose(g, 2 * 4 * w / 5, rtol=1e-6)


def test_gradient_penalty_gradient_is_finite_where_the_critic_is_flat():
  # D(y) = relu(<w, y>): at y = (1, 1) the unit is active (norm |w| = 5); at
  # y = (-1, -1) it is dead, so grad_y D = 0 exactly, the norm is 0 and stays 0
  # for any nearby w (penalty 1, derivative 0). The plain sqrt gave NaN there.
  w = jnp.array([3.0, 4.0])
  y = jnp.array([[1.0, 1.0], [-1.0, -1.0]])
  pen, g = jax.value_and_grad(
      lambda w: penalties.gradient_penalty(lambda v: jax.nn.relu(v @ w), y)[0]
  )(w)
  assert np.isclose(pen, ((5 - 1) ** 2 + 1) / 2)
  np.testing.assert_allclose(g, 2 * 4 * w / 5 / 2, rtol=1e-6)
  np.testing.assert_array_equal(penalties.safe_norm(jnp.zeros((1, 3))), [0.0])
  np.testing.assert_array_equal(
      jax.grad(lambda v: penalties.safe_norm(v).sum())(jnp.zeros((1, 3))), 0
  )


def test_gradient_norm_with_eps_as_compare_gan():
  # compare_gan's WGAN_GP.py / DRAGAN.py: slopes = sqrt(1e-4 + sum g^2).
  w, y = jnp.array([3.0, 4.0]), jnp.ones((4, 2))
  pen, norm = penalties.gradient_penalty(lambda v: v @ w, y, eps=1e-4)
  assert np.isclose(norm, math.sqrt(25.0001)) and np.isclose(pen, (math.sqrt(25.0001) - 1) ** 2)
  # A flat critic: the norm is sqrt(1e-4) = 0.01 and the penalty's gradient finite.
  pen, g = jax.value_and_grad(
      lambda w: penalties.gradient_penalty(lambda v: jax.nn.relu(v @ w), -y, eps=1e-4)[0]
  )(w)
  assert np.isclose(pen, 0.99**2) and np.all(np.isfinite(g))
  # DRAGAN's penalty on s(D): at <w, 0> = 0, grad s = s'(0) w = w / 4, norm 5/4.
  pen, norm = penalties.gradient_penalty(lambda v: v @ w, 0 * y, eps=1e-4, on='sigmoid')
  assert np.isclose(norm, math.sqrt(1e-4 + 1.5625), rtol=1e-6)
  assert np.isclose(pen, (math.sqrt(1e-4 + 1.5625) - 1) ** 2, rtol=1e-6)


def test_wgan_gp_points_interpolate_per_example():
  real = jnp.zeros((64, 2, 2, 1))
  fake = jnp.ones((64, 2, 2, 1))
  y = penalties.wgan_gp_points(jax.random.PRNGKey(1), real, fake)
  # y = u * 0 + (1 - u) * 1: constant within an example, in [0, 1], varied across examples.
  per = y.reshape(64, -1)
  assert np.allclose(per, per[:, :1]) and per.min() >= 0 and per.max() <= 1
  assert np.std(per[:, 0]) > 0.2


def test_dragan_points_stay_near_the_data():
  real = jax.random.normal(jax.random.PRNGKey(2), (256, 8))
  y = penalties.dragan_points(jax.random.PRNGKey(3), real)
  d = np.asarray(y - real)
  # 0 <= alpha * 0.5 std(x) U[0, 1) < 0.5 std(x) per coordinate.
  assert d.min() >= 0 and d.max() < 0.5 * float(jnp.std(real))
  assert d.mean() > 0.05 * float(jnp.std(real))
