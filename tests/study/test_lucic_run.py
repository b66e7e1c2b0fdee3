"""Running a Lucic et al. study directory (gen/study/lucic/trials.py, report.py, submit.py
and the `run`, `submit`, `report` and `plan --phase=3` commands): a trial is idempotent
and resumes bitwise after SIGKILL, the process pool and submitit's local executor run
trials, phase 3 repeats the best phase-1 setting (seed 0 reproduces it exactly), and the
report traces every number to its trial. A tiny study on the built-in digits: two games
(a GAN and the VAE),
one sample each, 4 D steps, 64 samples against 64 test images."""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, one_error_line, run_module
from gen.study.lucic import plan as plan_lib
from gen.study.lucic import studies
from gen.study.lucic import trials as trials_lib

# One worker runs this module, so its module-scoped fixtures are built once (under
# --dist loadgroup, ungrouped tests spread over the workers and each would build them).
pytestmark = pytest.mark.xdist_group('lucic_run')


def _tiny_study(games=('ns_gan', 'vae'), seeds=1):
  c = studies.smoke()
  c.games = list(games)
  c.phase1.num_samples, c.phase2.num_samples, c.phase3.num_seeds = 1, 0, seeds
  c.steps = {'digits': dict(d_steps=4, checkpoint_every=2)}
  c.eval = dict(features='classifier', num_samples=64, num_real=64, real_split='test')
  studies.check(c)
  return c


@pytest.fixture(scope='module')
def digits_classifier(tmp_path_factory):
  work = tmp_path_factory.mktemp('classifier') / 'digits'
  run_module('gen.eval.classifier', '--dataset=digits', f'--workdir={work}')
  return str(work)


def _lucic(*args, check=True):
  return run_module('gen.study.lucic', *args, check=check)


def _result(study_dir, trial):
  with open(os.path.join(trials_lib.trial_dir(str(study_dir), trial), trials_lib.RESULT_FILE)) as f:
    return json.load(f)


def test_pool_runs_the_study_phase3_repeats_the_best_and_the_report_traces_it(tmp_path, digits_classifier):
  study = tmp_path / 'study'
  plan_lib.write_plan(_tiny_study(), str(study))
  clf = f'--classifier={digits_classifier}'
  assert 'phase 1 of' in one_error_line(_lucic('plan', f'--out={study}', '--phase=3', check=False))
  _lucic('run', f'--dir={study}', '--workers=2', clf)
  first = {n: _result(study, n) for n in (0, 1)}
  for r in first.values():
    assert r['status'] == 'done' and [c['step'] for c in r['checkpoints']] == [2, 4]
    assert r['best_fid'] == min(c['FID'] for c in r['checkpoints']) and math.isfinite(r['best_fid'])
    assert r['features'] == 'classifier:digits' and len(r['weights_sha256']) == 64
  mtimes = {p: os.path.getmtime(p) for p in study.rglob('*') if p.is_file()}
  _lucic('run', f'--dir={study}', '--trial=0', clf)  # done: nothing is written
  assert {p: os.path.getmtime(p) for p in study.rglob('*') if p.is_file()} == mtimes

  out = _lucic('plan', f'--out={study}', '--phase=3').stdout
  assert 'Added 2 phase-3 trials' in out
  _, rows = trials_lib.read_plan(str(study))
  assert [(r['trial'], r['phase'], r['game'], r['seed']) for r in rows] == [
      (0, 1, 'ns_gan', 0), (1, 1, 'vae', 0), (2, 3, 'ns_gan', 0), (3, 3, 'vae', 0)]  # fmt: skip
  assert 'Already planned' in _lucic('plan', f'--out={study}', '--phase=3').stdout
  # Seed 0 of the best setting is that very run again: retrained, it reproduces it;
  # by default its result is taken from the phase-1 trial.
  _lucic('run', f'--dir={study}', '--trial=2', '--retrain_repeats', clf)
  assert _result(study, 2)['checkpoints'] == first[0]['checkpoints']
  assert 'same_run_as' not in _result(study, 2) and (study / 'trials/2/checkpoints').is_dir()
  _lucic('run', f'--dir={study}', '--workers=1', clf)
  repeat = _result(study, 3)
  assert repeat['same_run_as'] == 1 and repeat['checkpoints'] == first[1]['checkpoints']
  assert repeat['row']['phase'] == 3 and not (study / 'trials/3/checkpoints').exists()

  out = _lucic('report', f'--dir={study}').stdout
  assert '| digits | ns_gan | 1 |' in out and '4 of 4 trials' in out
  report = json.loads((study / 'report.json').read_text())
  assert (study / 'budget_digits.png').stat().st_size > 0 and (study / 'report.md').exists()
  cells = {c['game']: c for c in report['table']}
  for game, trial in (('ns_gan', 0), ('vae', 1)):
    cell = cells[game]
    assert cell['best_trial'] == trial and cell['best_fid'] == first[trial]['best_fid']
    assert cell['phase3_seeds'] == 1 and cell['phase3_mean'] == first[trial]['best_fid']
    assert cell['defaults_fid'] == first[trial]['best_fid']
    curve = report['budget_curves']['digits'][game]
    assert curve['budget'] == [1] and curve['mean'] == [pytest.approx(first[trial]['best_fid'])]
  assert set(report['trials']) == {'0', '1', '2', '3'}
  assert [report['trials'][n]['same_run_as'] for n in '0123'] == [None, None, None, 1]
  assert report['trials_sha256'] == json.loads((study / 'plan.json').read_text())['trials_sha256']


def test_a_killed_trial_resumes_to_the_uninterrupted_result(tmp_path, digits_classifier):
  """SIGKILL after the first checkpoint, rerun: the same result as the uninterrupted
  trial, which here runs through submitit's local executor (the SLURM path)."""
  pytest.importorskip('submitit')
  killed, straight = tmp_path / 'killed', tmp_path / 'straight'
  plan_lib.write_plan(_tiny_study(games=('dragan',)), str(killed))
  plan_lib.write_plan(_tiny_study(games=('dragan',)), str(straight))
  clf = f'--classifier={digits_classifier}'
  out = _lucic('submit', f'--dir={straight}', '--executor=local', clf).stdout
  assert 'Submitted 1 trials (local)' in out and 'All submitted trials finished' in out

  cmd = [sys.executable, '-m', 'gen.study.lucic', 'run', f'--dir={killed}', '--trial=0', clf]
  proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, 'JAX_PLATFORMS': 'cpu'},
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
  first_checkpoint = killed / 'trials' / '0' / 'checkpoints' / '2'
  deadline = time.time() + 300
  while not first_checkpoint.exists() and proc.poll() is None:
    assert time.time() < deadline, 'no checkpoint in 300 s'
    time.sleep(0.05)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert not (killed / 'trials' / '0' / trials_lib.RESULT_FILE).exists()
  _lucic('run', f'--dir={killed}', '--trial=0', clf)
  a, b = _result(killed, 0), _result(straight, 0)
  assert a['checkpoints'] == b['checkpoints'] and a['best_fid'] == b['best_fid']


def test_bad_study_inputs_are_one_line_errors(tmp_path):
  study = tmp_path / 'study'
  plan_lib.write_plan(_tiny_study(), str(study))
  assert 'trials 0..1' in one_error_line(_lucic('run', f'--dir={study}', '--trial=7', check=False))
  assert 'holds no study plan' in one_error_line(_lucic('run', f'--dir={tmp_path / "none"}', '--trial=0', check=False))  # fmt: skip
  assert 'no trial' in one_error_line(_lucic('report', f'--dir={study}', check=False))
  assert "--executor='pbs'" in one_error_line(_lucic('submit', f'--dir={study}', '--executor=pbs', check=False))  # fmt: skip
  other = tmp_path / 'other'
  shutil.copytree(study, other)
  with open(other / plan_lib.TRIALS_FILE, 'a') as f:
    f.write('{}\n')  # a trial list changed by hand
  assert 'changed by hand' in one_error_line(_lucic('run', f'--dir={other}', '--trial=0', check=False))
  env_index = run_module('gen.study.lucic', 'run', f'--dir={study}', check=False,
                         env={'SLURM_ARRAY_TASK_ID': 'x'})  # fmt: skip
  assert "$SLURM_ARRAY_TASK_ID='x'" in one_error_line(env_index)


def test_the_kubernetes_manifest_runs_trials_by_completion_index():
  yaml = pytest.importorskip('yaml')
  with open(os.path.join(ROOT, 'docs', 'lucic_indexed_job.yaml')) as f:
    job = yaml.safe_load(f)
  assert job['kind'] == 'Job' and job['spec']['completionMode'] == 'Indexed'
  command = job['spec']['template']['spec']['containers'][0]['command']
  assert command[:4] == ['python', '-m', 'gen.study.lucic', 'run']
  assert not any(arg.startswith('--trial') for arg in command)  # the index picks the trial
  assert 'JOB_COMPLETION_INDEX' in trials_lib.INDEX_ENV
