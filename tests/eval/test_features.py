"""The feature-extractor interface: classifier and Inception extractors, names, errors."""

import numpy as np
import pytest

from gen.eval import classifier, features, inception, provenance

# One worker runs this module, so its module-scoped fixtures are built once (under
# --dist loadgroup, ungrouped tests spread over the workers and each would build them).
pytestmark = pytest.mark.xdist_group('features')


@pytest.fixture(scope='module')
def clf_dir(tmp_path_factory):
  """An untrained digits classifier saved as a run directory (no training needed here)."""
  work = tmp_path_factory.mktemp('cls') / 'digits'
  params = classifier.init_params(10, (8, 8, 1), seed=0)
  classifier.save(
      str(work),
      params,
      {'dataset': 'digits', 'num_classes': 10, 'input_shape': [8, 8, 1], 'accuracy': 0.1},
  )
  return work


def test_classifier_extractor(clf_dir):
  ex = features.from_classifier(str(clf_dir))
  assert ex.name == 'classifier:digits' and ex.input_shape == (8, 8, 1)
  assert ex.weights_sha256 == classifier.load(clf_dir).weights_sha256
  assert 'native 8x8x1' in ex.resize
  images = np.random.default_rng(0).integers(0, 256, (5, 8, 8, 1)).astype(np.uint8)
  out = ex(images)
  assert out['pool'].shape == (5, 128) and out['logits'].shape == (5, 10)
  assert ex.label('FID') == 'FID (classifier:digits)'
  prov = ex.provenance()
  assert prov['feature_extractor'] == 'classifier:digits'
  assert prov['weights_sha256'] == ex.weights_sha256 and prov['resize'] == ex.resize
  assert prov['classifier_test_accuracy'] == 0.1


def test_extractor_checks_its_input(clf_dir):
  ex = features.from_classifier(str(clf_dir))
  with pytest.raises(TypeError, match='uint8'):
    ex(np.zeros((2, 8, 8, 1), np.float32))
  with pytest.raises(features.FeatureError, match=r'takes images of shape \(8, 8, 1\)'):
    ex(np.zeros((2, 28, 28, 1), np.uint8))
  with pytest.raises(ValueError, match='N, H, W, C'):
    ex(np.zeros((8, 8, 1), np.uint8))


def test_missing_classifier_is_a_feature_error_with_the_command(tmp_path):
  with pytest.raises(features.FeatureError, match='python -m gen.eval.classifier --dataset mnist'):
    features.from_classifier(str(tmp_path / 'mnist'))


def test_inception_extractor_maps_pool3_and_unbiased_logits(tmp_path, monkeypatch):
  weights = tmp_path / 'weights.pth'
  weights.write_bytes(b'stand-in for the weights file')
  calls = []

  def fake_fid_features(images, weights_path, batch_size):
    calls.append((images.shape, weights_path, batch_size))
    n = len(images)
    return {
        'pool3': np.ones((n, 2048), np.float32),
        'logits': np.zeros((n, 1008), np.float32),
        'logits_unbiased': np.full((n, 1008), 2.0, np.float32),
    }

  monkeypatch.setattr(inception, 'fid_features', fake_fid_features)
  monkeypatch.setattr(inception, 'load_variables', lambda path: {})  # the stand-in is not read
  ex = features.from_inception(str(weights), batch_size=7)
  assert ex.name == 'inception:fid' and ex.input_shape is None
  assert ex.weights_sha256 == provenance.sha256_file(weights)
  assert 'TF1 bilinear' in ex.resize and '299' in ex.resize
  assert ex.provenance()['weights_match_reference'] is False
  out = ex(np.zeros((3, 28, 28, 1), np.uint8))
  assert out['pool'].shape == (3, 2048) and (out['logits'] == 2.0).all()
  assert calls == [((3, 28, 28, 1), str(weights), 7)]
  assert ex.label('FID') == 'FID (inception:fid)'


def test_inception_without_weights_says_where_to_get_them(monkeypatch, tmp_path):
  monkeypatch.delenv(inception.ENV_VAR, raising=False)
  with pytest.raises(features.FeatureError, match='GEN_INCEPTION_WEIGHTS') as e:
    features.from_inception(None)
  assert inception.WEIGHTS_URL in str(e.value)
  with pytest.raises(features.FeatureError, match='do not exist'):
    features.from_inception(str(tmp_path / 'nope.pth'))


def test_inception_weights_that_are_not_the_weights_name_the_file_and_the_one_to_get(tmp_path):
  garbage = tmp_path / 'weights.pth'
  garbage.write_bytes(np.random.default_rng(0).bytes(4096))
  with pytest.raises(features.FeatureError, match=r'weights.pth is not a readable torch.save') as e:
    features.from_inception(str(garbage))
  assert inception.WEIGHTS_FILE in str(e.value) and '--inception_weights' in str(e.value)
  assert '\n' not in str(e.value)


def test_classifier_for_each_dataset():
  assert features.classifier_dataset('mnist') == 'mnist'
  assert features.classifier_dataset('binarized_mnist') == 'mnist'
  assert features.classifier_dataset('tfds:fashion_mnist') == 'fashion_mnist'
  assert features.classifier_dataset('digits') == 'digits'
  assert features.classifier_dataset('frey_face') is None
  assert features.classifier_dataset('ring8') is None
