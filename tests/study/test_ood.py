"""Likelihood-based OOD detection: the metrics against sklearn and by hand, the scoring
loop, and python -m gen.study.ood end to end (a PixelCNN trained on Fashion-MNIST, MNIST
as OOD) with its one-line refusals."""

import json
import math
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import metrics as skm

from conftest import ROOT, one_error_line
from gen import config as config_lib
from gen.data import iterator
from gen.data import sources
from gen.eval import likelihood
from gen.eval import ood
from gen.study import ood as study

# One worker runs this module, so its module-scoped fixtures are built once (under
# --dist loadgroup, ungrouped tests spread over the workers and each would build them).
pytestmark = pytest.mark.xdist_group('ood')

# ----------------------------------------------------------------------- metrics


def _tied_scores(seed):
  """Integer-valued scores (many ties, within and across sets) of random set sizes."""
  rng = np.random.default_rng(seed)
  s_in = rng.integers(0, 8, rng.integers(1, 60)).astype(np.float64)
  s_out = rng.integers(0, 8, rng.integers(1, 60)).astype(np.float64) - rng.integers(0, 3)
  return s_in, s_out


def _sk_labels(s_in, s_out):
  return np.r_[np.ones(len(s_in)), np.zeros(len(s_out))], np.r_[s_in, s_out]


@pytest.mark.parametrize('seed', range(20))
def test_auroc_and_auprc_match_sklearn_with_ties(seed):
  s_in, s_out = _tied_scores(seed)
  y, s = _sk_labels(s_in, s_out)
  assert ood.auroc(s_in, s_out) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
  # In-distribution positive, detected by a high score; OOD positive, by a low score.
  assert ood.auprc(s_in, s_out, 'in') == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)
  assert ood.auprc(s_in, s_out) == pytest.approx(
      skm.average_precision_score(1 - y, -s), abs=1e-12
  )
  assert ood.auprc(s_in, s_out, positive='out') == ood.auprc(s_in, s_out)


@pytest.mark.parametrize('seed', range(20))
@pytest.mark.parametrize('tpr', [0.5, 0.95, 1.0])
def test_fpr_at_tpr_matches_sklearn_roc_curve(seed, tpr):
  s_in, s_out = _tied_scores(seed)
  fpr, tprs, thresholds = skm.roc_curve(*_sk_labels(s_in, s_out), drop_intermediate=False)
  k = int(np.argmax(tprs >= tpr))  # the highest threshold with TPR >= tpr
  got, threshold = ood.fpr_at_tpr(s_in, s_out, tpr, return_threshold=True)
  assert got == pytest.approx(fpr[k], abs=1e-12) and threshold == thresholds[k]
  assert np.mean(s_in >= threshold) >= tpr and np.mean(s_out >= threshold) == got


def test_metrics_on_hand_computed_cases():
  s_in, s_out = [3.0, 2.0, 2.0], [2.0, 1.0]
  # Pairs: 3>2, 3>1, 2=2 (1/2), 2>1, 2=2 (1/2), 2>1 -> 5 of 6.
  assert ood.auroc(s_in, s_out) == pytest.approx(5 / 6)
  # In positive: t=3 P=1 R=1/3; t=2 P=3/4 R=1 -> 1/3 + 2/3 * 3/4.
  assert ood.auprc(s_in, s_out, 'in') == pytest.approx(5 / 6)
  # OOD positive (score -s): t=-1 P=1 R=1/2; t=-2 P=2/4 R=1 -> 1/2 + 1/2 * 1/2.
  assert ood.auprc(s_in, s_out, 'out') == pytest.approx(3 / 4)
  # Keeping >= 95 % of in needs all three (threshold 2), which accepts OOD 2: FPR 1/2.
  assert ood.fpr_at_tpr(s_in, s_out, 0.95, return_threshold=True) == (0.5, 2.0)
  assert ood.fpr_at_tpr(s_in, s_out, 1 / 3) == 0.0
  assert ood.auroc([1, 1], [1, 1, 1]) == 0.5  # all tied: chance
  assert ood.auroc([2, 3], [0, 1]) == 1.0
  assert ood.auroc([0, 1], [2, 3]) == 0.0  # OOD looks MORE likely: far below 0.5
  # OOD positive, scores -s: in 0, -1; out -2, -3, so the ranking is in, in, out, out:
  # t=0, -1 add no recall; t=-2 P=1/3 R=1/2; t=-3 P=2/4 R=1 -> 1/6 + 1/4.
  assert ood.auprc([0, 1], [2, 3], 'out') == pytest.approx(5 / 12)
  assert ood.fpr_at_tpr([0, 1], [2, 3]) == 1.0  # keeping both in accepts every OOD


def test_summary_keys_and_input_errors():
  out = ood.summary([3.0, 2.0, 2.0], [2.0, 1.0])
  assert set(out) == {'auroc', 'auprc_out', 'auprc_in', 'fpr_at_95_tpr', 'threshold_at_95_tpr'}
  with pytest.raises(ValueError, match='NaN'):
    ood.auroc([1.0, np.nan], [0.0])
  with pytest.raises(ValueError, match='both sets'):
    ood.auprc([], [0.0])
  with pytest.raises(ValueError, match='positive'):
    ood.auprc([1.0], [0.0], positive='ood')
  with pytest.raises(ValueError, match='tpr'):
    ood.fpr_at_tpr([1.0], [0.0], tpr=0.0)


# --------------------------------------------------------------- scoring, checks


def _batches(n, batch_size, shape=(2, 2, 1)):
  x = np.arange(n * math.prod(shape), dtype=np.uint8).reshape((n,) + shape)
  info = sources.DatasetInfo('fake', 'image', shape, 256, None, ('test',))
  return iterator.eval_batches(sources.ArraySource(info, x), batch_size)


def _fake_ll(state, batch, key):
  del state
  return -jnp.sum(batch['x'].astype(jnp.float32), axis=(1, 2, 3)) + jax.random.uniform(key)


def test_scores_agree_with_eval_likelihood_and_stop_at_num():
  key = jax.random.PRNGKey(3)
  values = study.scores(_fake_ll, None, _batches(13, 5), key)
  assert values.shape == (13,) and values.dtype == np.float64
  expected = likelihood.evaluate(_fake_ll, None, _batches(13, 5), key, 4)
  assert -values.mean() == pytest.approx(expected['nll_nats'], rel=1e-12)
  first7 = study.scores(_fake_ll, None, _batches(13, 5), key, num=7)
  np.testing.assert_array_equal(first7, values[:7])  # padding rows never count


def test_class_conditional_scores_are_marginalised_over_a_uniform_prior():
  def ll(state, batch, key):
    del state, key
    return -jnp.sum(batch['x'], axis=1) * (batch['label'] + 1.0)

  batch = {'x': jnp.array([[1.0, 0.0], [0.5, 0.5]]), 'label': jnp.array([7, 7])}
  got = study._marginal_over_classes(ll, 3)(None, batch, None)
  want = [np.logaddexp.reduce([-(y + 1.0) for y in range(3)]) - math.log(3)] * 2
  np.testing.assert_allclose(got, want, rtol=1e-6)


def test_check_compatible_refuses_other_shapes_and_levels_unless_binarized():
  mnist, fashion, digits, bmnist = (
      sources.local_info(n) for n in ('mnist', 'fashion_mnist', 'digits', 'binarized_mnist')
  )
  study.check_compatible(fashion, mnist, binarize=False)
  with pytest.raises(study.OODError, match=r'shape \(8, 8, 1\).*\(28, 28, 1\)'):
    study.check_compatible(mnist, digits, binarize=False)
  with pytest.raises(study.OODError, match='2 intensity levels'):
    study.check_compatible(mnist, bmnist, binarize=False)
  study.check_compatible(mnist, bmnist, binarize=True)  # both become {0, 1}
  assert study.output_name('tfds:svhn_cropped') == 'ood_tfds_svhn_cropped'
  assert study.output_name('mnist', 'train') == 'ood_mnist_train'


# ------------------------------------------------------------------- end to end


def _ood_cli(*args, check=False):
  return subprocess.run(
      [sys.executable, '-m', 'gen.study.ood', *args],
      cwd=ROOT,
      env={**os.environ, 'JAX_PLATFORMS': 'cpu'},
      capture_output=True,
      text=True,
      timeout=600,
      check=check,
  )


def test_cli_writes_finite_metrics_json_and_histogram(pixelcnn_fashion_run, tmp_path):
  out = tmp_path / 'out'
  proc = _ood_cli(f'--workdir={pixelcnn_fashion_run}', '--ood=mnist', '--num=64', f'--out={out}')
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'AUROC' in proc.stdout
  result = json.loads((out / 'ood_mnist.json').read_text())
  m = result['metrics']
  for metrics in (m, result['metrics_complexity']):
    for name in ('auroc', 'auprc_in', 'auprc_out', 'fpr_at_95_tpr'):
      assert math.isfinite(metrics[name]) and 0.0 <= metrics[name] <= 1.0, (name, metrics[name])
  assert 'complexity-corrected: AUROC' in proc.stdout
  for part, dataset in (('in_distribution', 'fashion_mnist'), ('ood', 'mnist')):
    r = result[part]
    assert (r['dataset'], r['split'], r['num_examples']) == (dataset, 'test', 64)
    assert r['nll_nats'] == -r['mean_log_likelihood_nats'] > 0
    assert r['bits_per_dim'] == pytest.approx(r['nll_nats'] / (784 * math.log(2)))
    # A 28 x 28 1-bit PNG: 28 rows of 4 bytes and a filter byte, deflated, plus headers.
    assert 8 * 60 < r['mean_png_bits'] < 8 * (28 * 5 + 200)
  p = result['provenance']
  assert p['step'] == result['step'] == 4 and p['workdir'] == str(pixelcnn_fashion_run)
  assert p['datasets'] == {'in': 'fashion_mnist', 'ood': 'mnist'}
  assert p['splits'] == {'in': 'test', 'ood': 'test'} and p['seed'] == 0
  assert p['key'].startswith('fold_in(PRNGKey(0), ') and p['preprocessing']['binarize']
  assert (out / 'ood_mnist.png').stat().st_size > 1000


def test_cli_refuses_a_dataset_of_another_shape(pixelcnn_fashion_run, tmp_path):
  out = tmp_path / 'out'
  work = pixelcnn_fashion_run
  line = one_error_line(_ood_cli(f'--workdir={work}', '--ood=digits', f'--out={out}'))
  assert '--ood=digits' in line and '(8, 8, 1)' in line and '(28, 28, 1)' in line
  assert not out.exists()


def test_cli_refuses_a_model_without_likelihood(tmp_path):
  # A GAN run directory needs only its config.json: the refusal precedes any restore.
  work = tmp_path / 'gan'
  work.mkdir()
  config = config_lib.load(f'{ROOT}/configs/gan.py:digits')
  (work / 'config.json').write_text(config_lib.to_json(config))
  line = one_error_line(_ood_cli(f'--workdir={work}', '--ood=digits'))
  assert "model 'gan'" in line and 'has no likelihood' in line
  assert sorted(p.name for p in work.iterdir()) == ['config.json']

