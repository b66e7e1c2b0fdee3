"""The Lucic et al. 2018 study's planner and budget bootstrap (gen/study/lucic): the
search spaces against compare_gan's params.py (cg@49495fd), the sampler against
compare_gan's own task lists (run under Python 2.7 by lucic_reference_py2.py), the
plan files, the bootstrap on hand examples, and the command line."""

import hashlib
import json
import math

import numpy as np
import pytest

from conftest import run_module
from gen import config as config_lib
from gen.study.lucic import budget
from gen.study.lucic import plan
from gen.study.lucic import spaces
from gen.study.lucic import studies

# sha256 of json.dumps([[game, sample_id, params], ...], sort_keys=True) of compare_gan's
# GetTasks('phase1_gan8_mnist_sample100_rep1') / ('phase2_gan8_mnist_sample50_rep1'),
# from tests/study/lucic_reference_py2.py under Python 2.7.18, games renamed to gen's.
COMPARE_GAN_SHA256 = {
    1: 'ff8f2e60717cdac4d256e1250e5f6f1e916fc93d1abfea1c32a3cfb9ef60ae08',
    2: '344ea4c9a689ade1bc636aefaf6d1d57f4afc4832d9e6ad639050282c2e4396f',
}
FULL_SAMPLES = {1: 100, 2: 50}


@pytest.fixture(scope='module')
def full_samples():
  return {phase: plan.sample_trials(phase, n) for phase, n in FULL_SAMPLES.items()}


def _sampled(rows):
  return [r for r in rows if r['sample_id'] > 0]


# ----------------------------------------------------------------------- spaces


def test_game_order_is_compare_gans():
  assert spaces.GAMES == ('ns_gan', 'mm_gan', 'wgan', 'wgan_gp', 'dragan', 'vae', 'lsgan', 'began')
  assert [spaces.COMPARE_GAN_NAME[g] for g in spaces.GAMES] == [
      'GAN', 'GAN_MINMAX', 'WGAN', 'WGAN_GP', 'DRAGAN', 'VAE', 'LSGAN', 'BEGAN'
  ]  # fmt: skip
  rows = plan.sample_trials(1, 3)
  assert [r['game'] for r in rows] == [g for g in spaces.GAMES for _ in range(3)]
  assert [r['sample_id'] for r in rows] == [0, 1, 2] * 8


def test_defaults_are_the_sheets():
  # Reference sheet 2.4, table "Wide range": lr, beta1, disc_iters, D batch norm.
  table = {
      'ns_gan': (5e-5, 0.0, 1, True),
      'mm_gan': (5e-5, 0.0, 1, True),
      'lsgan': (2e-4, 0.5, 1, True),
      'wgan': (5e-5, 0.5, 5, True),
      'wgan_gp': (1e-4, 0.5, 5, False),
      'dragan': (1e-4, 0.5, 1, True),
      'began': (1e-4, 0.5, 5, False),
      'vae': (5e-5, 0.5, 1, True),
  }
  for game, (lr, b1, di, bn) in table.items():
    d = spaces.defaults(game, spaces.WIDE)
    assert (d['learning_rate'], d['beta1'], d['disc_iters'], d['discriminator_batchnorm']) == (
        lr, b1, di, bn
    ), game  # fmt: skip
  assert spaces.defaults('wgan', spaces.WIDE)['weight_clipping'] == 0.01
  assert spaces.defaults('wgan_gp', spaces.WIDE)['lambda'] == 10.0
  assert spaces.defaults('dragan', spaces.WIDE)['lambda'] == 10.0
  assert spaces.defaults('began', spaces.WIDE) | {} == dict(
      beta1=0.5, learning_rate=1e-4, disc_iters=5, discriminator_batchnorm=False, gamma=0.75,
      **{'lambda': 0.001},
  )  # fmt: skip
  # Narrow-range defaults that params.py sets outside their own range.
  assert spaces.defaults('dragan', spaces.NARROW)['discriminator_batchnorm'] is True
  assert spaces.defaults('vae', spaces.NARROW)['discriminator_batchnorm'] is False
  assert spaces.defaults('wgan', spaces.NARROW)['disc_iters'] == 5


def test_ranges_are_the_sheets():
  w, n = spaces.WIDE, spaces.NARROW
  kinds = lambda game, r: {k: (p.kind, p.values) for k, p in spaces.space(game, r).items()}  # noqa: E731
  assert kinds('ns_gan', w) == dict(
      beta1=('uniform', (0.0, 1.0)),
      learning_rate=('log_uniform', (-5.0, -2.0)),
      disc_iters=('choice', (1, 5)),
      discriminator_batchnorm=('choice', (True, False)),
  )
  assert kinds('ns_gan', n) == dict(
      beta1=('choice', (0.5,)),
      learning_rate=('log_uniform', (-4.0, -3.0)),
      disc_iters=('choice', (1,)),
      discriminator_batchnorm=('choice', (True, False)),
  )
  assert kinds('wgan', w)['weight_clipping'] == ('log_uniform', (-3.0, 0.0))
  assert kinds('wgan', n)['weight_clipping'] == ('log_uniform', (-2.0, 0.0))
  for game in ('wgan_gp', 'dragan'):
    assert kinds(game, w)['lambda'] == ('log_uniform', (-1.0, 2.0))
    assert kinds(game, n)['lambda'] == ('log_uniform', (-1.0, 1.0))
    assert kinds(game, n)['discriminator_batchnorm'] == ('choice', (False,))
  assert kinds('began', w)['lambda'] == ('log_uniform', (-4.0, -2.0))
  assert kinds('began', w)['gamma'] == ('uniform', (0.0, 1.0))
  assert kinds('began', n)['lambda'] == ('log_uniform', (-3.0, -3.0))
  assert kinds('began', n)['gamma'] == ('uniform', (0.6, 0.9))
  for game in ('ns_gan', 'mm_gan', 'lsgan', 'wgan', 'began', 'vae'):
    assert kinds(game, n)['discriminator_batchnorm'] == ('choice', (True, False))
  # params_test.py: WGAN has 5 parameters, BEGAN 6.
  assert len(spaces.space('wgan', w)) == 5 and len(spaces.space('began', w)) == 6
  with pytest.raises(ValueError, match='unknown game'):
    spaces.space('ml_gan', w)


# ---------------------------------------------------------------------- sampler


def test_sampler_reproduces_compare_gans_task_lists(full_samples):
  for phase, rows in full_samples.items():
    canon = json.dumps([[r['game'], r['sample_id'], r['params']] for r in rows], sort_keys=True)
    assert hashlib.sha256(canon.encode()).hexdigest() == COMPARE_GAN_SHA256[phase], phase
  # A few rows as compare_gan printed them (sample 1 of the first and last game).
  p1, p2 = full_samples[1], full_samples[2]
  assert p1[1]['params'] == dict(
      beta1=0.052363598850944326, disc_iters=1, discriminator_batchnorm=True,
      learning_rate=2.1042663234335317e-05,
  )  # fmt: skip
  assert p1[701]['game'] == 'began' and p1[701]['params'] == dict(
      beta1=0.25423454589612515, disc_iters=5, discriminator_batchnorm=False,
      gamma=0.8916094725387379, learning_rate=9.357115466147035e-05,
      **{'lambda': 0.0001574145630492765},
  )  # fmt: skip
  assert p2[-1]['params'] == dict(
      beta1=0.5, disc_iters=1, discriminator_batchnorm=False, gamma=0.7382187038372263,
      learning_rate=0.0006578177820568058, **{'lambda': 0.001},
  )  # fmt: skip


def test_sample_0_of_every_game_is_its_defaults(full_samples):
  for phase, rows in full_samples.items():
    r = spaces.WIDE if phase == 1 else spaces.NARROW
    firsts = [row for row in rows if row['sample_id'] == 0]
    assert [row['game'] for row in firsts] == list(spaces.GAMES)
    for row in firsts:
      assert row['params'] == spaces.defaults(row['game'], r)


def test_every_sample_lies_in_its_range_and_is_of_its_kind(full_samples):
  for phase, rows in full_samples.items():
    r = spaces.WIDE if phase == 1 else spaces.NARROW
    for row in _sampled(rows):
      space = spaces.space(row['game'], r)
      assert set(row['params']) == set(space)
      for name, value in row['params'].items():
        p = space[name]
        assert p.contains(value), (row['game'], name, value)
        if p.kind == 'log_uniform':
          assert 10 ** p.values[0] * (1 - 1e-12) <= value <= 10 ** p.values[1] * (1 + 1e-12)


def test_disc_iters_and_narrow_quirks(full_samples):
  p1, p2 = (_sampled(full_samples[k]) for k in (1, 2))
  assert {r['params']['disc_iters'] for r in p1} == {1, 5}  # {1, 5}, never 2..4
  assert {r['params']['disc_iters'] for r in p2} == {1}  # for every game in phase 2
  assert {r['params']['beta1'] for r in p2} == {0.5}
  ns0 = full_samples[2][0]
  assert ns0['sample_id'] == 0 and ns0['params']['beta1'] == 0.0  # sample 0: the defaults
  for game in ('wgan_gp', 'dragan'):
    assert {r['params']['discriminator_batchnorm'] for r in p2 if r['game'] == game} == {False}
  assert {r['params']['discriminator_batchnorm'] for r in p1 if r['game'] == 'dragan'} == {
      True,
      False,
  }
  assert {r['params']['lambda'] for r in p2 if r['game'] == 'began'} == {0.001}


def test_log_uniform_samples_are_spread_in_log_space():
  rows = _sampled(plan.sample_trials(1, 1001, seed=7, games=['ns_gan']))
  log_lr = np.log10([r['params']['learning_rate'] for r in rows])
  assert abs(np.median(log_lr) - (-3.5)) < 0.15  # uniform on [-5, -2]: midpoint -3.5
  assert abs(np.mean(log_lr < -4.0) - 1 / 3) < 0.05  # a third per decade
  assert abs(np.median([r['params']['beta1'] for r in rows]) - 0.5) < 0.05


def test_a_subset_of_games_keeps_each_games_samples():
  all_rows = plan.sample_trials(1, 5)
  assert plan.sample_trials(1, 5, games=['wgan', 'began']) == [
      r for r in all_rows if r['game'] in ('wgan', 'began')
  ]
  with pytest.raises(ValueError, match='phase 3'):
    plan.sample_trials(3, 5)


# ------------------------------------------------------------------------- plan


def test_full_study_rows():
  rows = plan.plan_trials('full')
  assert len(rows) == 8 * (100 + 50) * 3
  assert [r['trial'] for r in rows] == list(range(len(rows)))
  assert len({r['name'] for r in rows}) == len(rows)
  mnist = [r for r in rows if r['dataset'] == 'mnist']
  assert {(r['d_steps'], r['checkpoint_every']) for r in mnist} == {(15_625, 3_906)}
  assert {r['d_steps'] for r in rows if r['dataset'] == 'cifar10'} == {78_125}
  wgan0 = next(r for r in mnist if r['game'] == 'wgan' and r['phase'] == 1)
  assert wgan0['sample_id'] == 0 and wgan0['g_steps'] == 3_125 and wgan0['seed'] == 0
  assert all(r['g_steps'] == r['d_steps'] for r in rows if r['game'] == 'vae')
  assert wgan0['eval'] == dict(features='inception', num_samples=10_000, num_real=10_000,
                               real_split='test')  # fmt: skip
  # Every dataset of a phase gets the same samples (each experiment re-seeds).
  fashion = [r for r in rows if r['dataset'] == 'fashion_mnist']
  assert [r['params'] for r in fashion] == [r['params'] for r in mnist]


def test_g_steps_round_up():
  assert plan.g_steps('wgan', {'disc_iters': 5}, 2_001) == 401
  assert plan.g_steps('ns_gan', {'disc_iters': 1}, 20) == 20


def test_write_plan_is_deterministic_and_refuses_another_plan(tmp_path):
  a, b = tmp_path / 'a', tmp_path / 'b'
  first = plan.write_plan('smoke', str(a))
  assert first['written'] and first['num_trials'] == 8 * (2 + 2)
  plan.write_plan('smoke', str(b))
  for name in (plan.TRIALS_FILE, plan.PLAN_FILE):
    assert (a / name).read_bytes() == (b / name).read_bytes()
  data = (a / plan.TRIALS_FILE).read_bytes()
  assert hashlib.sha256(data).hexdigest() == first['trials_sha256']
  lines = data.decode().splitlines()
  assert all(line == json.dumps(json.loads(line), sort_keys=True) for line in lines)
  meta = json.loads((a / plan.PLAN_FILE).read_text())
  assert meta['study'] == 'smoke' and 'git_commit' in meta['code']
  # The same plan again: nothing is rewritten.
  mtime = (a / plan.TRIALS_FILE).stat().st_mtime_ns
  assert plan.write_plan('smoke', str(a))['written'] is False
  assert (a / plan.TRIALS_FILE).stat().st_mtime_ns == mtime
  with pytest.raises(config_lib.ConfigError, match='holds another plan'):
    plan.write_plan('cpu', str(a))
  assert (a / plan.TRIALS_FILE).read_bytes() == data


def test_phase3_repeats_the_best_trial_with_new_seeds():
  rows = plan.plan_trials('smoke')
  best = {('digits', 'wgan'): rows[5], ('digits', 'ns_gan'): rows[1]}
  p3 = plan.phase3_trials('smoke', best)
  assert [r['trial'] for r in p3] == [len(rows), len(rows) + 1]  # smoke: 1 seed each
  assert [r['game'] for r in p3] == ['ns_gan', 'wgan']  # the study's game order
  assert p3[1]['params'] == rows[5]['params'] and p3[1]['sample_id'] == rows[5]['sample_id']
  assert {r['phase'] for r in p3} == {3} and [r['seed'] for r in p3] == [0, 0]
  study = studies.get('cpu')
  p3 = plan.phase3_trials(study, {('mnist', 'vae'): plan.plan_trials(study)[0]}, start=0)
  assert [r['seed'] for r in p3] == [0, 1]


def test_phase3_grows_by_a_game_planned_later_and_keeps_its_trial_numbers(tmp_path):
  """A study whose phase 3 was planned before one game's phase-1 trials ran (the VAE of
  the cpu study): planning again appends that game's seeds after the existing phase-3
  trials, whose numbers stay; a different best for a game already planned is refused."""
  out = str(tmp_path)
  plan.write_plan('smoke', out)
  rows = plan.plan_trials('smoke')
  vae = next(r for r in rows if r['game'] == 'vae')
  plan.add_phase3(out, {('digits', 'ns_gan'): rows[1], ('digits', 'lsgan'): rows[-3]})
  before = [json.loads(line) for line in (tmp_path / plan.TRIALS_FILE).read_text().splitlines()]
  added = plan.add_phase3(out, {('digits', 'ns_gan'): rows[1], ('digits', 'vae'): vae, ('digits', 'lsgan'): rows[-3]})  # fmt: skip
  after = [json.loads(line) for line in (tmp_path / plan.TRIALS_FILE).read_text().splitlines()]
  assert added['written'] and after[: len(before)] == before
  new = [(r['trial'], r['game'], r['phase']) for r in after[len(before) :]]
  assert new == [(len(rows) + 2, 'vae', 3)]
  assert after[-1]['params'] == vae['params'] and added['phase3_best']['digits/vae'] == vae['trial']
  again = plan.add_phase3(out, {('digits', 'ns_gan'): rows[1], ('digits', 'vae'): vae, ('digits', 'lsgan'): rows[-3]})  # fmt: skip
  assert again['written'] is False
  with pytest.raises(config_lib.ConfigError, match='other phase-1 results'):
    plan.add_phase3(out, {('digits', 'ns_gan'): rows[0], ('digits', 'vae'): vae, ('digits', 'lsgan'): rows[-3]})  # fmt: skip


def test_studies_are_checked():
  with pytest.raises(config_lib.ConfigError, match="unknown study 'nope'; valid studies: cpu"):
    studies.get('nope')
  c = studies.smoke()
  c.phase1.num_samples = 0
  with pytest.raises(config_lib.ConfigError, match='phase1.num_samples'):
    studies.check(c)
  c = studies.smoke()
  c.games = ['wgan', 'ns_gan']
  with pytest.raises(config_lib.ConfigError, match='in that order'):
    studies.check(c)


# ----------------------------------------------------------------------- budget


def test_budget_curve_on_a_hand_example():
  fids = [3.0, 1.0, 2.0]
  assert budget.expected_min(fids, 1) == pytest.approx(2.0)
  assert budget.expected_min(fids, 2) == pytest.approx((1 * 5 + 2 * 3 + 3 * 1) / 9)
  c = budget.budget_curve(fids, [1, 2, 50], num_resamples=5000, seed=0)
  assert list(c['budget']) == [1, 2, 50]
  assert c['mean'][0] == pytest.approx(2.0, abs=0.05)  # sd 0.82 / sqrt(5000) = 0.012
  assert c['mean'][1] == pytest.approx(14 / 9, abs=0.05)
  assert (c['low'][0], c['high'][0]) == (1.0, 3.0)
  assert c['mean'][2] == pytest.approx(1.0, abs=1e-3) and c['high'][2] == 1.0
  assert list(c['frac_failed']) == [0.0, 0.0, 0.0]
  again = budget.budget_curve(fids, [1, 2, 50], num_resamples=5000, seed=0)
  assert all(np.array_equal(c[k], again[k]) for k in c)


def test_budget_curve_mean_estimates_the_exact_expectation():
  fids = np.random.default_rng(1).uniform(5, 100, size=40)
  ks = [1, 3, 10, 30]
  c = budget.budget_curve(fids, ks, num_resamples=5000, seed=3)
  for k, mean in zip(ks, c['mean']):
    assert mean == pytest.approx(budget.expected_min(fids, k), rel=0.03)
  assert np.all(np.diff(c['mean']) < 0) and np.all(c['low'] <= c['high'])


def test_failed_trials_count_as_inf():
  c = budget.budget_curve([math.inf, 1.0], [1, 20], num_resamples=4000, seed=0)
  assert c['mean'][0] == math.inf and c['frac_failed'][0] == pytest.approx(0.5, abs=0.03)
  assert c['low'][0] == 1.0 and c['high'][0] == math.inf
  assert c['mean'][1] == 1.0 and c['frac_failed'][1] == 0.0  # (1/2)^20 * 4000 < 0.01
  # NaN and -inf are failures too: -inf never wins a minimum.
  for bad in (math.nan, -math.inf):
    c = budget.budget_curve([bad, 2.0, 4.0], [1, 40], num_resamples=3000, seed=0)
    assert c['frac_failed'][0] == pytest.approx(1 / 3, abs=0.03) and c['mean'][0] == math.inf
    assert c['mean'][1] == 2.0 and c['low'][0] == 2.0
  assert budget.expected_min([math.nan, 1.0], 3) == math.inf
  all_failed = budget.budget_curve([math.nan] * 3, [1, 5], num_resamples=100)
  assert list(all_failed['mean']) == [math.inf] * 2 and list(all_failed['frac_failed']) == [1, 1]
  with pytest.raises(ValueError, match='at least one trial'):
    budget.budget_curve([], [1])
  with pytest.raises(ValueError, match='>= 1'):
    budget.budget_curve([1.0], [0])


def test_percentile_is_numpys_on_finite_values_and_defined_with_inf():
  x = np.random.default_rng(0).normal(size=101)
  for q in (0, 2.5, 25, 50, 97.5, 100):
    assert budget.percentile(x, q) == pytest.approx(np.percentile(x, q), abs=1e-12)
  # 5 values, q = 25: exactly the second order statistic, even next to an inf.
  assert budget.percentile([1, 2, math.inf, math.inf, math.inf], 25) == 2.0
  assert budget.percentile([1, 2, math.inf, math.inf, math.inf], 30) == math.inf


# ---------------------------------------------------------------- command line


def test_command_line_plan(tmp_path):
  out = tmp_path / 'smoke'
  proc = run_module('gen.study.lucic', 'plan', '--study=smoke', f'--out={out}')
  assert 'Wrote 32 trials' in proc.stdout
  assert (out / plan.TRIALS_FILE).read_bytes() == plan.trials_bytes(plan.plan_trials('smoke'))
  proc = run_module('gen.study.lucic', 'plan', '--study=cpu', f'--out={out}', check=False)
  _assert_one_error_line(proc, 'holds another plan')


@pytest.mark.parametrize(
    'args, message',
    [
        (['plan', '--study=nope', '--out=unused'], "unknown study 'nope'; valid studies: cpu, full, smoke"),
        (['frob'], "unknown command 'frob'; valid commands: plan, report, run, submit"),
        (['run', '--study=smoke'], 'this command needs --dir'),
        (['report'], 'this command needs --dir'),
        (['submit', '--dir=unused'], 'this command needs --executor'),
        (['plan', '--out=unused', '--phase=2'], '--phase=2: phases 1 and 2 are planned up front'),
        ([], 'no command given'),
    ],
)
def test_command_line_errors(tmp_path, args, message):
  proc = run_module('gen.study.lucic', *args, check=False)
  _assert_one_error_line(proc, message)
  assert not (tmp_path / 'unused').exists()


def _assert_one_error_line(proc, message):
  assert proc.returncode == 1
  assert 'Traceback' not in proc.stderr
  lines = [line for line in proc.stderr.splitlines() if line.strip()]
  assert len(lines) == 1 and lines[0].startswith('error: ') and message in lines[0], proc.stderr
