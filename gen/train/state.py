"""The train state: one immutable pytree holding everything a run needs to resume."""

from __future__ import annotations

from typing import Any

import flax
import jax
import jax.numpy as jnp


@flax.struct.dataclass
class NonFinite:
  """The loop's guard against non-finite updates (see loop.guarded_step)."""

  count: jax.Array  # updates skipped so far
  first_step: jax.Array  # step of the first skipped update, -1 if none
  first_what: jax.Array  # index into the step's checked quantities, -1 if none

  @classmethod
  def empty(cls) -> 'NonFinite':
    return cls(
        count=jnp.zeros((), jnp.int32),
        first_step=-jnp.ones((), jnp.int32),
        first_what=-jnp.ones((), jnp.int32),
    )


@flax.struct.dataclass
class State:
  """Every network, optimizer state and counter of a model, keyed by name.

  params / batch_stats / ema: {network name: variables}, e.g. {'g': .., 'd': ..}.
  opt_state: {player name: optax state}; optimizers themselves are static and
  live in the Model. extra: game scalars such as BEGAN's k_t. The loop owns
  `step`, `rng` (the base key; step keys are fold_in(rng, step)) and `nonfinite`.
  """

  step: jax.Array
  rng: jax.Array
  params: dict[str, Any]
  opt_state: dict[str, Any]
  batch_stats: dict[str, Any] = flax.struct.field(default_factory=dict)
  ema: dict[str, Any] = flax.struct.field(default_factory=dict)
  extra: dict[str, Any] = flax.struct.field(default_factory=dict)
  nonfinite: NonFinite = flax.struct.field(default_factory=NonFinite.empty)


def create(
    rng: jax.Array,
    params: dict,
    opt_state: dict,
    batch_stats: dict | None = None,
    extra: dict | None = None,
) -> State:
  return State(
      step=jnp.zeros((), jnp.int32),
      rng=rng,
      params=params,
      opt_state=opt_state,
      batch_stats=batch_stats or {},
      extra=extra or {},
  )


def network_params(state: State, name: str):
  """Params to sample with: the EMA copy when the run keeps one."""
  return state.ema.get(name, state.params[name])
