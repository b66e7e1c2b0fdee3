"""The beta-VAE disentanglement metric (Higgins et al. 2017, "beta-VAE: Learning Basic Visual
Concepts with a Constrained Variational Framework", sec. 3).

Protocol of google-research/disentanglement_lib ``evaluation/metrics/beta_vae.py``
(``compute_beta_vae_sklearn``), step for step. For each of ``num_train`` (then ``num_eval``)
points: draw a factor index k uniformly; draw two batches of ``batch_size`` factor tuples;
copy factor k from the first batch into the second; render both and encode them with the
**mean** of q(z|x); the point's feature is ``mean_batch |r1 - r2|`` (one value per latent
dimension) and its label is k. A logistic regression is fitted on the training points; the
scores are its accuracy on them and on the separately drawn evaluation points. Defaults are
disentanglement_lib's ``beta_vae_sklearn.gin``: batch_size 64, num_train 10,000, num_eval
5,000. Chance is 1 / (number of factors), 0.2 on dSprites.

Differences, none in the protocol itself:
  * Randomness: one ``np.random.Generator`` drives every draw, in the reference's order
    (k, batch 1, batch 2 per point; the training points, then the evaluation points); the
    reference uses a ``RandomState``, so the draws, not their distribution, differ.
  * The classifier: ``sklearn.linear_model.LogisticRegression`` with today's defaults (lbfgs,
    multinomial, C = 1) but ``max_iter=1000`` instead of 100, so that the score does not
    depend on where lbfgs was cut off. On 10,000 points of rotated-factor latents, lbfgs
    converged in 57 iterations at unit scale but needed 169 with the latents scaled by 10 and
    858 by 100; the cap changes nothing where 100 suffice. (As in the reference, C = 1 makes
    the score depend slightly on the latents' scale: 0.969 vs 0.977 there.)
    disentanglement_lib passed no solver, so its published runs (2018-19, scikit-learn < 0.22)
    got that era's default, liblinear one-vs-rest; ``solver='liblinear'`` reproduces it. The
    two agree on well-separated features (1.0 vs 1.0 for a near-oracle encoder); on an
    entangled one (factors under a random rotation) we measured 0.968 (lbfgs) vs 0.938.
  * Encoding is batched: the images of several points go to ``encode_mean`` in one call of a
    fixed size (the last call padded), so a jitted encoder compiles once; the reference
    encodes each batch of ``batch_size`` on its own. A deterministic mean encoder gives the
    same representations either way.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn import linear_model

DEFAULT_BATCH_SIZE = 64
DEFAULT_NUM_TRAIN = 10_000
DEFAULT_NUM_EVAL = 5_000
_MAX_ITER = 1000
# Images per encoder call, rounded down to whole points (2 * batch_size images each).
_IMAGES_PER_CALL = 2048


def beta_vae_score(
    encode_mean: Callable[[np.ndarray], np.ndarray],
    dataset,
    key_or_seed,
    batch_size: int = DEFAULT_BATCH_SIZE,
    num_train: int = DEFAULT_NUM_TRAIN,
    num_eval: int = DEFAULT_NUM_EVAL,
    *,
    solver: str = 'lbfgs',
) -> dict:
  """The beta-VAE metric of ``encode_mean`` on a ground-truth-factor dataset.

  Args:
    encode_mean: float32 images (N, H, W, C) in [0, 1] -> representations (N, d), the mean of
      q(z|x) (e.g. a VAE's jitted encoder mean). Called with the images of 2048 // (2 *
      batch_size) points at a time (the last call padded), or once with all of them if fewer.
    dataset: anything with ``factor_sizes``, ``sample_factors(rng, n) -> (n, F) int`` and
      ``render(factors) -> uint8 (n, H, W, C)``, and optionally ``levels`` (default 2, binary)
      -- e.g. the module ``gen.data.dsprites`` or one of its sources.
    key_or_seed: an int seed or a JAX PRNG key; the score is a deterministic function of it.
    batch_size, num_train, num_eval: as in disentanglement_lib (see the module docstring).
    solver: 'lbfgs' (multinomial, today's scikit-learn default) or 'liblinear' (one-vs-rest,
      the default when disentanglement_lib's published scores were computed).

  Returns:
    dict with train_accuracy and eval_accuracy (floats in [0, 1]), num_train, num_eval and
    batch_size.
  """
  model = _classifier(solver)
  rng = np.random.default_rng(_seed_sequence(key_or_seed))
  train_x, train_y = _points(encode_mean, dataset, rng, batch_size, num_train)
  model.fit(train_x, train_y)
  train_accuracy = float(np.mean(model.predict(train_x) == train_y))
  eval_x, eval_y = _points(encode_mean, dataset, rng, batch_size, num_eval)
  eval_accuracy = float(np.mean(model.predict(eval_x) == eval_y))
  return {
      'train_accuracy': train_accuracy,
      'eval_accuracy': eval_accuracy,
      'num_train': int(num_train),
      'num_eval': int(num_eval),
      'batch_size': int(batch_size),
  }


def _classifier(solver: str):
  # The reference passes its RandomState; lbfgs draws nothing and liblinear only shuffles
  # for its dual solver, so a fixed int keeps the fit deterministic.
  if solver == 'lbfgs':
    return linear_model.LogisticRegression(random_state=0, max_iter=_MAX_ITER)
  if solver == 'liblinear':
    # scikit-learn >= 1.5 dropped multi_class='ovr'; OneVsRestClassifier is its replacement.
    from sklearn.multiclass import OneVsRestClassifier

    return OneVsRestClassifier(
        linear_model.LogisticRegression(solver='liblinear', random_state=0, max_iter=_MAX_ITER)
    )
  raise ValueError(f"solver must be 'lbfgs' or 'liblinear', not {solver!r}")


def _points(encode_mean, dataset, rng, batch_size: int, num_points: int):
  """(features (num_points, d) float64, labels (num_points,) int64): the reference's
  ``_generate_training_batch``, with the draws made point by point in its order and the
  rendering and encoding done many points at a time."""
  num_factors = len(dataset.factor_sizes)
  labels = np.empty(num_points, np.int64)
  pairs = np.empty((num_points, 2, batch_size, num_factors), np.int64)
  for i in range(num_points):
    k = int(rng.integers(num_factors))
    first = np.asarray(dataset.sample_factors(rng, batch_size))
    second = np.asarray(dataset.sample_factors(rng, batch_size)).copy()
    second[:, k] = first[:, k]
    labels[i], pairs[i, 0], pairs[i, 1] = k, first, second

  scale = 1.0 / (getattr(dataset, 'levels', 2) - 1)
  per_call = max(1, _IMAGES_PER_CALL // (2 * batch_size))
  features = None
  for start in range(0, num_points, per_call):
    chunk = pairs[start : start + per_call]
    valid = len(chunk)
    if valid < per_call and start > 0:  # pad to the same call size: one jit compilation
      chunk = np.concatenate([chunk, np.repeat(chunk[:1], per_call - valid, axis=0)])
    images = dataset.render(chunk.reshape(-1, num_factors)).astype(np.float32) * scale
    reps = np.asarray(encode_mean(images), np.float64)
    if reps.ndim != 2 or len(reps) != len(images):
      raise ValueError(
          f'encode_mean returned shape {reps.shape} for {len(images)} images; expected (N, d)'
      )
    reps = reps.reshape(len(chunk), 2, batch_size, -1)[:valid]
    if features is None:
      features = np.empty((num_points, reps.shape[-1]), np.float64)
    features[start : start + valid] = np.mean(np.abs(reps[:, 0] - reps[:, 1]), axis=1)
  return features, labels


def _seed_sequence(key_or_seed) -> list[int]:
  """Entropy for ``np.random.default_rng`` from an int seed or a JAX PRNG key."""
  if isinstance(key_or_seed, (int, np.integer)):
    return [int(key_or_seed)]
  import jax  # imported here: an int seed needs no JAX

  key = key_or_seed
  if jax.dtypes.issubdtype(getattr(key, 'dtype', None), jax.dtypes.prng_key):
    key = jax.random.key_data(key)
  return np.asarray(key, np.uint32).reshape(-1).tolist()
