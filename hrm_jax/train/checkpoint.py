"""Orbax checkpoints of the train state together with the Grain iterator state (exact resumption).

One `ocp.CheckpointManager` per workdir (`<workdir>/checkpoints`), async saves, keep-N. The model, optimizer,
ACT carry and the data iterator's position are written in the same step (an `ocp.args.Composite`), so a resumed
run continues on exactly the next batch. A latest checkpoint that fails to restore (partial or corrupt) is
reported and skipped in favour of the previous one.
"""
from __future__ import annotations

import logging
import os
from typing import Any

import grain
import jax
import orbax.checkpoint as ocp

log = logging.getLogger(__name__)


class Checkpointer:
  def __init__(self, workdir: str, keep: int = 3, async_save: bool = True):
    self.directory = os.path.join(os.path.abspath(workdir), "checkpoints")
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, enable_async_checkpointing=async_save,
                                           create=True)
    self.manager = ocp.CheckpointManager(self.directory, options=options)

  def all_steps(self) -> list[int]:
    return sorted(self.manager.all_steps())

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def save(self, step: int, state: Any, data_iterator: grain.DatasetIterator | None, force: bool = False) -> bool:
    items = {"state": ocp.args.StandardSave(state)}
    if data_iterator is not None:
      items["data_iter"] = grain.checkpoint.CheckpointSave(data_iterator)
    return self.manager.save(step, args=ocp.args.Composite(**items), force=force)

  def restore(self, state_template: Any, data_iterator: grain.DatasetIterator | None,
              step: int | None = None) -> tuple[Any, int] | None:
    """Restores the newest readable checkpoint (or `step`) into the template's structure.

    Returns (state, step), or None when the workdir has no checkpoint. A checkpoint that cannot be read is
    logged and the next older one is tried.
    """
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state_template)
    candidates = [step] if step is not None else sorted(self.all_steps(), reverse=True)
    for candidate in candidates:
      items = {"state": ocp.args.StandardRestore(abstract)}
      if data_iterator is not None:
        items["data_iter"] = grain.checkpoint.CheckpointRestore(data_iterator)
      try:
        restored = self.manager.restore(candidate, args=ocp.args.Composite(**items))
      except Exception as e:  # a partial or corrupt step directory: report it and fall back
        message = f"checkpoint step {candidate} in {self.directory} could not be restored ({type(e).__name__}: {e})"
        if step is not None:
          raise RuntimeError(message) from e
        log.warning("%s; trying an older one", message)
        print(f"WARNING: {message}; trying an older one", flush=True)
        self._set_aside(candidate)
        continue
      return restored["state"], candidate
    return None

  def _set_aside(self, step: int) -> None:
    """Renames an unreadable step directory to `<step>.unreadable` (kept for inspection), so that the run
    can save that step again."""
    path = os.path.join(self.directory, str(step))
    if jax.process_index() == 0 and os.path.isdir(path):
      target = path + ".unreadable"
      suffix = 0
      while os.path.exists(target):
        suffix += 1
        target = f"{path}.unreadable{suffix}"
      os.rename(path, target)
      print(f"WARNING: moved the unreadable checkpoint to {target}", flush=True)
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils
      multihost_utils.sync_global_devices(f"set aside checkpoint {step}")
    self.manager.reload()

  def wait(self) -> None:
    self.manager.wait_until_finished()

  def close(self) -> None:
    self.manager.wait_until_finished()
    self.manager.close()
