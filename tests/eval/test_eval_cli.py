"""eval.py end to end on a tiny digits GAN with a tiny digits classifier: labelled sample-quality
metrics next to the model's own, provenance, the PRD curve, the reference-feature cache, the
default feature choice, and clear errors for bad classifier or Inception inputs."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import runs
from conftest import ROOT, run_cli

from gen import config as config_lib
from gen import data as data_lib
from gen.eval import classifier, features, sample_quality
from gen.eval import run as eval_run

# One worker runs this module, so its module-scoped fixtures are built once (under
# --dist loadgroup, ungrouped tests spread over the workers and each would build them).
pytestmark = pytest.mark.xdist_group('eval_cli')

EXTRACTOR = 'classifier:digits'


@pytest.fixture(scope='module')
def classifiers(tmp_path_factory):
  """A folder like runs/classifiers/ holding digits/, trained through the command line."""
  root = tmp_path_factory.mktemp('classifiers')
  subprocess.run(
      [sys.executable, '-m', 'gen.eval.classifier', '--dataset=digits', '--num_steps=100',
       f'--workdir={root / "digits"}'],
      cwd=ROOT, env={**os.environ, 'JAX_PLATFORMS': 'cpu'}, check=True, capture_output=True,
  )  # fmt: skip
  return root


@pytest.fixture(scope='module')
def gan(tmp_path_factory):
  work = tmp_path_factory.mktemp('gan') / 'run'
  runs.train(
      work,
      'configs/gan.py:digits',
      'train.num_steps=30',
      'train.checkpoint_every=30',
      'train.sample_every=30',
      'train.log_every=10',
  )
  return work


def _result(work, step=30):
  return json.loads((work / 'eval' / f'step_{step}.json').read_text())


def test_eval_writes_labelled_metrics_with_provenance_and_the_prd_curve(gan, classifiers):
  # Default features: the digits classifier found through $GEN_CLASSIFIERS_DIR.
  env = {classifier.ENV_VAR: str(classifiers)}
  proc = run_cli('eval.py', f'--workdir={gan}', '--num_samples=400', env=env)
  result = _result(gan)
  m = result['metrics']
  assert 'd/real_prob_test' in m and 'd/fake_prob' in m  # the model's own numbers stay
  for name in sample_quality.NAMES:
    assert f'{name} ({EXTRACTOR})' in m, name
  assert not any(k.startswith('FID') and EXTRACTOR not in k for k in m)  # never a bare "FID"
  assert m[f'FID ({EXTRACTOR})'] > 0 and 0 <= m[f'precision ({EXTRACTOR})'] <= 1

  q = result['provenance']['sample_quality']
  record = json.loads((classifiers / 'digits' / classifier.RECORD_FILE).read_text())
  assert q['feature_extractor'] == EXTRACTOR
  assert q['weights_sha256'] == record['weights_sha256']
  assert q['resize'].startswith('none: native 8x8x1')
  assert q['num_samples'] == 400 and q['seed'] == 0 and q['git_commit'] == record['git_commit']
  assert q['reference'] == {
      **q['reference'],
      'dataset': 'digits',
      'split': 'test',
      'num_images': 300,
      'features_cache': 'computed',
  }
  assert q['prd_png'] == 'eval/step_30_prd.png' and (gan / q['prd_png']).stat().st_size > 0
  assert len(list((gan / 'eval' / 'reference_features').glob('*.npz'))) == 1
  assert 'PRD curve in' in proc.stdout and EXTRACTOR in proc.stdout

  # The same evaluation through --classifier: the cached reference features, the same numbers.
  run_cli(
      'eval.py', f'--workdir={gan}', '--num_samples=400', f'--classifier={classifiers / "digits"}'
  )
  again = _result(gan)
  assert again['provenance']['sample_quality']['reference']['features_cache'] == 'hit'
  assert again['metrics'] == m


def test_without_a_classifier_the_model_numbers_come_alone_with_a_message(gan, tmp_path):
  proc = run_cli('eval.py', f'--workdir={gan}', env={classifier.ENV_VAR: str(tmp_path)})
  assert 'No sample-quality metrics' in proc.stdout
  assert 'python -m gen.eval.classifier --dataset digits' in proc.stdout
  result = _result(gan)
  assert 'skipped' in result['provenance']['sample_quality']
  assert not any('classifier:' in k for k in result['metrics'])
  run_cli('eval.py', f'--workdir={gan}', '--features=none')
  assert _result(gan)['provenance']['sample_quality']['skipped'].endswith('--features=none')


def _fails(*args, env=None):
  proc = run_cli('eval.py', *args, env=env, check=False)
  assert proc.returncode != 0 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
  return proc.stderr


def test_bad_feature_inputs_are_clear_errors(gan, classifiers, tmp_path):
  err = _fails(f'--workdir={gan}', f'--classifier={tmp_path / "missing"}')
  assert 'No classifier directory' in err and 'python -m gen.eval.classifier' in err

  env = {classifier.ENV_VAR: str(tmp_path)}
  err = _fails(f'--workdir={gan}', '--features=classifier', env=env)
  assert 'python -m gen.eval.classifier --dataset digits' in err

  broken = tmp_path / 'broken' / 'digits'
  shutil.copytree(classifiers / 'digits', broken)
  (broken / classifier.WEIGHTS_FILE).write_bytes(b'garbage')
  err = _fails(f'--workdir={gan}', f'--classifier={broken}')
  assert 'corrupt' in err and 'python -m gen.eval.classifier --dataset digits' in err

  env = {k: v for k, v in os.environ.items() if k != 'GEN_INCEPTION_WEIGHTS'}
  proc = subprocess.run(
      [sys.executable, 'eval.py', f'--workdir={gan}', '--features=inception'],
      cwd=ROOT, env={**env, 'JAX_PLATFORMS': 'cpu'}, capture_output=True, text=True, check=False,
  )  # fmt: skip
  assert proc.returncode != 0 and 'Traceback' not in proc.stderr
  assert 'GEN_INCEPTION_WEIGHTS' in proc.stderr and '--inception_weights' in proc.stderr


def test_feature_choice_without_the_command_line(tmp_path):
  """2D data keep their coverage metrics only; a classifier must fit the images' shape."""
  ring = config_lib.load(f'{ROOT}/configs/gan.py:smoke')
  info = data_lib.info(ring)
  assert eval_run.select_extractor(ring, info) == (None, None)
  with pytest.raises(features.FeatureError, match='2D points'):
    eval_run.select_extractor(ring, info, 'inception')

  mnist_like = tmp_path / 'mnist'
  classifier.save(
      str(mnist_like),
      classifier.init_params(10, (28, 28, 1)),
      {'dataset': 'mnist', 'num_classes': 10, 'input_shape': [28, 28, 1]},
  )
  digits = config_lib.load(f'{ROOT}/configs/gan.py:digits')
  with pytest.raises(features.FeatureError, match=r'takes \(28, 28, 1\) images'):
    eval_run.select_extractor(digits, data_lib.info(digits), classifier=str(mnist_like))
  with pytest.raises(features.FeatureError, match='valid: classifier, inception, none'):
    eval_run.select_extractor(digits, data_lib.info(digits), 'clip')
