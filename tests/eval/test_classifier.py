"""Dataset classifiers (the feature extractors of "FID (classifier:...)"): accuracy on real
MNIST, the saved record and weights, and clear errors for missing or corrupt files."""

import json
import shutil
import subprocess

import numpy as np
import pytest
import conftest

from gen.data import sources
from gen.eval import classifier, provenance


def run_module(*args, env=None, check=True, timeout=600) -> subprocess.CompletedProcess:
  """`python -m gen.eval.classifier ARGS` from the repository root, as a user runs it."""
  return conftest.run_module('gen.eval.classifier', *args, env=env, check=check, timeout=timeout)


@pytest.mark.xdist_group('mnist_classifier')
def test_mnist_classifier_reaches_99_percent(mnist_classifier_run):
  """The MNIST recipe, as is, through the command line (conftest's session fixture, which
  the CVAE's samples test shares)."""
  work, proc = mnist_classifier_run
  record = json.loads((work / classifier.RECORD_FILE).read_text())
  assert record['dataset'] == 'mnist' and record['steps'] == classifier.RECIPES['mnist'].num_steps
  assert record['accuracy'] >= 0.99, (record['accuracy'], proc.stdout)
  assert 'reached' in proc.stdout


@pytest.fixture(scope='module')
def digits_dir(tmp_path_factory):
  """A digits classifier trained briefly in-process (accuracy is not the point here)."""
  work = tmp_path_factory.mktemp('cls') / 'digits'
  classifier.train('digits', str(work), num_steps=60, seed=3)
  return work


def test_record_and_weights(digits_dir):
  record = json.loads((digits_dir / classifier.RECORD_FILE).read_text())
  for key in ('dataset', 'accuracy', 'steps', 'seed', 'weights_sha256', 'git_commit'):
    assert key in record, key
  assert record['dataset'] == 'digits' and record['steps'] == 60 and record['seed'] == 3
  assert record['input_shape'] == [8, 8, 1] and record['num_classes'] == 10
  assert 0.0 <= record['accuracy'] <= 1.0
  weights = digits_dir / classifier.WEIGHTS_FILE
  assert record['weights_sha256'] == provenance.sha256_file(weights)


def test_loaded_classifier_gives_features_and_its_accuracy(digits_dir):
  clf = classifier.load(digits_dir)
  test = sources.load('digits', 'test')
  out = clf.features(test.x)
  assert out['pool'].shape == (300, 128) and out['logits'].shape == (300, 10)
  assert (out['pool'] < 0).any()  # before the ReLU
  acc = float(np.mean(out['logits'].argmax(-1) == test.label))
  assert acc == pytest.approx(clf.record['accuracy'])
  # Batch size and padding do not change the features.
  small = clf.features(test.x[:7], batch_size=3)
  np.testing.assert_allclose(small['logits'], out['logits'][:7], rtol=1e-5, atol=1e-5)


def test_features_reject_wrong_images(digits_dir):
  clf = classifier.load(digits_dir)
  with pytest.raises(TypeError, match='uint8'):
    clf.features(np.zeros((2, 8, 8, 1), np.float32))
  with pytest.raises(ValueError, match=r'\(8, 8, 1\)'):
    clf.features(np.zeros((2, 28, 28, 1), np.uint8))


def _copy(src, tmp_path):
  dst = tmp_path / 'digits'
  shutil.copytree(src, dst)
  return dst


def test_missing_or_corrupt_files_say_what_to_run(digits_dir, tmp_path):
  command = 'python -m gen.eval.classifier --dataset digits'
  with pytest.raises(classifier.ClassifierError, match='No classifier directory') as e:
    classifier.load(tmp_path / 'nowhere' / 'digits')
  assert command in str(e.value)

  empty = tmp_path / 'empty'
  empty.mkdir()
  with pytest.raises(classifier.ClassifierError, match='classifier.json is missing') as e:
    classifier.load(empty)
  assert 'python -m gen.eval.classifier' in str(e.value)

  work = _copy(digits_dir, tmp_path)
  weights = work / classifier.WEIGHTS_FILE
  data = bytearray(weights.read_bytes())
  data[len(data) // 2] ^= 0xFF
  weights.write_bytes(bytes(data))
  with pytest.raises(classifier.ClassifierError, match='corrupt or was changed') as e:
    classifier.load(work)
  assert command in str(e.value)

  # Garbage whose digest matches the record: the parser's failure is reported.
  weights.write_bytes(b'not msgpack at all')
  record = json.loads((work / classifier.RECORD_FILE).read_text())
  record['weights_sha256'] = provenance.sha256_file(weights)
  (work / classifier.RECORD_FILE).write_text(json.dumps(record))
  with pytest.raises(classifier.ClassifierError, match='cannot be read') as e:
    classifier.load(work)
  assert command in str(e.value)

  weights.unlink()
  with pytest.raises(classifier.ClassifierError, match='missing') as e:
    classifier.load(work)
  assert command in str(e.value)

  (work / classifier.RECORD_FILE).write_text('{"dataset": "digits", ')
  with pytest.raises(classifier.ClassifierError, match='corrupt') as e:
    classifier.load(work)
  assert command in str(e.value)


def test_cli_rejects_unknown_dataset_and_missing_data(tmp_path):
  proc = run_module('--dataset=cifar10', f'--workdir={tmp_path}', check=False)
  assert proc.returncode != 0 and 'digits' in proc.stderr and 'Traceback' not in proc.stderr
  proc = run_module(
      '--dataset=mnist', f'--workdir={tmp_path}', env={'GEN_DATA_DIR': str(tmp_path)}, check=False
  )
  assert proc.returncode != 0 and 'Traceback' not in proc.stderr
  assert 'mnist' in proc.stderr and 'train-images-idx3-ubyte.gz' in proc.stderr
