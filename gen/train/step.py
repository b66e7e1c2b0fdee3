"""The loop's jitted step: the model's update, EMA, and the non-finite guard; and a call
that runs several such steps in one `lax.scan`."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gen.train.model import Model
from gen.train.state import NonFinite, State


def init_state(model: Model, ema_decay: float, key, batch) -> State:
  state = model.init(key, batch)
  if ema_decay > 0:
    state = state.replace(ema={n: state.params[n] for n in model.ema_networks})
  return state


def checked_names(metric_names, network_names) -> list[str]:
  """The quantities the guard checks, in the order `first_what` indexes."""
  return sorted(metric_names) + [f'params/{n}' for n in sorted(network_names)]


def _all_finite(tree) -> jax.Array:
  leaves = jax.tree.leaves(tree)
  return (
      jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])) if leaves else jnp.array(True)
  )


def make_train_step(model: Model, ema_decay: float):
  """(state, batch) -> (state, metrics), for jax.jit at the call site.

  The step key is fold_in(state.rng, state.step), so a resumed run draws the
  same keys. An update whose metrics (losses, gradient norms) or new params
  are not all finite is not applied: the state keeps its old values, the step
  still advances, and `state.nonfinite` records it; the loop then stops with an
  error or, with train.skip_nonfinite, carries on (the update is skipped).
  """

  def step(state: State, batch):
    key = jax.random.fold_in(state.rng, state.step)
    new, metrics = model.train_step(state, batch, key)
    if ema_decay > 0:
      new = new.replace(
          ema=jax.tree.map(
              lambda e, p: ema_decay * e + (1.0 - ema_decay) * p,
              new.ema,
              {n: new.params[n] for n in new.ema},
          )
      )
    checks = [jnp.all(jnp.isfinite(metrics[k])) for k in sorted(metrics)]
    checks += [_all_finite(new.params[n]) for n in sorted(new.params)]
    finite = jnp.stack(checks)
    ok = jnp.all(finite)
    kept = jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, state)
    nf = state.nonfinite
    first = nf.count == 0
    nonfinite = NonFinite(
        count=nf.count + jnp.where(ok, 0, 1).astype(jnp.int32),
        first_step=jnp.where(first & ~ok, state.step, nf.first_step),
        first_what=jnp.where(first & ~ok, jnp.argmin(finite).astype(jnp.int32), nf.first_what),
    )
    return kept.replace(step=state.step + 1, nonfinite=nonfinite), metrics

  return step


def make_train_call(model: Model, ema_decay: float, steps_per_call: int = 1):
  """(state, batches) -> (state, metrics of the call's last step), for jax.jit.

  With steps_per_call = 1 this is `make_train_step` itself: the same program,
  no scan. Otherwise every batch leaf carries a leading call axis (the
  iterator's next batches stacked, in front of any micro-batch axis) and a
  `lax.scan` runs the per-step function over it, so the non-finite guard, the
  EMA and the fold_in(rng, step) keys stay per step; only the dispatch (one
  host round trip per call, not per step) is amortised. The scan's length is
  the call axis's, so a shorter call is the same function at another shape.
  """
  step = make_train_step(model, ema_decay)
  if steps_per_call == 1:
    return step

  def call(state: State, batches):
    state, metrics = jax.lax.scan(step, state, batches)
    return state, jax.tree.map(lambda m: m[-1], metrics)

  return call
