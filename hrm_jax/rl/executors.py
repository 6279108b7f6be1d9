"""Where rollout programs run: a pluggable executor (config `rl.execution.executor`, flag `--executor`).

  local   this machine's sandbox pool (default): `execution.execute` on `workers` threads, each driving one
          sandboxed subprocess (`hrm_jax/sandbox`).
  ray     a Ray cluster, `ray.init(address=rl.execution.address)`: every sample is one Ray task running
          `execution.execute` (the project's sandbox, unchanged) on the worker that takes it, so execution
          scales past the learner's machine. The workers need hrm-jax installed (as on the learner).
  swerex  a SWE-ReX runtime (`hrm_jax/sandbox/swerex_backend.py`): a `swerex-remote` server at
          `rl.execution.address`, or a docker/modal deployment; each program goes there as a file and a command.

One interface: `submit(items)` hands (record, reply) pairs over and returns a `Submission` at once; its
`result()` waits for the outcomes (input order) and records how long it waited (`wait_s`).

Back-pressure: at most `queue_size` samples are queued or running; `submit` waits only when that many are
(so the learner generates the next rollout batch while this one executes, and stops only when execution
falls a queue behind).

Lost work: a sample whose task fails (a Ray worker that died, a task running past `task_timeout_s`, a sandbox
error) is submitted again, up to `max_attempts` runs. Every outcome is stored at its sample's (submission, row)
slot by the first run that finishes; a later duplicate (the presumed-lost task that finishes after all) is
dropped and counted in `stats["duplicates"]`, never scored twice. A sample that fails every attempt makes
`result()` raise `ExecutionError` naming it.
"""

from __future__ import annotations

import abc
import concurrent.futures
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from hrm_jax.rl import execution, rewards

Item = tuple[dict, str]  # (record, reply)
TaskFn = Callable[[dict, str, execution.ExecutionConfig], rewards.ExecutionOutcome]
SWEREX_TOKEN_ENV = "HRM_SWEREX_TOKEN"


class ExecutionError(RuntimeError):
  """A sample could not be executed in `max_attempts` runs (the message names it and the last error)."""


class Submission:
  """The outcomes of one `submit` call, filled in as runs finish (any order, any thread)."""

  def __init__(self, num: int, release: Callable[[], None]):
    self.outcomes: list[rewards.ExecutionOutcome | None] = [None] * num
    self.attempts = [0] * num
    self.wait_s = 0.0
    self._left = num
    self._error: BaseException | None = None
    self._done = threading.Event()
    self._lock = threading.Lock()
    self._release = release
    if num == 0:
      self._done.set()

  def done(self) -> bool:
    return self._done.is_set()

  def _store(self, index: int, outcome: rewards.ExecutionOutcome) -> bool:
    """Stores row `index`'s outcome unless a run already did; returns whether it counted."""
    with self._lock:
      if self.outcomes[index] is not None or self._error is not None:
        return False
      self.outcomes[index] = outcome
      self._left -= 1
      finished = self._left == 0
    self._release()
    if finished:
      self._done.set()
    return True

  def _fail(self, error: BaseException) -> None:
    with self._lock:
      if self._error is not None:
        return
      self._error = error
      unfinished, self._left = self._left, 0
    for _ in range(unfinished):  # their queue slots: later runs of this submission no longer count
      self._release()
    self._done.set()

  def result(self) -> list[rewards.ExecutionOutcome]:
    """Waits for every outcome (input order); raises ExecutionError when a sample failed every attempt."""
    t0 = time.perf_counter()
    self._done.wait()
    self.wait_s += time.perf_counter() - t0
    if self._error is not None:
      raise self._error
    return list(self.outcomes)


class _Executor(abc.ABC):
  """Shared by the executors: the queue bound (back-pressure), retries, statistics."""

  name = "base"

  def __init__(self, config: execution.ExecutionConfig, queue_size: int):
    self.config = config
    self.queue_size = max(int(config.queue_size or queue_size), 1)
    self._slots = threading.Semaphore(self.queue_size)
    self._lock = threading.Lock()
    self.stats = {"submitted": 0, "completed": 0, "retried": 0, "duplicates": 0, "timed_out": 0}

  def _count(self, key: str, n: int = 1) -> None:
    with self._lock:
      self.stats[key] += n

  def submit(self, items: Sequence[Item]) -> Submission:
    """Queues every item (waiting only while `queue_size` samples are queued or running); returns at once
    after the last one is queued."""
    items = list(items)
    submission = Submission(len(items), self._slots.release)
    for index, item in enumerate(items):
      self._slots.acquire()
      self._count("submitted")
      self._start(submission, index, item)
    return submission

  def map(self, items: Sequence[Item]) -> list[rewards.ExecutionOutcome]:
    return self.submit(items).result()

  def _finished(self, submission: Submission, index: int, outcome: rewards.ExecutionOutcome) -> None:
    self._count("completed" if submission._store(index, outcome) else "duplicates")

  def _failed(self, submission: Submission, index: int, item: Item, error: BaseException) -> None:
    """A run of row `index` failed: run it again, or fail the submission after `max_attempts` runs."""
    if submission.outcomes[index] is not None:
      return
    if submission.attempts[index] >= self.config.max_attempts:
      record = item[0]
      name = record.get("question_id") or record.get("task_id") or record.get("language", "?")
      submission._fail(
        ExecutionError(
          f"{self.name} executor: sample {index} (problem {name}) failed {submission.attempts[index]} runs "
          f"(rl.execution.max_attempts); last error: {type(error).__name__}: {error}"
        )
      )
      return
    self._count("retried")
    self._start(submission, index, item)

  @abc.abstractmethod
  def _start(self, submission: Submission, index: int, item: Item) -> None:
    """Starts one run of row `index` (each executor's own way); it ends in `_finished` or `_failed`."""

  def close(self) -> None:  # noqa: B027 (optional hook: executors holding resources override it)
    """Releases the executor's resources (threads, Ray handles); nothing by default."""

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()


class ThreadExecutor(_Executor):
  """Runs `execution.execute` on `workers` threads against a sandbox backend: "local" (this machine's sandbox
  pool) or a `pool.Backend` (SWE-ReX)."""

  def __init__(self, config, queue_size: int = 0, backend: Any = "local", task_fn: TaskFn | None = None):
    super().__init__(config, queue_size)
    self.backend = backend
    self.name = "local" if backend == "local" else getattr(backend, "name", "backend")
    self._task_fn = task_fn
    self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="rl-exec")

  def _run(self, submission: Submission, index: int, item: Item) -> None:
    submission.attempts[index] += 1
    try:
      if self._task_fn is not None:
        outcome = self._task_fn(item[0], item[1], self.config)
      else:
        outcome = execution.execute(item[0], item[1], self.config, self.backend)
    except Exception as error:  # noqa: BLE001 - a sandbox error: retried, then reported with the sample
      self._failed(submission, index, item, error)
      return
    self._finished(submission, index, outcome)

  def _start(self, submission, index, item) -> None:
    self._pool.submit(self._run, submission, index, item)

  def close(self) -> None:
    self._pool.shutdown(wait=True)
    if self.backend != "local" and hasattr(self.backend, "close"):
      self.backend.close()


def _ray_execute(record: dict, reply: str, config: execution.ExecutionConfig) -> rewards.ExecutionOutcome:
  """The body of one Ray task: the project's sandbox on the worker's machine."""
  return execution.execute(record, reply, config)


class RayExecutor(_Executor):
  """One Ray task per sample (`num_cpus=1`; Ray's own retries off: this class retries, so it knows which run
  counted). A dispatcher thread collects finished tasks with `ray.wait`, stores each outcome at its sample,
  resubmits failed tasks, and cancels and resubmits tasks that run past `task_timeout_s`."""

  name = "ray"

  def __init__(self, config, queue_size: int = 0, task_fn: TaskFn | None = None):
    super().__init__(config, queue_size)
    try:
      import ray  # the `ray` extra
    except ImportError as error:
      raise RuntimeError("rl.execution.executor=ray needs `pip install 'hrm-jax[ray]'`") from error
    self._ray = ray
    self._owns_ray = not ray.is_initialized()
    if self._owns_ray:
      os.environ.setdefault("RAY_AUTH_MODE", "disabled")
      kwargs = dict(include_dashboard=False, log_to_driver=False)
      if config.address:
        ray.init(address=config.address, **kwargs)
      else:
        ray.init(num_cpus=config.workers, **kwargs)
    self.timeout_s = config.task_timeout_s or 3 * config.wall_s + 60
    self._remote = ray.remote(num_cpus=1, max_retries=0)(task_fn or _ray_execute)
    self._config_ref = ray.put(config)
    self._tasks: dict[Any, tuple[Submission, int, Item, float]] = {}  # ObjectRef -> (submission, row, item, start)
    self._wake = threading.Condition()
    self._closed = False
    self._thread = threading.Thread(target=self._dispatch, name="rl-ray-dispatch", daemon=True)
    self._thread.start()

  def _start(self, submission, index, item) -> None:
    submission.attempts[index] += 1
    ref = self._remote.remote(item[0], item[1], self._config_ref)
    with self._wake:
      self._tasks[ref] = (submission, index, item, time.monotonic())
      self._wake.notify()

  def _dispatch(self) -> None:
    try:
      self._collect()
    except Exception as error:  # noqa: BLE001 - Ray itself failed (the cluster went away): fail every waiter
      with self._wake:
        lost, self._tasks = list(self._tasks.values()), {}
      for submission, *_ in lost:
        submission._fail(ExecutionError(f"ray executor: {type(error).__name__}: {error}"))

  def _collect(self) -> None:
    ray = self._ray
    while True:
      with self._wake:
        while not self._tasks and not self._closed:
          self._wake.wait()
        if self._closed:
          return
        refs = list(self._tasks)
      ready, _ = ray.wait(refs, num_returns=1, timeout=0.2)
      for ref in ready:
        with self._wake:
          submission, index, item, _ = self._tasks.pop(ref)
        try:
          outcome = ray.get(ref)
        except Exception as error:  # noqa: BLE001 - a crashed worker, a lost node, a sandbox error in the task
          self._failed(submission, index, item, error)
        else:
          self._finished(submission, index, outcome)
      now = time.monotonic()
      with self._wake:
        late = [(ref, task) for ref, task in self._tasks.items() if now - task[3] > self.timeout_s]
        for ref, _ in late:
          del self._tasks[ref]
      for ref, (submission, index, item, _) in late:
        self._count("timed_out")
        ray.cancel(ref, force=True)
        self._failed(submission, index, item, TimeoutError(f"no result after {self.timeout_s:g}s"))

  def close(self) -> None:
    with self._wake:
      self._closed = True
      pending = list(self._tasks)
      self._tasks.clear()
      self._wake.notify()
    self._thread.join(timeout=10)
    for ref in pending:
      self._ray.cancel(ref, force=True)
    if self._owns_ray:
      self._ray.shutdown()


def swerex_backend(config: execution.ExecutionConfig):
  """The SWE-ReX backend of `rl.execution`: the `swerex-remote` server at `address` (token from
  HRM_SWEREX_TOKEN) or a docker/modal/local deployment."""
  from hrm_jax.sandbox import swerex_backend as rex

  kwargs: dict[str, Any] = {}
  if config.swerex_deployment == "remote":
    if not config.address:
      raise ValueError("rl.execution.executor=swerex with the remote deployment needs rl.execution.address")
    host, _, port = config.address.rpartition(":")
    if not host or not port.isdigit():
      raise ValueError(f"rl.execution.address must be http://HOST:PORT for SWE-ReX, got {config.address!r}")
    kwargs = dict(host=host, port=int(port), auth_token=os.environ.get(SWEREX_TOKEN_ENV, ""))
  return rex.SweRexBackend(config.swerex_deployment, **kwargs)


def make_executor(config: execution.ExecutionConfig, queue_size: int = 0) -> _Executor:
  """The executor named by `config.executor`; `queue_size` is the default queue bound (config.queue_size wins)."""
  if config.executor == "ray":
    return RayExecutor(config, queue_size)
  if config.executor == "swerex":
    return ThreadExecutor(config, queue_size, backend=swerex_backend(config))
  return ThreadExecutor(config, queue_size)
