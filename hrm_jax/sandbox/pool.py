"""A bounded worker pool that runs sandboxed jobs concurrently.

Each job is a callable (usually one that calls `runner.run`); the pool runs at most `workers` at once on
threads, each of which drives its own sandboxed subprocess, and returns results in submission order. Threads
suffice because the work happens in the child processes.

Backends: `run_request(request, backend)` sends a `RunRequest` to the local sandbox (`"local"`, `runner.run`,
the default) or to any object with a `run(request) -> RunResult` method, such as
`swerex_backend.SweRexBackend` (SWE-ReX Docker/Modal deployments isolate; its Local deployment does NOT: it
runs commands directly on the host, so it never stands in for this sandbox).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import pathlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from hrm_jax.sandbox import runner

T = TypeVar("T")
R = TypeVar("R")

BACKENDS = ("local",)


@dataclasses.dataclass(frozen=True)
class RunRequest:
  """Arguments of one `runner.run` call."""

  argv: Sequence[str]
  limits: runner.Limits = runner.Limits()
  stdin: str | bytes | None = None
  env: Mapping[str, str] | None = None
  files: Mapping[str, str | bytes] | None = None
  copy_tree: pathlib.Path | None = None
  cwd: str | None = None
  read_paths: Sequence[pathlib.Path] = ()


class Backend(Protocol):
  name: str

  def run(self, request: RunRequest) -> runner.RunResult:
    """Runs one request and classifies it."""


def run_request(request: RunRequest, backend: str | Backend = "local") -> runner.RunResult:
  if not isinstance(backend, str):
    return backend.run(request)
  if backend != "local":
    raise ValueError(f"unknown sandbox backend {backend!r}; available: {', '.join(BACKENDS)} or a Backend object")
  return runner.run(
    request.argv,
    limits=request.limits,
    stdin=request.stdin,
    env=request.env,
    files=request.files,
    copy_tree=request.copy_tree,
    cwd=request.cwd,
    read_paths=request.read_paths,
  )


def map_bounded(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
  """Applies `fn` to every item with at most `workers` running at once; results in input order."""
  items = list(items)
  if workers < 1:
    raise ValueError(f"workers must be >= 1, got {workers}")
  if workers == 1 or len(items) <= 1:
    return [fn(item) for item in items]
  with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as executor:
    return list(executor.map(fn, items))


def run_many(requests: Iterable[RunRequest], workers: int, backend: str | Backend = "local") -> list[runner.RunResult]:
  """Runs sandboxed requests concurrently (bounded by `workers`); results in input order."""
  return map_bounded(lambda request: run_request(request, backend), requests, workers)
