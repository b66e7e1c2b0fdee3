"""The von Mises-Fisher distribution of the hyperspherical VAE (S-VAE), as pure JAX functions.

Davidson et al., "Hyperspherical Variational Auto-Encoders", UAI 2018. Throughout, m is the
*ambient* dimension: z lies on the sphere S^{m-1} in R^m, mu has shape (..., m), kappa (...,) > 0,
and nu = m/2 - 1. (The public S-VAE code's HypersphericalUniform takes the manifold dimension m - 1
instead; here the uniform prior on S^{m-1} is `log_uniform_area(m)`, and every function takes m.)

    log q(z | mu, kappa) = kappa mu^T z + log C_m(kappa),
    C_m(kappa) = kappa^nu / ((2 pi)^{m/2} I_nu(kappa)),    E[mu^T z] = A_m(kappa) = I_{m/2} / I_nu.

`sample_with_score` is the paper's reparameterised sampler: w = mu^T z from Wood's (1994)
rejection sampler (m != 3) or the exact inverse CDF (m = 3), a uniform tangent direction, and a
Householder reflection of e1 onto mu. Rejection makes the accepted proposal's law depend on kappa,
so the unbiased kappa gradient is g_rep + g_cor (Davidson et al., after Naesseth et al., AISTATS
2017). The public code (s-vae-pytorch, s-vae-tf) keeps only g_rep, which is biased for m != 3.

`sample(key, mu, kappa)` returns z alone, and z carries only the reparameterised (pathwise)
gradient g_rep. For the unbiased kappa gradient (g_rep + g_cor) use `sample_with_score`, which also
returns the log-ratio ell, and `surrogate`, which turns ell into g_cor:

    z, ell = vmf.sample_with_score(key, mu, kappa)
    loss = -jnp.mean(vmf.surrogate(log_px_given(z), ell)) + jnp.mean(vmf.kl_to_uniform(kappa, m))

Public API: sample(key, mu, kappa) -> z, sample_with_score(key, mu, kappa) -> (z, ell),
surrogate(f_values, ell), log_prob(z, mu, kappa), kl_to_uniform(kappa, m), entropy(kappa, m),
log_normalizer(m, kappa), bessel_ratio(m, kappa), log_uniform_area(m), log_ive(v, kappa) and
log_bessel_iv(nu, x).
"""

from __future__ import annotations

import functools
import math

import jax
from jax import lax
import jax.numpy as jnp
from jax.scipy import special
import numpy as np

# --- Modified Bessel functions -----------------------------------------------------------------
#
# log ive(v, k) = log(I_v(k) e^{-k}) for v >= 0, k > 0, from three pieces:
#  * k <= _SERIES_MAX_KAPPA: the power series I_v(k) = (k/2)^v / Gamma(v+1) sum_j t_j,
#    t_j = (k^2/4)^j / (j! (v+1)_j) (DLMF 10.25.2); positive terms, so no cancellation.
#  * otherwise the uniform asymptotic (Debye) expansion of I_n(n z) (DLMF 10.41.3), valid uniformly
#    in z for large order, at order n = v + steps >= _DEBYE_MIN_ORDER, then `steps` downward
#    steps of the recurrence I_{n-1} = I_{n+1} + (2n/k) I_n (DLMF 10.29.1), which is stable
#    downwards for I (its minimal solution), carried as ratios so nothing overflows.
# The ratio r_v = I_{v+1}/I_v and its complement 1 - r_v come out of the same recurrence, each
# without cancellation: A_m(kappa) is near 1 for large kappa, and kappa (1 - A_m) is what the
# entropy and the KL need there.
# Measured against mpmath (v in [0, 100], k in [1e-3, 1e5]), errors relative to max(1, |log ive|),
# r_v and 1 - r_v: float64 5e-11, 2e-8 and 3e-9 (the Debye series truncated after five terms at
# order 20); float32 9e-7, 2e-7 and 1.6e-5 (the worst, v = 0 at k ~ 1e5: each downward step
# magnifies the relative error of 1 - r by about (2n+1)/(2n-1)).

_SERIES_MAX_KAPPA = 12.0
_SERIES_TERMS = 30  # t_30 / sum < 1e-18 at k = 12 for every v >= 0.
_DEBYE_MIN_ORDER = 20

# Coefficients, in powers p^0, p^1, ..., of U_k(p), k = 0..5, from the recursion DLMF 10.41.10.
_U = (
    (1.0,),
    (0.0, 1 / 8, 0.0, -5 / 24),
    (0.0, 0.0, 9 / 128, 0.0, -77 / 192, 0.0, 385 / 1152),
    (0.0, 0.0, 0.0, 75 / 1024, 0.0, -4563 / 5120, 0.0, 17017 / 9216, 0.0, -85085 / 82944),
    (0.0, 0.0, 0.0, 0.0, 3675 / 32768, 0.0, -96833 / 40960, 0.0, 144001 / 16384, 0.0,
     -7436429 / 663552, 0.0, 37182145 / 7962624),
    (0.0, 0.0, 0.0, 0.0, 0.0, 59535 / 262144, 0.0, -67608983 / 9175040, 0.0,
     250881631 / 5898240, 0.0, -108313205 / 1179648, 0.0, 5391411025 / 63700992, 0.0,
     -5391411025 / 191102976),
)
# (V_k(p) - U_k(p)) / (1 - p^2), k = 1..5 (V_k of I', DLMF 10.41.12; the division is exact). The
# ratio needs V/U - 1, which is O(1 - p^2) and would cancel catastrophically near k = 0.
_W = (
    (0.0, -1 / 2),
    (0.0, 0.0, -3 / 16, 0.0, 35 / 48),
    (0.0, 0.0, 0.0, -45 / 256, 0.0, 231 / 128, 0.0, -5005 / 2304),
    (0.0, 0.0, 0.0, 0.0, -525 / 2048, 0.0, 50193 / 10240, 0.0, -85085 / 6144, 0.0,
     1616615 / 165888),
    (0.0, 0.0, 0.0, 0.0, 0.0, -33075 / 65536, 0.0, 1258829 / 81920, 0.0, -2448017 / 32768, 0.0,
     52055003 / 442368, 0.0, -929553625 / 15925248),
)


def _check_dim(m) -> int:
  """m as an int >= 2, else a ValueError a config check can show as it is."""
  if isinstance(m, (bool, np.bool_)) or not isinstance(m, (int, np.integer)) or m < 2:
    raise ValueError(
        f'The von Mises-Fisher distribution needs an integer ambient dimension m >= 2 '
        f'(z on the sphere S^(m-1) in R^m), got m={m!r}.'
    )
  return int(m)


def _as_float(x):
  x = jnp.asarray(x)
  return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.result_type(float))


def _poly(coeffs, p):
  """sum_i coeffs[i] p^i by Horner's rule."""
  out = jnp.full_like(p, coeffs[-1])
  for c in coeffs[-2::-1]:
    out = out * p + c
  return out


def _debye(nu, kappa):
  """(log ive, I_{nu+1}/I_nu, 1 - I_{nu+1}/I_nu) for nu >= _DEBYE_MIN_ORDER, DLMF 10.41.3-4."""
  z = kappa / nu
  s = jnp.hypot(jnp.ones_like(z), z)
  p = 1.0 / s
  inv_nu = 1.0 / nu
  u_sum = jnp.zeros_like(z)
  for c in reversed(_U):
    u_sum = u_sum * inv_nu + _poly(c, p)
  w_sum = jnp.zeros_like(z)
  for c in reversed(_W):
    w_sum = (w_sum + _poly(c, p)) * inv_nu
  # nu (eta - z), eta = s + log(z / (1 + s)) = s - asinh(1/z): e^{-kappa} folded in, no overflow.
  log_ive = (
      nu * (1.0 / (s + z) - jnp.arcsinh(1.0 / z))
      - 0.5 * jnp.log(2.0 * math.pi * nu)
      - 0.5 * jnp.log(s)
      + jnp.log(u_sum)
  )
  # I'/I = (s/z) V/U, so r = I'/I - nu/kappa = z (1/(1 + s) + p W/U) and
  # 1 - r = (1 + 1/(s + z))/(1 + s) - z p W/U, both free of cancellation.
  pw_u = p * w_sum / u_sum
  ratio = z * (1.0 / (1.0 + s) + pw_u)
  complement = (1.0 + 1.0 / (s + z)) / (1.0 + s) - z * pw_u
  return log_ive, ratio, complement


def _recurrence_steps(v) -> int:
  """Downward recurrence steps to take from order >= _DEBYE_MIN_ORDER (static, from v if known)."""
  try:
    v_min = float(np.min(np.asarray(v)))
  except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
    return _DEBYE_MIN_ORDER
  if not v_min >= 0:
    raise ValueError(f'log_ive needs orders v >= 0, got min(v) = {v_min}.')
  return max(0, math.ceil(_DEBYE_MIN_ORDER - v_min))


def _bessel(v, kappa, steps):
  """(log ive_v, r_v, 1 - r_v) by the Debye expansion at order v + steps and `steps` steps down."""
  top = v + steps

  def step(j, carry):
    log_ive, _, complement = carry
    # x = I_{n-1}/I_n - 1 = 2n/kappa + r_n - 1 > 0 for n = top - j; r_{n-1} = 1/(1 + x).
    x = 2.0 * (top - j) / kappa - complement
    return log_ive + jnp.log1p(x), 1.0 / (1.0 + x), x / (1.0 + x)

  log_ive, ratio, complement = jnp.broadcast_arrays(*_debye(top, kappa))
  return lax.fori_loop(0, steps, step, (log_ive, ratio, complement))


def _log_ive_series(v, kappa):
  """log ive by the power series; accurate for kappa <= _SERIES_MAX_KAPPA."""
  q = 0.25 * kappa * kappa

  def step(j, carry):
    term, total = carry
    term = term * q / (j * (v + j))
    return term, total + term

  zeros = jnp.zeros(jnp.broadcast_shapes(jnp.shape(v), q.shape), q.dtype)
  _, total = lax.fori_loop(1, _SERIES_TERMS + 1, step, (zeros + 1.0, zeros))
  return v * jnp.log(0.5 * kappa) - special.gammaln(v + 1.0) - kappa + jnp.log1p(total)


def _log_ive_parts(v, kappa, steps):
  small = kappa <= _SERIES_MAX_KAPPA
  series = _log_ive_series(v, jnp.minimum(kappa, _SERIES_MAX_KAPPA))
  log_ive, _, complement = _bessel(v, kappa, steps)
  return jnp.where(small, series, log_ive), complement


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _log_ive(steps, v, kappa):
  return _log_ive_parts(v, kappa, steps)[0]


@_log_ive.defjvp
def _log_ive_jvp(steps, primals, tangents):
  v, kappa = primals
  _, kappa_dot = tangents  # No derivative in the order, as in s-vae-pytorch's ops/ive.py.
  out, complement = _log_ive_parts(v, kappa, steps)
  # d/dk ive(v,k) = ive(v-1,k) - ive(v,k)(v+k)/k (s-vae-pytorch ops/ive.py), i.e.
  # d/dk log ive = I_{v-1}/I_v - (v+k)/k = v/k - (1 - r_v), by I_{v-1} - I_{v+1} = (2v/k) I_v.
  return out, (v / kappa - complement) * kappa_dot


def log_ive(v, kappa):
  """log(I_v(kappa) e^{-kappa}), v >= 0 (no gradient in v), kappa > 0 (custom derivative).

  Stable in float32 for kappa in [1e-3, 1e5] and v up to 100 and beyond (method and measured
  accuracy in the comment above `_SERIES_MAX_KAPPA`). v is used as a constant: a concrete v fixes
  the number of recurrence steps, a traced one takes the most (_DEBYE_MIN_ORDER).
  """
  kappa = _as_float(kappa)
  steps = _recurrence_steps(v)
  return _log_ive(steps, jnp.asarray(v, kappa.dtype), kappa)


def log_bessel_iv(nu, x):
  """log I_nu(x), nu >= 0 (no gradient in nu), x > 0: log_ive(nu, x) + x.

  Same dtype rules as `log_ive` (x's float dtype; an integer x becomes the default float) and the
  same derivative in x (d/dx log I_nu = d/dx log ive + 1). Finite where I_nu(x) itself overflows
  (x > ~89 in float32, ~713 in float64), as log_ive is.
  """
  x = _as_float(x)
  return log_ive(nu, x) + x


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _ratio_pair(m, kappa):
  """(A_m(kappa), 1 - A_m(kappa)), each to full relative precision."""
  nu = m / 2 - 1
  _, ratio, complement = _bessel(jnp.asarray(nu, kappa.dtype), kappa, _recurrence_steps(nu))
  return ratio, complement


@_ratio_pair.defjvp
def _ratio_pair_jvp(m, primals, tangents):
  (kappa,), (kappa_dot,) = primals, tangents
  ratio, complement = _ratio_pair(m, kappa)
  # A' = 1 - A^2 - (m-1) A / kappa (from I_nu' = I_{nu+1} + (nu/kappa) I_nu), with
  # 1 - A^2 = (1 - A)(1 + A). Its two terms cancel to O(1/kappa^2) at large kappa, so in float32
  # its relative error grows as ~3e-5 kappa for m = 2 and ~5e-6 kappa for m >= 5 (2e-4 and 3e-5
  # at kappa = 100): the rounding of 1 - A, magnified.
  slope = complement * (1.0 + ratio) - (m - 1) * ratio / kappa
  return (ratio, complement), (slope * kappa_dot, -slope * kappa_dot)


def bessel_ratio(m: int, kappa):
  """A_m(kappa) = I_{m/2}(kappa) / I_{m/2-1}(kappa) = E[mu^T z] (m ambient), with its derivative."""
  kappa = _as_float(kappa)
  return _ratio_pair(_check_dim(m), kappa)[0]


# --- Density, entropy and KL ---------------------------------------------------------------------


def _log_sphere_area(m: int) -> float:
  """log of the surface area 2 pi^{m/2} / Gamma(m/2) of S^{m-1} in R^m (m >= 1; S^0 has 2)."""
  return math.log(2.0) + 0.5 * m * math.log(math.pi) - math.lgamma(0.5 * m)


def log_uniform_area(m: int) -> float:
  """log(2 pi^{m/2} / Gamma(m/2)), the area of S^{m-1}: -log density of the uniform prior.

  m is the ambient dimension (the reference HypersphericalUniform(dim) takes dim = m - 1).
  """
  return _log_sphere_area(_check_dim(m))


def _log_normalizer_scaled(m: int, kappa):
  """log C_m(kappa) + kappa, which stays O(log kappa) where log C_m itself is about -kappa."""
  nu = m / 2 - 1
  return nu * jnp.log(kappa) - 0.5 * m * math.log(2.0 * math.pi) - log_ive(nu, kappa)


def log_normalizer(m: int, kappa):
  """log C_m(kappa) = (m/2-1) log kappa - (m/2) log 2 pi - log I_{m/2-1}(kappa), m ambient."""
  kappa = _as_float(kappa)
  return _log_normalizer_scaled(_check_dim(m), kappa) - kappa


def log_prob(z, mu, kappa):
  """log q(z | mu, kappa) = kappa mu^T z + log C_m(kappa); z, mu (..., m), kappa (...,)."""
  z, mu, kappa = jnp.asarray(z), jnp.asarray(mu), _as_float(kappa)
  m = _check_dim(mu.shape[-1])
  # kappa (mu^T z - 1) + (log C_m + kappa): no cancellation of two O(kappa) terms.
  return kappa * (jnp.sum(mu * z, axis=-1) - 1.0) + _log_normalizer_scaled(m, kappa)


def _kl_series(m: int, kappa):
  """KL to uniform for kappa <= _SERIES_MAX_KAPPA, where the closed form cancels to ~kappa^2/(2m).

  With L = log E_uniform[e^{kappa w}] = log(1 + S), S = sum_{j>=1} t_j, t_j = (kappa^2/4)^j /
  (j! (m/2)_j) (DLMF 10.25.2), KL = kappa L' - L = T/(1 + S) - log(1 + S), T = sum_j 2j t_j.
  """
  nu = m / 2 - 1
  q = 0.25 * kappa * kappa

  def step(j, carry):
    term, s, t = carry
    term = term * q / (j * (nu + j))
    return term, s + term, t + 2 * j * term

  zeros = jnp.zeros_like(q)
  _, s, t = lax.fori_loop(1, _SERIES_TERMS + 1, step, (zeros + 1.0, zeros, zeros))
  return t / (1.0 + s) - jnp.log1p(s)


def kl_to_uniform(kappa, m: int):
  """KL(vMF(mu, kappa) || U(S^{m-1})) = kappa A_m + log C_m + log_uniform_area(m), m ambient.

  kappa (...,) > 0 first, then m, the ambient dimension (an int >= 2).

  Independent of mu. Written as (log C_m + kappa) + log area - kappa (1 - A_m) for kappa > 12, and
  as a series for kappa <= 12, where the closed form's O(m log kappa) terms cancel to about
  kappa^2/(2m) (from ive directly, float32 gives a negative or NaN KL there for m = 40). In float32
  the relative error is ~2e-6 for kappa <= 12 at any m and below 1e-5 above for m <= 50 (5e-5 at
  m = 200), so KL > 0 for every kappa > 0.
  """
  m = _check_dim(m)
  kappa = _as_float(kappa)
  series = _kl_series(m, jnp.minimum(kappa, _SERIES_MAX_KAPPA))
  _, complement = _ratio_pair(m, kappa)
  closed = _log_normalizer_scaled(m, kappa) + _log_sphere_area(m) - kappa * complement
  return jnp.where(kappa <= _SERIES_MAX_KAPPA, series, closed)


def entropy(kappa, m: int):
  """H = -kappa A_m(kappa) - log C_m(kappa) = log_uniform_area(m) - kl_to_uniform(kappa, m)."""
  return log_uniform_area(m) - kl_to_uniform(kappa, m)


# --- Sampling ------------------------------------------------------------------------------------

# Wood proposals per example per round. The acceptance rate is above 0.65 for every m and kappa
# (by quadrature; the minimum is m = 2 at large kappa), so a round fails with probability < 0.02.
_PROPOSALS = 4
_MAX_ROUNDS = 64  # Ends the loop for a NaN kappa, which never accepts; 0.02^64 ~ 1e-109.


def _wood_b(m: int, kappa):
  """Wood's b = (-2 kappa + sqrt(4 kappa^2 + (m-1)^2))/(m-1), written without the cancellation.

  The public code instead blends b into its Taylor form (m-1)/(4 kappa) for kappa in [10, 11] and
  uses it above 11 to dodge that cancellation, but keeps a and d of the exact b: the acceptance
  test then no longer bounds the target, and the sampler draws a wrong law (by quadrature of the
  implied accepted density, E[w] - A_m(kappa) = -9e-3 at m = 10, kappa = 11, and -6.7e-2 at m = 20).
  This form is exact for every kappa, so no blend.
  """
  return (m - 1) / (2.0 * kappa + jnp.hypot(2.0 * kappa, m - 1.0))


def _wood_eps(key, m: int, kappa):
  """Beta((m-1)/2, (m-1)/2) proposal eps of Wood's (1994) sampler first accepted, per kappa.

  Static shapes for jit: each round draws _PROPOSALS per example and keeps the first accepted one
  of the earliest round that has one, which is plain sequential rejection sampling.
  """
  dtype = kappa.dtype
  b = _wood_b(m, kappa)
  a = (m - 1 + 2.0 * kappa + jnp.hypot(2.0 * kappa, m - 1.0)) / 4.0
  d = 4.0 * a * b / (1.0 + b) - (m - 1) * math.log(m - 1)
  b, ab2, d = b[..., None], (2.0 * a * b)[..., None], d[..., None]
  shape = kappa.shape + (_PROPOSALS,)

  def body(state):
    i, eps, done = state
    key_eps, key_u = jax.random.split(jax.random.fold_in(key, i))
    # X / (X + Y) with X, Y ~ chi^2_{m-1} is Beta((m-1)/2, (m-1)/2); XLA CPU compiles this in a
    # fraction of the time of jax.random.beta (a gamma rejection loop inside this loop).
    chi2 = jnp.sum(jnp.square(jax.random.normal(key_eps, (2,) + shape + (m - 1,), dtype)), -1)
    proposal = chi2[0] / (chi2[0] + chi2[1])
    log_u = jnp.log(jax.random.uniform(key_u, shape, dtype))
    t = ab2 / (1.0 - (1.0 - b) * proposal)
    accept = (m - 1) * jnp.log(t) - t + d > log_u
    first = jnp.take_along_axis(proposal, jnp.argmax(accept, axis=-1)[..., None], axis=-1)[..., 0]
    new = ~done & jnp.any(accept, axis=-1)
    return i + 1, jnp.where(new, first, eps), done | new

  def cond(state):
    i, _, done = state
    return (i < _MAX_ROUNDS) & ~jnp.all(done)

  init = (jnp.int32(0), jnp.full(kappa.shape, 0.5, dtype), jnp.zeros(kappa.shape, bool))
  return lax.while_loop(cond, body, init)[1]


def _householder(x, mu):
  """H x with H = I - 2 u u^T, u = (e1 - mu)/||e1 - mu||, which maps e1 to mu.

  The reference divides by ||e1 - mu|| + 1e-5, which is no longer a reflection (z off the sphere)
  when mu is within ~1e-5 of e1; the exact norm is, and at mu = e1 u is 0, so z = x exactly.
  """
  diff = jnp.zeros_like(mu).at[..., 0].set(1.0) - mu
  sq_norm = jnp.sum(diff * diff, axis=-1, keepdims=True)
  u = diff / jnp.sqrt(jnp.where(sq_norm > 0, sq_norm, 1.0))
  return x - 2.0 * jnp.sum(x * u, axis=-1, keepdims=True) * u


def sample_with_score(key, mu, kappa):
  """Reparameterised draws z ~ vMF(mu, kappa) and the g_cor log-ratio ell, per example.

  With `surrogate(f(z), ell)`, the kappa gradient is the unbiased g_rep + g_cor; z alone (as
  `sample` returns it) carries only g_rep.

  Args:
    key: a PRNG key.
    mu: unit mean directions (..., m), m >= 2 (ambient).
    kappa: concentrations (...,) > 0, broadcast to mu.shape[:-1].

  Returns:
    z: (..., m) on S^{m-1}, differentiable in mu (Householder map) and in kappa (g_rep: the
      accepted proposal and the tangent direction are noise, w = h(eps, kappa) is not).
    ell: (...,) the log-ratio log(g(w | kappa) / r(w | kappa)) of w's target density g to the
      proposal density r at the accepted proposal (zeros for m = 3, where w comes from the exact
      inverse CDF). It depends on kappa only, never on mu, and is for `surrogate`:
      d/dkappa E[f(z)] = E[df(z)/dkappa] + E[f(z) d ell/dkappa], the second term being g_cor.
  """
  mu = jnp.asarray(mu)
  m = _check_dim(mu.shape[-1])
  dtype = jnp.result_type(mu.dtype, _as_float(kappa).dtype)
  mu = mu.astype(dtype)
  kappa = jnp.broadcast_to(jnp.asarray(kappa, dtype), mu.shape[:-1])
  key_w, key_v = jax.random.split(key)
  if m == 3:
    u = jax.random.uniform(key_w, kappa.shape, dtype)
    # w - 1 = log(u + (1 - u) e^{-2 kappa})/kappa; the log1p form keeps precision at small kappa.
    small = kappa < 1.0
    kappa_small = jnp.where(small, kappa, 1.0)
    log_cdf = jnp.where(
        small,
        jnp.log1p((1.0 - u) * jnp.expm1(-2.0 * kappa_small)),
        jnp.logaddexp(jnp.log(u), jnp.log1p(-u) - 2.0 * kappa),
    )
    w_minus_1 = log_cdf / kappa
    w = 1.0 + w_minus_1
    one_minus_w2 = -w_minus_1 * (2.0 + w_minus_1)
    ell = jnp.zeros_like(kappa)
  else:
    alpha = 0.5 * (m - 1)
    eps = lax.stop_gradient(_wood_eps(key_w, m, lax.stop_gradient(kappa)))
    b = _wood_b(m, kappa)
    den = 1.0 - (1.0 - b) * eps
    w = (1.0 - (1.0 + b) * eps) / den
    # 1 - w = 2 b eps/den and 1 + w = 2 (1 - eps)/den: exact near w = 1, where 1 - w^2 is not.
    one_minus_w2 = 4.0 * b * eps * (1.0 - eps) / (den * den)
    # log g(w) = kappa w + (alpha - 1) log(1 - w^2) + log C_m + log|S^{m-2}|, log r(w) =
    # log Beta(eps; alpha, alpha) - log|dh/deps| with |dh/deps| = 2b/den^2; the eps-only terms
    # cancel, which leaves ell finite even where 1 - w^2 underflows.
    log_beta = 2.0 * math.lgamma(alpha) - math.lgamma(2.0 * alpha)
    const = (alpha - 1.0) * math.log(4.0) + math.log(2.0) + log_beta + _log_sphere_area(m - 1)
    ell = (
        kappa * (w - 1.0)
        + alpha * (jnp.log(b) - 2.0 * jnp.log(den))
        + _log_normalizer_scaled(m, kappa)
        + const
    )
  v = jax.random.normal(key_v, kappa.shape + (m - 1,), dtype)
  v = v / jnp.linalg.norm(v, axis=-1, keepdims=True)
  # The clamp keeps d sqrt / dw finite at w = +-1 (s-vae-pytorch PR #8).
  x = jnp.concatenate([w[..., None], jnp.sqrt(jnp.maximum(one_minus_w2, 1e-10))[..., None] * v], -1)
  return _householder(x, mu), ell


def sample(key, mu, kappa):
  """Reparameterised draws z ~ vMF(mu, kappa): sample_with_score(key, mu, kappa)[0].

  Args:
    key: a PRNG key.
    mu: unit mean directions (..., m), m >= 2 (ambient).
    kappa: concentrations (...,) > 0, broadcast to mu.shape[:-1].

  Returns:
    z: (..., m) on S^{m-1}. It carries only the reparameterised (pathwise) gradient g_rep, which
      for m != 3 is a biased estimate of the kappa gradient; for the unbiased g_rep + g_cor use
      `sample_with_score` and `surrogate`. Gradients in mu are unaffected.
  """
  return sample_with_score(key, mu, kappa)[0]


def surrogate(f_values, ell):
  """f + stop_gradient(f) (ell - stop_gradient(ell)): f in value, with g_cor added to its gradient.

  Contract: f_values[i] = f(z[i]) is the per-example quantity whose expectation is being
  differentiated (e.g. log p(x_i | z_i)), with z, ell = sample_with_score(key, mu, kappa) and
  the batch shape of ell. Differentiating the mean of the result gives the unbiased estimate
  g_rep + g_cor of d/dkappa E[f]; gradients in mu and in f's own parameters are unchanged (ell
  depends on kappa only), and the forward value is exactly f_values (ell - stop_gradient(ell) is
  0). For an f of several independent draws (e.g. an IWAE bound over k samples), pass the sum of
  their ells. As E[d ell/dkappa] = 0, the multiplier stop_gradient(f) could be centred by any
  baseline that does not depend on z[i] without bias, to lower the variance of g_cor; this
  function does not.
  """
  f_values = jnp.asarray(f_values)
  return f_values + lax.stop_gradient(f_values) * (ell - lax.stop_gradient(ell))
