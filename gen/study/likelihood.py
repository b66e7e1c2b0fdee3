r"""The likelihood families side by side: every likelihood model of gen on the same data
and splits, with what it costs (the lecture's pros and cons in numbers: explicit
densities that sample slowly; a VAE's bound against an exact likelihood).

  python -m gen.study.likelihood --out=runs/likelihood
  python -m gen.study.likelihood --out=runs/likelihood_300 --num_steps=300 \
      --models=pixelcnn,row_lstm,vae --datasets=binarized_mnist

Trains each model on each dataset (its own preset for that kind of data, the dataset
swapped in by overrides), evaluates the last checkpoint (eval.py's evaluation: test
NLL in nats and bits/dim: exact for the autoregressive models, the IWAE bound L_k for
the VAEs, k = --vae_k), then measures the sampling time per image (the config's own
sampler, compiled first, the best of two timed calls of --sample_n images) and runs
gen.study.ood for each trained pair of --ood_pairs, both ways (raw log p(x) and the
input-complexity ratio of Serra et al. 2020). Writes:

  OUT/likelihood.md, OUT/ood.md   the two tables
  OUT/results.json                every run's numbers
  OUT/nll_vs_cpu_<dataset>.png    test NLL against training CPU time, one point a model

Datasets (the same splits for every model: train, and the test split scored whole
unless --eval_num):
  binarized_mnist          the fixed binarization (Larochelle & Murray 2011) of the
                           PixelRNN paper's Table 4
  mnist, fashion_mnist     8-bit images (256 levels); the VAE with a discretized
                           logistic per pixel (configs/vae.py:mnist_8bit), not the other
                           VAEs (Bernoulli presets)
  mnist_binarized, fashion_mnist_binarized
                           dynamically binarized (train resampled, test binarized once
                           with the seed): the OOD pair every model can score
Each run lives in OUT/runs/<model>_<dataset>; a finished run (its study.json with the
same budget) is not trained again, so the command can be stopped and re-run (train.py
resumes an unfinished run from its checkpoint).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import jax
import numpy as np

from gen.eval import run as eval_run
from gen.study import ood as ood_study
from gen.study import runs
from gen.viz import pyplot

# model -> (config for binary data, config for 8-bit data); None: no such likelihood.
MODELS = {
    'vae': ('configs/vae.py:mnist', 'configs/vae.py:mnist_8bit'),
    'iwae': ('configs/vae.py:iwae_2layer', None),
    'hvae': ('configs/hvae.py:ladder', None),
    'vampprior': ('configs/vampprior.py:vae', None),
    'pixelcnn': ('configs/pixelcnn.py:binarized_mnist', 'configs/pixelcnn.py:mnist'),
    'gated_pixelcnn': (
        'configs/gated_pixelcnn.py:binarized_mnist',
        'configs/gated_pixelcnn.py:mnist',
    ),
    'pixelcnn_pp': (None, 'configs/pixelcnn_pp.py:mnist'),
    'row_lstm': ('configs/row_lstm.py:binarized_mnist', 'configs/row_lstm.py:mnist'),
    'diagonal_bilstm': (
        'configs/diagonal_bilstm.py:binarized_mnist',
        'configs/diagonal_bilstm.py:mnist',
    ),
    # One preset: the data overrides make it 8-bit (a 256-way softmax per sub-pixel).
    'multiscale_pixelrnn': (
        'configs/multiscale_pixelrnn.py:binarized_mnist',
        'configs/multiscale_pixelrnn.py:binarized_mnist',
    ),
}
VAES = ('vae', 'iwae', 'hvae', 'vampprior')
# dataset -> (data overrides, binary?)
DATASETS = {
    'binarized_mnist': (('data.name=binarized_mnist', 'data.binarize=False'), True),
    'mnist': (('data.name=mnist', 'data.binarize=False'), False),
    'fashion_mnist': (('data.name=fashion_mnist', 'data.binarize=False'), False),
    'mnist_binarized': (('data.name=mnist', 'data.binarize=True'), True),
    'fashion_mnist_binarized': (('data.name=fashion_mnist', 'data.binarize=True'), True),
}
OOD_PAIRS = (('mnist', 'fashion_mnist'), ('mnist_binarized', 'fashion_mnist_binarized'))


class StudyError(ValueError):
  """A flag names no model or dataset of the study (user error)."""


def config_of(model: str, dataset: str, smoke: bool = False) -> str | None:
  """The config a model trains on a dataset with, or None where it has no likelihood;
  with smoke, the same config file's smoke preset (tiny networks)."""
  binary_config, byte_config = MODELS[model]
  config = binary_config if DATASETS[dataset][1] else byte_config
  if config is None or not smoke:
    return config
  return config.split(':')[0] + ':smoke'


def overrides_of(model: str, dataset: str, num_steps: int | None, seed: int, vae_k: int,
                 eval_num: int) -> list[str]:  # fmt: skip
  """The run's config overrides: the dataset, the seed, the budget and the evaluation."""
  out = [*DATASETS[dataset][0], f'seed={seed}', f'eval.num_examples={eval_num}']
  if num_steps is not None:
    every = max(1, num_steps // 4)
    out += [
        f'train.num_steps={num_steps}',
        f'train.checkpoint_every={every}',
        f'train.log_every={every}',
        f'train.sample_every={num_steps}',
    ]
  if model in VAES:
    out.append(f'eval.iwae_k=(1,{vae_k})')
  return out


def num_params(state) -> int:
  """Every trained parameter of the model (a VAE's encoder too: the bound needs it)."""
  return int(sum(np.prod(x.shape) for x in jax.tree_util.tree_leaves(state.params)))


def sampling_seconds_per_image(model, state, n: int) -> float:
  """The best of two timed calls of model.sample for n images, after one to compile."""
  sample = jax.jit(model.sample, static_argnums=2)
  key = jax.random.PRNGKey(0)
  jax.block_until_ready(sample(state, key, n))
  best = math.inf
  for i in range(2):
    t0 = time.perf_counter()
    jax.block_until_ready(sample(state, jax.random.fold_in(key, i + 1), n))
    best = min(best, time.perf_counter() - t0)
  return best / n


def nll_of(metrics: dict) -> tuple[float, float]:
  """(NLL nats, bits/dim) from eval.py's metrics of either family."""
  nll = metrics.get('nll_nats', metrics.get('nll'))
  return float(nll), float(metrics['bits_per_dim'])


def run_one(model, dataset, out, *, num_steps, seed, vae_k, eval_num, sample_n, smoke=False,
            train=True):  # fmt: skip
  """The run's record; trains, evaluates and times it first unless it is finished (or
  returns None for an unfinished run when train is False)."""
  workdir = os.path.join(out, 'runs', f'{model}_{dataset}')
  record_path = os.path.join(workdir, 'study.json')
  overrides = overrides_of(model, dataset, num_steps, seed, vae_k, eval_num)
  if os.path.exists(record_path):
    with open(record_path) as f:
      record = json.load(f)
    if (record['overrides'], record['config']) == (overrides, config_of(model, dataset, smoke)):
      return record
  if not train:
    return None
  config = config_of(model, dataset, smoke)
  record = dict(model=model, dataset=dataset, config=config, overrides=overrides)
  try:
    record.update(runs.train(config, workdir, overrides))
  except runs.RunFailed as e:
    record.update(failed=str(e))
  else:
    result = eval_run.run(workdir, features='none')
    record['step'] = result['step']
    record['nll_nats'], record['bits_per_dim'] = nll_of(result['metrics'])
    record['likelihood'] = f'L_{vae_k} bound' if model in VAES else 'exact'
    _, _, m, state, _ = eval_run.load_run(workdir)
    record['params'] = num_params(state)
    record['sample_s_per_image'] = sampling_seconds_per_image(m, state, sample_n)
  os.makedirs(workdir, exist_ok=True)
  with open(record_path, 'w') as f:
    json.dump(record, f, indent=2)
  return record


def ood_one(records: dict, out: str, model: str, pair, num: int | None, train=True) -> list[dict]:
  """gen.study.ood both ways for a model trained on both datasets of `pair`; a result
  already written for the run's checkpoint and `num` is read back, not recomputed."""
  rows = []
  for train_on, other in (pair, pair[::-1]):
    record = records.get((model, train_on))
    if record is None or 'failed' in record or (model, other) not in records:
      continue
    workdir = os.path.join(out, 'runs', f'{model}_{train_on}')
    other_name = DATASETS[other][0][0].split('=')[1]  # the data.name of the OOD set
    path = os.path.join(workdir, 'eval', ood_study.output_name(other_name) + '.json')
    result = None
    if os.path.exists(path):
      with open(path) as f:
        result = json.load(f)
      if (result['step'], result['provenance']['num']) != (record['step'], num):
        result = None
    if result is None and train:
      result = ood_study.run(workdir, other_name, num=num)
    if result is None:
      continue
    rows.append(
        dict(
            model=model,
            train=train_on,
            ood=other,
            auroc=result['metrics']['auroc'],
            auroc_complexity=result['metrics_complexity']['auroc'],
            fpr_at_95_tpr=result['metrics']['fpr_at_95_tpr'],
            in_bits_per_dim=result['in_distribution']['bits_per_dim'],
            ood_bits_per_dim=result['ood']['bits_per_dim'],
        )
    )
  return rows


def likelihood_table(records: list[dict]) -> str:
  lines = [
      '| dataset | model | test NLL (nats) | bits/dim | likelihood | parameters | steps '
      '| train CPU (min) | sampling (s / image) |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ]
  for r in records:
    if 'failed' in r:
      lines.append(f'| {r["dataset"]} | {r["model"]} | failed: {r["failed"]} ||||||||')
      continue
    lines.append(
        f'| {r["dataset"]} | {r["model"]} | {r["nll_nats"]:.2f} | {r["bits_per_dim"]:.4f} '
        f'| {r["likelihood"]} | {r["params"]:,} | {r["step"]:,} | {r["cpu_s"] / 60:.1f} '
        f'| {r["sample_s_per_image"]:.3g} |'
    )
  return '\n'.join(lines) + '\n'


def ood_table(rows: list[dict]) -> str:
  lines = [
      '| model | trained on | OOD set | AUROC log p(x) | AUROC complexity ratio '
      '| FPR@95%TPR | bits/dim in | bits/dim OOD |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ]
  for r in rows:
    lines.append(
        f'| {r["model"]} | {r["train"]} | {r["ood"]} | {r["auroc"]:.3f} '
        f'| {r["auroc_complexity"]:.3f} | {r["fpr_at_95_tpr"]:.3f} '
        f'| {r["in_bits_per_dim"]:.3f} | {r["ood_bits_per_dim"]:.3f} |'
    )
  return '\n'.join(lines) + '\n'


def figure(records: list[dict], dataset: str, path: str) -> bool:
  """Test NLL against training CPU minutes for one dataset; False when nothing finished."""
  done = [r for r in records if r['dataset'] == dataset and 'failed' not in r]
  if not done:
    return False
  plt = pyplot.pyplot()
  fig, ax = plt.subplots(figsize=(6, 4))
  for r in done:
    marker = 'o' if r['likelihood'] == 'exact' else 's'
    ax.scatter(r['cpu_s'] / 60, r['nll_nats'], marker=marker)
    ax.annotate(r['model'], (r['cpu_s'] / 60, r['nll_nats']), fontsize=8)
  ax.set_xscale('log')
  ax.set_xlabel('training CPU time (min, log scale)')
  ax.set_ylabel('test NLL (nats; squares: VAE bounds)')
  ax.set_title(f'{dataset}: likelihood against training cost')
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return True


def check_names(models, datasets) -> None:
  for name in models:
    if name not in MODELS:
      raise StudyError(f'--models: unknown model {name!r}; valid: {", ".join(MODELS)}')
  for name in datasets:
    if name not in DATASETS:
      raise StudyError(f'--datasets: unknown dataset {name!r}; valid: {", ".join(DATASETS)}')


def study(out, models, datasets, *, num_steps=None, seed=0, vae_k=5000, eval_num=0,
          sample_n=16, ood_num=None, smoke=False, report_only=False) -> dict:  # fmt: skip
  """Trains what is missing (unless report_only), then writes the tables and figures."""
  check_names(models, datasets)
  records = {}
  for model in models:
    for dataset in datasets:
      if config_of(model, dataset) is None:
        continue
      record = run_one(
          model, dataset, out, num_steps=num_steps, seed=seed, vae_k=vae_k,
          eval_num=eval_num, sample_n=sample_n, smoke=smoke, train=not report_only,
      )  # fmt: skip
      if record is not None:
        records[(model, dataset)] = record
  ood_rows = []
  for model in models:
    for pair in OOD_PAIRS:
      ood_rows += ood_one(records, out, model, pair, ood_num, train=not report_only)
  listed = list(records.values())
  os.makedirs(out, exist_ok=True)
  with open(os.path.join(out, 'likelihood.md'), 'w') as f:
    f.write(likelihood_table(listed))
  with open(os.path.join(out, 'ood.md'), 'w') as f:
    f.write(ood_table(ood_rows))
  figures = [
      p for d in datasets
      if figure(listed, d, p := os.path.join(out, f'nll_vs_cpu_{d}.png'))
  ]  # fmt: skip
  result = {'runs': listed, 'ood': ood_rows, 'figures': figures}
  with open(os.path.join(out, 'results.json'), 'w') as f:
    json.dump(result, f, indent=2)
  return result


def _define_flags():
  from absl import flags  # noqa: PLC0415

  flags.DEFINE_string('out', None, 'Output directory.')
  flags.DEFINE_list('models', list(MODELS), 'Models of the study.')
  flags.DEFINE_list('datasets', list(DATASETS), 'Datasets of the study.')
  flags.DEFINE_integer('num_steps', None, 'Training steps of every run (default: presets).')
  flags.DEFINE_integer('seed', 0, 'Seed of every run.')
  flags.DEFINE_integer('vae_k', 5000, 'k of the IWAE bound L_k reported as a VAE\'s NLL.')
  flags.DEFINE_integer('eval_num', 0, 'Test images scored (0: the whole test split).')
  flags.DEFINE_integer('sample_n', 16, 'Images per timed sampling call.')
  flags.DEFINE_integer('ood_num', None, 'Images of each set scored for OOD (default all).')
  flags.DEFINE_bool(
      'smoke', False, "Each model's smoke preset (tiny networks): checks the pipeline only."
  )
  flags.DEFINE_bool('report_only', False, 'Write the tables from finished runs; train nothing.')
  flags.mark_flags_as_required(['out'])


def main(argv):
  from absl import flags  # noqa: PLC0415

  from gen import cli  # noqa: PLC0415

  cli.start_tool(argv)
  f = flags.FLAGS
  for name in ('num_steps', 'sample_n', 'vae_k'):
    if f[name].value is not None and f[name].value < 1:
      sys.exit(f'error: --{name}={f[name].value}: must be >= 1.')
  try:
    result = study(
        f.out, f.models, f.datasets, num_steps=f.num_steps, seed=f.seed, vae_k=f.vae_k,
        eval_num=f.eval_num, sample_n=f.sample_n, ood_num=f.ood_num, smoke=f.smoke,
        report_only=f.report_only,
    )  # fmt: skip
  except (*cli.USER_ERRORS, StudyError, ood_study.OODError) as e:
    sys.exit(f'error: {e}')
  failed = [r for r in result['runs'] if 'failed' in r]
  print(f'{len(result["runs"])} runs ({len(failed)} failed), {len(result["ood"])} OOD rows.')
  print(f'Wrote {f.out}/likelihood.md, {f.out}/ood.md and {f.out}/results.json.')


if __name__ == '__main__':
  from absl import app  # noqa: PLC0415

  from gen import cli  # noqa: PLC0415

  _define_flags()
  app.run(main, flags_parser=cli.parse_flags)
