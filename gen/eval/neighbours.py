r"""Nearest training neighbours of samples: does the model copy its training set?

  python -m gen.eval.neighbours --workdir=runs/gan_mnist
  python -m gen.eval.neighbours --workdir=runs/vae_mnist --step=5000 --k=5 --features=none

Draws --num_samples samples (default 1,000) of a run's checkpoint from a fixed key (by
default eval.py's sample-quality key, so they are the first samples eval.py scores),
finds each one's k nearest training images by exact Euclidean distance in pixel space
(the uint8 images as the data are stored, divided by 255 and flattened) and in the
feature space of eval.py (`pool` features of the dataset's classifier or the FID
Inception), and compares each sample's distance to its nearest training image with
that of held-out test images (the first --num_samples of data.eval_split) to theirs.
Test images are new draws from the data distribution: they say how close a model that
generalises comes to its training set, so samples much closer than test images come
are memorised ones. Pixel distance alone misses copies that are shifted or otherwise
slightly changed (Theis et al. 2016, "A note on the evaluation of generative models"),
hence the feature space beside it. Writes RUN/neighbours/:

  step_<N>.png            the --num_shown samples nearest to the training set (pixel
                          space), each beside its k nearest training images in pixel
                          and in feature space, with their distances
  step_<N>_distances.png  histograms of the nearest-train distances of samples and of
                          test images, with the test images' 1st percentile marked
  step_<N>.json           distance_summary per space, the shown samples' neighbours
                          (training-set indices), provenance

Works for any image model with `sample`; 2D data are refused (eval.py's mode coverage
judges those).
"""

from __future__ import annotations

import json
import os
import sys
import time

import jax
import numpy as np
from absl import logging
from scipy import stats

from gen import cli
from gen import data as data_lib
from gen.eval import provenance, sample_quality
from gen.eval import run as eval_run
from gen.viz import pyplot

DEFAULT_NUM_SAMPLES = 1000
DEFAULT_NUM_SHOWN = 8
DEFAULT_K = 5
# Entries of one chunk's (queries x refs) distance matrix, 32 MB as float64 (a chunk holds
# a few such arrays): 1,000 samples against MNIST's 60,000 training images take 15
# chunks instead of one of 480 MB per array.
_CHUNK_ENTRIES = 1 << 22
# One-sided binomial test of "samples fall below the test images' 1st percentile no
# more often than test images do": below this p-value the summary says memorised.
MEMORISED_P_VALUE = 1e-3
THRESHOLD_QUANTILE = 0.01
_QUANTILES = {'q01': 0.01, 'q05': 0.05, 'q25': 0.25, 'median': 0.5, 'q75': 0.75, 'q95': 0.95}


class NeighboursError(ValueError):
  """A run or a setting the memorisation check cannot use (user error)."""


# -- Exact k-NN -----------------------------------------------------------------------------


def _flat(x, name: str) -> np.ndarray:
  x = np.asarray(x, np.float32)
  x = x.reshape(len(x), -1)
  if not np.all(np.isfinite(x)):
    raise ValueError(f'{name} has non-finite values')
  return x


def nearest(queries, refs, k: int, chunk: int | None = None) -> tuple[np.ndarray, np.ndarray]:
  """(distances (Q, k) float64, indices (Q, k) int64) of each query's k nearest refs.

  Exact Euclidean distance of the flattened float32 vectors, ties broken by the lower
  ref index, so the answer is the same on every machine and thread count (a copy must
  read 0, not the rounding noise of |q|^2 + |r|^2 - 2 q.r, and two duplicate training
  images must always rank the same way). The fast expansion, one float32 matmul per
  chunk of `chunk` queries (default: about 4M distances a chunk, so memory stays
  bounded for any number of queries), only selects candidates: every ref whose
  distance could, within the matmul's rounding bound, be among the k smallest.
  Their distances are then recomputed exactly as sum((q - r)^2) in float64.
  """
  q, r = _flat(queries, 'queries'), _flat(refs, 'refs')
  if q.shape[1] != r.shape[1]:
    raise ValueError(f'queries have {q.shape[1]} values each but refs have {r.shape[1]}')
  if not 1 <= k <= len(r):
    raise ValueError(f'need 1 <= k <= {len(r)} (the number of refs), got k={k}')
  if chunk is None:
    chunk = max(1, _CHUNK_ENTRIES // len(r))
  if chunk < 1:
    raise ValueError(f'chunk must be >= 1, got {chunk}')
  # A float32 dot product of length D errs by at most gamma_D sum|q_i r_i|, gamma_D ~ D u
  # (u = eps / 2), in any summation order (Higham, Accuracy and Stability of Numerical
  # Algorithms, ch. 3), so the expanded squared distance errs by at most
  # gamma_D (|q|^2 + |r|^2). The slack is four times that, plus room for float64.
  tol = 2.0 * q.shape[1] * np.finfo(np.float32).eps + 1e-12
  q_sq = np.sum(np.square(q, dtype=np.float64), axis=1)
  r_sq = np.sum(np.square(r, dtype=np.float64), axis=1)
  dist = np.empty((len(q), k), np.float64)
  index = np.empty((len(q), k), np.int64)
  for start in range(0, len(q), chunk):
    qc = q[start : start + chunk]
    approx = (q_sq[start : start + chunk, None] + r_sq[None, :]) - 2.0 * (qc @ r.T).astype(
        np.float64
    )
    slack = tol * (q_sq[start : start + chunk, None] + r_sq[None, :])
    # The k-th smallest upper bound caps the true k-th distance; any ref whose lower
    # bound is above it cannot be among the k nearest.
    cap = np.partition(approx + slack, k - 1, axis=1)[:, k - 1]
    candidates = approx - slack <= cap[:, None]
    for row, query in enumerate(qc):
      cand = np.flatnonzero(candidates[row])
      diff = r[cand].astype(np.float64) - query.astype(np.float64)
      sq = np.sum(diff * diff, axis=1)
      order = np.lexsort((cand, sq))[:k]
      dist[start + row] = np.sqrt(sq[order])
      index[start + row] = cand[order]
  return dist, index


# -- Statistics -----------------------------------------------------------------------------


def _describe(d: np.ndarray) -> dict:
  out = {'n': int(len(d)), 'min': float(d.min()), 'mean': float(d.mean())}
  out.update({name: float(np.quantile(d, q)) for name, q in _QUANTILES.items()})
  out['max'] = float(d.max())
  return out


def distance_summary(sample_d, test_d) -> dict:
  """Nearest-train distances of samples against those of held-out test images.

  The test images' distances say how close new data from the same distribution come
  to the training set; their 1st percentile is the `threshold`. `memorised_fraction`
  is the share of samples at or below it; a model that draws new images puts about
  `test_fraction_at_threshold` (about 1 %) there, a model that copies puts its copies
  there too. `p_value` is the one-sided binomial probability of at least that many
  samples at the threshold if samples were as close as test images; `memorised` is
  p_value < MEMORISED_P_VALUE. `copy_fraction` counts exact copies (distance 0), and
  `median_ratio` is the samples' median over the test images' (about 1 when they are
  alike; None when the test median is 0).
  """
  s = np.asarray(sample_d, np.float64).reshape(-1)
  t = np.asarray(test_d, np.float64).reshape(-1)
  if len(s) == 0 or len(t) == 0:
    raise ValueError(f'need samples and test images, got {len(s)} and {len(t)} distances')
  if not (np.all(np.isfinite(s)) and np.all(np.isfinite(t))):
    raise ValueError('distances must be finite')
  threshold = float(np.quantile(t, THRESHOLD_QUANTILE))
  at_threshold = int(np.sum(s <= threshold))
  p = float(np.mean(t <= threshold))
  p_value = float(stats.binom.sf(at_threshold - 1, len(s), p))
  test_median = float(np.median(t))
  return {
      'samples': _describe(s),
      'test': _describe(t),
      'threshold': threshold,
      'threshold_rule': f'{THRESHOLD_QUANTILE:g} quantile of the test images\' distances',
      'memorised_fraction': at_threshold / len(s),
      'test_fraction_at_threshold': p,
      'p_value': p_value,
      'memorised': bool(p_value < MEMORISED_P_VALUE),
      'copy_fraction': float(np.mean(s == 0)),
      'test_copy_fraction': float(np.mean(t == 0)),
      'median_ratio': float(np.median(s)) / test_median if test_median > 0 else None,
  }


# -- Figures --------------------------------------------------------------------------------


def _show(ax, image: np.ndarray) -> None:
  if image.shape[-1] == 1:
    ax.imshow(image[..., 0], cmap='gray', vmin=0, vmax=255, interpolation='nearest')
  else:
    ax.imshow(image, interpolation='nearest')
  ax.set_xticks([])
  ax.set_yticks([])


def save_panel(samples, train, rows, spaces, path: str, title: str = '') -> None:
  """PNG of samples[rows], each followed by its k nearest training images, one column
  group per space. `spaces`: [(name, distances (Q, k), indices (Q, k))] over all samples;
  uint8 (N, H, W, C) images. Each neighbour is labelled with its distance (red: 0, a
  copy) and its training index, so a suspicious pair can be looked up."""
  plt = pyplot.pyplot()
  k = spaces[0][1].shape[1]
  group = 1 + k
  cols = len(spaces) * group + len(spaces) - 1  # a narrow spacer between groups
  widths = ([1.0] * group + [0.3]) * len(spaces)
  fig, axes = plt.subplots(
      len(rows),
      cols,
      figsize=(max(5.0, 0.95 * sum(widths[:cols]) + 0.2), 1.15 * len(rows) + 0.8),
      dpi=100,
      squeeze=False,
      gridspec_kw={'width_ratios': widths[:cols]},
  )
  for g, (name, dist, index) in enumerate(spaces):
    left = g * (group + 1)
    for r, i in enumerate(rows):
      _show(axes[r, left], samples[i])
      axes[r, left].set_xlabel(f'sample {i}', fontsize=6)
      for spine in axes[r, left].spines.values():
        spine.set_edgecolor('tab:blue')
        spine.set_linewidth(2)
      for j in range(k):
        ax = axes[r, left + 1 + j]
        _show(ax, train[index[i, j]])
        ax.set_xlabel(
            f'{dist[i, j]:.3g}  #{index[i, j]}',
            fontsize=6,
            color='tab:red' if dist[i, j] == 0 else 'black',
        )
    axes[0, left].set_title(f'{name}\nsample', fontsize=7)
    for j in range(k):
      axes[0, left + 1 + j].set_title(f'train nn {j + 1}', fontsize=7)
    if g + 1 < len(spaces):
      for r in range(len(rows)):
        axes[r, left + group].axis('off')
  fig.suptitle(title, fontsize=8)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def save_histograms(spaces, path: str, title: str = '') -> None:
  """PNG of the nearest-train distances of samples and of test images, one plot per
  space, on shared bins as densities (the sets may differ in size), with the test
  images' 1st percentile (the memorisation threshold) dashed. `spaces`: [(name,
  sample_d, test_d, summary)]."""
  plt = pyplot.pyplot()
  fig, axes = plt.subplots(1, len(spaces), figsize=(5 * len(spaces), 3.8), dpi=100, squeeze=False)
  for ax, (name, sample_d, test_d, summary) in zip(axes[0], spaces):
    both = np.concatenate([sample_d, test_d])
    lo, hi = float(both.min()), float(both.max())
    bins = np.linspace(lo, hi if hi > lo else lo + 1e-6, 51)
    ax.hist(sample_d, bins=bins, density=True, alpha=0.5, color='tab:orange',
            label=f'samples (n={len(sample_d)})')  # fmt: skip
    ax.hist(test_d, bins=bins, density=True, alpha=0.5, color='tab:blue',
            label=f'test images (n={len(test_d)})')  # fmt: skip
    ax.axvline(summary['threshold'], ls='--', c='k', lw=1, label='test 1st percentile')
    ax.set_xlabel(f'distance to the nearest training image ({name})')
    ax.set_ylabel('density')
    ax.set_title(
        f'{name}: {100 * summary["memorised_fraction"]:.1f}% of samples at or below the '
        f'line (test: {100 * summary["test_fraction_at_threshold"]:.1f}%)\n'
        f'p = {summary["p_value"]:.2g}: {"MEMORISED" if summary["memorised"] else "not memorised"}',
        fontsize=8,
    )
    ax.legend(fontsize=7)
  fig.suptitle(title, fontsize=8)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


# -- A run ----------------------------------------------------------------------------------


def pixels(images: np.ndarray) -> np.ndarray:
  """uint8 images -> (N, H*W*C) float32 in [0, 1]: distances in units of full intensity."""
  images = np.asarray(images)
  return images.reshape(len(images), -1).astype(np.float32) / 255.0


def _check_counts(num_samples: int, num_shown: int, k: int) -> None:
  for name, value in (('num_samples', num_samples), ('num_shown', num_shown), ('k', k)):
    if value < 1:
      raise NeighboursError(f'--{name}={value}: must be >= 1.')
  if num_shown > num_samples:
    raise NeighboursError(
        f'--num_shown={num_shown}: must be at most --num_samples={num_samples}.'
    )


def _split_uint8(config, info, split: str, num: int | None = None) -> np.ndarray:
  src = data_lib.source(config, split)
  n = len(src) if num is None else min(num, len(src))
  return sample_quality.reference_uint8(src.get(np.arange(n))['x'], info.levels)


def run(
    workdir: str,
    step: int | None = None,
    *,
    num_samples: int = DEFAULT_NUM_SAMPLES,
    num_shown: int = DEFAULT_NUM_SHOWN,
    k: int = DEFAULT_K,
    features: str | None = None,
    classifier: str | None = None,
    inception_weights: str | None = None,
    seed: int | None = None,
    chunk: int | None = None,
) -> dict:
  """The memorisation check of a run's checkpoint; writes and returns the JSON record."""
  _check_counts(num_samples, num_shown, k)
  config = eval_run.read_config(workdir)
  info = data_lib.info(config)
  if info.kind != 'image':
    raise NeighboursError(
        f'{config.data.name!r} is 2D points, not images: the nearest-neighbour check is for '
        'image models (2D runs are judged by their mode coverage, python eval.py '
        f'--workdir={workdir}).'
    )
  # Bad settings fail before any checkpoint is restored.
  extractor, skipped = eval_run.select_extractor(
      config, info, features, classifier, inception_weights
  )
  train = _split_uint8(config, info, config.data.train_split)
  if k > len(train):
    raise NeighboursError(f'--k={k}: the training split has only {len(train)} images.')
  test = _split_uint8(config, info, config.data.eval_split, num_samples)
  config, info, model, state, step = eval_run.load_run(workdir, step)
  seed = config.seed if seed is None else seed
  # eval.py's sample-quality key: with the run's seed and batch size, the same samples.
  salt = eval_run.SAMPLE_KEY_SALT
  key = jax.random.fold_in(jax.random.PRNGKey(seed), salt)
  start = time.time()
  sample_jit = jax.jit(model.sample, static_argnums=2)
  x = sample_quality.draw_samples(
      lambda kk, n: sample_jit(state, kk, n), key, num_samples, config.eval.batch_size
  )
  samples = sample_quality.to_uint8(
      x, config.data.scale, info.levels, config.data.binarize, config.data.dequantize
  ).reshape((num_samples,) + train.shape[1:])
  seconds = {'sampling': time.time() - start}

  vectors = {'pixel': (pixels(samples), pixels(train), pixels(test))}
  cache = None
  if extractor is not None:
    start = time.time()
    train_features, cache = sample_quality.reference_features(
        extractor,
        train,
        os.path.join(workdir, 'eval', 'reference_features') if jax.process_index() == 0 else None,
        config.data.name,
        config.data.train_split,
    )
    vectors[extractor.name] = (
        extractor(samples)['pool'],
        train_features['pool'],
        extractor(test)['pool'],
    )
    seconds['features'] = time.time() - start
  elif skipped:
    logging.warning('Pixel space only: %s.', skipped)

  start = time.time()
  found, test_found, summaries = {}, {}, {}
  for name, (q, refs, t) in vectors.items():
    found[name] = nearest(q, refs, k, chunk)  # (distances, indices)
    test_found[name] = nearest(t, refs, 1, chunk)[0][:, 0]
    summaries[name] = distance_summary(found[name][0][:, 0], test_found[name])
  seconds['nearest'] = time.time() - start
  # The samples nearest to the training set are the ones a copy would be among.
  rows = np.argsort(found['pixel'][0][:, 0], kind='stable')[:num_shown]

  out = os.path.join(workdir, 'neighbours')
  stem = f'step_{step}'
  title = f'{config.model.name} on {config.data.name}, step {step}'
  result = {
      'step': step,
      'distances': summaries,
      'shown': [
          {
              'sample': int(i),
              **{
                  name: {
                      'train_indices': [int(j) for j in found[name][1][i]],
                      'distances': [float(d) for d in found[name][0][i]],
                  }
                  for name in found
              },
          }
          for i in rows
      ],
      'provenance': {
          'workdir': os.path.abspath(workdir),
          'model': config.model.name,
          'model_state': 'EMA networks' if config.train.ema_decay > 0 else 'trained networks',
          'dataset': config.data.name,
          'train_split': config.data.train_split,
          'num_train_images': len(train),
          'test_split': config.data.eval_split,
          'num_test_images': len(test),
          'test_images': 'the first num_test_images of the split, in order',
          'num_samples': num_samples,
          'sample_batch_size': config.eval.batch_size,
          'seed': seed,
          'sample_key': f'fold_in(PRNGKey({seed}), {salt}); batch i: fold_in(key, i)',
          'k': k,
          'distance': 'exact Euclidean; ties broken by the lower training index',
          'pixel_space': 'uint8 as the data are stored (samples rounded to it) / 255, flattened',
          'features': extractor.provenance() if extractor is not None else {'skipped': skipped},
          'train_features_cache': cache,
          'shown': f'the {len(rows)} samples nearest to the training set in pixel space',
          'panel_png': f'neighbours/{stem}.png',
          'distances_png': f'neighbours/{stem}_distances.png',
          'git_commit': provenance.git_commit(),
          'git_dirty': provenance.git_dirty(),
          'seconds': seconds,
      },
  }
  if jax.process_index() == 0:
    os.makedirs(out, exist_ok=True)
    save_panel(
        samples,
        train,
        rows,
        [(name, d, i) for name, (d, i) in found.items()],
        os.path.join(out, f'{stem}.png'),
        title=f'{title}\neach sample (framed), its {k} nearest training images: distance, #index',
    )
    save_histograms(
        [(name, d[:, 0], test_found[name], summaries[name]) for name, (d, _) in found.items()],
        os.path.join(out, f'{stem}_distances.png'),
        title=title,
    )
    path = os.path.join(out, f'{stem}.json')
    with open(path + '.tmp', 'w') as f:  # atomic: a killed run leaves no partial record
      json.dump(result, f, indent=2)
    os.replace(path + '.tmp', path)
  return result


# -- Command line ---------------------------------------------------------------------------


def _define_flags():
  # Defined only when run as a program: importing this module (tests, other tools) must
  # not register flag names such as --workdir that other modules define too.
  from absl import flags  # noqa: PLC0415

  flags.DEFINE_string('workdir', None, 'Run directory written by train.py.')
  flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
  flags.DEFINE_integer(
      'num_samples', DEFAULT_NUM_SAMPLES, 'Samples (and at most as many test images) compared.'
  )
  flags.DEFINE_integer('num_shown', DEFAULT_NUM_SHOWN, 'Samples (rows) in the panel.')
  flags.DEFINE_integer('k', DEFAULT_K, 'Training neighbours shown per sample.')
  flags.DEFINE_enum(
      'features',
      None,
      list(eval_run.FEATURES),
      'Feature space besides pixels. Default: the dataset\'s classifier when one is trained, '
      'else pixels only (as eval.py).',
  )
  flags.DEFINE_string(
      'classifier', None, 'Classifier run directory (default: as eval.py, see its --help).'
  )
  flags.DEFINE_string(
      'inception_weights',
      None,
      'FID Inception weights file for --features=inception (default: $GEN_INCEPTION_WEIGHTS).',
  )
  flags.DEFINE_integer('seed', None, 'Seed of the sample key (default: the run\'s seed).')
  flags.mark_flags_as_required(['workdir'])



def main(argv):
  from absl import flags  # noqa: PLC0415

  cli.start_tool(argv)
  f = flags.FLAGS
  try:
    result = run(
        f.workdir,
        f.step,
        num_samples=f.num_samples,
        num_shown=f.num_shown,
        k=f.k,
        features=f.features,
        classifier=f.classifier,
        inception_weights=f.inception_weights,
        seed=f.seed,
    )
  except (*cli.USER_ERRORS, NeighboursError) as e:
    sys.exit(f'error: {e}')
  skipped = result['provenance']['features'].get('skipped')
  if skipped:
    print(f'Pixel space only: {skipped}.')
  for name, s in result['distances'].items():
    print(
        f'{name}: nearest-train distance median {s["samples"]["median"]:.4g} (samples) vs '
        f'{s["test"]["median"]:.4g} (test); {100 * s["memorised_fraction"]:.1f}% of samples '
        f'at or below the test 1st percentile (test: '
        f'{100 * s["test_fraction_at_threshold"]:.1f}%), {100 * s["copy_fraction"]:.1f}% exact '
        f'copies, p = {s["p_value"]:.2g}: {"MEMORISED" if s["memorised"] else "not memorised"}.'
    )
  out = os.path.join(f.workdir, 'neighbours', f'step_{result["step"]}')
  print(f'Wrote {out}.png, {out}_distances.png and {out}.json.')


if __name__ == '__main__':
  from absl import app  # noqa: PLC0415

  _define_flags()
  app.run(main, flags_parser=cli.parse_flags)
