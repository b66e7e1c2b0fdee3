"""The discretized logistic mixture of PixelCNN++ (gen.losses.likelihood): hand values,
normalisation, finite gradients, an independent float64 NumPy evaluation, and the sampler."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from gen.losses import likelihood

logprob = jax.jit(likelihood.discretized_logistic_mixture_logprob)
sample = jax.jit(likelihood.sample_discretized_logistic_mixture)
# The summed log-probability and its gradients with respect to x and params.
value_and_grads = jax.jit(jax.value_and_grad(lambda x, p: logprob(x, p).sum(), argnums=(0, 1)))
draw_noise = jax.jit(likelihood.draw_logistic_mixture_noise, static_argnums=(1, 2, 3))
LEVELS = np.arange(256)


def to_x(v):
  """8-bit level v -> [-1, 1], as the data pipeline (gen.data.preprocess, scale 'symmetric')."""
  return 2.0 * (np.asarray(v, np.float32) / np.float32(255)) - 1.0


def sigmoid(z):
  return 1.0 / (1.0 + math.exp(-z))


def gray_pixel(v, mean, log_scale, logit=0.3):
  """x (1, 1), params (1, 3) of one grayscale pixel with a single component."""
  return jnp.asarray(to_x([[v]])), jnp.asarray([[logit, mean, log_scale]], jnp.float32)


def rgb_params(logits, means, log_scales, coeffs):
  """openai layout (..., 10K) from per-channel arrays (..., 3, K) and logits (..., K)."""
  rest = np.concatenate([means, log_scales, coeffs], axis=-1)  # (..., 3, 3K)
  return np.concatenate([logits, rest.reshape(rest.shape[:-2] + (-1,))], axis=-1)


# --------------------------------------------------------------------- hand values


def test_lowest_level_is_the_left_tail():
  x, params = gray_pixel(0, mean=0.0, log_scale=0.0)  # s = 1
  expected = math.log(sigmoid(-1.0 + 1 / 255))  # log sigma(z+), z+ = (-1 - 0 + 1/255) / 1
  np.testing.assert_allclose(logprob(x, params), [expected], rtol=1e-6)


def test_highest_level_is_the_right_tail():
  x, params = gray_pixel(255, mean=0.2, log_scale=-1.0)
  z_minus = (1.0 - 0.2 - 1 / 255) * math.e
  expected = math.log(1.0 - sigmoid(z_minus))
  np.testing.assert_allclose(logprob(x, params), [expected], rtol=1e-6)


def test_middle_level_is_the_bin_mass():
  x, params = gray_pixel(128, mean=0.1, log_scale=-2.0)
  centred = (128 - 127.5) / 127.5 - 0.1
  z_plus, z_minus = (centred + 1 / 255) * math.e**2, (centred - 1 / 255) * math.e**2
  expected = math.log(sigmoid(z_plus) - sigmoid(z_minus))
  np.testing.assert_allclose(logprob(x, params), [expected], rtol=1e-5)


@pytest.mark.parametrize('log_scale', [-7.0, -9.0])  # -9 is clamped to -7
def test_tiny_delta_uses_the_mid_point_density(log_scale):
  # s = e^-7, v = 200 lies z = x e^7 ~ 624 scales from the mean: sigma(z+-) are both 1 in
  # float32, delta = 0, so openai's approximation log pdf(x) + log(2/255) applies:
  # z - log s - 2 softplus(z) - log 127.5 = -z + 7 - log 127.5 (softplus(z) = z here).
  x, params = gray_pixel(200, mean=0.0, log_scale=log_scale)
  z = float(x[0, 0]) * math.exp(7.0)
  np.testing.assert_allclose(logprob(x, params), [-z + 7.0 - math.log(127.5)], rtol=1e-6)


def test_rgb_coupling_uses_the_observed_red_and_green():
  v = np.array([100, 150, 50])
  x = to_x(v)
  m, log_s = np.array([0.1, -0.3, 0.2]), np.array([-1.0, -2.0, -1.5])
  alpha, beta, gamma = 0.5, -0.25, 0.75
  raw_coeffs = np.arctanh([alpha, beta, gamma])
  params = rgb_params(np.zeros(1), m[:, None], log_s[:, None], raw_coeffs[:, None])
  a, b, c = raw_coeffs  # the layout: [logit, mR, lsR, cR, mG, lsG, cG, mB, lsB, cB]
  np.testing.assert_array_equal(params, [0, 0.1, -1, a, -0.3, -2, b, 0.2, -1.5, c])
  mu = [m[0], m[1] + alpha * x[0], m[2] + beta * x[0] + gamma * x[1]]
  expected = 0.0
  for c in range(3):
    s = math.exp(log_s[c])
    expected += math.log(
        sigmoid((x[c] - mu[c] + 1 / 255) / s) - sigmoid((x[c] - mu[c] - 1 / 255) / s)
    )
  result = logprob(jnp.asarray(x[None]), jnp.asarray(params[None], jnp.float32))
  np.testing.assert_allclose(result, [expected], rtol=1e-5)


def test_two_components_mix_by_softmax_weights():
  x = to_x([[60]])
  params = jnp.asarray([[0.0, math.log(3.0), -0.5, 0.4, -1.0, -2.0]], jnp.float32)
  # weights 1/4, 3/4; components (mean -0.5, log s -1) and (0.4, -2).
  def bin_mass(mean, log_s):
    s = math.exp(log_s)
    return sigmoid((x[0, 0] - mean + 1 / 255) / s) - sigmoid((x[0, 0] - mean - 1 / 255) / s)

  expected = math.log(0.25 * bin_mass(-0.5, -1.0) + 0.75 * bin_mass(0.4, -2.0))
  np.testing.assert_allclose(logprob(jnp.asarray(x), params), [expected], rtol=1e-5)


def test_shapes_and_layout_errors():
  def shape(x_shape, m):
    params = jax.ShapeDtypeStruct(x_shape[:-1] + (m,), jnp.float32)
    return jax.eval_shape(logprob, jax.ShapeDtypeStruct(x_shape, jnp.float32), params).shape

  assert shape((2, 4, 5, 3), 20) == (2, 4, 5)  # K = 2
  assert shape((2, 4, 5, 1), 6) == (2, 4, 5)
  with pytest.raises(ValueError, match='multiple of 10'):
    logprob(jnp.zeros((1, 3)), jnp.zeros((1, 12)))
  with pytest.raises(ValueError, match='C must be 1 or 3'):
    logprob(jnp.zeros((1, 2)), jnp.zeros((1, 12)))
  with pytest.raises(ValueError, match='differ'):
    logprob(jnp.zeros((2, 1)), jnp.zeros((3, 3)))


# ---------------------------------------------------------------- normalisation

# Each per-channel pmf sums to 1 only up to ~2e-5 in float32, hence the 1e-4 tolerance:
# openai's mid-point approximation misstates the mass of the bins with delta <= 1e-5 (in the
# tails; by the factor (a / sinh a), a = (1/255) / s, ~1/9 at s = e^-7), which loses up to
# 8.6e-6 even in float64 (log s = -7; 4e-7 at log s = -4); and in float32 sigma(z+) - sigma(z-)
# cancels for bins above the mean, where both lie within float32's spacing 6e-8 of 1: up to
# 1.6e-5 in all (measured on 521 means x 12 log-scales).
MEANS = [-1.3, -1.0, -0.6, -0.0021, 0.0, 0.37, 0.9985, 1.4]
LOG_SCALES = [-9.0, -7.0, -5.5, -4.0, -2.0, 0.0, 1.5]


def test_grayscale_pmf_sums_to_one():
  mean, log_s = np.meshgrid(MEANS, LOG_SCALES)
  params = np.stack([np.zeros_like(mean), mean, log_s], -1).reshape(-1, 1, 3)  # (P, 1, 3)
  params = np.broadcast_to(params, (len(params), 256, 3)).astype(np.float32)
  x = np.broadcast_to(to_x(LEVELS)[None, :, None], params.shape[:2] + (1,))
  total = jnp.exp(logprob(jnp.asarray(x), jnp.asarray(params))).sum(axis=1)
  np.testing.assert_allclose(total, 1.0, atol=1e-4)


def test_rgb_pmf_sums_to_one_per_channel():
  # Fixed observed R, G, every B; K = 1: sum_B p(r, g, B) = p(r) p(g | r).
  rng = np.random.default_rng(0)
  r, g = to_x(77), to_x(201)
  for mean_b, log_s_b in [(0.0, -7.0), (0.55, -4.0), (-0.9, -1.0), (1.2, 0.5)]:
    m = np.array([0.3, -0.1, mean_b])
    log_s = np.array([-2.0, -3.0, log_s_b])
    raw = rng.normal(size=3)
    params = rgb_params(np.zeros(1), m[:, None], log_s[:, None], raw[:, None])
    x = np.stack([np.full(256, r), np.full(256, g), to_x(LEVELS)], -1)
    p_rgb = jnp.exp(logprob(jnp.asarray(x), jnp.asarray(np.tile(params, (256, 1)), jnp.float32)))
    mu_g = m[1] + math.tanh(raw[0]) * r
    gray = lambda v, mean, ls: float(logprob(*gray_pixel(v, mean, ls))[0])
    p_rg = math.exp(gray(77, m[0], log_s[0]) + gray(201, mu_g, log_s[1]))
    np.testing.assert_allclose(p_rgb.sum() / p_rg, 1.0, atol=1e-4)


def test_rgb_marginal_of_red_is_its_grayscale_mixture():
  # sum over all 256^2 (G, B) of p(r, G, B) = the K-mixture of the red channel alone.
  rng = np.random.default_rng(1)
  k = 3
  logits, means = rng.normal(size=k), rng.uniform(-1, 1, (3, k))
  log_s, raw = rng.uniform(-5, -1, (3, k)), rng.normal(size=(3, k))
  params = rgb_params(logits, means, log_s, raw).astype(np.float32)
  g, b = np.meshgrid(to_x(LEVELS), to_x(LEVELS), indexing='ij')
  red_params = jnp.asarray(np.concatenate([logits, means[0], log_s[0]])[None], jnp.float32)
  for v_r in [0, 90, 255]:
    x = np.stack([np.full(g.size, to_x(v_r)), g.ravel(), b.ravel()], -1)
    total = jnp.exp(logprob(jnp.asarray(x), jnp.asarray(np.tile(params, (g.size, 1))))).sum()
    red = jnp.exp(logprob(jnp.asarray(to_x([[v_r]])), red_params))[0]
    np.testing.assert_allclose(total / red, 1.0, atol=2e-4)


# -------------------------------------------------------------------- gradients


def test_gradients_are_finite_in_every_branch():
  # Means and scales from far tails to wide; levels 0, 255 (edges), 1, 254 and middle ones;
  # includes delta = 0 in the unselected log branch and the tiny-delta branch.
  mean, log_s, v = np.meshgrid(
      [-50.0, -1.0, 0.0, 0.6, 1.0, 50.0],
      [-20.0, -7.0, -3.0, 0.0, 4.0],
      [0, 1, 128, 200, 254, 255],
      indexing='ij',
  )
  n = mean.size
  gray = np.stack([np.full(n, 0.7), mean.ravel(), log_s.ravel()], -1).astype(np.float32)
  x_gray = to_x(v.ravel())[:, None]
  rgb = np.tile(gray[:, 1:], (1, 3))  # channel blocks [mean, log_s, coeff]
  rgb = np.concatenate([gray[:, :1], np.insert(rgb, [2, 4, 6], 0.3, axis=1)], 1)
  x_rgb = np.stack([x_gray[:, 0], x_gray[::-1, 0], x_gray[:, 0]], -1)
  grad_params = {}
  for x, params in [(x_gray, gray), (x_rgb, rgb)]:
    value, (grad_x, grad_p) = value_and_grads(jnp.asarray(x), jnp.asarray(params))
    assert np.isfinite(value)
    assert np.all(np.isfinite(grad_x)) and np.all(np.isfinite(grad_p))
    grad_params[x.shape[-1]] = np.asarray(grad_p).reshape(mean.shape + (-1,))
  # Clamped log-scales (log s = -20) get no gradient; in the tiny-delta case (mean 0,
  # log s = -7, v = 200, z ~ 624) d/dmean [z - log s - 2 softplus(z)] = -(1 - 2 sigmoid(z)) / s
  # = e^7.
  np.testing.assert_array_equal(grad_params[1][:, 0, :, 2], 0.0)
  np.testing.assert_array_equal(grad_params[3][:, 0, :, [2, 5, 8]], 0.0)
  np.testing.assert_allclose(grad_params[1][2, 1, 3, 1], math.exp(7.0), rtol=1e-5)


# ------------------------------------------------------------ NumPy float64 reference


def numpy_logprob(x, params):
  """Independent float64 evaluation by explicit offsets into the openai layout, one channel
  at a time (vectorised over the K components)."""
  c = x.shape[-1]
  k = params.shape[-1] // (10 if c == 3 else 3)
  width = 3 * k if c == 3 else 2 * k  # parameters per channel

  def group(ch, i):  # (..., K): means (i = 0), log-scales (1) or coefficients (2) of channel ch
    start = k + ch * width + i * k
    return params[..., start : start + k]

  total = special.log_softmax(params[..., :k], axis=-1)
  for ch in range(c):
    mu = group(ch, 0)
    if ch == 1:
      mu = mu + np.tanh(group(0, 2)) * x[..., :1]
    if ch == 2:
      mu = mu + np.tanh(group(1, 2)) * x[..., :1] + np.tanh(group(2, 2)) * x[..., 1:2]
    log_s = np.maximum(group(ch, 1), -7.0)
    s, xc = np.exp(log_s), x[..., ch : ch + 1]
    z_plus, z_minus, z = (xc - mu + 1 / 255) / s, (xc - mu - 1 / 255) / s, (xc - mu) / s
    delta = special.expit(z_plus) - special.expit(z_minus)
    with np.errstate(divide='ignore'):
      interior = np.where(
          delta > 1e-5, np.log(delta), z - log_s - 2 * np.logaddexp(0, z) - np.log(127.5)
      )
    total = total + np.where(
        xc < -0.999,
        special.log_expit(z_plus),
        np.where(xc > 0.999, special.log_expit(-z_minus), interior),
    )
  return special.logsumexp(total, axis=-1)


@pytest.mark.parametrize('channels, k', [(1, 2), (3, 4)])
def test_matches_numpy_float64(channels, k):
  rng = np.random.default_rng(channels)
  shape = (2, 3, 4)
  rest = rng.normal(size=shape + (channels, (3 if channels == 3 else 2) * k))
  rest[..., k : 2 * k] = rng.uniform(-8.0, 1.0, shape + (channels, k))  # log-scales
  params = np.concatenate([rng.normal(size=shape + (k,)), rest.reshape(shape + (-1,))], -1)
  v = rng.integers(0, 256, shape + (channels,))
  v[0, 0, :] = 0  # edges
  v[1, 2, :] = 255
  x = to_x(v).astype(np.float64)
  expected = numpy_logprob(x, params)
  with jax.enable_x64(True):
    result = logprob(jnp.asarray(x), jnp.asarray(params))
    assert result.dtype == jnp.float64
  np.testing.assert_allclose(result, expected, rtol=1e-10)


# ---------------------------------------------------------------------- sampler


def random_params(seed, lead, k, channels):
  shape = lead + (k * (10 if channels == 3 else 3),)
  return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


@pytest.mark.parametrize('channels', [1, 3])
def test_samples_lie_on_the_8bit_grid(channels):
  params = 3.0 * random_params(0, (500,), 5, channels)  # wide: many clipped samples
  rng = np.random.default_rng(0)
  u_mix, u_logistic = (
      rng.uniform(1e-5, 1 - 1e-5, (500, n)).astype(np.float32) for n in (5, channels)
  )
  x = np.asarray(sample(params, u_mix, u_logistic))
  assert x.shape == (500, channels) and x.dtype == np.float32
  assert x.min() >= -1.0 and x.max() <= 1.0 and {-1.0, 1.0} <= set(x.ravel().tolist())
  v = np.round((x + 1.0) * 127.5).astype(int)
  np.testing.assert_array_equal(x, to_x(v))  # exactly the data pipeline's values


def test_narrow_component_gives_its_mean_rounded():
  alpha, beta, gamma = 0.5, -0.25, 0.75
  v = np.array([40, 130, 222])
  target = to_x(v).astype(np.float64)
  m_r = target[0] + 0.0004  # off the grid, well inside the bin (half-width 1/255)
  m_g = target[1] - alpha * m_r - 0.0003
  m_b = target[2] - beta * m_r - gamma * target[1] + 0.0002
  narrow = rgb_params(
      np.array([0.0, -40.0]),  # the second component is never chosen
      np.array([[m_r, 0.9], [m_g, 0.9], [m_b, 0.9]]),
      np.array([[-7.0, 0.0], [-9.0, 0.0], [-8.0, 0.0]]),  # s = e^-7 after the clamp
      np.arctanh([[alpha, 0.0], [beta, 0.0], [gamma, 0.0]]),
  )
  n = 200
  rng = np.random.default_rng(1)
  u_mix = rng.uniform(1e-5, 1 - 1e-5, (n, 2)).astype(np.float32)
  # |logit(u)| <= 1.1 for u in [0.25, 0.75]: logistic offsets s |logit(u)| <= 1.0e-3, so
  # every channel stays within 2.8e-3 of its target, inside the bin.
  u_logistic = rng.uniform(0.25, 0.75, (n, 3)).astype(np.float32)
  x = sample(jnp.asarray(np.tile(narrow, (n, 1)), jnp.float32), u_mix, u_logistic)
  np.testing.assert_array_equal(x, np.tile(to_x(v), (n, 1)))
  gray = jnp.asarray([[0.0, m_r, -7.0]], jnp.float32)
  np.testing.assert_array_equal(sample(gray, u_mix[:1, :1], u_logistic[:1, :1]), to_x([[40]]))


def test_same_noise_same_sample_and_per_pixel_calls_agree():
  params, key_u = random_params(2, (2, 4, 4), 4, 3), jax.random.key(2)
  u_mix, u_logistic = draw_noise(key_u, (2, 4, 4), 4, 3)
  assert u_mix.shape == (2, 4, 4, 4) and u_logistic.shape == (2, 4, 4, 3)
  for u in (u_mix, u_logistic):
    assert u.dtype == jnp.float32 and float(u.min()) >= 1e-5 and float(u.max()) <= 1 - 1e-5
  again = draw_noise(key_u, (2, 4, 4), 4, 3)
  np.testing.assert_array_equal(u_mix, again[0])
  np.testing.assert_array_equal(u_logistic, again[1])
  image = sample(params, u_mix, u_logistic)
  assert image.shape == (2, 4, 4, 3)
  np.testing.assert_array_equal(image, sample(params, *again))
  # One pixel at a time, noise indexed by position: the same image.
  for i, j in [(0, 0), (1, 3), (3, 2)]:
    pixel = sample(params[:, i, j], u_mix[:, i, j], u_logistic[:, i, j])
    np.testing.assert_array_equal(pixel, image[:, i, j])


def test_sample_frequencies_match_the_pmf():
  # Grayscale, K = 2: the empirical pmf of 100000 samples is the likelihood's pmf (sampling
  # noise alone gives a total variation of ~0.013 here).
  params = jnp.asarray([0.4, -0.3, -0.5, 0.2, -3.0, -3.5], jnp.float32)
  n = 100_000
  noise = draw_noise(jax.random.key(3), (n,), 2, 1)
  x = np.asarray(sample(jnp.broadcast_to(params, (n, 6)), *noise))
  counts = np.bincount(np.round((x[:, 0] + 1) * 127.5).astype(int), minlength=256)
  pmf = jnp.exp(logprob(jnp.asarray(to_x(LEVELS)[:, None]), jnp.broadcast_to(params, (256, 6))))
  total_variation = 0.5 * np.abs(counts / n - np.asarray(pmf)).sum()
  assert total_variation < 0.03
