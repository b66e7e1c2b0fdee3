"""The model contract: what every model gives the loop, eval.py and gen/eval.

A model is a frozen dataclass of pure functions built from its config:
  init(key, batch) -> State              every network, optimizer state, counter
  train_step(state, batch, key) -> (state, metrics)
                                         one full update (for a GAN: n_disc D
                                         updates then one G update); it leaves
                                         state.step to the loop
  sample(state, key, n) -> x             n samples in the data's space
  evaluate(state, batches, key) -> dict  the family's own numbers, from an
                                         iterable of (batch, num_valid)
Optional, where the family has them:
  log_likelihood(state, batch, key) -> (N,)
                                         log p(x) in nats per example: exact for
                                         autoregressive models, a bound for VAEs;
                                         gen.eval.likelihood turns it into NLL and
                                         bits/dim; studies call it for any model
  num_classes                            > 0: a class-conditional model; its
                                         sample takes labels (default: a row per
                                         class) and its batches carry 'label'
  complete(state, key, batch, observed) -> x
                                         image completion (autoregressive models):
                                         the batch's images with the pixels where
                                         observed (N, H, W) bool is False drawn in
                                         raster order, the observed ones kept, in
                                         the data's scale; a class-conditional
                                         model uses the batch's labels
  figures(state, batches, key, prefix) -> {name: path}
                                         the family's figures (latent manifolds,
                                         reconstructions), written by eval.py as
                                         PNGs whose paths start with `prefix`
Metrics are scalars named `player/quantity` ('vae/kl', 'd/loss', 'g/grad_norm').
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable

import jax

from gen.train.state import State

Batch = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Model:
  init: Callable[[jax.Array, Batch], State]
  train_step: Callable[[State, Batch, jax.Array], tuple[State, dict[str, jax.Array]]]
  sample: Callable[[State, jax.Array, int], jax.Array]
  evaluate: Callable[[State, Iterable[tuple[Batch, int]], jax.Array], dict[str, Any]]
  # Networks whose params get an EMA copy when config.train.ema_decay > 0.
  ema_networks: tuple[str, ...] = ()
  # Global batches drawn per step, stacked on a leading axis (e.g. one per
  # discriminator update); 1 means a plain batch.
  batches_per_step: int = 1
  log_likelihood: Callable[[State, Batch, jax.Array], jax.Array] | None = None
  num_classes: int = 0
  figures: Callable[[State, Iterable[tuple[Batch, int]], jax.Array, str], dict[str, str]] | None = None
  complete: Callable[[State, jax.Array, Batch, jax.Array], jax.Array] | None = None
