"""train.steps_per_call = k: k steps in one jitted lax.scan give the run k = 1 gives,
resume bitwise for the same k, and stop for SIGTERM at a call boundary."""

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

import runs
from conftest import ROOT
from gen import config as config_lib
from gen import data as data_lib
from gen.train import loop, sharding
from gen.train import step as step_lib

# One worker runs this module, so its module-scoped fixtures are built once (under
# --dist loadgroup, ungrouped tests spread over the workers and each would build them).
pytestmark = pytest.mark.xdist_group('steps_per_call')

SPEC = 'configs/gan.py:smoke'  # 20 steps, logged every 5, checkpoints at 10 and 20
K = 5


@pytest.fixture(scope='module')
def k_run(tmp_path_factory):
  """The smoke preset, straight through with K steps per call."""
  work = tmp_path_factory.mktemp('steps_per_call') / 'straight'
  runs.train(work, SPEC, f'train.steps_per_call={K}')
  return work


@pytest.fixture(scope='module')
def one_run(tmp_path_factory):
  """The smoke preset, straight through with one step per call."""
  work = tmp_path_factory.mktemp('steps_per_call') / 'one'
  runs.train(work, SPEC)
  return work


def _assert_close_runs(a, b, steps):
  """Logged values at `steps` and the final state of two runs agree to float tolerance."""
  la, lb = runs.losses(a), runs.losses(b)
  for step in steps:  # each logged value is its own step's, not the call's mean
    assert la[step].keys() == lb[step].keys()
    names = sorted(la[step])
    np.testing.assert_allclose(
        [lb[step][n] for n in names], [la[step][n] for n in names], rtol=1e-6, err_msg=str(step)
    )
  for x, y in zip(runs.state_leaves(a), runs.state_leaves(b), strict=True):
    np.testing.assert_allclose(y, x, rtol=1e-6, atol=1e-7)


def test_k_steps_per_call_log_and_end_as_one(one_run, k_run):
  assert sorted(runs.losses(one_run)) == sorted(runs.losses(k_run)) == [5, 10, 15, 20]
  assert runs.steps(k_run) == [10, 20]
  _assert_close_runs(one_run, k_run, [5, 10, 15, 20])


def test_resume_from_another_k_realigns_with_one_shorter_call(tmp_path, one_run):
  work = tmp_path / 'run'
  runs.train(work, SPEC, 'train.num_steps=12')  # k = 1: a checkpoint at 12
  runs.train(work, SPEC, f'train.steps_per_call={K}')  # 3 steps, then calls of K
  assert sorted(runs.losses(work)) == [5, 10, 12, 15, 20]
  assert runs.steps(work) == [10, 12, 20]
  _assert_close_runs(one_run, work, [15, 20])


def test_resume_with_the_same_k_is_bitwise(tmp_path, k_run):
  work = tmp_path / 'split'
  runs.train(work, SPEC, f'train.steps_per_call={K}', 'train.num_steps=10')
  runs.train(work, SPEC, f'train.steps_per_call={K}')  # resumes at 10
  assert runs.steps(work) == [10, 20]
  runs.assert_identical(runs.state_leaves(k_run), runs.state_leaves(work))
  assert runs.losses(work)[20] == runs.losses(k_run)[20]


def test_sigterm_is_honoured_at_a_call_boundary(tmp_path):
  k = 7  # call boundaries that are not log steps
  overrides = [
      f'train.steps_per_call={k}',
      'train.num_steps=2800',
      'train.log_every=70',
      'train.checkpoint_every=70000',
      'train.sample_every=70000',
  ]
  runs.train(tmp_path / 'straight', SPEC, *overrides)
  work = tmp_path / 'preempted'
  runs.train_and_preempt(work, SPEC, *overrides)
  saved = runs.steps(work)
  assert len(saved) == 1 and 0 < saved[0] < 2800 and saved[0] % k == 0, saved
  runs.train(work, SPEC, *overrides)
  assert runs.steps(work)[-1] == 2800
  runs.assert_identical(runs.state_leaves(tmp_path / 'straight'), runs.state_leaves(work))


@pytest.mark.parametrize(
    'overrides, message',
    [
        (
            {'train.steps_per_call': 3},
            'config.train.num_steps=20: must be a multiple of train.steps_per_call=3 (logs, '
            'samples and checkpoints happen between calls): use 18 or 21.',
        ),
        (
            {'train.steps_per_call': 4, 'train.log_every': 2},
            'config.train.log_every=2: must be a multiple of train.steps_per_call=4 (logs, '
            'samples and checkpoints happen between calls): use 4.',
        ),
        ({'train.steps_per_call': 0}, 'config.train.steps_per_call=0: must be an integer >= 1.'),
    ],
)
def test_misaligned_keys_are_config_errors_before_any_write(tmp_path, overrides, message):
  config = config_lib.load(f'{ROOT}/{SPEC}')
  for key, value in overrides.items():
    config_lib.override(config, key, str(value))
  with pytest.raises(config_lib.ConfigError) as e:
    loop.train(config, str(tmp_path / 'run'))
  assert str(e.value) == message
  assert not (tmp_path / 'run').exists()


def test_one_step_per_call_is_the_plain_step():
  config, model, batch = runs.setup_model(SPEC)
  decay = config.train.ema_decay
  state = step_lib.init_state(model, decay, jax.random.PRNGKey(0), batch)

  def program(fn, b):
    return jax.jit(fn).lower(state, b).as_text()

  plain = program(step_lib.make_train_step(model, decay), batch)
  assert program(step_lib.make_train_call(model, decay, 1), batch) == plain
  stacked = jax.tree.map(lambda x: x[None], batch)
  scanned = program(step_lib.make_train_call(model, decay, 2), stacked)
  # One loop more than the step's own (the GAN's scan over its n_disc D updates).
  assert scanned.count('stablehlo.while') == plain.count('stablehlo.while') + 1


def test_micro_batches_and_steps_per_call_stack_and_step_as_single_steps():
  """n_disc = 2 (two real batches per step) with K steps per call: the call axis goes
  in front of the micro-batch axis, and the call equals K single steps."""
  k = K  # the smoke preset's logging and checkpoint intervals are multiples of it
  config, model, _ = runs.setup_model(SPEC, **{'model.n_disc': 2, 'train.steps_per_call': k})
  mesh = sharding.make_mesh()
  single_sh = sharding.batch_sharding(mesh, sharding.leading_axes(model))
  call_sh = sharding.batch_sharding(mesh, sharding.leading_axes(model, k))
  assert single_sh.spec == P(None, 'data') and call_sh.spec == P(None, None, 'data')
  it = data_lib.train_iterator(config, 0, 1, num_micro=model.batches_per_step)
  batches = loop.next_batches(it, k, stacked=True)
  assert batches['x'].shape == (k, 2, config.train.batch_size, 2)
  assert it.get_state() == {'position': k * 2 * config.train.batch_size}

  decay = config.train.ema_decay
  repl = sharding.replicated(mesh)
  with jax.set_mesh(mesh):
    first = sharding.put_batch(jax.tree.map(lambda x: x[0], batches), single_sh)
    init = jax.jit(lambda key, b: step_lib.init_state(model, decay, key, b), out_shardings=repl)
    call = jax.jit(step_lib.make_train_call(model, decay, k), in_shardings=(repl, call_sh))
    state, metrics = call(init(jax.random.PRNGKey(0), first), sharding.put_batch(batches, call_sh))
    step = jax.jit(step_lib.make_train_step(model, decay), in_shardings=(repl, single_sh))
    single = init(jax.random.PRNGKey(0), first)
    for i in range(k):
      single, single_metrics = step(
          single, sharding.put_batch(jax.tree.map(lambda x: x[i], batches), single_sh)
      )
  assert int(state.step) == k and int(state.nonfinite.count) == 0
  assert metrics.keys() == single_metrics.keys()
  for name in metrics:
    assert np.isfinite(metrics[name]), name
    np.testing.assert_allclose(metrics[name], single_metrics[name], rtol=1e-6, err_msg=name)
  for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(single), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
