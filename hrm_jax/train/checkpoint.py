"""Orbax checkpoints: the one checkpointer of supervised training, RL and inference.

One `ocp.CheckpointManager` per workdir (`<workdir>/checkpoints`), async saves, keep-N. A step holds, in one
`ocp.args.Composite`:
  * `state`: the train state (model, optimizer, ACT carry, ... ; its top level has `params`, which is all that
    inference reads);
  * `data_iter`: the Grain iterator's position (supervised training), so a resumed run continues on exactly the
    next batch;
  * any JSON items a trainer names (`extras`; RL keeps its rollout state there).

Integrity. When a step's save has finished (the next save, `check`, `wait` or `close`), process 0 writes
`DIGEST_FILE` into the step directory (atomically: a temporary file renamed): the size and SHA-256 of every file
Orbax wrote. A restore first verifies it, then restores, then checks that every floating-point leaf restored is
finite. A step that fails any of the three (files overwritten or truncated, an unreadable layout, NaN/inf values)
is reported, set aside as `<step>.unreadable` (kept for inspection) and the next older step is tried. A step
without a digest (written before digests existed, or killed between Orbax's commit and the digest) is restored
without that check. A sound step that does not fit the configuration (a parameter missing, another shape) raises
`CheckpointMismatch` and is never set aside: the config changed, not the checkpoint.

A save that fails (disk full, a read-only or vanished directory) raises `CheckpointSaveError` with one line
naming the step, the directory and the cause, at the next save, `check` (the trainers call it every step; it
does not block), `wait` or `close`. The previous steps are left intact (Orbax writes into a temporary directory
and renames it only when complete; the failed one's is deleted). The multi-line noise of a failing background
save (Orbax's thread tracebacks, TensorStore callbacks into a closed event loop, asyncio's orphaned tasks) is kept
off the console: the one line says it all.

Readers (`load_for_inference`: `hrm-jax generate`, `eval --model`, `export`, `serve`, RL's `--init`, the
trainer's `config.train.init_from`) open the checkpoints read-only: only the parameters are read, the same checks
apply, and a failing step is skipped without being renamed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import grain
import jax
import numpy as np
import orbax.checkpoint as ocp

log = logging.getLogger(__name__)

DIGEST_FILE = "hrm_digest.json"
_CHUNK = 1 << 20


class CheckpointSaveError(RuntimeError):
  """A checkpoint could not be written (for example: no space left on the device). The message is one line."""


class CheckpointUnreadable(RuntimeError):
  """A checkpoint step failed its digest, could not be restored, or restored non-finite values."""


class CheckpointMismatch(ValueError):
  """A sound checkpoint whose state does not fit the configuration's (shapes, parameters): never set aside."""


@dataclasses.dataclass
class Restored:
  """What `Checkpointer.restore` returns: the step, the state (the template's structure) and the JSON extras."""

  step: int
  state: Any
  extras: dict[str, Any]


# ----------------------------------------------------------------------------------------------------------------
# Digests of a step directory.


def _file_digests(step_dir: str) -> dict[str, dict[str, Any]]:
  """{relative path: {"size", "sha256"}} of every file under `step_dir` except the digest file itself."""
  out = {}
  for root, dirs, files in os.walk(step_dir):
    dirs.sort()
    for name in sorted(files):
      path = os.path.join(root, name)
      rel = os.path.relpath(path, step_dir)
      if rel == DIGEST_FILE or rel.startswith(DIGEST_FILE + "."):
        continue
      h = hashlib.sha256()
      with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
          h.update(block)
      out[rel] = {"size": os.path.getsize(path), "sha256": h.hexdigest()}
  return out


def write_digest(step_dir: str) -> str:
  """Writes `<step_dir>/DIGEST_FILE` (temporary file + rename, so it is complete or absent); returns its path."""
  path = os.path.join(step_dir, DIGEST_FILE)
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "w") as f:
    json.dump({"algorithm": "sha256", "files": _file_digests(step_dir)}, f, indent=0, sort_keys=True)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)
  return path


def verify_digest(step_dir: str) -> str | None:
  """None if the step's files match its digest (or it has none), else the reason, naming a file."""
  path = os.path.join(step_dir, DIGEST_FILE)
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      expected = json.load(f)["files"]
  except (OSError, ValueError, KeyError, TypeError) as e:
    return f"its digest file {path} is unreadable ({type(e).__name__})"
  actual = _file_digests(step_dir)
  for rel, want in sorted(expected.items()):
    got = actual.get(rel)
    if got is None:
      return f"file {rel} listed in {DIGEST_FILE} is missing"
    if got != want:
      what = "size" if got["size"] != want["size"] else "contents"
      return f"file {rel} differs from the digest written when it was saved ({what})"
  return None


def nonfinite_leaf(tree: Any) -> str | None:
  """The path of the first floating-point leaf of `tree` holding NaN or inf (this process's shards), or None."""
  for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
    parts = [s.data for s in leaf.addressable_shards] if isinstance(leaf, jax.Array) else [leaf]
    for part in parts:
      array = np.asarray(part)
      if np.issubdtype(array.dtype, np.inexact) and not np.all(np.isfinite(array)):
        return jax.tree_util.keystr(path)
  return None


def _key_name(key) -> str:
  for attr in ("key", "name", "idx"):
    if hasattr(key, attr):
      return str(getattr(key, attr))
  return str(key)


def leaf_shapes(tree: Any) -> dict[tuple[str, ...], tuple[int, ...]]:
  """{leaf path as names: shape}; dict keys, dataclass fields and sequence indices all become names."""
  return {
    tuple(_key_name(k) for k in path): tuple(getattr(leaf, "shape", ()))
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree)
  }


def layout_mismatch(saved_dir: str, template: Any) -> str | None:
  """Where the template disagrees with the state saved in `saved_dir` (a parameter missing, or a shape that
  differs), or None. Such a step is sound but belongs to another configuration: it is never set aside."""
  from etils import epath

  try:
    saved = leaf_shapes(ocp.StandardCheckpointHandler().metadata(epath.Path(saved_dir)))
  except Exception:  # noqa: BLE001 - unreadable metadata: the restore itself will report the step
    return None
  for path, shape in leaf_shapes(template).items():
    if path in saved and saved[path] != shape:
      return f"{'/'.join(path)} has shape {saved[path]} in the checkpoint but {shape} in this configuration"
    if path not in saved and path[:1] == ("params",):
      return f"parameter {'/'.join(path)} of this configuration is not in the checkpoint"
  return None


# ----------------------------------------------------------------------------------------------------------------
# Quiet background failures. A failing async save (a full disk) makes Orbax log each failing thread's traceback,
# TensorStore's writes still pending when Orbax closes its event loop report "Event loop is closed" through
# sys.unraisablehook, and asyncio logs each orphaned write task at exit: hundreds of lines in all.
# `CheckpointSaveError` carries the cause in one line instead.

_NOISY_LOGGERS = ("absl", "orbax", "asyncio")


class _SaveNoise(logging.Filter):
  """While saves are in flight (and after one failed), drops Orbax's ERROR records, asyncio's "exception was
  never retrieved" records and the unraisable "Event loop is closed" errors of TensorStore callbacks; everything
  else passes."""

  def __init__(self):
    super().__init__()
    self.active = 0
    self.suppressed = 0
    self._previous_hook = None

  def filter(self, record: logging.LogRecord) -> bool:
    if (
      self.active
      and record.levelno >= logging.ERROR
      and (
        f"{os.sep}orbax{os.sep}" in (record.pathname or "")
        or (record.name == "asyncio" and "exception was never retrieved" in record.getMessage())
      )
    ):
      self.suppressed += 1
      return False
    return True

  def unraisable(self, unraisable) -> None:
    error = unraisable.exc_value
    if self.active and isinstance(error, RuntimeError) and str(error) == "Event loop is closed":
      self.suppressed += 1
      return
    (self._previous_hook or sys.__unraisablehook__)(unraisable)

  def begin(self) -> None:
    if not self.active:
      for name in _NOISY_LOGGERS:
        logging.getLogger(name).addFilter(self)
      if sys.unraisablehook is not self.unraisable:
        self._previous_hook, sys.unraisablehook = sys.unraisablehook, self.unraisable
    self.active += 1

  def end(self) -> None:
    self.active = max(self.active - 1, 0)
    if not self.active:
      for name in _NOISY_LOGGERS:
        logging.getLogger(name).removeFilter(self)
      if sys.unraisablehook is self.unraisable:
        sys.unraisablehook = self._previous_hook or sys.__unraisablehook__


_NOISE = _SaveNoise()


def _root_cause(error: BaseException) -> str:
  """The innermost message of an exception chain, as one line (e.g. "... No space left on device")."""
  while error.__cause__ is not None or (error.__context__ is not None and not error.__suppress_context__):
    error = error.__cause__ or error.__context__
  text = " ".join(str(error).split()) or type(error).__name__
  if len(text) > 160:  # TensorStore nests "context: context: cause"; the cause is what the user acts on
    text = "... " + text.rsplit(": ", 1)[-1][-160:]
  return text


# ----------------------------------------------------------------------------------------------------------------


class Checkpointer:
  """The checkpoints of one workdir (`<workdir>/checkpoints`).

  Args:
    workdir: the run's directory.
    keep: steps kept (older ones are deleted by Orbax after each save).
    async_save: save in the background (the next save, `check`, `wait` and `close` collect the result).
    read_only: for readers (inference): never create, save or set anything aside; an unreadable step is
      reported and skipped.
  """

  def __init__(self, workdir: str, keep: int = 3, async_save: bool = True, read_only: bool = False):
    self.directory = os.path.join(os.path.abspath(workdir), "checkpoints")
    self.read_only = read_only
    options = ocp.CheckpointManagerOptions(
      max_to_keep=keep, enable_async_checkpointing=async_save and not read_only, create=not read_only
    )
    self._async_save = async_save and not read_only
    self._in_flight: list[int] = []  # saved steps whose completion (and digest) is not collected yet
    self.manager = ocp.CheckpointManager(self.directory, options=options)

  def all_steps(self) -> list[int]:
    return sorted(self.manager.all_steps())

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def step_dir(self, step: int) -> str:
    return os.path.join(self.directory, str(step))

  # -- saving ----------------------------------------------------------------------------------------------------

  @contextlib.contextmanager
  def _saving(self, step: int):
    """Turns any failure while saving `step` (or waiting for it) into one CheckpointSaveError line."""
    try:
      yield
    except CheckpointSaveError:
      raise
    except Exception as e:  # noqa: BLE001 - Orbax/TensorStore raise ValueError, OSError, RuntimeError, ...
      self._remove_partial(step)
      raise CheckpointSaveError(
        f"saving checkpoint step {step} to {self.directory} failed ({_root_cause(e)}); the previous "
        f"checkpoints are intact (latest complete: {self._latest_complete(step)})"
      ) from e

  def _remove_partial(self, step: int) -> None:
    """Deletes what the failed save of `step` left (Orbax's temporary directory), freeing the space it took."""
    if jax.process_index() != 0 or not os.path.isdir(self.directory):
      return
    for name in os.listdir(self.directory):
      if name.startswith(f"{step}.orbax-checkpoint-tmp"):
        shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)

  def _latest_complete(self, failed: int) -> str:
    try:
      self.manager.reload()
      steps = [s for s in self.manager.all_steps() if s != failed]
    except Exception:  # noqa: BLE001 - the directory itself may be gone
      return "unknown"
    return f"step {max(steps)}" if steps else "none"

  def _collect(self, block: bool = True) -> None:
    """Waits for the in-flight saves (or, with block=False, returns unless they are done), raises their error,
    and writes the digests of the finished steps."""
    if not self._in_flight:
      return
    if not block and self.manager.is_saving_in_progress():
      return
    steps, self._in_flight = self._in_flight, []
    with self._saving(steps[-1]):
      self.manager.wait_until_finished()  # raises the background save's error (the noise stays quiet then)
      _NOISE.end()
      if jax.process_index() == 0:
        for step in steps:
          if os.path.isdir(self.step_dir(step)):  # (a step may already be gone: keep-N)
            write_digest(self.step_dir(step))

  def save(
    self,
    step: int,
    state: Any,
    data_iterator: grain.DatasetIterator | None = None,
    extras: Mapping[str, Any] | None = None,
    force: bool = False,
  ) -> bool:
    """Saves `state` (and the iterator's position, and each JSON-serialisable `extras` item) as `step`.

    Raises CheckpointSaveError (one line) when this save, or the previous in-flight one, fails."""
    if self.read_only:
      raise CheckpointSaveError(f"{self.directory} was opened read-only")
    self._collect()
    items = {"state": ocp.args.StandardSave(state)}
    if data_iterator is not None:
      items["data_iter"] = grain.checkpoint.CheckpointSave(data_iterator)
    for name, value in (extras or {}).items():
      # A snapshot: the caller may change its objects while an async save is still writing them.
      items[name] = ocp.args.JsonSave(json.loads(json.dumps(value)))
    _NOISE.begin()
    with self._saving(step):
      saved = self.manager.save(step, args=ocp.args.Composite(**items), force=force)
    if saved:
      self._in_flight.append(step)
      if not self._async_save:
        self._collect()
    else:
      _NOISE.end()
    return saved

  def check(self) -> None:
    """Cheap, non-blocking: raises CheckpointSaveError at once if a background save has failed."""
    self._collect(block=False)

  def wait(self) -> None:
    self._collect()
    self.manager.wait_until_finished()

  def close(self) -> None:
    try:
      self._collect()
    finally:
      self.manager.close()

  # -- restoring -------------------------------------------------------------------------------------------------

  def restore(
    self,
    state_template: Any,
    data_iterator: grain.DatasetIterator | None = None,
    step: int | None = None,
    extras: Iterable[str] = (),
    params_only: bool = False,
  ) -> Restored | None:
    """Restores the newest sound checkpoint (or exactly `step`) into the template's structure.

    Args:
      state_template: a pytree like the saved state (arrays or shape/dtype structs; their shardings are used).
        With `params_only`, a dict `{"params": ...}` and only those leaves are read (inference).
      data_iterator: restored in place to the saved position (when given).
      step: this step only; a step that fails the checks raises CheckpointUnreadable.
      extras: names of the JSON items to restore too.
      params_only: read only `state_template["params"]` (read-only checkpointers: inference).
    Returns:
      Restored(step, state, extras), or None when the workdir has no checkpoint at all. A step that fails its
      digest, cannot be restored or holds non-finite values is reported and set aside (unless read-only), and
      the next older one is tried; None again when none is left.
    Raises:
      CheckpointMismatch (a ValueError) when a sound step does not fit the template (another configuration);
      nothing is set aside. Read-only checkpointers report it and try the older steps.
    """
    if params_only and not self.read_only:
      raise ValueError("params_only restores need a read-only Checkpointer (Orbax binds one handler per item)")
    extras = tuple(extras)
    candidates = [step] if step is not None else sorted(self.all_steps(), reverse=True)
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state_template)
    for candidate in candidates:
      try:
        restored = self._restore_step(candidate, abstract, state_template, data_iterator, extras, params_only)
      except (CheckpointUnreadable, CheckpointMismatch) as e:
        if step is not None or (isinstance(e, CheckpointMismatch) and not self.read_only):
          raise
        message = f"{e}; trying an older one"
        log.warning(message)
        print(f"WARNING: {message}", flush=True)
        if not self.read_only:
          self._set_aside(candidate)
        continue
      return restored
    return None

  def _restore_step(self, step, abstract, template, data_iterator, extras, params_only) -> Restored:
    where = f"checkpoint step {step} in {self.directory}"
    if not os.path.isdir(self.step_dir(step)):
      raise CheckpointUnreadable(f"{where} does not exist (steps: {self.all_steps()})")
    mismatch = verify_digest(self.step_dir(step))
    if mismatch:
      raise CheckpointUnreadable(f"{where} could not be restored: {mismatch}")
    different = layout_mismatch(os.path.join(self.step_dir(step), "state"), template)
    if different:
      raise CheckpointMismatch(
        f"{where} does not fit this configuration: {different}. Was the config changed "
        "since it was saved? Use a new workdir (or the config.json saved beside it)"
      )
    if params_only:
      items = {
        "state": ocp.args.PyTreeRestore(
          item=abstract, partial_restore=True, restore_args=ocp.checkpoint_utils.construct_restore_args(abstract)
        )
      }
    else:
      items = {"state": ocp.args.StandardRestore(abstract)}
    if data_iterator is not None:
      items["data_iter"] = grain.checkpoint.CheckpointRestore(data_iterator)
    for name in extras:
      items[name] = ocp.args.JsonRestore()
    try:
      restored = self.manager.restore(step, args=ocp.args.Composite(**items))
    except Exception as e:  # noqa: BLE001 - a partial or corrupt step directory
      raise CheckpointUnreadable(f"{where} could not be restored ({type(e).__name__}: {_root_cause(e)})") from e
    state = restored["state"]
    bad = nonfinite_leaf(state)
    if bad is not None:
      raise CheckpointUnreadable(f"{where} could not be restored: non-finite values in state{bad}")
    return Restored(step=step, state=state, extras={name: restored[name] for name in extras})

  def _set_aside(self, step: int) -> None:
    """Renames an unreadable step directory to `<step>.unreadable` (kept for inspection), so that the run
    can save that step again."""
    path = self.step_dir(step)
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


def load_for_inference(workdir: str, step: int | None = None):
  """(model, {"params": ...}, config) from the newest sound checkpoint of a workdir (supervised, RL or imported).

  Only the parameters are read. Raises FileNotFoundError when the workdir has no config or no sound checkpoint.
  """
  from hrm_jax.models import hrm
  from hrm_jax.train import trainer  # the config and model builders (the trainer imports this module)

  config = trainer.load_config(workdir)
  model = trainer.build_model(config)
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  abstract = jax.eval_shape(
    lambda: hrm.init_params(model.cfg, jax.random.key(0), dot_general_cls=model.dot_general_cls)[1]["params"]
  )
  template = {"params": jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=device), abstract)}
  ckpt = Checkpointer(workdir, read_only=True)
  try:
    if not ckpt.all_steps():
      raise FileNotFoundError(f"no checkpoint in {ckpt.directory}")
    try:
      restored = ckpt.restore(template, step=step, params_only=True)
    except CheckpointUnreadable as e:
      raise FileNotFoundError(str(e)) from e
    if restored is None:
      raise FileNotFoundError(f"no readable checkpoint in {ckpt.directory}")
    return model, {"params": restored.state["params"]}, config
  finally:
    ckpt.close()
