"""python -m gen.study.likelihood: which config and overrides each model gets on each
dataset, the tables, and one end-to-end run of the smoke networks (train, evaluate,
time the sampler, OOD both ways, report) with its refusals."""

import json
import math

import pytest

from conftest import data_dir_or_skip, one_error_line, run_module
from gen.study import likelihood as study


def test_every_model_has_a_likelihood_on_some_data_and_one_vae_on_8_bit():
  for model in study.MODELS:
    assert any(study.config_of(model, d) for d in study.DATASETS), model
  for model in study.VAES:
    assert study.config_of(model, 'binarized_mnist') is not None
  assert study.config_of('vae', 'mnist') == 'configs/vae.py:mnist_8bit'
  assert study.config_of('hvae', 'mnist') is None
  assert study.config_of('pixelcnn_pp', 'binarized_mnist') is None  # 256 levels only
  assert study.config_of('row_lstm', 'fashion_mnist') == 'configs/row_lstm.py:mnist'
  assert study.config_of('row_lstm', 'mnist_binarized', smoke=True) == 'configs/row_lstm.py:smoke'


def test_overrides_swap_the_data_and_set_the_budget_and_the_bound():
  got = study.overrides_of('vae', 'binarized_mnist', 400, 3, 50, 0)
  assert got[:2] == ['data.name=binarized_mnist', 'data.binarize=False']
  assert 'seed=3' in got and 'train.num_steps=400' in got and 'train.checkpoint_every=100' in got
  assert got[-1] == 'eval.iwae_k=(1,50)' and 'eval.num_examples=0' in got
  got = study.overrides_of('pixelcnn', 'fashion_mnist_binarized', None, 0, 50, 500)
  assert got == ['data.name=fashion_mnist', 'data.binarize=True', 'seed=0', 'eval.num_examples=500']


def test_nll_of_reads_either_family():
  assert study.nll_of({'nll_nats': 80.0, 'bits_per_dim': 0.1}) == (80.0, 0.1)
  assert study.nll_of({'nll': 90.0, 'iwae_50': -90.0, 'bits_per_dim': 0.2}) == (90.0, 0.2)


def test_tables_show_failures_and_numbers():
  records = [
      dict(dataset='mnist', model='pixelcnn', nll_nats=600.123, bits_per_dim=1.1, step=10,
           likelihood='exact', params=12345, cpu_s=90.0, sample_s_per_image=0.5),
      dict(dataset='mnist', model='row_lstm', failed='error: boom'),
  ]  # fmt: skip
  table = study.likelihood_table(records)
  assert '| mnist | pixelcnn | 600.12 | 1.1000 | exact | 12,345 | 10 | 1.5 | 0.5 |' in table
  assert 'failed: error: boom' in table


def test_unknown_names_are_refused():
  with pytest.raises(study.StudyError, match="unknown model 'gan'"):
    study.check_names(['gan'], ['mnist'])
  with pytest.raises(study.StudyError, match="unknown dataset 'cifar'"):
    study.check_names(['vae'], ['cifar'])


def test_smoke_study_trains_evaluates_times_and_scores_ood_both_ways(tmp_path):
  data_dir_or_skip('mnist', 'fashion_mnist')
  out = tmp_path / 'study'
  args = [
      f'--out={out}', '--smoke', '--models=pixelcnn', '--num_steps=2', '--eval_num=50',
      '--sample_n=1', '--ood_num=50', '--datasets=mnist_binarized,fashion_mnist_binarized',
  ]  # fmt: skip
  proc = run_module('gen.study.likelihood', *args)
  assert '2 runs (0 failed), 2 OOD rows.' in proc.stdout
  result = json.loads((out / 'results.json').read_text())
  for r in result['runs']:
    assert r['config'] == 'configs/pixelcnn.py:smoke' and r['step'] == 2
    assert r['likelihood'] == 'exact' and r['params'] > 0 and r['cpu_s'] > 0
    assert 0 < r['sample_s_per_image'] and math.isfinite(r['nll_nats'])
    assert r['bits_per_dim'] == pytest.approx(r['nll_nats'] / (784 * math.log(2)))
    evaluated = json.loads((out / 'runs' / f'pixelcnn_{r["dataset"]}' / 'eval' / 'step_2.json').read_text())  # fmt: skip
    assert evaluated['metrics']['num_examples'] == 50
  pairs = {(r['train'], r['ood']) for r in result['ood']}
  assert pairs == {
      ('mnist_binarized', 'fashion_mnist_binarized'),
      ('fashion_mnist_binarized', 'mnist_binarized'),
  }
  for r in result['ood']:
    assert 0 <= r['auroc'] <= 1 and 0 <= r['auroc_complexity'] <= 1
  assert (out / 'nll_vs_cpu_mnist_binarized.png').stat().st_size > 1000
  assert '| pixelcnn | mnist_binarized | fashion_mnist_binarized |' in (out / 'ood.md').read_text()
  # A second call trains nothing: the finished runs are reused.
  again = run_module('gen.study.likelihood', *args, '--report_only')
  assert '2 runs (0 failed), 2 OOD rows.' in again.stdout
  assert json.loads((out / 'results.json').read_text()) == result


@pytest.mark.parametrize(
    'flag, message',
    [('--models=gan', "unknown model 'gan'"), ('--num_steps=0', '--num_steps=0: must be >= 1')],
)
def test_bad_flags_are_one_error_line(tmp_path, flag, message):
  proc = run_module('gen.study.likelihood', f'--out={tmp_path}', flag, check=False)
  assert message in one_error_line(proc)
