"""Data parallelism: 1 device, 8 devices and 2 processes give the same run."""

import chex
import portpicker
import pytest

import runs

EIGHT = {'XLA_FLAGS': '--xla_force_host_platform_device_count=8'}


def _assert_same_losses(a, b, rtol=1e-4, atol=1e-5):
  # {step: {metric: value}}: the same steps and metrics, and close values.
  chex.assert_trees_all_close(runs.losses(a), runs.losses(b), rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    'spec, extra',
    [
        ('configs/vae.py:smoke', []),
        # DCGAN with batch norm (statistics must be global-batch ones) and two
        # discriminator updates per step (stacked batches, sharded on axis 1).
        ('configs/gan.py:digits', ['model.n_disc=2']),
    ],
)
def test_one_and_eight_devices_agree(tmp_path, spec, extra):
  overrides = [
      'train.num_steps=10',
      'train.log_every=2',
      'train.checkpoint_every=10',
      'train.sample_every=10',
      *extra,
  ]
  runs.train(tmp_path / 'one', spec, *overrides)
  runs.train(tmp_path / 'eight', spec, *overrides, env=EIGHT)
  _assert_same_losses(tmp_path / 'one', tmp_path / 'eight')
  chex.assert_trees_all_close(
      runs.params(tmp_path / 'one'), runs.params(tmp_path / 'eight'), rtol=1e-4, atol=1e-5
  )


def test_two_processes_match_one(tmp_path):
  spec = 'configs/gan.py:smoke'
  runs.train(tmp_path / 'one', spec)
  port = portpicker.pick_unused_port()
  procs = [
      runs.start_train(
          tmp_path / 'two',
          spec,
          flags=[
              f'--coordinator_address=localhost:{port}',
              '--num_processes=2',
              f'--process_id={i}',
          ],
      )
      for i in range(2)
  ]
  for p in procs:
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err[-3000:]
  _assert_same_losses(tmp_path / 'one', tmp_path / 'two')
  chex.assert_trees_all_close(
      runs.params(tmp_path / 'one'), runs.params(tmp_path / 'two'), rtol=1e-4, atol=1e-5
  )
