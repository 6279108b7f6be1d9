"""SIGTERM as a request to stop at the next safe point (preemption), for the trainers; imports nothing heavy,
so `hrm-jax train` installs it before JAX is even imported."""

from __future__ import annotations

import signal
import threading


def _in_main_thread() -> bool:
  return threading.current_thread() is threading.main_thread()


class StopSignal:
  """SIGTERM (preemption) turned into a request that the loop honours at the next safe point.

  Installed from the start of a run (before the model is built and the step compiled) until its end (through
  the final evaluation), so a signal at any moment ends the run cleanly: the state trained so far is saved and
  the process exits 0 with a line saying what was kept. `reason` is None, a signal number or a string.
  """

  def __init__(self):
    self.reason = None
    self._previous = None

  def __bool__(self) -> bool:
    return self.reason is not None

  def _handle(self, signum, _frame) -> None:
    self.reason = signum

  def install(self) -> StopSignal:
    if self._previous is None and _in_main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def restore(self) -> None:
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)
      self._previous = None
