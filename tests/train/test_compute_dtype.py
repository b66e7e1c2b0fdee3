"""train.compute_dtype=bfloat16 (mixed precision): models train with finite losses,
their networks compute in bfloat16, and what is saved stays float32."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runs
from gen.eval import run as eval_run
from gen.train import step as step_lib


def _floating(tree) -> list:
  return [x for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)]


@pytest.mark.parametrize('spec', ['configs/gan.py:smoke', 'configs/vae.py:smoke'])
def test_bfloat16_trains_with_finite_losses_and_saves_float32(tmp_path, spec):
  work = tmp_path / 'run'
  runs.train(work, spec, 'train.compute_dtype=bfloat16')
  logged = runs.losses(work)
  assert sorted(logged) == [5, 10, 15, 20]
  for step, values in logged.items():
    assert values['nonfinite/skipped'] == 0, step
    for name, v in values.items():  # a non-finite value is written as a string
      assert isinstance(v, (int, float)) and math.isfinite(v), (step, name, v)
  _, _, _, state, _ = eval_run.load_run(str(work))
  saved = _floating((state.params, state.opt_state, state.batch_stats, state.ema, state.extra))
  assert saved and {x.dtype for x in saved} == {jnp.dtype(jnp.float32)}


@pytest.mark.parametrize(
    'spec',
    [
        'configs/gan.py:smoke',
        'configs/vae.py:smoke',
        'configs/pixelcnn.py:smoke',
        'configs/gated_pixelcnn.py:smoke',
    ],
)
def test_the_step_computes_in_bfloat16_only_when_asked(spec):
  def program(compute_dtype):
    config, model, batch = runs.setup_model(spec, **{'train.compute_dtype': compute_dtype})
    state = step_lib.init_state(model, 0.0, jax.random.PRNGKey(0), batch)
    return jax.jit(step_lib.make_train_step(model, 0.0)).lower(state, batch).as_text()

  assert 'bf16' in program('bfloat16')
  assert 'bf16' not in program('float32')


def test_dcgan_batch_norm_statistics_stay_float32():
  config, model, batch = runs.setup_model(
      'configs/gan.py:digits',
      **{'train.compute_dtype': 'bfloat16', 'model.features': 8, 'train.batch_size': 16},
  )
  state = jax.jit(lambda k, b: step_lib.init_state(model, 0.0, k, b))(jax.random.PRNGKey(0), batch)
  before = jax.tree.map(np.asarray, state.batch_stats)
  new, metrics = jax.jit(step_lib.make_train_step(model, 0.0))(state, batch)
  assert int(new.nonfinite.count) == 0
  assert all(np.isfinite(v) for v in metrics.values())
  stats = jax.tree.leaves(new.batch_stats)
  assert stats and {x.dtype for x in stats} == {jnp.dtype(jnp.float32)}
  assert any(not np.array_equal(a, b) for a, b in zip(stats, jax.tree.leaves(before)))
  assert {x.dtype for x in _floating((new.params, new.opt_state))} == {jnp.dtype(jnp.float32)}
