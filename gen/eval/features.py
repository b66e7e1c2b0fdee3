"""Feature extractors for sample-quality metrics: one interface over classifiers and Inception.

An extractor maps uint8 images (N, H, W, C) to float32 {'pool': (N, D), 'logits':
(N, K)}: `pool` feeds FID, KID, PRD and precision / recall / density / coverage,
`logits` the Inception Score (or its classifier analogue). It carries what a
result must state to be reproducible: its name, the SHA-256 of its weights and
the rule by which images reach its input size. Every metric computed with it is
labelled with its name, e.g. "FID (classifier:mnist)" or "FID (inception:fid)";
numbers from different extractors are different metrics.

  from_classifier(path)         'classifier:<dataset>', the project's own CNN
                                (gen.eval.classifier), native resolution only
  from_inception(weights_path)  'inception:fid', the FID Inception-v3
                                (gen.eval.inception): pool3 and the bias-free
                                logits that OpenAI's Inception Score code uses
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from gen.eval import classifier as classifier_lib
from gen.eval import provenance

INCEPTION_NAME = 'inception:fid'
INCEPTION_RESIZE = (
    'uint8 -> float32; grayscale repeated to 3 channels; TF1 bilinear resize to 299x299 '
    '(align_corners=False, no half-pixel offset, no antialiasing); (x - 128) / 128'
)

# Datasets whose images a dataset's classifier was trained on (same size, same content).
_CLASSIFIER_FOR = {
    'mnist': 'mnist',
    'binarized_mnist': 'mnist',
    'tfds:mnist': 'mnist',
    'fashion_mnist': 'fashion_mnist',
    'tfds:fashion_mnist': 'fashion_mnist',
    'digits': 'digits',
}


class FeatureError(ValueError):
  """A feature extractor that cannot be built or used as asked."""


@dataclasses.dataclass(frozen=True)
class FeatureExtractor:
  """uint8 images -> {'pool': (N, D), 'logits': (N, K)}, with its provenance."""

  name: str  # e.g. 'classifier:mnist', 'inception:fid'
  weights_sha256: str
  resize: str  # how images reach the network's input size and scale
  fn: Callable[[np.ndarray], dict[str, np.ndarray]]
  input_shape: tuple[int, ...] | None = None  # (H, W, C) accepted; None: any size
  details: dict[str, Any] = dataclasses.field(default_factory=dict)  # extra provenance

  def __call__(self, images) -> dict[str, np.ndarray]:
    images = np.asarray(images)
    if images.dtype != np.uint8:
      raise TypeError(
          f'{self.name} features take uint8 images, got {images.dtype}; see '
          'gen.eval.sample_quality.to_uint8.'
      )
    if images.ndim != 4:
      raise ValueError(f'{self.name} expects images (N, H, W, C), got shape {images.shape}.')
    if self.input_shape is not None and images.shape[1:] != tuple(self.input_shape):
      raise FeatureError(
          f'{self.name} takes images of shape {tuple(self.input_shape)}, got {images.shape[1:]}.'
      )
    out = self.fn(images)
    return {'pool': np.asarray(out['pool']), 'logits': np.asarray(out['logits'])}

  def label(self, metric: str) -> str:
    """'FID' -> 'FID (classifier:mnist)': the only way metrics are named."""
    return f'{metric} ({self.name})'

  def provenance(self) -> dict[str, Any]:
    return {
        'feature_extractor': self.name,
        'weights_sha256': self.weights_sha256,
        'resize': self.resize,
        **self.details,
    }


def classifier_dataset(data_name: str) -> str | None:
  """The classifier that fits a dataset's images ('binarized_mnist' -> 'mnist'), or None."""
  return _CLASSIFIER_FOR.get(data_name)


def from_classifier(classifier, batch_size: int = 1000) -> FeatureExtractor:
  """Extractor of a trained classifier (a `Classifier` or its run directory)."""
  if not isinstance(classifier, classifier_lib.Classifier):
    try:
      classifier = classifier_lib.load(classifier)
    except classifier_lib.ClassifierError as e:
      raise FeatureError(str(e)) from None
  h, w, c = classifier.input_shape
  record = classifier.record
  return FeatureExtractor(
      name=f'classifier:{classifier.dataset}',
      weights_sha256=classifier.weights_sha256,
      resize=f'none: native {h}x{w}x{c} input only; uint8 x -> x / 255 * 2 - 1',
      fn=lambda images: classifier.features(images, batch_size),
      input_shape=classifier.input_shape,
      details={
          'classifier_dir': classifier.directory,
          'classifier_test_accuracy': record.get('accuracy'),
          'classifier_steps': record.get('steps'),
          'classifier_seed': record.get('seed'),
          'classifier_git_commit': record.get('git_commit'),
          'features': (
              f'penultimate dense layer, {classifier.module.hidden} values before its ReLU; '
              'logits for IS'
          ),
      },
  )


def from_inception(weights_path: str | None = None, batch_size: int = 200) -> FeatureExtractor:
  """Extractor of the FID Inception-v3; weights from `weights_path`, else
  $GEN_INCEPTION_WEIGHTS (FeatureError saying where to get the file if neither exists, or if
  the file is not the weights)."""
  from gen.eval import inception  # imported here: its network is large to build

  try:
    path = inception.resolve_weights_path(weights_path)
    # Read now (fid_features reuses the cached result), so that a file that is not the
    # weights fails before a checkpoint is restored and samples are drawn.
    inception.load_variables(path)
  except (FileNotFoundError, inception.WeightsError) as e:
    raise FeatureError(str(e)) from None
  digest = provenance.sha256_file(path)

  def fn(images):
    out = inception.fid_features(images, path, batch_size)
    return {'pool': out['pool3'], 'logits': out['logits_unbiased']}

  return FeatureExtractor(
      name=INCEPTION_NAME,
      weights_sha256=digest,
      resize=INCEPTION_RESIZE,
      fn=fn,
      details={
          'weights_file': inception.WEIGHTS_FILE,
          'weights_match_reference': digest == inception.WEIGHTS_SHA256,
          'features': 'pool3 (2048); logits_unbiased (1008, pool3 @ W.T) for IS',
      },
  )
