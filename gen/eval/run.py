"""Evaluation of a run directory: restore a checkpoint, run the model's `evaluate` and, for
image models, the sample-quality metrics (gen.eval.sample_quality); write eval/step_<N>.json."""

from __future__ import annotations

import json
import os
import time

import jax
import numpy as np
from absl import logging

from gen import config as config_lib
from gen import data as data_lib
from gen.eval import classifier as classifier_lib
from gen.eval import features as features_lib
from gen.eval import provenance, sample_quality
from gen.train import checkpoint as ckpt_lib
from gen.train import loop, sharding

FEATURES = ('classifier', 'inception', 'none')  # None: the classifier if there is one, else none
SAMPLE_KEY_SALT = 3 << 29  # the sample-quality key: fold_in(PRNGKey(seed), salt)


def read_config(workdir: str):
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise loop.WorkdirError(
        f'--workdir={workdir} is a file, not a run directory; pass the directory train.py wrote.'
    )
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    raise config_lib.ConfigError(
        f'{path} not found: is {workdir!r} a run directory written by train.py?'
    )
  with open(path) as f:
    return config_lib.from_json(f.read())


def load_run(workdir: str, step: int | None = None):
  """(config, info, model, state, step) of a run directory's checkpoint."""
  config = read_config(workdir)
  info, model, mesh = loop.setup(config)
  ckpt = ckpt_lib.Checkpointer(workdir)
  try:
    step = ckpt.latest() if step is None else step
    if step is None:
      raise ckpt_lib.CheckpointError(f'No checkpoint in {ckpt.directory}; train first.')
    with jax.set_mesh(mesh):
      batch = sharding.put_batch(
          loop.example_batch(config, model),
          sharding.batch_sharding(mesh, sharding.leading_axes(model)),
      )
      state, _ = ckpt.restore(step, loop.abstract_state(model, config, mesh, batch))
  finally:
    ckpt.close()
  return config, info, model, state, step


def select_extractor(
    config,
    info,
    features: str | None = None,
    classifier: str | None = None,
    inception_weights: str | None = None,
) -> tuple[features_lib.FeatureExtractor | None, str | None]:
  """(extractor, None), or (None, why there are no sample-quality metrics).

  features None: the dataset's classifier when one is trained (at --classifier,
  else gen.eval.classifier.default_dir), else none with a message. Explicit
  choices that cannot be met raise FeatureError. 2D data: coverage only.
  """
  name = config.data.name
  if features is not None and features not in FEATURES:
    raise features_lib.FeatureError(f'--features={features!r}; valid: {", ".join(FEATURES)}.')
  if info.kind != 'image':
    if features in ('classifier', 'inception'):
      raise features_lib.FeatureError(
          f'--features={features} needs images; {name!r} is 2D points, evaluated by its mode '
          'coverage alone.'
      )
    return None, None
  if features == 'none':
    return None, 'switched off with --features=none'
  if features == 'inception':
    extractor = features_lib.from_inception(inception_weights)
  elif classifier is not None:
    extractor = features_lib.from_classifier(classifier)
  else:
    dataset = features_lib.classifier_dataset(name)
    if dataset is None:
      why = (
          f'no classifier fits dataset {name!r} (there are classifiers for '
          f'{", ".join(classifier_lib.RECIPES)}); use --features=inception with '
          '--inception_weights, or --classifier=DIR'
      )
      if features == 'classifier':
        raise features_lib.FeatureError(f'--features=classifier: {why}.')
      return None, why
    path = classifier_lib.default_dir(dataset)
    if features is None and not os.path.exists(os.path.join(path, classifier_lib.RECORD_FILE)):
      return None, (
          f'no classifier:{dataset} in {path}; train one with: '
          f'{classifier_lib.train_command(dataset, path)} (or pass --classifier=DIR, or '
          f'set ${classifier_lib.ENV_VAR})'
      )
    extractor = features_lib.from_classifier(path)
  if extractor.input_shape is not None and tuple(extractor.input_shape) != tuple(info.shape):
    raise features_lib.FeatureError(
        f'{extractor.name} takes {tuple(extractor.input_shape)} images but {name!r} has '
        f'{tuple(info.shape)}.'
    )
  return extractor, None


def _sample_quality(workdir, config, info, model, state, step, extractor, num_samples, num_real=None) -> dict:
  src = data_lib.source(config, config.data.eval_split)
  count = len(src) if num_real is None else min(num_real, len(src))
  real = sample_quality.reference_uint8(src.get(np.arange(count))['x'], info.levels)
  sample_jit = jax.jit(model.sample, static_argnums=2)
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), SAMPLE_KEY_SALT)
  is_main = jax.process_index() == 0
  png = f'eval/step_{step}_prd.png'
  logging.info(
      'Sample quality: %d samples vs %d %s/%s images, features %s.',
      num_samples, len(real), config.data.name, config.data.eval_split, extractor.name,
  )  # fmt: skip
  out = sample_quality.evaluate(
      lambda k, n: sample_jit(state, k, n),
      real,
      extractor,
      key=key,
      scale=config.data.scale,
      levels=info.levels,
      binarize=config.data.binarize,
      dequantize=config.data.dequantize,
      num_samples=num_samples,
      batch_size=config.eval.batch_size,
      seed=config.seed,
      png_path=os.path.join(workdir, png) if is_main else None,
      cache_dir=os.path.join(workdir, 'eval', 'reference_features') if is_main else None,
      dataset=config.data.name,
      split=config.data.eval_split,
      title=f'{config.model.name} on {config.data.name}, step {step}',
  )
  out['provenance'].update(
      prd_png=png,
      sample_key=(f'fold_in(PRNGKey({config.seed}), {SAMPLE_KEY_SALT}); batch i: fold_in(key, i)'),
      model_state='EMA networks' if config.train.ema_decay > 0 else 'trained networks',
  )
  return out


def run(
    workdir: str,
    step: int | None = None,
    *,
    features: str | None = None,
    classifier: str | None = None,
    inception_weights: str | None = None,
    num_samples: int | None = None,
    num_real: int | None = None,
) -> dict:
  """Evaluates a checkpoint; see eval.py for the arguments (num_real: the first this many
  images of the split are the metrics' reference set; default all). Returns what it
  writes, atomically (a killed evaluation leaves no partial eval/step_<N>.json)."""
  config = read_config(workdir)
  info = data_lib.info(config)
  # Bad feature settings fail before any checkpoint is restored.
  extractor, skipped = select_extractor(config, info, features, classifier, inception_weights)
  if num_samples is None:
    num_samples = config.eval.get('quality_num_samples', sample_quality.DEFAULT_NUM_SAMPLES)
  config, info, model, state, step = load_run(workdir, step)
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 2 << 29)  # fixed evaluation key
  start = time.time()
  metrics = dict(model.evaluate(state, data_lib.eval_batches(config), key))
  figures = {}
  if model.figures is not None and jax.process_index() == 0:
    prefix = os.path.join(workdir, 'eval', f'step_{step}_')
    figures = model.figures(state, data_lib.eval_batches(config), key, prefix)
    figures = {name: os.path.relpath(p, workdir) for name, p in figures.items()}
  quality = {'skipped': skipped} if skipped else None
  if extractor is not None:
    out = _sample_quality(
        workdir, config, info, model, state, step, extractor, num_samples, num_real
    )
    metrics.update(out['metrics'])
    quality = out['provenance']
  elif skipped:
    logging.warning('No sample-quality metrics: %s.', skipped)
  result = {
      'step': step,
      'metrics': metrics,
      'provenance': {
          'model': config.model.name,
          'dataset': config.data.name,
          'split': config.data.eval_split,
          'seed': config.seed,
          'git_commit': provenance.git_commit(),
          'git_dirty': provenance.git_dirty(),
          'binarization': data_lib.binarization(config),
          'seconds': time.time() - start,
      },
  }
  if figures:
    result['provenance']['figures'] = figures
  if quality is not None:
    result['provenance']['sample_quality'] = quality
  if jax.process_index() == 0:
    os.makedirs(os.path.join(workdir, 'eval'), exist_ok=True)
    path = os.path.join(workdir, 'eval', f'step_{step}.json')
    with open(path + '.tmp', 'w') as f:
      json.dump(result, f, indent=2)
    os.replace(path + '.tmp', path)
  return result
