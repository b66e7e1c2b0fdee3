"""Exact resumption: N steps + N resumed steps (or a SIGTERM and a re-run) end
bitwise where 2N straight steps end."""

import pytest

import runs


@pytest.mark.parametrize('spec', ['configs/vae.py:smoke', 'configs/gan.py:smoke'])
def test_resume_equals_straight_run(tmp_path, spec):
  runs.train(tmp_path / 'straight', spec, 'train.num_steps=20')
  runs.train(tmp_path / 'split', spec, 'train.num_steps=10')
  assert runs.steps(tmp_path / 'split') == [10]
  runs.train(tmp_path / 'split', spec, 'train.num_steps=20')  # same command: resumes
  assert runs.steps(tmp_path / 'split') == [10, 20]
  runs.assert_identical(
      runs.state_leaves(tmp_path / 'straight'), runs.state_leaves(tmp_path / 'split')
  )
  # Logged losses after the resume point match too.
  straight, split = runs.losses(tmp_path / 'straight'), runs.losses(tmp_path / 'split')
  assert straight[20] == split[20]


def test_sigterm_saves_and_rerun_resumes_exactly(tmp_path):
  spec = 'configs/gan.py:smoke'
  overrides = [
      'train.num_steps=3000',
      'train.log_every=50',
      'train.checkpoint_every=100000',
      'train.sample_every=100000',
  ]
  runs.train(tmp_path / 'straight', spec, *overrides)

  work = tmp_path / 'preempted'
  runs.train_and_preempt(work, spec, *overrides)
  saved = runs.steps(work)
  assert len(saved) == 1 and 0 < saved[0] < 3000, saved

  runs.train(work, spec, *overrides)
  assert runs.steps(work)[-1] == 3000
  runs.assert_identical(runs.state_leaves(tmp_path / 'straight'), runs.state_leaves(work))
