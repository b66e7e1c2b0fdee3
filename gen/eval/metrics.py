"""Sample-quality metrics for generative models, computed from feature arrays.

NumPy arrays in (features or logits, one row per sample), Python floats /
tuples / dicts out. All arithmetic that needs precision is done in float64.
Feature extraction (Inception etc.) lives elsewhere; this module is pure NumPy /
SciPy / scikit-learn and deterministic unless stated otherwise.

Metrics, the paper each follows, and the reference implementation it matches:

* ``frechet_distance`` / ``fid`` -- Frechet Inception Distance, Heusel et al.
  2017, "GANs Trained by a Two Time-Scale Update Rule ..." (arXiv:1706.08500).
  Matches TTUR ``fid.py`` / pytorch-fid ``calculate_frechet_distance``:
  mean and unbiased covariance (``np.cov(rowvar=False)``) in float64,
  ``scipy.linalg.sqrtm(sigma1 @ sigma2)``, retry with ``1e-6 * I`` added to
  both covariances if the root is not finite, real part taken after checking
  the imaginary part of its diagonal (atol 1e-3). We use this non-symmetric
  sqrtm form, not a symmetric eigendecomposition form, so that numbers agree
  with published FIDs to the last digits. No deliberate difference.

* ``inception_score`` -- Salimans et al. 2016, "Improved Techniques for
  Training GANs" (arXiv:1606.03498). Matches OpenAI ``improved-gan``
  ``inception_score.py``: splits are consecutive chunks
  ``[i*N//splits, (i+1)*N//splits)``, score per split is
  ``exp(mean_x KL(p(y|x) || p(y)))``, returns ``(np.mean, np.std)`` over
  splits. Difference: we take *logits* and use a float64 log-softmax, so
  ``log p(y|x)`` is finite even where the softmax underflows to 0 (where the
  reference would give ``0 * log 0 = nan``); wherever the reference is finite
  the value is the same.

* ``kid`` -- Kernel Inception Distance, Binkowski et al. 2018, "Demystifying
  MMD GANs" (arXiv:1801.01401). Matches torch-fidelity ``metric_kid.py`` (itself
  adapted from the authors' ``MMD-GAN/gan/compute_scores.py``): kernel
  ``k(x, y) = (x.y / d + 1)^3``, the "unbiased" MMD^2 estimator (within-set
  sums exclude the diagonal and are divided by m(m-1); the cross term is the
  mean over all m^2 pairs), ``num_subsets`` subsets, each drawn from each set
  *without replacement* with ``np.random.RandomState(seed)`` (a draws first,
  then b, per subset, as torch-fidelity draws features_1 then features_2);
  returns ``(mean, np.std)`` over subsets. Differences: default seed is 0
  (torch-fidelity: 2020), and ``subset_size`` is clamped to
  ``min(subset_size, len(a), len(b))`` instead of raising.

* ``prd`` / ``prd_f_beta`` / ``compute_prd`` / ``prd_to_f_beta`` -- Precision
  and Recall for Distributions, Sajjadi et al. 2018, "Assessing Generative
  Models via Precision and Recall" (arXiv:1806.00035). Matches google/compare_gan
  ``src/prd_score.py`` (``compute_prd``, ``_cluster_into_bins``,
  ``compute_prd_from_embedding``, ``_prd_to_f_beta``,
  ``prd_to_max_f_beta_pair``): MiniBatchKMeans(n_clusters, n_init=10) on the
  union, normalised histograms, slopes ``tan(linspace(eps, pi/2 - eps, n))``,
  curves averaged over ``num_runs`` clusterings. Differences: (1) precision
  and recall are clipped to [0, 1] (and values > 1.001 raise), as in the
  authors' later msmsajjadi/precision-recall-distributions, because for P = Q
  round-off puts values just above 1 and ``prd_to_f_beta`` then rejects them;
  (2) scikit-learn >= 1.4 changed MiniBatchKMeans' default ``batch_size`` from
  100 to 1024; we keep the library default, like the reference code does;
  (3) optional ``seed`` for reproducible clustering (``None`` = unseeded, as
  the reference).

* ``prdc`` -- improved precision / recall of Kynkaanniemi et al. 2019
  (arXiv:1904.06991) and density / coverage of Naeem et al. 2020
  (arXiv:2002.09797). Matches clovaai/generative-evaluation-prdc ``prdc.py``:
  radius of a sample = distance to its k-th nearest neighbour in its own set
  excluding itself (= the (k+1)-th smallest distance including the zero
  self-distance), strict ``<`` ball membership, density
  ``= (1 / (k M)) sum_j sum_i 1[d(fake_j, real_i) < r_i]``. Difference: the
  distance matrices are computed and reduced block by block (memory
  O(block_size * N) instead of O(N^2)); within a block distances use
  ``||a||^2 + ||b||^2 - 2 a.b`` clipped at 0, with self-distances set to exactly
  0, which is what sklearn's ``pairwise_distances`` (used by the reference)
  does.

* ``f1`` -- harmonic mean of a precision / recall pair (0 when both are 0).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.special

__all__ = [
    "frechet_distance",
    "fid",
    "inception_score",
    "kid",
    "compute_prd",
    "prd_to_f_beta",
    "prd",
    "prd_f_beta",
    "prdc",
    "f1",
]


def _features_2d(x, name: str, dtype=np.float64) -> np.ndarray:
  x = np.asarray(x, dtype=dtype)
  if x.ndim != 2:
    raise ValueError(f"{name} must be 2-D (num_samples, dim), got shape {x.shape}")
  return x


# --------------------------------------------------------------------------- FID


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
  """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

  ``|mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr(sqrtm(sigma1 @ sigma2))``,
  with the sqrtm (non-symmetric) form of TTUR / pytorch-fid: if the matrix
  root is not finite it is recomputed with ``eps * I`` added to both
  covariances; a complex root is accepted (real part taken) only if the
  imaginary part of its diagonal is within 1e-3 of 0, else ValueError.
  """
  mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
  mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
  sigma1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
  sigma2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
  if mu1.shape != mu2.shape:
    raise ValueError(f"mean shapes differ: {mu1.shape} vs {mu2.shape}")
  d = mu1.shape[0]
  if sigma1.shape != (d, d) or sigma2.shape != (d, d):
    raise ValueError(f"covariances must be ({d}, {d}), got {sigma1.shape} and {sigma2.shape}")

  diff = mu1 - mu2
  covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
  if not np.isfinite(covmean).all():
    # Near-singular product: regularise both covariances, as the reference.
    offset = np.eye(d) * eps
    covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
  if np.iscomplexobj(covmean):
    # Round-off makes tiny imaginary parts; a large one means a real bug.
    if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
      raise ValueError(f"sqrtm has imaginary component {np.max(np.abs(covmean.imag))}")
    covmean = covmean.real
  return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid(features_a, features_b) -> float:
  """FID between two feature sets (rows = samples), float64 statistics."""
  a = _features_2d(features_a, "features_a")
  b = _features_2d(features_b, "features_b")
  if a.shape[1] != b.shape[1]:
    raise ValueError(f"feature dims differ: {a.shape[1]} vs {b.shape[1]}")
  if len(a) < 2 or len(b) < 2:
    raise ValueError("need at least 2 samples per set for a covariance")
  return frechet_distance(
      a.mean(axis=0), np.cov(a, rowvar=False), b.mean(axis=0), np.cov(b, rowvar=False)
  )


# ---------------------------------------------------------------------------- IS


def inception_score(logits, splits: int = 10) -> tuple[float, float]:
  """Inception Score from classifier logits (N, C): (mean, std) over splits."""
  logits = _features_2d(logits, "logits")
  n = len(logits)
  if splits < 1 or n < splits:
    raise ValueError(f"need 1 <= splits <= num_samples, got splits={splits}, N={n}")
  log_p = scipy.special.log_softmax(logits, axis=1)
  p = np.exp(log_p)
  scores = []
  for i in range(splits):
    lo, hi = i * n // splits, (i + 1) * n // splits
    part, log_part = p[lo:hi], log_p[lo:hi]
    p_y = part.mean(axis=0)
    # p_y == 0 only where every p(y|x) in the split is 0, whose terms are 0.
    log_p_y = np.log(np.where(p_y > 0, p_y, 1.0))
    kl = np.sum(part * (log_part - log_p_y), axis=1).mean()
    scores.append(np.exp(kl))
  return float(np.mean(scores)), float(np.std(scores))


# --------------------------------------------------------------------------- KID


def _poly_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
  """Unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3 for equal-size x, y."""
  m, d = x.shape
  k_xx = (x @ x.T / d + 1.0) ** 3
  k_yy = (y @ y.T / d + 1.0) ** 3
  k_xy = (x @ y.T / d + 1.0) ** 3
  sum_xx = k_xx.sum() - np.trace(k_xx)
  sum_yy = k_yy.sum() - np.trace(k_yy)
  return float((sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m))


def kid(
    features_a, features_b, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
  """Kernel Inception Distance: (mean, std) of unbiased MMD^2 over subsets.

  Each subset draws ``m = min(subset_size, len(a), len(b))`` rows of a, then
  m rows of b, without replacement, from ``np.random.RandomState(seed)``.
  """
  a = _features_2d(features_a, "features_a")
  b = _features_2d(features_b, "features_b")
  if a.shape[1] != b.shape[1]:
    raise ValueError(f"feature dims differ: {a.shape[1]} vs {b.shape[1]}")
  m = min(int(subset_size), len(a), len(b))
  if m < 2:
    raise ValueError("KID needs subsets of at least 2 samples")
  if num_subsets < 1:
    raise ValueError("num_subsets must be >= 1")
  rng = np.random.RandomState(seed)
  mmds = np.empty(num_subsets, dtype=np.float64)
  for i in range(num_subsets):
    x = a[rng.choice(len(a), m, replace=False)]
    y = b[rng.choice(len(b), m, replace=False)]
    mmds[i] = _poly_mmd2_unbiased(x, y)
  return float(mmds.mean()), float(mmds.std())


# --------------------------------------------------------------------------- PRD


def compute_prd(eval_dist, ref_dist, num_angles: int = 1001, epsilon: float = 1e-10):
  """PRD curve of discrete distribution eval_dist w.r.t. ref_dist.

  Returns (precision, recall), arrays of length num_angles, for slopes
  ``tan(linspace(epsilon, pi/2 - epsilon, num_angles))``.
  """
  if not (0 < epsilon < 0.1):
    raise ValueError(f"epsilon must be in (0, 0.1) but is {epsilon}")
  if not (float(num_angles).is_integer() and 3 <= num_angles <= 1e6):
    raise ValueError(f"num_angles must be an integer in [3, 1e6] but is {num_angles}")
  eval_dist = np.asarray(eval_dist, dtype=np.float64)
  ref_dist = np.asarray(ref_dist, dtype=np.float64)

  angles = np.linspace(epsilon, np.pi / 2 - epsilon, num=int(num_angles))
  slopes = np.tan(angles)
  # Rows: angles, columns: states of the distributions.
  precision = np.minimum(ref_dist[None, :] * slopes[:, None], eval_dist[None, :]).sum(axis=1)
  recall = precision / slopes

  # For P = Q round-off gives values just above 1; anything larger is a bug.
  max_val = max(np.max(precision), np.max(recall))
  if max_val > 1.001:
    raise ValueError(f"PRD value {max_val} > 1.001: are the inputs normalised?")
  return np.clip(precision, 0, 1), np.clip(recall, 0, 1)


def _cluster_into_bins(eval_data, ref_data, num_clusters, random_state=None):
  """Cluster the union with MiniBatchKMeans; return the two normalised histograms."""
  from sklearn.cluster import MiniBatchKMeans  # import lazily: sklearn is slow to load

  cluster_data = np.vstack([eval_data, ref_data])
  kmeans = MiniBatchKMeans(n_clusters=num_clusters, n_init=10, random_state=random_state)
  labels = kmeans.fit(cluster_data).labels_
  eval_labels, ref_labels = labels[: len(eval_data)], labels[len(eval_data) :]
  # Unit-width bins with density=True give probabilities per cluster.
  eval_bins = np.histogram(eval_labels, bins=num_clusters, range=[0, num_clusters], density=True)[0]
  ref_bins = np.histogram(ref_labels, bins=num_clusters, range=[0, num_clusters], density=True)[0]
  return eval_bins, ref_bins


def prd(
    eval_features,
    ref_features,
    num_clusters: int = 20,
    num_angles: int = 1001,
    num_runs: int = 10,
    enforce_balance: bool = True,
    seed: int | None = None,
):
  """PRD curves (precision, recall) from embeddings, averaged over num_runs.

  Unequal set sizes bias the clustering towards the larger set, hence the
  ``enforce_balance`` check (as the reference). ``seed=None`` leaves k-means
  unseeded like the reference; an int seeds run r with ``seed + r``.
  """
  if enforce_balance and len(eval_features) != len(ref_features):
    raise ValueError(
        f"eval_features has {len(eval_features)} points but ref_features has "
        f"{len(ref_features)}; set enforce_balance=False to allow (not recommended)"
    )
  eval_data = _features_2d(eval_features, "eval_features")
  ref_data = _features_2d(ref_features, "ref_features")
  precisions, recalls = [], []
  for run in range(num_runs):
    rs = None if seed is None else seed + run
    eval_dist, ref_dist = _cluster_into_bins(eval_data, ref_data, num_clusters, rs)
    precision, recall = compute_prd(eval_dist, ref_dist, num_angles)
    precisions.append(precision)
    recalls.append(recall)
  return np.mean(precisions, axis=0), np.mean(recalls, axis=0)


def prd_to_f_beta(precision, recall, beta: float = 1, epsilon: float = 1e-10):
  """Elementwise F_beta = (1 + b^2) p r / (b^2 p + r + epsilon)."""
  precision = np.asarray(precision, dtype=np.float64)
  recall = np.asarray(recall, dtype=np.float64)
  if not ((precision >= 0).all() and (precision <= 1).all()):
    raise ValueError("All values in precision must be in [0, 1].")
  if not ((recall >= 0).all() and (recall <= 1).all()):
    raise ValueError("All values in recall must be in [0, 1].")
  if beta <= 0:
    raise ValueError(f"beta must be positive, got {beta}")
  return (1 + beta**2) * (precision * recall) / ((beta**2 * precision) + recall + epsilon)


def prd_f_beta(precision, recall, beta: float = 8) -> tuple[float, float]:
  """(max F_beta, max F_{1/beta}) over a PRD curve (recall- / precision-like)."""
  f_beta = np.max(prd_to_f_beta(precision, recall, beta))
  f_beta_inv = np.max(prd_to_f_beta(precision, recall, 1.0 / beta))
  return float(f_beta), float(f_beta_inv)


# -------------------------------------------------------------------------- PRDC


def _block_distances(xb, xb_sq, y, y_sq):
  """Euclidean distances between rows of xb and y, one (len(xb), len(y)) array."""
  d = xb @ y.T
  d *= -2.0
  d += xb_sq[:, None]
  d += y_sq[None, :]
  np.maximum(d, 0.0, out=d)  # round-off can make squared distances negative
  return np.sqrt(d, out=d)


def _knn_radii(x, k, block_size):
  """Distance of each row of x to its k-th nearest other row of x."""
  n = len(x)
  sq = np.einsum("ij,ij->i", x, x)
  radii = np.empty(n, dtype=np.float64)
  for lo in range(0, n, block_size):
    hi = min(lo + block_size, n)
    d = _block_distances(x[lo:hi], sq[lo:hi], x, sq)
    d[np.arange(hi - lo), np.arange(lo, hi)] = 0.0  # exact self-distance, as sklearn
    # Index k of the partition is the (k+1)-th smallest, self included.
    d.partition(k, axis=1)
    radii[lo:hi] = d[:, k]
  return radii


def prdc(
    real_features, fake_features, k: int = 5, block_size: int = 1024, dtype=np.float64
) -> dict:
  """k-NN precision, recall, density and coverage (clovaai ``prdc``).

  Pairwise distances are formed ``block_size`` rows at a time and reduced
  at once, so memory is O(block_size * max(N, M)). ``dtype`` is the
  precision of the distance blocks (float64 by default, as the sklearn
  distances of the reference; float32 halves time and memory).
  """
  real = _features_2d(real_features, "real_features", dtype)
  fake = _features_2d(fake_features, "fake_features", dtype)
  if real.shape[1] != fake.shape[1]:
    raise ValueError(f"feature dims differ: {real.shape[1]} vs {fake.shape[1]}")
  if k < 1 or len(real) <= k or len(fake) <= k:
    raise ValueError(f"need 1 <= k < number of samples in each set, got k={k}")
  if block_size < 1:
    raise ValueError("block_size must be >= 1")

  real_radii = _knn_radii(real, k, block_size)
  fake_radii = _knn_radii(fake, k, block_size)

  n_real, n_fake = len(real), len(fake)
  real_sq = np.einsum("ij,ij->i", real, real)
  fake_sq = np.einsum("ij,ij->i", fake, fake)
  balls_per_fake = np.zeros(n_fake, dtype=np.int64)  # real balls containing fake_j
  real_recalled = np.empty(n_real, dtype=bool)  # real_i inside some fake ball
  real_covered = np.empty(n_real, dtype=bool)  # nearest fake inside real_i's ball
  for lo in range(0, n_real, block_size):
    hi = min(lo + block_size, n_real)
    d = _block_distances(real[lo:hi], real_sq[lo:hi], fake, fake_sq)
    r = real_radii[lo:hi, None]
    balls_per_fake += (d < r).sum(axis=0)
    real_recalled[lo:hi] = (d < fake_radii[None, :]).any(axis=1)
    real_covered[lo:hi] = d.min(axis=1) < real_radii[lo:hi]

  return dict(
      precision=float((balls_per_fake > 0).mean()),
      recall=float(real_recalled.mean()),
      density=float(balls_per_fake.sum() / (k * n_fake)),
      coverage=float(real_covered.mean()),
  )


# ---------------------------------------------------------------------------- F1


def f1(precision: float, recall: float) -> float:
  """Harmonic mean of precision and recall; 0 when both are 0."""
  precision, recall = float(precision), float(recall)
  if precision + recall == 0:
    return 0.0
  return 2.0 * precision * recall / (precision + recall)
