"""The VAE family's latent-space figures, model-agnostic.

Every function takes plain callables, so any VAE variant (plain, beta, conditional with the
condition closed over, hierarchical with the top latent) can draw them:

  decode(z: (N, d) float32) -> (N, H, W, C) images in the data's scale ('unit' [0, 1] or
      'symmetric' [-1, 1]): the mean of p(x|z), not a sample, as the papers show.
  encode_mean(x) -> (N, d): the posterior mean of q(z|x).

Each `save_*` writes a PNG and returns the array it drew (the uint8 grid before enlarging, or
the 2-D points for the scatter), so tests check content rather than only that a file exists.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from gen.viz import images as images_lib
from gen.viz import pyplot

Decode = Callable[[np.ndarray], np.ndarray]
EncodeMean = Callable[[np.ndarray], np.ndarray]


def _decode(decode: Decode, z: np.ndarray, batch_size: int | None = None) -> np.ndarray:
  """Decodes (N, d) latents in chunks (a 20 x 20 manifold is 400 images at once otherwise)."""
  z = np.asarray(z, np.float32)
  step = batch_size or len(z)
  parts = [np.asarray(decode(z[i : i + step]), np.float32) for i in range(0, len(z), step)]
  x = np.concatenate(parts)
  return x[..., None] if x.ndim == 3 else x


# ----------------------------------------------------------------------------- 2-D manifold


def manifold_axis(n: int = 20, eps: float = 0.05) -> np.ndarray:
  """The grid values of one latent axis: a linear grid on (0, 1) through the Gaussian inverse
  CDF, so equal areas of prior mass per tile (Kingma & Welling 2014, Fig. 4)."""
  from scipy import stats  # pylint: disable=import-outside-toplevel  (slow to import)

  return stats.norm.ppf(np.linspace(eps, 1.0 - eps, n))


def manifold_latents(
    n: int = 20, eps: float = 0.05, dims: tuple[int, int] = (0, 1), latent_dim: int = 2
) -> np.ndarray:
  """(n * n, latent_dim) latents in raster order of the figure: tile (row r, column c) is
  index r * n + c with z[dims[0]] = axis[c] (left to right increasing) and
  z[dims[1]] = axis[n - 1 - r] (bottom to top increasing), i.e. Cartesian axes as in a scatter
  plot of the latent space; every other coordinate is 0, the prior mean."""
  if len(dims) != 2 or dims[0] == dims[1] or not all(0 <= k < latent_dim for k in dims):
    raise ValueError(f'dims must be two distinct units of {latent_dim}, got {dims}')
  axis = manifold_axis(n, eps)
  z = np.zeros((n, n, latent_dim), np.float64)
  z[:, :, dims[0]] = axis[None, :]
  z[:, :, dims[1]] = axis[::-1, None]
  return z.reshape(n * n, latent_dim).astype(np.float32)


def manifold_grid(
    decode: Decode,
    n: int = 20,
    eps: float = 0.05,
    dims: tuple[int, int] = (0, 1),
    latent_dim: int = 2,
    scale: str = 'unit',
    pad: int = 0,
    batch_size: int | None = None,
) -> np.ndarray:
  """The AEVB Fig. 4 manifold as one uint8 image of n x n decoded tiles (Kingma & Welling 2014).

  Orientation: z[dims[0]] grows along columns, left to right; z[dims[1]] grows along rows,
  bottom to top (Cartesian, so the figure lines up with `save_prior_hole`'s scatter). For
  latent_dim > 2 the other units stay at 0, the prior mean: a 2-D slice through the prior's
  centre. pad=0 lets the tiles abut as in the paper's figure.
  """
  x = _decode(decode, manifold_latents(n, eps, dims, latent_dim), batch_size)
  return images_lib.grid(images_lib.to_uint8(x, scale), cols=n, pad=pad)


def save_manifold(
    decode: Decode,
    path: str,
    n: int = 20,
    eps: float = 0.05,
    dims: tuple[int, int] = (0, 1),
    latent_dim: int = 2,
    scale: str = 'unit',
    pad: int = 0,
    batch_size: int | None = None,
    upscale: int | None = None,
) -> np.ndarray:
  """Writes `manifold_grid` as a PNG and returns it."""
  g = manifold_grid(decode, n, eps, dims, latent_dim, scale, pad, batch_size)
  images_lib.write_png(g, path, upscale)
  return g


# ---------------------------------------------------------------------------- interpolation


def slerp(z_a: np.ndarray, z_b: np.ndarray, t: np.ndarray) -> np.ndarray:
  """Spherical interpolation of rows of z_a (N, d) to z_b (N, d) at fractions t (T,) ->
  (N, T, d).

  Gaussian latents concentrate on a shell of radius ~sqrt(d), and a straight line between two
  of them cuts through the low-norm interior the decoder never saw in training (White 2016,
  "Sampling generative networks"); slerp follows the great circle (Shoemake 1985). The
  direction moves by angle t * theta in the plane of z_a and z_b and the norm goes linearly
  from |z_a| to |z_b|: for equal norms this is exactly Shoemake's / White's
  (sin((1 - t) theta) z_a + sin(t theta) z_b) / sin theta, and unlike that formula it stays
  defined for antipodal pairs (any great circle through them will do: we turn towards the
  standard basis vector least aligned with z_a). Parallel or zero rows fall back to linear.
  """
  a = np.asarray(z_a, np.float64)
  b = np.asarray(z_b, np.float64)
  t = np.asarray(t, np.float64)
  na = np.linalg.norm(a, axis=-1, keepdims=True)
  nb = np.linalg.norm(b, axis=-1, keepdims=True)
  tiny = 1e-12
  ua = a / np.maximum(na, tiny)
  ub = b / np.maximum(nb, tiny)
  cos = np.clip(np.sum(ua * ub, -1, keepdims=True), -1.0, 1.0)
  theta = np.arccos(cos)
  v = ub - cos * ua  # the part of z_b's direction orthogonal to z_a's
  nv = np.linalg.norm(v, axis=-1, keepdims=True)
  antipodal = (nv < 1e-7) & (cos < 0)
  if antipodal.any():
    e = np.eye(a.shape[-1])[np.argmin(np.abs(ua), axis=-1)]
    e = e - np.sum(e * ua, -1, keepdims=True) * ua
    v = np.where(antipodal, e, v)
    nv = np.linalg.norm(v, axis=-1, keepdims=True)
  v = v / np.maximum(nv, tiny)
  tt = t[None, :, None]
  direction = np.cos(tt * theta[:, None]) * ua[:, None] + np.sin(tt * theta[:, None]) * v[:, None]
  out = ((1 - tt) * na[:, None] + tt * nb[:, None]) * direction
  linear = ((nv < 1e-7) & ~antipodal) | (na < tiny) | (nb < tiny)
  out = np.where(linear[:, None], (1 - tt) * a[:, None] + tt * b[:, None], out)
  return out


def interpolate_latents(
    z_a: np.ndarray, z_b: np.ndarray, steps: int = 10, mode: str = 'linear'
) -> np.ndarray:
  """(N, steps, d) latents from z_a[i] to z_b[i] at evenly spaced fractions; the endpoints are
  the inputs exactly (they are copied, not recomputed)."""
  a = np.atleast_2d(np.asarray(z_a, np.float32))
  b = np.atleast_2d(np.asarray(z_b, np.float32))
  if a.shape != b.shape:
    raise ValueError(f'z_a {a.shape} and z_b {b.shape} differ')
  if steps < 2:
    raise ValueError(f'steps must be >= 2, got {steps}')
  t = np.linspace(0.0, 1.0, steps)
  if mode == 'linear':
    z = (1 - t)[None, :, None] * a[:, None].astype(np.float64) + t[None, :, None] * b[:, None]
  elif mode == 'slerp':
    z = slerp(a, b, t)
  else:
    raise ValueError(f"mode must be 'linear' or 'slerp', got {mode!r}")
  z = z.astype(np.float32)
  z[:, 0], z[:, -1] = a, b
  return z


def interpolations(
    decode: Decode,
    z_a: np.ndarray,
    z_b: np.ndarray,
    steps: int = 10,
    mode: str = 'linear',
    batch_size: int | None = None,
) -> np.ndarray:
  """(N, steps, H, W, C) decoded interpolations, row i from z_a[i] to z_b[i], in data scale."""
  z = interpolate_latents(z_a, z_b, steps, mode)
  n, s, d = z.shape
  x = _decode(decode, z.reshape(n * s, d), batch_size)
  return x.reshape(n, s, *x.shape[1:])


def save_interpolations(
    decode: Decode,
    z_a: np.ndarray,
    z_b: np.ndarray,
    path: str,
    steps: int = 10,
    mode: str = 'linear',
    scale: str = 'unit',
    x_a: np.ndarray | None = None,
    x_b: np.ndarray | None = None,
    batch_size: int | None = None,
    upscale: int | None = None,
) -> np.ndarray:
  """Writes one row per pair; with x_a / x_b (the data points z_a, z_b were encoded from) the
  originals sit at the row ends, so a reader sees how far the endpoints' reconstructions are
  from the data. Returns the uint8 grid."""
  x = interpolations(decode, z_a, z_b, steps, mode, batch_size)
  row = [x]
  if x_a is not None:
    row.insert(0, np.asarray(x_a, np.float32).reshape(x.shape[0], 1, *x.shape[2:]))
  if x_b is not None:
    row.append(np.asarray(x_b, np.float32).reshape(x.shape[0], 1, *x.shape[2:]))
  x = np.concatenate(row, axis=1)
  g = images_lib.grid(images_lib.to_uint8(x.reshape(-1, *x.shape[2:]), scale), cols=x.shape[1])
  images_lib.write_png(g, path, upscale)
  return g


# ------------------------------------------------------------------------------- traversals


def traversal_latents(
    z: np.ndarray, dims: Sequence[int] | None = None, span: float = 3.0, steps: int = 9
) -> np.ndarray:
  """(len(dims), steps, d): row k sets unit dims[k] to each of linspace(-span, span, steps)
  (absolute values in prior std units, as Higgins et al. 2017 sweep -3..3) and keeps every
  other unit at z."""
  z = np.asarray(z, np.float32).reshape(-1)
  dims = list(range(z.shape[0])) if dims is None else [int(k) for k in dims]
  out = np.repeat(np.repeat(z[None, None], len(dims), 0), steps, 1)
  values = np.linspace(-span, span, steps, dtype=np.float32)
  for row, k in enumerate(dims):
    out[row, :, k] = values
  return out


def traversals(
    decode: Decode,
    z: np.ndarray,
    dims: Sequence[int] | None = None,
    span: float = 3.0,
    steps: int = 9,
    batch_size: int | None = None,
) -> np.ndarray:
  """(len(dims), steps, H, W, C) decoded latent traversals: the beta-VAE figure (Higgins et al.
  2017), where a disentangled unit changes one factor of the image along its row."""
  lat = traversal_latents(z, dims, span, steps)
  r, s, d = lat.shape
  x = _decode(decode, lat.reshape(r * s, d), batch_size)
  return x.reshape(r, s, *x.shape[1:])


def traversal_order(
    latent_dim: int,
    dims: Sequence[int] | None = None,
    scores: np.ndarray | None = None,
    top: int | None = None,
) -> list[int]:
  """The units to draw, one row each: `dims` (default all), sorted by score, highest first, if
  `scores` (one per unit, e.g. per-unit KL, so the collapsed, uninformative units sink to the
  bottom as in Burgess et al. 2018, Fig. 2) are given; ties keep unit order; cut to `top`."""
  order = list(range(latent_dim)) if dims is None else [int(k) for k in dims]
  if scores is not None:
    scores = np.asarray(scores, np.float64).reshape(-1)
    if scores.shape[0] != latent_dim:
      raise ValueError(f'{scores.shape[0]} scores for {latent_dim} units')
    order = sorted(order, key=lambda k: -scores[k])  # sorted() is stable
  return order[:top] if top else order


def save_traversals(
    decode: Decode,
    z: np.ndarray,
    path: str,
    dims: Sequence[int] | None = None,
    span: float = 3.0,
    steps: int = 9,
    scale: str = 'unit',
    scores: np.ndarray | None = None,
    score_name: str = 'KL',
    top: int | None = None,
    title: str = '',
    batch_size: int | None = None,
) -> np.ndarray:
  """Writes the traversal grid with each row labelled by its unit (and score, if given).

  The rows are `traversal_order(d, dims, scores, top)`. Returns the uint8 grid (without the
  labels).
  """
  plt = pyplot.pyplot()
  rows = traversal_order(np.asarray(z).reshape(-1).shape[0], dims, scores, top)
  x = traversals(decode, z, rows, span, steps, batch_size)
  r, s, h, w, c = x.shape
  pad = 1
  g = images_lib.grid(images_lib.to_uint8(x.reshape(r * s, h, w, c), scale), cols=s, pad=pad)
  labels = [f'z{k}' for k in rows]
  if scores is not None:
    sc = np.asarray(scores, np.float64).reshape(-1)
    labels = [f'z{k}  {score_name} {sc[k]:.2f}' for k in rows]
  up = max(1, round(512 / g.shape[1]))
  left, top_px, bottom_px = 110, (30 if title else 6), 22
  width, height = g.shape[1] * up + left + 6, g.shape[0] * up + top_px + bottom_px
  fig = plt.figure(figsize=(width / 100, height / 100), dpi=100)
  ax = fig.add_axes(
      [left / width, bottom_px / height, g.shape[1] * up / width, g.shape[0] * up / height]
  )
  ax.imshow(g[..., 0] if c == 1 else g, cmap='gray', vmin=0, vmax=255, interpolation='nearest')
  ax.set_yticks([pad + i * (h + pad) + (h - 1) / 2 for i in range(r)])
  ax.set_yticklabels(labels, fontsize=7)
  ax.set_xticks([pad + (w - 1) / 2, pad + (s - 1) * (w + pad) + (w - 1) / 2])
  ax.set_xticklabels([f'{-span:g}', f'+{span:g}'], fontsize=7)
  ax.tick_params(length=0)
  for spine in ax.spines.values():
    spine.set_visible(False)
  if title:
    ax.set_title(title, fontsize=8)
  fig.savefig(path)
  plt.close(fig)
  return g


# -------------------------------------------------------------------------- reconstructions


def reconstruct(
    encode_mean: EncodeMean, decode: Decode, x: np.ndarray, batch_size: int | None = None
) -> np.ndarray:
  """decode(encode_mean(x)): the deterministic (mean-to-mean) reconstruction papers show."""
  step = batch_size or len(x)
  z = np.concatenate(
      [np.asarray(encode_mean(x[i : i + step]), np.float32) for i in range(0, len(x), step)]
  )
  return _decode(decode, z, batch_size)


def reconstructions(
    x: np.ndarray,
    x_hat: np.ndarray,
    scale: str = 'unit',
    cols: int | None = None,
    layout: str = 'rows',
) -> np.ndarray:
  """A uint8 grid of originals and reconstructions.

  layout='rows': originals and reconstructions in alternating rows of `cols` images (row 2k the
  data, row 2k + 1 their reconstructions directly below). layout='pairs': each original
  followed by its reconstruction in the same row, `cols` pairs to a row.
  """
  x = np.asarray(x, np.float32)
  x_hat = np.asarray(x_hat, np.float32)
  if x.shape != x_hat.shape:
    raise ValueError(f'x {x.shape} and x_hat {x_hat.shape} differ')
  n = x.shape[0]
  cols = cols or min(n, 10 if layout == 'rows' else 5)
  rows = -(-n // cols)
  blank = np.ones_like(x[:1])  # white filler in either scale
  full = rows * cols - n
  xs = np.concatenate([x] + [blank] * full)
  hs = np.concatenate([x_hat] + [blank] * full)
  if layout == 'rows':
    shape = (rows, cols, *x.shape[1:])
    tiles = np.stack([xs.reshape(shape), hs.reshape(shape)], 1)
    ncols = cols
  elif layout == 'pairs':
    tiles = np.stack([xs, hs], 1)
    ncols = 2 * cols
  else:
    raise ValueError(f"layout must be 'rows' or 'pairs', got {layout!r}")
  tiles = tiles.reshape(-1, *x.shape[1:])
  return images_lib.grid(images_lib.to_uint8(tiles, scale), cols=ncols)


def save_reconstructions(
    x: np.ndarray,
    x_hat: np.ndarray,
    path: str,
    scale: str = 'unit',
    cols: int | None = None,
    layout: str = 'rows',
    upscale: int | None = None,
) -> np.ndarray:
  """Writes `reconstructions` as a PNG and returns it."""
  g = reconstructions(x, x_hat, scale, cols, layout)
  images_lib.write_png(g, path, upscale)
  return g


# ------------------------------------------------------------------------------ prior holes


def aggregate_posterior_moments(
    means: np.ndarray, variances: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
  """(m, S) of the aggregate posterior q(z) = E_x q(z|x) over the given points: by the law of
  total covariance S = Cov_x(mu(x)) + E_x diag(sigma^2(x)), with Cov over the empirical
  distribution of x (divide by N, not N - 1: q(z) is exactly that mixture)."""
  mu = np.asarray(means, np.float64)
  mu = mu.reshape(len(mu), -1)
  m = mu.mean(0)
  c = mu - m
  s = c.T @ c / len(mu)
  if variances is not None:
    var = np.broadcast_to(np.asarray(variances, np.float64).reshape(len(mu), -1), mu.shape)
    s = s + np.diag(var.mean(0))
  return m, s


def aggregate_posterior_gaussian_kl(means: np.ndarray, variances: np.ndarray) -> float:
  """KL( N(m, S) || N(0, I) ) in nats for the moment-matched Gaussian of the aggregate posterior.

  A VAE's prior is only matched where q(z) puts mass: regions of high prior density that no
  q(z|x) covers are "holes", which decode to off-manifold samples (Rezende & Viola 2018; Tomczak
  & Welling 2018, VampPrior; Hoffman & Johnson 2016, ELBO surgery, who bound the marginal KL
  KL(q(z) || p(z)) the ELBO's KL term contains). The Gaussian fitted to q(z) gives a cheap,
  closed-form lower-resolution view of that mismatch: 0.5 (tr S + m'm - d - log det S), 0 iff
  m = 0 and S = I (a q(z) can still have holes then: this sees only the first two moments).
  """
  m, s = aggregate_posterior_moments(means, variances)
  sign, logdet = np.linalg.slogdet(s)
  if sign <= 0:
    return float('inf')
  return float(0.5 * (np.trace(s) + m @ m - m.shape[0] - logdet))


def project_2d(means: np.ndarray, projection: str = 'first2') -> tuple[np.ndarray, str]:
  """(N, 2) coordinates and their axis name. 'first2' keeps units 0 and 1; 'pca' projects on
  the top-2 eigenvectors of Cov(means), without centring, so the origin stays the prior mean.
  Both are orthonormal projections, under which N(0, I_d) becomes N(0, I_2): the prior's sigma
  circles drawn in the plane are still its exact density contours."""
  mu = np.asarray(means, np.float64)
  mu = mu.reshape(len(mu), -1)
  d = mu.shape[1]
  if d < 2:
    raise ValueError(f'need at least 2 latent units, got {d}')
  if d == 2 or projection == 'first2':
    return mu[:, :2], 'z0, z1' if d > 2 else 'z'
  if projection != 'pca':
    raise ValueError(f"projection must be 'first2' or 'pca', got {projection!r}")
  c = mu - mu.mean(0)
  _, vecs = np.linalg.eigh(c.T @ c / len(mu))
  top = vecs[:, ::-1][:, :2]
  top = top * np.where(top[np.argmax(np.abs(top), 0), [0, 1]] < 0, -1.0, 1.0)  # fixed sign
  return mu @ top, 'top-2 PCA directions of the means'


def save_prior_hole(
    means: np.ndarray,
    path: str,
    labels: np.ndarray | None = None,
    variances: np.ndarray | None = None,
    projection: str = 'first2',
    title: str = '',
    limit: float | None = None,
) -> np.ndarray:
  """Scatter of the q(z|x) means over the N(0, I) prior's 1, 2, 3 sigma density contours.

  Coloured by class label where given. The title carries `aggregate_posterior_gaussian_kl` over
  all d units (not the projection) when `variances` are given. For d > 2 the plane is chosen by
  `projection` (see `project_2d`). Returns the (N, 2) points drawn.
  """
  plt = pyplot.pyplot()
  mu = np.asarray(means, np.float64)
  mu = mu.reshape(len(mu), -1)
  pts, axis_name = project_2d(mu, projection)
  d = mu.shape[1]
  if variances is not None:
    kl = aggregate_posterior_gaussian_kl(mu, variances)
    stat = f'KL(N(m, S) || N(0, I)) = {kl:.3g} nats, d = {d}'
  else:
    stat = f'd = {d} (no variances: no KL)'
  limit = limit or max(3.5, 1.1 * float(np.quantile(np.abs(pts), 0.995)))
  fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
  for r in (1, 2, 3):
    ax.add_patch(plt.Circle((0, 0), r, fill=False, ec='0.4', lw=0.8, ls='--', zorder=1))
    ax.text(r * 0.7071, r * 0.7071, f'{r}σ', fontsize=7, color='0.3', zorder=1)
  if labels is None:
    ax.scatter(pts[:, 0], pts[:, 1], s=3, alpha=0.5, c='tab:blue', linewidths=0, zorder=2)
  else:
    labels = np.asarray(labels).reshape(-1)
    classes = np.unique(labels)
    cmap = plt.get_cmap('tab10' if len(classes) <= 10 else 'tab20')
    for i, k in enumerate(classes):
      sel = labels == k
      ax.scatter(
          pts[sel, 0], pts[sel, 1], s=3, alpha=0.6, color=cmap(i % cmap.N), linewidths=0,
          label=str(k), zorder=2,
      )
    if len(classes) <= 20:
      ax.legend(fontsize=6, markerscale=3, loc='upper right', ncol=2 if len(classes) > 10 else 1)
  ax.set_xlim(-limit, limit)
  ax.set_ylim(-limit, limit)
  ax.set_aspect('equal')
  ax.set_xlabel(axis_name, fontsize=8)
  head = title or 'q(z|x) means over the prior N(0, I)'
  ax.set_title(f'{head}\n{stat}', fontsize=8)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)
  return pts
