r"""Likelihood-based out-of-distribution detection: does log p(x) tell the run's test
set from another dataset's? (the first use of a generative model: anomaly detection,
e.g. Bishop 1994, "Novelty detection and neural network validation").

  python -m gen.study.ood --workdir=runs/pixelcnn_fmnist --ood=mnist
  python -m gen.study.ood --workdir=runs/pixelcnn_mnist --ood=fashion_mnist --step=20000 \
      --num=2000 --out=runs/ood

Restores the run's checkpoint, scores each example of the run's own --split (default
test) and of the OOD dataset's --ood_split (default: --split) with the model's
log_likelihood (nats per example), the OOD images preprocessed exactly as the run's
(its config with data.name replaced: same data.scale, binarize, dequantize, seed), and
writes OUT/ood_<name>.json (OUT defaults to RUN/eval; `_<split>` is appended when the
OOD split is not test) and the histogram OUT/ood_<name>.png of both sets' bits/dim.
Scores are log p(x): HIGHER = MORE IN-DISTRIBUTION; the metrics (gen.eval.ood) are
AUROC, AUPRC with OOD as positive ("out", the usual convention) and with
in-distribution as positive ("in"), and FPR at 95 % TPR (the fraction of OOD accepted
at the threshold that keeps 95 % of the in-distribution set).

KNOWN FAILURE, reported as measured, not corrected: Nalisnick et al. 2019 ("Do Deep
Generative Models Know What They Don't Know?") found that flows, VAEs and PixelCNNs
trained on Fashion-MNIST assign HIGHER likelihood to MNIST (and CIFAR-10 models to
SVHN), so AUROC can be far BELOW 0.5. AUROC < 0.5 means the OOD set looks MORE
likely than the data the model was trained on; the likelihood is dominated by
low-level statistics (e.g. the number of background pixels) rather than semantics
(Serra et al. 2020; Ren et al. 2019 for likelihood ratios that correct it).

CORRECTION, reported beside the raw score: the input-complexity likelihood ratio of
Serra et al. 2020 (gen.eval.complexity): log p(x) - log p_0(x), with p_0(x) = 2^-L(x)
and L(x) the image's length as a PNG, under `metrics_complexity` (the same metrics).
It needs no second model; Ren et al.'s ratio needs a background model trained on
perturbed data for every run, which gen does not train.

The score is whatever the model's log_likelihood returns: exact for the PixelCNNs, a
stochastic lower bound for a VAE (drawn with the recorded key, the same for both
sets); bits/dim is -score / (D ln 2), a density's rather than a pmf's under a
continuous likelihood. Class-conditional models are scored by log p(x) =
logsumexp_y log p(x|y) - log K (a uniform class prior, K times the cost): an OOD set's
labels mean nothing to the model. Models without log_likelihood (GANs) are refused, as
are OOD datasets whose examples have another shape, kind or number of intensity levels
than the run's (the model's likelihood is a distribution on the run's data space only);
different levels are accepted under data.binarize, which maps both to {0, 1}.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from gen import config as config_lib
from gen import data as data_lib
from gen.data import sources
from gen.eval import complexity
from gen.eval import likelihood
from gen.eval import ood as ood_metrics
from gen.eval import provenance
from gen.eval import run as eval_run
from gen.train import loop
from gen.viz import pyplot

KEY_SALT = 2 << 29  # eval.py's evaluation key: the in-distribution NLL matches eval.py's
TPR = 0.95


class OODError(ValueError):
  """The run or the OOD dataset cannot be compared by likelihood (user error)."""


def output_name(ood: str, split: str = 'test') -> str:
  """File stem of a comparison: ood_<dataset>[_<split>], with ':' of tfds: names as '_'."""
  stem = 'ood_' + ood.replace(':', '_').replace('/', '_')
  return stem if split == 'test' else f'{stem}_{split}'


def ood_config(config, name: str, split: str):
  """The run's config with the data swapped: identical preprocessing, seed and data dir."""
  other = config_lib.from_json(config_lib.to_json(config))
  other.data.name = name
  other.data.eval_split = split
  return other


def _dataset_info(config, split: str) -> sources.DatasetInfo:
  """Info without reading files where it is known statically (local datasets)."""
  info = sources.local_info(config.data.name)
  if info is None:
    return data_lib.source(config, split).info
  if split not in info.splits:
    raise config_lib.ConfigError(
        f'unknown split {split!r} of {info.name!r}; valid: {list(info.splits)}'
    )
  return info


def check_compatible(run_info, ood_info, binarize: bool) -> None:
  """OODError unless the model's likelihood is defined on the OOD examples."""
  run_name, name = run_info.name, ood_info.name
  if ood_info.kind != run_info.kind or tuple(ood_info.shape) != tuple(run_info.shape):
    kinds = {'image': 'images', 'points': 'points'}
    raise OODError(
        f'--ood={name}: its examples are {kinds.get(ood_info.kind, ood_info.kind)} of shape '
        f"{tuple(ood_info.shape)} but the run's {run_name} are "
        f'{kinds.get(run_info.kind, run_info.kind)} of shape {tuple(run_info.shape)}; the '
        "model's likelihood is defined only on the run's data space, so pick an OOD dataset "
        'of the same shape (e.g. mnist vs fashion_mnist).'
    )
  if ood_info.levels != run_info.levels and not binarize:
    raise OODError(
        f'--ood={name}: its images have {ood_info.levels} intensity levels but the run\'s '
        f"{run_name} have {run_info.levels}; the model's likelihood is a distribution over "
        f'{run_info.levels} levels, so the scores would not be comparable.'
    )


def _marginal_over_classes(log_likelihood, num_classes: int):
  """log p(x) = logsumexp_y log p(x | y) - log K of a class-conditional model."""

  def ll(state, batch, key):
    n = batch['x'].shape[0]
    per_class = [
        log_likelihood(state, {**batch, 'label': jnp.full((n,), y, jnp.int32)}, key)
        for y in range(num_classes)
    ]
    return jax.nn.logsumexp(jnp.stack(per_class), axis=0) - math.log(num_classes)

  return ll


def scores(log_likelihood, state, batches, key, num: int | None = None) -> np.ndarray:
  """log p(x) in nats (float64) of the first `num` examples (default: all) of `batches`.

  `batches` yields (batch, num_valid) as gen.data.eval_batches does; batch i gets
  fold_in(key, i), as gen.eval.likelihood.evaluate, so their means agree.
  """
  ll = jax.jit(log_likelihood)
  out, count = [], 0
  for i, (batch, valid) in enumerate(batches):
    if num is not None:
      valid = min(valid, num - count)
    if valid <= 0:
      break
    batch = {k: jnp.asarray(v) for k, v in batch.items()}
    values = np.asarray(ll(state, batch, jax.random.fold_in(key, i)), np.float64)
    out.append(values[:valid])
    count += valid
  return np.concatenate(out) if out else np.zeros((0,), np.float64)


def image_levels(x, scale: str, levels: int) -> np.ndarray:
  """A preprocessed batch x (data.scale 'unit', 'symmetric' or 'none') -> int levels."""
  x = np.asarray(x, np.float64)
  if scale == 'symmetric':
    x = (x + 1.0) / 2.0
  if scale != 'none':
    x = x * (levels - 1)
  return np.clip(np.round(x), 0, levels - 1).astype(np.int64)


def complexities(batches, num: int | None, scale: str, levels: int) -> np.ndarray:
  """PNG lengths in bits (gen.eval.complexity) of the examples `scores` scores."""
  out, count = [], 0
  for batch, valid in batches:
    if num is not None:
      valid = min(valid, num - count)
    if valid <= 0:
      break
    out.append(complexity.png_bits(image_levels(batch['x'][:valid], scale, levels), levels))
    count += valid
  return np.concatenate(out) if out else np.zeros((0,), np.float64)


def _set_record(name: str, split: str, values: np.ndarray, num_dims: int) -> dict:
  mean = float(np.mean(values))
  return {
      'dataset': name,
      'split': split,
      'num_examples': int(len(values)),
      'mean_log_likelihood_nats': mean,
      'nll_nats': -mean,
      'bits_per_dim': likelihood.bits_per_dim(-mean, num_dims),
      'median_bits_per_dim': likelihood.bits_per_dim(-float(np.median(values)), num_dims),
  }


def save_histogram(in_bpd, out_bpd, path: str, *, labels, title: str, threshold=None) -> None:
  """Overlaid histograms of per-example bits/dim on shared bins (densities: the sets
  may differ in size); `threshold` (bits/dim) is drawn as a dashed line."""
  plt = pyplot.pyplot()

  both = np.concatenate([in_bpd, out_bpd])
  finite = both[np.isfinite(both)]
  lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
  bins = np.linspace(lo, hi if hi > lo else lo + 1e-6, 61)
  fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
  for values, label, colour in zip((in_bpd, out_bpd), labels, ('tab:blue', 'tab:orange')):
    values = values[np.isfinite(values)]
    ax.hist(values, bins=bins, density=True, alpha=0.5, color=colour, label=label)
  if threshold is not None and np.isfinite(threshold):
    ax.axvline(threshold, ls='--', c='k', lw=1, label=f'{100 * TPR:g}% TPR threshold')
  ax.set_xlabel('bits/dim  (lower = more likely under the model)')
  ax.set_ylabel('density')
  ax.legend(fontsize=8)
  ax.set_title(title, fontsize=8)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def run(
    workdir: str,
    ood: str,
    step: int | None = None,
    *,
    split: str = 'test',
    ood_split: str | None = None,
    num: int | None = None,
    batch_size: int | None = None,
    out: str | None = None,
) -> dict:
  """Scores the run's split and the OOD split; writes and returns the JSON record."""
  ood_split = ood_split or split
  if num is not None and num < 1:
    raise OODError(f'--num={num}: must be >= 1 (or omitted: every example).')
  if batch_size is not None and batch_size < 1:
    raise OODError(f'--batch_size={batch_size}: must be >= 1.')
  config = eval_run.read_config(workdir)
  in_config = ood_config(config, config.data.name, split)
  try:
    run_info = _dataset_info(in_config, split)
  except config_lib.ConfigError as e:
    raise config_lib.ConfigError(f'--split={split}: {e}') from None
  # Every refusal comes before a checkpoint is restored or a dataset file is read.
  _, model, _ = loop.setup(in_config)
  if model.log_likelihood is None:
    raise OODError(
        f'model {config.model.name!r} of {workdir} has no likelihood (no log_likelihood in '
        'its Model), so it cannot score examples by log p(x); train a likelihood model, '
        'e.g. configs/pixelcnn.py.'
    )
  other = ood_config(config, ood, ood_split)
  try:
    other_info = _dataset_info(other, ood_split)
  except config_lib.ConfigError as e:
    raise config_lib.ConfigError(f'--ood={ood}: {e}') from None
  check_compatible(run_info, other_info, bool(config.data.binarize))

  config, info, model, state, step = eval_run.load_run(workdir, step)
  num_dims = math.prod(info.shape)
  log_likelihood = model.log_likelihood
  if model.num_classes:
    log_likelihood = _marginal_over_classes(log_likelihood, model.num_classes)
  batch_size = batch_size or config.eval.batch_size
  if num is not None:
    batch_size = min(batch_size, num)
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), KEY_SALT)
  start = time.time()
  in_batches = data_lib.eval_batches(in_config, split, batch_size)
  s_in = scores(log_likelihood, state, in_batches, key, num)
  ood_batches = data_lib.eval_batches(other, ood_split, batch_size)
  s_out = scores(log_likelihood, state, ood_batches, key, num)
  seconds = time.time() - start
  levels = 2 if config.data.binarize else info.levels
  png = [
      complexities(data_lib.eval_batches(c, sp, batch_size), num, config.data.scale, levels)
      for c, sp in ((in_config, split), (other, ood_split))
  ]

  metrics = ood_metrics.summary(s_in, s_out, TPR)
  corrected = ood_metrics.summary(s_in + png[0] * math.log(2), s_out + png[1] * math.log(2), TPR)
  pct = f'{100 * TPR:g}'
  threshold_nats = metrics.pop(f'threshold_at_{pct}_tpr')
  metrics[f'threshold_at_{pct}_tpr_log_likelihood_nats'] = threshold_nats
  metrics[f'threshold_at_{pct}_tpr_bits_per_dim'] = likelihood.bits_per_dim(
      -threshold_nats, num_dims
  )
  stem = output_name(ood, ood_split)
  out = out or os.path.join(workdir, 'eval')
  result = {
      'step': step,
      'metrics': metrics,
      'metrics_complexity': {k: v for k, v in corrected.items() if not k.startswith('threshold')},
      'in_distribution': {
          **_set_record(config.data.name, split, s_in, num_dims),
          'mean_png_bits': float(np.mean(png[0])),
      },
      'ood': {**_set_record(ood, ood_split, s_out, num_dims), 'mean_png_bits': float(np.mean(png[1]))},
      'provenance': {
          'workdir': os.path.abspath(workdir),
          'step': step,
          'model': config.model.name,
          'model_state': 'EMA networks' if config.train.ema_decay > 0 else 'trained networks',
          'score': (
              'log p(x) in nats per example (higher = more in-distribution)'
              + (', marginalised over a uniform class prior' if model.num_classes else '')
          ),
          'datasets': {'in': config.data.name, 'ood': ood},
          'splits': {'in': split, 'ood': ood_split},
          'examples': 'the first num_examples of each split, in order',
          'num': num,
          'batch_size': batch_size,
          'preprocessing': {
              'scale': config.data.scale,
              'binarize': bool(config.data.binarize),
              'dequantize': bool(config.data.dequantize),
              'noise': 'numpy default_rng([seed, 2, batch start]) per batch (gen.data.iterator)',
          },
          'seed': config.seed,
          'key': f'fold_in(PRNGKey({config.seed}), {KEY_SALT}); batch i: fold_in(key, i)',
          'auprc_positive': {'auprc_out': 'ood', 'auprc_in': 'in-distribution'},
          'complexity_score': (
              'log p(x) + L(x) ln 2, L(x) the PNG length in bits (Serra et al. 2020)'
          ),
          'tpr_positive': 'in-distribution',
          'histogram_png': f'{stem}.png',
          'git_commit': provenance.git_commit(),
          'git_dirty': provenance.git_dirty(),
          'seconds': seconds,
      },
  }
  if jax.process_index() == 0:
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, f'{stem}.json'), 'w') as f:
      json.dump(result, f, indent=2)
    to_bpd = 1.0 / (num_dims * math.log(2))
    save_histogram(
        -s_in * to_bpd,
        -s_out * to_bpd,
        os.path.join(out, f'{stem}.png'),
        labels=(
            f'{config.data.name}/{split} (in, n={len(s_in)})',
            f'{ood}/{ood_split} (OOD, n={len(s_out)})',
        ),
        title=(
            f'{config.model.name} trained on {config.data.name}, step {step}: '
            f'{config.data.name} vs {ood}\nAUROC {metrics["auroc"]:.3f} '
            f'(0.5: chance; < 0.5: the OOD set looks more likely), FPR@{pct}%TPR '
            f'{metrics[f"fpr_at_{pct}_tpr"]:.3f}'
        ),
        threshold=metrics[f'threshold_at_{pct}_tpr_bits_per_dim'],
    )
  return result


def _define_flags():
  # Defined only when run as a program: importing this module (tests, other studies)
  # must not register flag names such as --out that other modules define too.
  from absl import flags  # noqa: PLC0415

  flags.DEFINE_string('workdir', None, 'Run directory written by train.py.')
  flags.DEFINE_string('ood', None, 'OOD dataset, a data.name (e.g. mnist, tfds:svhn_cropped).')
  flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
  flags.DEFINE_string('split', 'test', "Split of the run's dataset scored as in-distribution.")
  flags.DEFINE_string('ood_split', None, 'Split of the OOD dataset (default: --split).')
  flags.DEFINE_integer('num', None, 'Examples of each split, the first N (default: all).')
  flags.DEFINE_integer('batch_size', None, 'Scoring batch (default: config eval.batch_size).')
  flags.DEFINE_string('out', None, 'Output directory (default: RUN/eval).')
  flags.mark_flags_as_required(['workdir', 'ood'])
  return flags



def main(argv):
  from absl import flags  # noqa: PLC0415

  from gen import cli  # noqa: PLC0415

  cli.start_tool(argv)
  f = flags.FLAGS
  try:
    result = run(
        f.workdir,
        f.ood,
        f.step,
        split=f.split,
        ood_split=f.ood_split,
        num=f.num,
        batch_size=f.batch_size,
        out=f.out,
    )
  except (*cli.USER_ERRORS, OODError) as e:
    sys.exit(f'error: {e}')
  out = f.out or os.path.join(f.workdir, 'eval')
  stem = output_name(f.ood, result['ood']['split'])
  m, a, b = result['metrics'], result['in_distribution'], result['ood']
  for r in (a, b):
    print(
        f'{r["dataset"]}/{r["split"]}: {r["num_examples"]} examples, mean log p(x) '
        f'{r["mean_log_likelihood_nats"]:.2f} nats, {r["bits_per_dim"]:.4f} bits/dim'
    )
  for name, ms in (('log p(x)', m), ('complexity-corrected', result['metrics_complexity'])):
    print(
        f'{name}: AUROC {ms["auroc"]:.4f}, AUPRC-out {ms["auprc_out"]:.4f}, '
        f'AUPRC-in {ms["auprc_in"]:.4f}, FPR@95%TPR {ms["fpr_at_95_tpr"]:.4f}'
    )
  if m['auroc'] < 0.5:
    print(
        f'AUROC < 0.5: the model gives {b["dataset"]} HIGHER likelihood than its own test data '
        '(the failure Nalisnick et al. 2019 describe).'
    )
  print(f'Wrote {out}/{stem}.json and {out}/{stem}.png.')


if __name__ == '__main__':
  from absl import app  # noqa: PLC0415

  from gen import cli  # noqa: PLC0415

  _define_flags()
  app.run(main, flags_parser=cli.parse_flags)
