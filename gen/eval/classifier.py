r"""Small CNN classifiers per dataset, whose features give "FID (classifier:<dataset>)" and friends.

  python -m gen.eval.classifier --dataset mnist --workdir runs/classifiers/mnist
  python -m gen.eval.classifier --dataset fashion_mnist --workdir runs/classifiers/fashion_mnist

The FID Inception-v3 was trained on 299x299 photographs; for 28x28 grayscale
digits a classifier of the dataset itself is the usual feature extractor. Its
penultimate layer gives the features of FID, KID, PRD and precision / recall /
density / coverage, its logits the classifier's analogue of the Inception
Score. Numbers made with these features are always labelled with the
extractor's name (e.g. "FID (classifier:mnist)"): they are not comparable with
Inception FIDs, nor across different classifier weights (hence the weights'
SHA-256 in every record).

Network: two 5x5 convolutions (16 and 32 channels, SAME padding, ReLU), each
followed by 2x2 max pooling, a dense layer of 128 ReLU units and a dense layer
to the class logits. The features are the 128 values of the hidden dense layer
*before* its ReLU: after it, about half of the units of a trained MNIST
classifier are 0 on every test image (59 of 128 for seed 0), which leaves the
feature covariance singular (FID's matrix square root then warns) and the
k-NN distances blind in those directions.

Inputs are uint8 images scaled as the GAN data, x / 255 * 2 - 1 in [-1, 1] (the
'symmetric' preprocessing of gen.data). Training: cross-entropy, Adam with a
cosine decay of the learning rate to 0, batches from gen.data's iterator (order
fixed by the seed). A run directory holds `params.msgpack`
(flax.serialization) and `classifier.json` (dataset, test accuracy, steps,
seed, weights SHA-256, git commit, ...).

`digits` (scikit-learn's 8x8 digits, built in) is there for fast tests.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
import time
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging
from flax import serialization

from gen import nn as gen_nn
from gen.data import iterator as iterator_lib
from gen.data import preprocess as preprocess_lib
from gen.data import sources
from gen.eval import provenance

WEIGHTS_FILE = 'params.msgpack'
RECORD_FILE = 'classifier.json'
ENV_VAR = 'GEN_CLASSIFIERS_DIR'  # folder holding one classifier run directory per dataset
DEFAULT_ROOT = os.path.join('runs', 'classifiers')


@dataclasses.dataclass(frozen=True)
class Recipe:
  """How the classifier of one dataset is trained, and the test accuracy it must reach."""

  num_steps: int
  target_accuracy: float
  batch_size: int = 128
  lr: float = 2e-3


# Step counts (docs/RESULTS.md, "Evaluation suite"): on MNIST, seeds 0, 1, 2 reached
# 98.70 / 98.52 / 98.57 % test accuracy after 600 steps, 99.05 / 98.88 / 98.90 after 1,000,
# 99.19 / 99.04 / 99.11 after 1,500 and 99.29 / 99.18 / 99.20 after 2,000 (batch 128).
RECIPES = {
    'mnist': Recipe(num_steps=2000, target_accuracy=0.99),
    'fashion_mnist': Recipe(num_steps=2000, target_accuracy=0.90),
    'digits': Recipe(num_steps=300, target_accuracy=0.90),
}


class ClassifierError(ValueError):
  """A classifier run directory that is missing, incomplete or corrupt."""


def train_command(dataset: str, workdir: str) -> str:
  return f'python -m gen.eval.classifier --dataset {dataset} --workdir {workdir}'


def default_dir(dataset: str) -> str:
  """Where eval.py looks for a dataset's classifier: $GEN_CLASSIFIERS_DIR/<dataset>, else
  runs/classifiers/<dataset> (relative to the working directory)."""
  return os.path.join(os.environ.get(ENV_VAR) or DEFAULT_ROOT, dataset)


# -- Network --------------------------------------------------------------------------------


class CNN(nn.Module):
  """conv5x5(16), pool, conv5x5(32), pool, dense(128) = features, relu, dense(classes)."""

  num_classes: int
  channels: tuple[int, ...] = (16, 32)
  kernel: int = 5
  hidden: int = 128

  @nn.compact
  def __call__(self, x) -> dict[str, jax.Array]:
    for c in self.channels:
      x = nn.relu(gen_nn.Conv(c, (self.kernel, self.kernel), padding='SAME')(x))
      x = gen_nn.max_pool(x, (2, 2), (2, 2), padding='SAME')
    x = x.reshape((x.shape[0], -1))
    pool = nn.Dense(self.hidden)(x)  # the features, before the ReLU (see the docstring)
    return {'pool': pool, 'logits': nn.Dense(self.num_classes)(nn.relu(pool))}


def _scale(images: np.ndarray) -> np.ndarray:
  """uint8 -> float32 in [-1, 1], by the very function that prepares the GAN data."""
  fn = preprocess_lib.make('image', 256, scale='symmetric', binarize=False, dequantize=False)
  return fn({'x': images}, None, slice(None), len(images))['x']


@functools.partial(jax.jit, static_argnums=0)
def _forward(module: CNN, params, x):
  return module.apply({'params': params}, x)


# -- A trained classifier -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Classifier:
  """A trained classifier: its network, parameters and record (classifier.json)."""

  module: CNN
  params: Any
  record: dict
  directory: str

  @property
  def dataset(self) -> str:
    return self.record['dataset']

  @property
  def input_shape(self) -> tuple[int, int, int]:
    return tuple(self.record['input_shape'])

  @property
  def weights_sha256(self) -> str:
    return self.record['weights_sha256']

  def features(self, images, batch_size: int = 1000) -> dict[str, np.ndarray]:
    """uint8 images (N, H, W, C) -> float32 {pool: (N, 128), logits: (N, classes)}.

    Batches are padded to one static size, so any N compiles once per batch size.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
      raise TypeError(f'classifier features take uint8 images, got {images.dtype}.')
    if images.shape[1:] != self.input_shape:
      raise ValueError(
          f'classifier:{self.dataset} takes images of shape {self.input_shape}, '
          f'got {images.shape[1:]}.'
      )
    n = len(images)
    batch = max(1, min(batch_size, n))
    parts = {'pool': [], 'logits': []}
    for start in range(0, n, batch):
      chunk = images[start : start + batch]
      count = len(chunk)
      if count < batch:
        chunk = np.concatenate([chunk, np.zeros((batch - count,) + chunk.shape[1:], np.uint8)])
      out = _forward(self.module, self.params, _scale(chunk))
      for k, part in parts.items():
        part.append(np.asarray(out[k])[:count])
    dims = {'pool': self.module.hidden, 'logits': self.module.num_classes}
    return {
        k: np.concatenate(v) if v else np.zeros((0, dims[k]), np.float32) for k, v in parts.items()
    }


def _module(num_classes: int) -> CNN:
  return CNN(num_classes)


def _template(module: CNN, input_shape) -> Any:
  shapes = jax.eval_shape(
      lambda: module.init(jax.random.PRNGKey(0), jnp.zeros((1,) + tuple(input_shape)))
  )
  return jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), shapes['params'])


def load(directory: str) -> Classifier:
  """The classifier in a run directory; ClassifierError (saying what to run) if it is
  missing, incomplete or corrupt."""
  directory = os.fspath(directory)
  record_path = os.path.join(directory, RECORD_FILE)
  weights_path = os.path.join(directory, WEIGHTS_FILE)
  guess = os.path.basename(os.path.normpath(directory))
  fix = train_command(guess if guess in RECIPES else '<dataset>', directory)
  if not os.path.isdir(directory):
    raise ClassifierError(f'No classifier directory {directory!r}. Train one with: {fix}')
  if not os.path.isfile(record_path):
    raise ClassifierError(
        f'{directory!r} holds no classifier ({RECORD_FILE} is missing). Train one with: {fix}'
    )
  try:
    with open(record_path) as f:
      record = json.load(f)
    dataset, num_classes = record['dataset'], int(record['num_classes'])
    input_shape, expected = tuple(record['input_shape']), record['weights_sha256']
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise ClassifierError(
        f'{record_path} is corrupt ({type(e).__name__}: {e}). Train the classifier again: {fix}'
    ) from e
  fix = train_command(dataset, directory)
  if not os.path.isfile(weights_path):
    raise ClassifierError(f'{weights_path} is missing. Train the classifier again: {fix}')
  with open(weights_path, 'rb') as f:
    data = f.read()
  digest = provenance.sha256_bytes(data)
  if digest != expected:
    raise ClassifierError(
        f'{weights_path} is corrupt or was changed: its SHA-256 is {digest}, {RECORD_FILE} '
        f'records {expected}. Train the classifier again: {fix}'
    )
  module = _module(num_classes)
  template = _template(module, input_shape)
  try:
    params = serialization.from_bytes(template, data)
    shapes_ok = jax.tree.all(
        jax.tree.map(lambda a, b: np.shape(a) == np.shape(b), params, template)
    )
  except Exception as e:  # msgpack and flax raise many types for a bad file
    raise ClassifierError(
        f'{weights_path} cannot be read as the classifier\'s parameters '
        f'({type(e).__name__}: {e}). Train the classifier again: {fix}'
    ) from e
  if not shapes_ok:
    raise ClassifierError(
        f'{weights_path} does not hold parameters of this network. Train it again: {fix}'
    )
  params = jax.tree.map(jnp.asarray, params)
  return Classifier(module, params, record, os.path.abspath(directory))


# -- Training -------------------------------------------------------------------------------


def accuracy(classifier: Classifier, source) -> float:
  """Fraction of a labelled source's examples classified correctly."""
  images, labels = source.x, source.label
  logits = classifier.features(images)['logits']
  return float(np.mean(logits.argmax(-1) == labels))


def train(
    dataset: str,
    workdir: str,
    num_steps: int | None = None,
    seed: int = 0,
    data_dir: str | None = None,
    log_every: int = 200,
) -> dict:
  """Trains the dataset's classifier, writes it to `workdir` and returns its record."""
  if dataset not in RECIPES:
    raise ClassifierError(f'No classifier recipe for {dataset!r}; valid: {", ".join(RECIPES)}.')
  recipe = RECIPES[dataset]
  num_steps = recipe.num_steps if num_steps is None else num_steps
  if num_steps < 1:
    raise ClassifierError(f'--num_steps must be >= 1, got {num_steps}.')
  train_src = sources.load(dataset, 'train', data_dir)
  test_src = sources.load(dataset, 'test', data_dir)
  info = train_src.info
  if info.num_classes is None or info.kind != 'image':
    raise ClassifierError(f'{dataset!r} is not a labelled image dataset.')
  if info.levels != 256:
    raise ClassifierError(f'{dataset!r} has {info.levels} intensity levels; expected 256.')

  module = _module(info.num_classes)
  batches = iterator_lib.BatchIterator(
      train_src,
      recipe.batch_size,
      seed,
      preprocess=preprocess_lib.make(
          'image', info.levels, scale='symmetric', binarize=False, dequantize=False
      ),
  )
  tx = optax.adam(optax.cosine_decay_schedule(recipe.lr, num_steps))

  @jax.jit
  def init(key):
    params = module.init(key, jnp.zeros((1,) + tuple(info.shape)))['params']
    return params, tx.init(params)

  params, opt_state = init(jax.random.PRNGKey(seed))

  @jax.jit
  def step(params, opt_state, x, y):
    def loss_fn(p):
      logits = module.apply({'params': p}, x)['logits']
      loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
      return loss, jnp.mean(logits.argmax(-1) == y)

    (loss, acc), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss, acc

  start = time.time()
  for t in range(1, num_steps + 1):
    batch = next(batches)
    params, opt_state, loss, acc = step(params, opt_state, batch['x'], batch['label'])
    if t % log_every == 0 or t == num_steps:
      logging.info(
          'classifier:%s step %d/%d: loss %.4f, batch accuracy %.4f, %.1f s',
          dataset, t, num_steps, float(loss), float(acc), time.time() - start,
      )  # fmt: skip
  train_seconds = time.time() - start

  record = {
      'dataset': dataset,
      'accuracy': None,  # on the test split, below
      'split': 'test',
      'num_test': len(test_src),
      'target_accuracy': recipe.target_accuracy,
      'steps': num_steps,
      'seed': seed,
      'batch_size': recipe.batch_size,
      'optimizer': f'adam, lr {recipe.lr} with cosine decay to 0',
      'network': describe(module),
      'input_shape': list(info.shape),
      'num_classes': info.num_classes,
      'feature_dim': module.hidden,
      'input_scaling': 'uint8 x -> x / 255 * 2 - 1',
      'git_commit': provenance.git_commit(),
      'git_dirty': provenance.git_dirty(),
      'jax_version': jax.__version__,
      'backend': jax.default_backend(),
      'train_seconds': round(train_seconds, 2),
  }
  classifier = Classifier(module, params, record, os.path.abspath(workdir))
  start = time.time()
  record['accuracy'] = accuracy(classifier, test_src)
  record['test_seconds'] = round(time.time() - start, 2)
  return save(workdir, params, record)


def init_params(num_classes: int, input_shape, seed: int = 0):
  """Freshly initialised parameters of the network (for tests and tools)."""
  module = _module(num_classes)
  return jax.jit(module.init)(jax.random.PRNGKey(seed), jnp.zeros((1,) + tuple(input_shape)))[
      'params'
  ]


def save(workdir: str, params, record: dict) -> dict:
  """Writes params.msgpack and classifier.json (the record plus the weights' file name and
  SHA-256; it needs at least dataset, num_classes, input_shape). Returns the full record."""
  data = serialization.to_bytes(jax.device_get(params))
  record = {**record, 'weights_file': WEIGHTS_FILE, 'weights_sha256': provenance.sha256_bytes(data)}
  os.makedirs(workdir, exist_ok=True)
  for name, payload, mode in (
      (WEIGHTS_FILE, data, 'wb'),
      (RECORD_FILE, json.dumps(record, indent=2) + '\n', 'w'),
  ):
    tmp = os.path.join(workdir, name + '.tmp')
    with open(tmp, mode) as f:
      f.write(payload)
    os.replace(tmp, os.path.join(workdir, name))
  return record


def describe(module: CNN) -> str:
  convs = ' -> '.join(
      f'conv{module.kernel}x{module.kernel}({c}) relu maxpool2' for c in module.channels
  )
  return f'{convs} -> dense({module.hidden}) [features] relu -> dense({module.num_classes})'


# -- Command line ---------------------------------------------------------------------------


def main(argv):
  del argv
  from absl import flags

  from gen.config import ConfigError

  f = flags.FLAGS
  workdir = f.workdir or default_dir(f.dataset)
  try:
    record = train(f.dataset, workdir, f.num_steps, f.seed, f.data_dir)
  except (
      ClassifierError,
      ConfigError,
      sources.DatasetNotFoundError,
      sources.DatasetCorruptError,
  ) as e:
    sys.exit(f'error: {e}')
  ok = record['accuracy'] >= record['target_accuracy']
  print(
      f'classifier:{record["dataset"]}: test accuracy {record["accuracy"]:.4f} '
      f'(target {record["target_accuracy"]}: {"reached" if ok else "NOT reached"}) after '
      f'{record["steps"]} steps in {record["train_seconds"]:.1f} s; wrote '
      f'{os.path.join(workdir, WEIGHTS_FILE)} (SHA-256 {record["weights_sha256"]}) and '
      f'{os.path.join(workdir, RECORD_FILE)}.'
  )


def _define_flags():
  from absl import flags

  flags.DEFINE_enum('dataset', None, list(RECIPES), 'Dataset whose classifier to train.')
  flags.DEFINE_string(
      'workdir',
      None,
      f'Output directory (default: ${ENV_VAR}/<dataset>, else {DEFAULT_ROOT}/<dataset>).',
  )
  flags.DEFINE_integer('num_steps', None, 'Training steps (default: the dataset\'s recipe).')
  flags.DEFINE_integer('seed', 0, 'Seed of the initialisation and the data order.')
  flags.DEFINE_string('data_dir', None, 'Data directory (default: $GEN_DATA_DIR).')
  flags.mark_flags_as_required(['dataset'])


if __name__ == '__main__':
  from absl import app

  _define_flags()
  app.run(main)
