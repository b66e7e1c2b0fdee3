"""Log-likelihoods of observations, summed over all non-batch axes (nats); the discretized
logistic mixture gives one value per pixel."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np


def _sum_event(x):
  return jnp.sum(x.reshape(x.shape[0], -1), axis=-1)


def bernoulli(logits, x):
  """log p(x) for x in {0, 1} (or [0, 1]: the cross-entropy), from logits.

  log p = x log sigmoid(l) + (1 - x) log sigmoid(-l) = x l - softplus(l).
  """
  return _sum_event(x * logits - jax.nn.softplus(logits))


def gaussian(x, mean, log_var):
  """log N(x; mean, diag(exp(log_var)))."""
  return _sum_event(-0.5 * (math.log(2 * math.pi) + log_var + (x - mean) ** 2 * jnp.exp(-log_var)))


def categorical(logits, v):
  """log p(v) for integer v in {0, ..., K-1} (any shape (N, ...)), from logits (N, ..., K):
  the sum over every event axis of log softmax(logits)[v]."""
  logp = jax.nn.log_softmax(logits, axis=-1)
  return _sum_event(jnp.take_along_axis(logp, v[..., None].astype(jnp.int32), axis=-1)[..., 0])


# ------------------------------------------------ discretized logistic mixture (PixelCNN++)

_HALF_BIN = 1.0 / 255.0  # half the spacing 2/255 of the 8-bit grid on [-1, 1]
_MIN_LOG_SCALE = -7.0
NOISE_EPS = 1e-5  # uniform noise of the sampler lies in (NOISE_EPS, 1 - NOISE_EPS)


def _dmol_num_mixtures(num_params: int, num_channels: int) -> int:
  """K from M: M = 10K for RGB (openai), M = 3K for grayscale (pclucas14 ``_1d``)."""
  if num_channels not in (1, 3):
    raise ValueError(f'discretized logistic mixture: C must be 1 or 3, got {num_channels}')
  per_mixture = 10 if num_channels == 3 else 3
  if num_params == 0 or num_params % per_mixture:
    raise ValueError(
        f'discretized logistic mixture: {num_params} parameters per pixel is not a positive '
        f'multiple of {per_mixture} (C = {num_channels})'
    )
  return num_params // per_mixture


def _dmol_unpack(params, num_channels: int):
  """(..., M) -> logits (..., K), means and log-scales (..., C, K), coeffs (..., C, K) or None.

  openai layout: params[..., :K] are the logits; params[..., K:] reshaped to (..., C, P*K)
  hold for channel c [means (K), log_scales (K), coeffs (K)] (P = 3; no coeffs, P = 2, for
  C = 1). log_scales are clamped below at -7, coeffs squashed by tanh.
  """
  params = params.astype(jnp.promote_types(params.dtype, jnp.float32))
  k = _dmol_num_mixtures(params.shape[-1], num_channels)
  logits = params[..., :k]
  rest = params[..., k:].reshape(params.shape[:-1] + (num_channels, -1))
  means = rest[..., :k]
  log_scales = jnp.maximum(rest[..., k : 2 * k], _MIN_LOG_SCALE)
  coeffs = jnp.tanh(rest[..., 2 * k :]) if num_channels == 3 else None
  return logits, means, log_scales, coeffs


def _discretized_logistic_logpmf(x, mean, log_scale):
  """log P(x) of one channel under a logistic (mean, e^log_scale) discretized to the 8-bit
  grid on [-1, 1], exactly as openai ``discretized_mix_logistic_loss`` (see below)."""
  centered = x - mean
  inv_scale = jnp.exp(-log_scale)
  plus_in = inv_scale * (centered + _HALF_BIN)
  min_in = inv_scale * (centered - _HALF_BIN)
  log_cdf_plus = plus_in - jax.nn.softplus(plus_in)  # log sigmoid(z+), for v = 0
  log_one_minus_cdf_min = -jax.nn.softplus(min_in)  # log(1 - sigmoid(z-)), for v = 255
  cdf_delta = jax.nn.sigmoid(plus_in) - jax.nn.sigmoid(min_in)
  mid_in = inv_scale * centered
  log_pdf_mid = mid_in - log_scale - 2.0 * jax.nn.softplus(mid_in)
  # Every branch is finite with a finite gradient wherever it is not selected: the max keeps
  # log() off 0 (and off a cancelled, negative delta); the others are softplus forms.
  interior = jnp.where(
      cdf_delta > 1e-5,
      jnp.log(jnp.maximum(cdf_delta, 1e-12)),
      log_pdf_mid - math.log(127.5),
  )
  return jnp.where(x < -0.999, log_cdf_plus, jnp.where(x > 0.999, log_one_minus_cdf_min, interior))


def discretized_logistic_mixture_logprob(x, params):
  """log p(x) per pixel (nats) under the discretized logistic mixture of PixelCNN++.

  Salimans, Karpathy, Chen, Kingma 2017, "PixelCNN++", eqs. (2)-(3); a line-by-line port of
  openai/pixel-cnn ``pixel_cnn_pp/nn.py::discretized_mix_logistic_loss`` (without the sum).

  x: (..., C), e.g. (N, H, W, C), C = 1 or 3, on the 8-bit grid v in {0..255} mapped to
  x = (v - 127.5) / 127.5 in [-1, 1] (the data's scale 'symmetric', 2 v / 255 - 1).
  params: (..., M), the same leading shape, in the openai layout: params[..., :K]
  mixture logits, params[..., K:] reshaped to (..., C, P*K) holding
  for channel c [means (K), log_scales (K), coeffs (K)]. RGB: P = 3, M = 10K (openai).
  Grayscale: no coefficients, P = 2, M = 3K = [logits, means, log_scales] (as
  pclucas14/pixel-cnn-pp ``utils.py::discretized_mix_logistic_loss_1d``). K = M // (10 or 3).
  Computed in float32 at least (bfloat16 params are upcast).

  Per component k: s = exp(max(log_s, -7)); alpha, beta, gamma = tanh(coeffs of R, G, B);
  mu_R = m_R, mu_G = m_G + alpha x_R, mu_B = m_B + beta x_R + gamma x_G with the observed x.
  Per channel, z+- = (x - mu +- 1/255) / s and delta = sigmoid(z+) - sigmoid(z-):
    x < -0.999 (v = 0):   log p = log sigmoid(z+)          = z+ - softplus(z+)
    x >  0.999 (v = 255): log p = log(1 - sigmoid(z-))     = -softplus(z-)
    else, delta > 1e-5:   log p = log(max(delta, 1e-12))
    else (tiny delta):    log p = log pdf(x) + log(2/255)  = z - log s - 2 softplus(z) - log 127.5,
                          z = (x - mu) / s (openai's mid-point approximation).
  log p(pixel) = logsumexp_k [log_softmax(logits)_k + sum_c log p_c,k]. Returns (...,), e.g.
  (N, H, W): the joint log-probability of each pixel's C channels.
  """
  if params.shape[:-1] != x.shape[:-1]:
    raise ValueError(f'x {x.shape} and params {params.shape} differ before their last axis')
  logits, means, log_scales, coeffs = _dmol_unpack(params, x.shape[-1])
  x = x.astype(means.dtype)[..., None]  # (..., C, 1): broadcast over the K components
  if coeffs is not None:
    means = jnp.stack(
        [
            means[..., 0, :],
            means[..., 1, :] + coeffs[..., 0, :] * x[..., 0, :],
            means[..., 2, :] + coeffs[..., 1, :] * x[..., 0, :] + coeffs[..., 2, :] * x[..., 1, :],
        ],
        axis=-2,
    )
  log_probs = jnp.sum(_discretized_logistic_logpmf(x, means, log_scales), axis=-2)
  return jax.nn.logsumexp(log_probs + jax.nn.log_softmax(logits, axis=-1), axis=-1)


def discretized_logistic_mixture_mean(params, num_channels: int):
  """(..., M) -> (..., C): the mixture's mean per channel, sum_k pi_k m_{c,k}, clipped to
  [-1, 1], ignoring the RGB coefficients' coupling (exact for grayscale up to the
  discretization and the clipping): a picture of p(x | z), as a VAE decoder's mean."""
  logits, means, _, _ = _dmol_unpack(params, num_channels)
  weights = jax.nn.softmax(logits, axis=-1)[..., None, :]  # (..., 1, K)
  return jnp.clip(jnp.sum(weights * means, axis=-1), -1.0, 1.0)


def draw_logistic_mixture_noise(key, shape_prefix, num_mixtures: int, num_channels: int):
  """(u_mix (*shape_prefix, K), u_logistic (*shape_prefix, C)), uniform in (1e-5, 1 - 1e-5)
  as openai draws them; draw once for a whole image to index noise by position."""
  key_mix, key_logistic = jax.random.split(key)
  shape_prefix = tuple(shape_prefix)
  uniform = lambda key, n: jax.random.uniform(
      key, shape_prefix + (n,), minval=NOISE_EPS, maxval=1.0 - NOISE_EPS
  )
  return uniform(key_mix, num_mixtures), uniform(key_logistic, num_channels)


def sample_discretized_logistic_mixture(params, u_mix, u_logistic):
  """A sample x (..., C) on the 8-bit grid of [-1, 1] from the mixture of
  ``discretized_logistic_mixture_logprob``, given explicit uniform noise.

  openai/pixel-cnn ``nn.py::sample_from_discretized_mix_logistic``, with the noise passed in
  so that a sampler can index it by position (one pixel at a time, cached or naive, all
  consume the same numbers). params (..., M) in the same layout; u_mix (..., K) and
  u_logistic (..., C) in (1e-5, 1 - 1e-5) (``draw_logistic_mixture_noise``); the leading
  shapes broadcast, e.g. params (N, M) for one pixel with noise[:, i, j].

  k = argmax(logits - log(-log u_mix)) (Gumbel-max); eps_c = log u_c - log(1 - u_c)
  (logistic); with that component's m, s = exp(max(log_s, -7)), alpha, beta, gamma:
    x_R = clip(m_R + s_R eps_R), x_G = clip(m_G + alpha x_R + s_G eps_G),
    x_B = clip(m_B + beta x_R + gamma x_G + s_B eps_B), clip to [-1, 1],
  Unlike openai ("we don't actually round to the nearest 8bit value when sampling"), each
  channel is rounded to the nearest grid value 2 (v / 255) - 1 (bitwise the data
  pipeline's float) before it enters the next channel's mean: rounding a clipped logistic
  gives exactly its discretized pmf (bins 0 and 255 take the tails), and the coupling then
  sees the values the likelihood conditions on, so a sample is an exact draw from the pmf
  that ``discretized_logistic_mixture_logprob`` scores. (openai couples through the
  continuous x_R, x_G; the Flax port rounds only at the end, ``snap_to_grid``.)
  """
  num_channels = u_logistic.shape[-1]
  logits, means, log_scales, coeffs = _dmol_unpack(params, num_channels)
  if u_mix.shape[-1] != logits.shape[-1]:
    raise ValueError(f'u_mix has {u_mix.shape[-1]} components, params {logits.shape[-1]}')
  chosen = jnp.argmax(logits - jnp.log(-jnp.log(u_mix)), axis=-1)
  one_hot = (jnp.arange(logits.shape[-1]) == chosen[..., None])[..., None, :]  # (..., 1, K)
  pick = lambda a: jnp.sum(jnp.where(one_hot, a, 0.0), axis=-1)  # (..., C, K) -> (..., C)
  noise = u_logistic.astype(means.dtype)
  x = pick(means) + jnp.exp(pick(log_scales)) * (jnp.log(noise) - jnp.log1p(-noise))
  grid = jnp.asarray(_grid(np.dtype(x.dtype)))

  def snap(x):  # clip to [-1, 1], then the nearest of the 256 grid values
    return grid[jnp.clip(jnp.round((x + 1.0) * 127.5), 0, 255).astype(jnp.int32)]

  x_r = snap(x[..., 0])
  if coeffs is None:
    return x_r[..., None]
  coeffs = pick(coeffs)
  alpha, beta, gamma = coeffs[..., 0], coeffs[..., 1], coeffs[..., 2]
  x_g = snap(x[..., 1] + alpha * x_r)
  x_b = snap(x[..., 2] + beta * x_r + gamma * x_g)
  return jnp.stack([x_r, x_g, x_b], axis=-1)


def grid_value(v, dtype=jnp.float32) -> jax.Array:
  """Levels v in {0, ..., 255} (int) -> their values 2 (v / 255) - 1 on the [-1, 1] grid,
  bitwise those of the data pipeline and of the sampler's draws."""
  return jnp.asarray(_grid(np.dtype(dtype)))[v]


@functools.lru_cache(maxsize=None)
def _grid(dtype):
  """The 256 values 2 (v / 255) - 1 in ``dtype`` exactly as the data pipeline (NumPy) makes
  them; XLA may compute the same formula differently in the last bit."""
  return 2.0 * (np.arange(256, dtype=dtype) / dtype.type(255)) - dtype.type(1)
