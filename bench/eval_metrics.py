r"""Throughput of the evaluation suite: classifier features/s and each metric on 10k x 10k.

  python bench/eval_metrics.py                                  # 128-d features (classifier)
  python bench/eval_metrics.py --dims=128,2048                  # and Inception's pool3 size
  python bench/eval_metrics.py --classifier=runs/classifiers/mnist --floor

Features are synthetic Gaussians (the metrics' cost depends on the sizes, not the
values): `real` ~ N(0, I), `fake` ~ N(0.1, 1.2^2 I), in float32 as the extractors
return them. The classifier is timed on random uint8 28x28x1 images, with freshly
initialised weights unless --classifier names a trained one (the same network,
so the same speed). Each timing is one run after a warm-up of the compiled
extractor; the metrics run as in gen.eval.sample_quality (PRD with one thread).
Prints a Markdown table and the load average (other jobs on the machine slow
every number down). Record results in docs/RESULTS.md with the command.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from gen.data import sources  # noqa: E402
from gen.eval import classifier, features, sample_quality  # noqa: E402

_N = flags.DEFINE_integer('n', 10_000, 'Samples in each of the two feature sets.')
_DIMS = flags.DEFINE_list('dims', ['128'], 'Feature dimensions to time the metrics at.')
_CLASSIFIER = flags.DEFINE_string('classifier', None, 'A trained classifier directory (optional).')
_IMAGES = flags.DEFINE_integer('images', 10_000, 'Images for the classifier timing.')
_FLOOR = flags.DEFINE_bool(
    'floor',
    False,
    'Also evaluate n real training images as if they were samples, against the test split '
    '(needs --classifier and its dataset under $GEN_DATA_DIR): what a perfect model scores.',
)


def _time(fn):
  start = time.perf_counter()
  out = fn()
  return time.perf_counter() - start, out


def main(argv):
  del argv
  n = _N.value
  print(
      f'jax {jax.__version__}, backend {jax.default_backend()}, {os.cpu_count()} CPUs, '
      f'load average at start {os.getloadavg()[0]:.2f}'
  )
  rows = []

  if _CLASSIFIER.value:
    extractor = features.from_classifier(_CLASSIFIER.value)
  else:
    params = classifier.init_params(10, (28, 28, 1))
    record = {'dataset': 'mnist', 'num_classes': 10, 'input_shape': [28, 28, 1]}
    clf = classifier.Classifier(classifier.CNN(10), params, record, '')
    extractor = features.FeatureExtractor(
        'classifier:mnist (untrained)', '-', 'none', lambda x: clf.features(x), (28, 28, 1)
    )
  images = np.random.default_rng(0).integers(0, 256, (_IMAGES.value, 28, 28, 1)).astype(np.uint8)
  extractor(images[:1000])  # compile
  seconds, _ = _time(lambda: extractor(images))
  rows.append(('classifier features (28x28x1 -> 128 + 10)', '-', seconds, len(images) / seconds))

  rng = np.random.default_rng(0)
  for d in map(int, _DIMS.value):
    real = rng.standard_normal((n, d), np.float32)
    fake = (0.1 + 1.2 * rng.standard_normal((n, d))).astype(np.float32)
    logits = (3 * rng.standard_normal((n, 10))).astype(np.float32)
    fake_set, real_set = {'pool': fake, 'logits': logits}, {'pool': real}
    seconds, (_, _, details) = _time(
        lambda f=fake_set, r=real_set: sample_quality.metrics_from_features(f, r)
    )
    for name, label in (
        ('FID', 'FID'),
        ('IS', 'IS (10 classes, 10 splits)'),
        ('KID', 'KID (100 subsets of 1,000)'),
        ('PRD', 'PRD (20 clusters, 10 runs)'),
        ('prdc', 'precision / recall / density / coverage (k = 5)'),
    ):
      t = details['seconds'][name]
      count = n if name == 'IS' else 2 * n  # IS reads the samples' logits only
      rows.append((label, 10 if name == 'IS' else d, t, count / max(t, 1e-9)))
    rows.append(('all of them (metrics_from_features)', d, seconds, 2 * n / seconds))

  print(f'\n{n:,} x {n:,} features; features/s counts both sets (IS: the samples).\n')
  print('| what | dim | seconds | features/s |')
  print('| --- | --- | --- | --- |')
  for name, d, seconds, rate in rows:
    print(f'| {name} | {d} | {seconds:.2f} | {rate:,.0f} |')
  if _FLOOR.value:
    _floor(extractor, n)
  print(f'\nload average at the end {os.getloadavg()[0]:.2f}')


def _floor(extractor, n):
  dataset = extractor.name.split(':', 1)[1]
  train = sources.load(dataset, 'train').x[:n]
  test = sources.load(dataset, 'test').x
  out = sample_quality.evaluate(
      lambda key, m: train.astype(np.float32) / 255 * 2 - 1,  # every 'sample' at once
      test,
      extractor,
      key=jax.random.PRNGKey(0),
      num_samples=len(train),
      batch_size=len(train),
      dataset=dataset,
      split='test',
  )
  print(f'\nThe first {len(train):,} {dataset} training images as samples vs the test split:\n')
  print('| metric | value |')
  print('| --- | --- |')
  for k, v in out['metrics'].items():
    print(f'| {k} | {v:.4f} |')
  ref = out['provenance']['reference']
  print(f'| {extractor.label("IS")} of the test split | {ref[extractor.label("IS")]:.4f} |')


if __name__ == '__main__':
  app.run(main)
