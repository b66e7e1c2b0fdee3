"""Orbax checkpoints of the train state and the data-iterator state."""

from __future__ import annotations

import os
import shutil
import time

import orbax.checkpoint as ocp


class CheckpointError(RuntimeError):
  """A checkpoint that cannot be restored."""


class Checkpointer:
  """Saves {state, data} under <workdir>/checkpoints/<step>/."""

  def __init__(self, workdir: str, max_to_keep: int = 3):
    self.directory = os.path.join(os.path.abspath(workdir), 'checkpoints')
    self.manager = ocp.CheckpointManager(
        self.directory, options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
    )

  def steps(self) -> list[int]:
    return sorted(self.manager.all_steps())

  def latest(self) -> int | None:
    steps = self.steps()
    return steps[-1] if steps else None

  def save(self, step: int, state, data_state: dict) -> None:
    if step in self.manager.all_steps():
      return
    self.manager.save(
        step,
        args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data_state)
        ),
    )
    self.manager.wait_until_finished()

  def restore(self, step: int, abstract_state):
    """Restores `step` into the structure of `abstract_state` (with shardings)."""
    if step not in self.steps():
      raise CheckpointError(
          f'No checkpoint for step {step} in {self.directory}; '
          f'available steps: {self.steps() or "none"}.'
      )
    try:
      restored = self.manager.restore(
          step,
          args=ocp.args.Composite(
              state=ocp.args.StandardRestore(abstract_state), data=ocp.args.JsonRestore()
          ),
      )
    except Exception as e:  # orbax raises many types for damaged files
      earlier = [s for s in self.steps() if s < step]
      hint = (
          f'Restore an earlier one with --step={earlier[-1]} (available: {earlier}); '
          f'later checkpoints are then moved aside, not deleted.'
          if earlier
          else 'No earlier checkpoint exists; start a new run in a fresh --workdir.'
      )
      raise CheckpointError(
          f'Checkpoint at step {step} in {self.directory} is unreadable '
          f'({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}). {hint}'
      ) from e
    return restored.state, restored.data

  def set_aside_after(self, step: int) -> list[int]:
    """Moves checkpoints later than `step` to checkpoints_set_aside/ (kept, not lost)."""
    later = [s for s in self.steps() if s > step]
    if later:
      dest = os.path.join(
          os.path.dirname(self.directory), 'checkpoints_set_aside', time.strftime('%Y%m%d-%H%M%S')
      )
      os.makedirs(dest, exist_ok=True)
      for s in later:
        shutil.move(os.path.join(self.directory, str(s)), os.path.join(dest, str(s)))
      self.manager.reload()
    return later

  def close(self) -> None:
    self.manager.close()
