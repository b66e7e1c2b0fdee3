"""Sample quality of a generative model: N samples against a reference split, in one feature space.

  evaluate(sample, real_images, extractor, key=...) -> {'metrics': ..., 'provenance': ..., ...}

draws `num_samples` samples (default 10,000) in batches from a fixed key,
quantises them to uint8 as the data are stored, maps both sets through the
extractor (gen.eval.features) and computes, with gen.eval.metrics:

  FID               Frechet distance of the `pool` features (Heusel et al. 2017)
  IS, IS std        Inception Score of the samples' `logits` over 10 splits
                    (Salimans et al. 2016); with a classifier, its analogue
  KID, KID std      unbiased polynomial-kernel MMD^2 over 100 subsets of 1,000
                    (Binkowski et al. 2018)
  PRD F8, PRD F1/8  max F_8 (recall-like) and F_1/8 (precision-like) of the
                    PRD curve (Sajjadi et al. 2018): 20 k-means clusters,
                    1001 angles, 10 runs, on equally many samples of each set
  precision, recall k-NN manifold precision / recall, k = 5 (Kynkaanniemi et al. 2019)
  density, coverage (Naeem et al. 2020), k = 5
  F1                harmonic mean of that precision and recall

Every metric is labelled with the extractor's name ("FID (classifier:mnist)").
The reference features can be cached in a directory, keyed by the extractor's
name and weights SHA-256, the split and the SHA-256 of the reference images.
The PRD curve is written as a PNG.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
import zipfile
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import threadpoolctl

from gen.eval import metrics as metrics_lib
from gen.eval import provenance as provenance_lib
from gen.eval.features import FeatureError, FeatureExtractor

DEFAULT_NUM_SAMPLES = 10_000
# Plain metric names, in the order they are reported; stored as extractor.label(name).
NAMES = (
    'FID',
    'IS',
    'IS std',
    'KID',
    'KID std',
    'PRD F8',
    'PRD F1/8',
    'precision',
    'recall',
    'density',
    'coverage',
    'F1',
)


@dataclasses.dataclass(frozen=True)
class Settings:
  """The metrics' own parameters (the reference implementations' defaults)."""

  is_splits: int = 10
  kid_subsets: int = 100
  kid_subset_size: int = 1000
  prd_clusters: int = 20
  prd_angles: int = 1001
  prd_runs: int = 10
  prdc_k: int = 5

  def min_samples(self) -> int:
    return max(self.is_splits, self.prdc_k + 1, self.prd_clusters, 2)


# -- Images ---------------------------------------------------------------------------------


def to_uint8(
    x, scale: str, levels: int | None = 256, binarize: bool = False, dequantize: bool = False
) -> np.ndarray:
  """Model-space images -> uint8 in 0..255, inverting gen.data's preprocessing.

  'symmetric': [-1, 1]; 'unit': [0, 1]; binarized or dequantized data are in
  [0, 1] before scaling; 'none': raw intensities 0..levels-1. Values are
  rounded to the nearest of the 256 levels and clipped.
  """
  x = np.asarray(x, np.float64)
  if scale == 'symmetric':
    u = (x + 1.0) / 2.0
  elif scale == 'unit' or binarize or dequantize:
    u = x
  elif scale == 'none':
    u = x / float((levels or 256) - 1)
  else:
    raise ValueError(f'unknown scale {scale!r}')
  return np.clip(np.round(u * 255.0), 0, 255).astype(np.uint8)


def reference_uint8(images: np.ndarray, levels: int | None) -> np.ndarray:
  """A split's stored uint8 images (0..levels-1) on the 0..255 scale."""
  images = np.asarray(images)
  if levels in (None, 256):
    return images.astype(np.uint8, copy=False)
  return np.round(images.astype(np.float64) * (255.0 / (levels - 1))).astype(np.uint8)


def draw_samples(
    sample: Callable[[jax.Array, int], Any], key: jax.Array, n: int, batch_size: int
) -> np.ndarray:
  """n samples from `sample(key, batch_size)`, batch i drawn with fold_in(key, i); the
  last batch is drawn whole (same shapes, same batch statistics) and truncated."""
  if n < 1 or batch_size < 1:
    raise ValueError(f'need n >= 1 and batch_size >= 1, got {n} and {batch_size}')
  parts = []
  for i, start in enumerate(range(0, n, batch_size)):
    x = np.asarray(sample(jax.random.fold_in(key, i), batch_size))
    parts.append(x[: n - start])
  return np.concatenate(parts)


# -- Metrics --------------------------------------------------------------------------------


def metrics_from_features(
    fake: dict[str, np.ndarray],
    real: dict[str, np.ndarray],
    settings: Settings = Settings(),
    seed: int = 0,
) -> tuple[dict[str, float], tuple[np.ndarray, np.ndarray], dict[str, Any]]:
  """(metrics by plain name, PRD curve (precision, recall), details) of two feature sets
  {'pool': (N, D), 'logits': (N, K)}; `real` needs only 'pool'."""
  f, r = np.asarray(fake['pool']), np.asarray(real['pool'])
  n = min(len(f), len(r))
  if n < settings.min_samples():
    raise ValueError(
        f'need at least {settings.min_samples()} samples per set, got {len(f)} and {len(r)}'
    )
  out, seconds = {}, {}

  def timed(name, fn):
    start = time.perf_counter()
    value = fn()
    seconds[name] = round(time.perf_counter() - start, 3)
    return value

  out['FID'] = timed('FID', lambda: metrics_lib.fid(f, r))
  out['IS'], out['IS std'] = timed(
      'IS', lambda: metrics_lib.inception_score(fake['logits'], settings.is_splits)
  )
  out['KID'], out['KID std'] = timed(
      'KID',
      lambda: metrics_lib.kid(f, r, settings.kid_subsets, settings.kid_subset_size, seed=seed),
  )
  # PRD clusters the union, so it compares equally many points of each set.
  rng = np.random.RandomState(seed)
  f_prd = f if len(f) == n else f[np.sort(rng.choice(len(f), n, replace=False))]
  r_prd = r if len(r) == n else r[np.sort(rng.choice(len(r), n, replace=False))]
  # scikit-learn's MiniBatchKMeans runs tiny OpenMP / BLAS tasks per mini-batch: on the
  # shared 2-core CPU of docs/RESULTS.md one thread was 50 to 80 times faster than two.
  with threadpoolctl.threadpool_limits(1):
    precision_curve, recall_curve = timed(
        'PRD',
        lambda: metrics_lib.prd(
            f_prd,
            r_prd,
            settings.prd_clusters,
            settings.prd_angles,
            settings.prd_runs,
            seed=seed,
        ),
    )
  out['PRD F8'], out['PRD F1/8'] = metrics_lib.prd_f_beta(precision_curve, recall_curve, beta=8)
  prdc = timed('prdc', lambda: metrics_lib.prdc(r, f, k=settings.prdc_k))
  out.update(prdc)
  out['F1'] = metrics_lib.f1(prdc['precision'], prdc['recall'])
  details = {
      'seconds': seconds,
      'prd_num_samples': n,
      'kid_subset_size_used': min(settings.kid_subset_size, len(f), len(r)),
  }
  return {k: out[k] for k in NAMES}, (precision_curve, recall_curve), details


# -- Reference features, cached -------------------------------------------------------------


def _cache_file(cache_dir: str, extractor: FeatureExtractor, dataset: str, split: str) -> str:
  safe = re.sub(r'[^A-Za-z0-9_.-]+', '-', f'{extractor.name}_{dataset}_{split}')
  return os.path.join(cache_dir, f'{safe}_{extractor.weights_sha256[:16]}.npz')


def reference_features(
    extractor: FeatureExtractor,
    images: np.ndarray,
    cache_dir: str | None = None,
    dataset: str = '',
    split: str = '',
) -> tuple[dict[str, np.ndarray], str]:
  """(features of the reference images, 'hit' | 'computed' | 'off').

  With a cache_dir the features are stored in one .npz per (extractor, weights,
  dataset, split), together with the extractor's name, weights SHA-256 and
  resize rule and the SHA-256 of the images; a file whose record differs in
  any of them, or that cannot be read, is recomputed and replaced.
  """
  if cache_dir is None:
    return extractor(images), 'off'
  meta = {
      'feature_extractor': extractor.name,
      'weights_sha256': extractor.weights_sha256,
      'resize': extractor.resize,
      'dataset': dataset,
      'split': split,
      'images_sha256': provenance_lib.sha256_bytes(np.ascontiguousarray(images).tobytes()),
      'images_shape': list(images.shape),
  }
  path = _cache_file(cache_dir, extractor, dataset, split)
  if os.path.isfile(path):
    try:
      with np.load(path, allow_pickle=False) as npz:
        if json.loads(str(npz['meta'])) == meta:
          feats = {'pool': npz['pool'], 'logits': npz['logits']}
          if len(feats['pool']) == len(images) == len(feats['logits']):
            return feats, 'hit'
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
      pass  # unreadable: recompute below
  feats = extractor(images)
  os.makedirs(cache_dir, exist_ok=True)
  tmp = path + '.tmp'
  with open(tmp, 'wb') as f:
    np.savez(f, pool=feats['pool'], logits=feats['logits'], meta=np.array(json.dumps(meta)))
  os.replace(tmp, path)
  return feats, 'computed'


# -- Everything -----------------------------------------------------------------------------


def evaluate(
    sample: Callable[[jax.Array, int], Any],
    real_images: np.ndarray,
    extractor: FeatureExtractor,
    *,
    key: jax.Array,
    scale: str = 'symmetric',
    levels: int | None = 256,
    binarize: bool = False,
    dequantize: bool = False,
    num_samples: int = DEFAULT_NUM_SAMPLES,
    batch_size: int = 500,
    seed: int = 0,
    settings: Settings = Settings(),
    png_path: str | None = None,
    cache_dir: str | None = None,
    dataset: str = '',
    split: str = '',
    title: str = '',
) -> dict[str, Any]:
  """Sample-quality metrics of `sample(key, n) -> images in the data's scale`.

  `real_images`: the reference split as uint8 on the 0..255 scale
  (`reference_uint8`). `scale`, `levels`, `binarize`, `dequantize` describe the
  data's preprocessing, inverted by `to_uint8` for the samples. Returns
  {'metrics': {label: value}, 'provenance': {...}, 'prd_curve': (precision, recall)}.
  """
  if num_samples < settings.min_samples():
    raise FeatureError(
        f'--num_samples must be at least {settings.min_samples()}, got {num_samples}.'
    )
  real_images = np.asarray(real_images)
  if real_images.dtype != np.uint8:
    raise TypeError(f'reference images must be uint8 on 0..255, got {real_images.dtype}')
  seconds = {}
  start = time.perf_counter()
  x = draw_samples(sample, key, num_samples, batch_size)
  fake_images = to_uint8(x, scale, levels, binarize, dequantize).reshape(
      (num_samples,) + real_images.shape[1:]
  )
  seconds['sampling'] = round(time.perf_counter() - start, 3)

  start = time.perf_counter()
  fake = extractor(fake_images)
  seconds['sample_features'] = round(time.perf_counter() - start, 3)
  start = time.perf_counter()
  real, cache = reference_features(extractor, real_images, cache_dir, dataset, split)
  seconds['reference_features'] = round(time.perf_counter() - start, 3)

  values, (precision_curve, recall_curve), details = metrics_from_features(
      fake, real, settings, seed
  )
  seconds.update(details['seconds'])
  real_is = metrics_lib.inception_score(real['logits'], settings.is_splits)
  labelled = {extractor.label(k): v for k, v in values.items()}

  if png_path is not None:
    from gen.viz import curves  # imported here: matplotlib is slow to load

    os.makedirs(os.path.dirname(os.path.abspath(png_path)), exist_ok=True)
    curves.save_pr_curve(
        precision_curve,
        recall_curve,
        png_path,
        title=(
            f'{title}\nPRD ({extractor.name}): F8 {values["PRD F8"]:.3f}, '
            f'F1/8 {values["PRD F1/8"]:.3f}'
        ).strip(),
        label=f'PRD ({extractor.name})',
        point=(values['precision'], values['recall']),
        point_label=f'k-NN precision / recall (k={settings.prdc_k})',
    )

  provenance = {
      **extractor.provenance(),
      'num_samples': num_samples,
      'sample_batch_size': batch_size,
      'samples_quantised': 'to uint8 0..255 as the data are stored, before feature extraction',
      'reference': {
          'dataset': dataset,
          'split': split,
          'num_images': len(real_images),
          'images_sha256': provenance_lib.sha256_bytes(np.ascontiguousarray(real_images).tobytes()),
          'features_cache': cache,
          extractor.label('IS'): real_is[0],
          extractor.label('IS std'): real_is[1],
      },
      'seed': seed,
      'settings': {
          **dataclasses.asdict(settings),
          'prd_num_samples': details['prd_num_samples'],
          'kid_subset_size_used': details['kid_subset_size_used'],
      },
      'prd_png': png_path,
      'git_commit': provenance_lib.git_commit(),
      'git_dirty': provenance_lib.git_dirty(),
      'seconds': seconds,
  }
  return {
      'metrics': labelled,
      'provenance': provenance,
      'prd_curve': (precision_curve, recall_curve),
  }
