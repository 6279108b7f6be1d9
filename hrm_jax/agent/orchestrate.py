"""Many agents on Ray: split a task into sub-tasks, run worker agents on them, retry, merge their edits.

    hrm-jax orchestrate --task TASK.json --out DIR --split files|tests|languages|plan|given
        (--endpoint URL --model NAME | --model WORKDIR | --agent oracle)
        [--address ray://HOST:10001 | auto] [--actors 2] [--per-actor 8] [--max-attempts 3] [--retry-budget N]
        [--timeout-s 600] [--session sandbox|swerex-local|swerex-docker|swerex-modal] [--max-steps 20]

The pieces:
  * `split_task`: sub-tasks from a structure the task gives (one per file to change, per failing test, per
    language) or from the model's plan (one call to the model: "one independent sub-task per line").
  * Workers: `WorkerActor`s, Ray actors (`ray.init()` on this machine by default, `--address` for a cluster).
    Each actor runs up to `per_actor` sub-tasks at once on threads: a worker agent mostly waits on its sandbox
    and on the model server, so one process holds many agents (slots = actors x per_actor). Each sub-task gets
    its own session (the project's sandbox, or a SWE-ReX deployment) and runs the agent loop (`loop.py`); model
    calls go to ONE shared OpenAI-compatible server (`hrm-jax serve`, whose engine batches concurrent requests
    into one decode step, or any other endpoint), never to a model copy per worker.
  * Faults: a worker whose process dies (killed, out of memory) surfaces as a Ray actor error; the actor is
    restarted by Ray (max_restarts) and the sub-task goes back to the queue, to whichever actor has room. A
    sub-task that raises, ends without an answer (`ok` False) or overruns `timeout_s` (its actor is killed and
    restarted; the other sub-tasks it held are requeued without spending their attempts) is retried until it has
    had `max_attempts` attempts or the run's `retry_budget` is spent. A hanging sandboxed command is bounded by
    the session's own limits first.
  * Logs: every attempt (finished, failed, killed, timed out) is written as `attempts/<id>.<attempt>.json`
    (written to a temporary file and renamed: a reader never sees half a file), then `episodes.jsonl` (the final
    attempt of each sub-task, in sub-task order) and `summary.json`, both by atomic rename. While an attempt runs,
    its session calls are journaled line by line (`journal/<id>.<attempt>.jsonl`, fsynced), so a killed worker's
    steps survive it.
  * Merge (`merge_edits`): each worker's edits are the files it changed relative to the task's files. A file
    changed by one worker is taken as is; a file changed by several is merged three-way (`git merge-file`, text
    only, run on the host: no model output is executed); overlapping changes are conflicts, handed to a final
    resolver agent with the conflict markers in the file, or reported when there is none or it fails.

Overhead (`overhead`): (wall - ideal) / wall with ideal = total work / min(workers, slots), the measure of
`python -m hrm_jax.bench.orchestrate` (docs/agents.md).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hrm_jax.agent import loop
from hrm_jax.agent.sessions import STATE_DIR

SPLITS = ("files", "tests", "languages", "plan", "given")
EXTENSION_LANGUAGE = {
  ".py": "python",
  ".go": "go",
  ".rs": "rust",
  ".js": "javascript",
  ".mjs": "javascript",
  ".java": "java",
  ".cpp": "cpp",
  ".cc": "cpp",
  ".hpp": "cpp",
  ".h": "cpp",
}
CONFLICT_MARKER = re.compile(r"^(<<<<<<<|=======|>>>>>>>)( |$)", re.MULTILINE)


# ----------------------------------------------------------------------------------------------- tasks


@dataclasses.dataclass(frozen=True)
class SubTask:
  """One worker's job. files: the workspace it starts from (path -> text); focus: the paths it is meant to
  change; payload: extra data for custom workers (the benchmark's work durations)."""

  id: str
  statement: str
  files: Mapping[str, str] = dataclasses.field(default_factory=dict)
  focus: tuple[str, ...] = ()
  language: str = "python"
  test_command: str | None = None
  payload: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class WorkerResult:
  """What an attempt returns. edits: path -> new text (None: deleted) relative to the sub-task's files;
  busy_s: the worker's own time on the sub-task; stats: worker-specific timings (e.g. policy_s)."""

  subtask_id: str
  attempt: int
  ok: bool
  edits: dict[str, str | None] = dataclasses.field(default_factory=dict)
  episode: dict | None = None
  error: str = ""
  status: str = "finished"  # finished | failed | raised | killed | timeout
  started_at: float = 0.0  # time.time() in the worker
  ended_at: float = 0.0
  worker: str = ""  # host:pid of the process that ran it
  stats: dict = dataclasses.field(default_factory=dict)
  # Filled by the orchestrator.
  submitted_at: float = 0.0
  received_at: float = 0.0
  result_bytes: int = 0

  @property
  def busy_s(self) -> float:
    return max(0.0, self.ended_at - self.started_at)


@dataclasses.dataclass(frozen=True)
class Task:
  """A task as `hrm-jax orchestrate --task FILE` reads it (JSON): statement, files or repo, and the structure
  the splits use."""

  statement: str
  files: Mapping[str, str]
  language: str = "python"
  test_command: str | None = None
  targets: tuple[str, ...] = ()  # files to change (split `files`; default: every file)
  failing_tests: tuple[str, ...] = ()  # split `tests`
  subtasks: tuple[dict, ...] = ()  # split `given`: [{"id", "statement", "focus": [...]}]


class TaskError(ValueError):
  """A task file the orchestrator cannot read (the message names the file and field)."""


def read_task(path: str | os.PathLike) -> Task:
  """Reads a task JSON: {"statement", "files": {path: text} | "repo": DIR, "language", "test_command",
  "targets", "failing_tests", "subtasks"}. A repo directory's text files (not .git) become the files."""
  where = str(path)
  try:
    data = json.loads(pathlib.Path(path).read_text())
  except FileNotFoundError:
    raise TaskError(f"--task: {where} not found") from None
  except json.JSONDecodeError as error:
    raise TaskError(f"--task: {where} is not JSON: {error}") from None
  if not isinstance(data, dict) or not isinstance(data.get("statement"), str):
    raise TaskError(f"{where}: field 'statement' (a string) is required")
  files = data.get("files")
  if files is None and "repo" in data:
    root = (pathlib.Path(where).parent / str(data["repo"])).resolve()
    if not root.is_dir():
      raise TaskError(f"{where}: field 'repo': {root} is not a directory")
    files = {}
    for p in sorted(root.rglob("*")):
      rel = p.relative_to(root).as_posix()
      if p.is_file() and not p.is_symlink() and not rel.startswith((".git/", f"{STATE_DIR}/")):
        try:
          files[rel] = p.read_text()
        except UnicodeDecodeError:
          continue  # binary files are not edited by agents
  if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
    raise TaskError(f"{where}: field 'files' must map paths to text (or give 'repo': a directory)")

  def strings(name):
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
      raise TaskError(f"{where}: field '{name}' must be a list of strings")
    return tuple(value)

  subtasks = data.get("subtasks", [])
  if not isinstance(subtasks, list) or not all(
    isinstance(s, dict) and isinstance(s.get("statement"), str) for s in subtasks
  ):
    raise TaskError(f"{where}: field 'subtasks' must be a list of {{'statement': ..., 'focus': [...]}}")
  targets = strings("targets")
  unknown = [t for t in targets if t not in files]
  if unknown:
    raise TaskError(f"{where}: field 'targets' names files not in the task: {', '.join(unknown[:5])}")
  return Task(
    statement=data["statement"],
    files=files,
    language=str(data.get("language", "python")),
    test_command=data.get("test_command"),
    targets=targets,
    failing_tests=strings("failing_tests"),
    subtasks=tuple(subtasks),
  )


def plan_prompt(task: Task) -> str:
  return (
    f"{task.statement}\n\nFiles: {', '.join(sorted(task.files))}\n\nSplit this task into independent sub-tasks "
    "that different engineers can do in parallel. Write one sub-task per line, starting with '- ', and name the "
    "files each one changes in brackets, e.g. '- fix the parser [src/parse.py]'. Nothing else."
  )


def parse_plan(text: str, files: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
  """(statement, focus files) per plan line `- text [a.py, b.py]`; unknown files are dropped from the focus."""
  out = []
  for line in text.splitlines():
    m = re.match(r"^\s*(?:[-*]|\d+[.)])\s+(.+?)\s*$", line)
    if not m:
      continue
    body, focus = m.group(1), ()
    bracket = re.search(r"\[([^\]]*)\]\s*$", body)
    if bracket:
      focus = tuple(f.strip() for f in bracket.group(1).split(",") if f.strip() in files)
      body = body[: bracket.start()].strip()
    if body:
      out.append((body, focus))
  return out


def split_task(task: Task, how: str, plan: Callable[[str], str] | None = None, max_subtasks: int = 64) -> list[SubTask]:
  """Sub-tasks of `task` (see the module doc). `plan` (how="plan") maps a prompt to the model's reply."""
  common = dict(files=dict(task.files), language=task.language, test_command=task.test_command)
  if how == "files":
    targets = task.targets or tuple(sorted(task.files))
    parts = [
      (f"{task.statement}\n\nYour part: change only {t}; other workers handle the other files.", (t,)) for t in targets
    ]
  elif how == "tests":
    if not task.failing_tests:
      raise TaskError("--split tests needs the task's 'failing_tests'")
    parts = [
      (f"{task.statement}\n\nYour part: make the test {t} pass without breaking others.", ())
      for t in task.failing_tests
    ]
  elif how == "languages":
    groups = collections.defaultdict(list)
    for path in task.targets or sorted(task.files):
      language = EXTENSION_LANGUAGE.get(pathlib.PurePosixPath(path).suffix)
      if language:
        groups[language].append(path)
    if not groups:
      raise TaskError("--split languages: no file of a known language among the task's files")
    parts = [
      (f"{task.statement}\n\nYour part: the {lang} code ({', '.join(paths)}) only.", tuple(paths))
      for lang, paths in sorted(groups.items())
    ]
    subtasks = []
    for i, ((statement, focus), lang) in enumerate(zip(parts, sorted(groups))):
      subtasks.append(SubTask(f"t{i:03d}", statement, focus=focus, **dict(common, language=lang)))
    return subtasks[:max_subtasks]
  elif how == "plan":
    if plan is None:
      raise TaskError("--split plan needs a model (--endpoint/--model)")
    lines = parse_plan(plan(plan_prompt(task)), list(task.files))
    if not lines:  # the model gave no usable plan: the task stays whole
      lines = [("", ())]
    parts = [(f"{task.statement}\n\nYour part: {s}" if s else task.statement, f) for s, f in lines]
  elif how == "given":
    if not task.subtasks:
      raise TaskError("--split given needs the task's 'subtasks'")
    parts = [(f"{task.statement}\n\nYour part: {s['statement']}", tuple(s.get("focus", ()))) for s in task.subtasks]
  else:
    raise TaskError(f"--split must be one of {', '.join(SPLITS)}, got {how!r}")
  return [
    SubTask(f"t{i:03d}", statement, focus=focus, **common) for i, (statement, focus) in enumerate(parts[:max_subtasks])
  ]


# ----------------------------------------------------------------------------------------------- workers


def workspace_files(session) -> dict[str, str]:
  """The session's text files now (paths relative to its root, without .git and the session state). A sandbox
  session's workspace is read on the host (files only, links skipped: nothing runs); other sessions list it
  with `find` inside the session."""
  root = getattr(session, "workspace", None)
  files = {}
  if isinstance(root, pathlib.Path):
    for directory, dirs, names in os.walk(root, followlinks=False):
      rel_dir = pathlib.Path(directory).relative_to(root)
      dirs[:] = [d for d in dirs if not (rel_dir == pathlib.Path(".") and d in (".git", STATE_DIR))]
      for name in names:
        path = pathlib.Path(directory) / name
        if path.is_symlink() or not path.is_file():
          continue
        try:
          files[(rel_dir / name).as_posix()] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeError):
          continue
    return files
  obs = session.run(f"find . -type f -not -path './.git/*' -not -path './{STATE_DIR}/*' -print0 | head -c 1000000", 60)
  for raw in obs.output.split("\0"):
    path = raw.strip().removeprefix("./")
    if not path or "\n" in path or path.startswith("["):
      continue
    try:
      files[path] = session.read_file(path)
    except (OSError, ValueError, UnicodeError):
      continue
  return files


def diff_files(base: Mapping[str, str], now: Mapping[str, str]) -> dict[str, str | None]:
  """path -> new text for changed or new files, None for deleted ones."""
  edits: dict[str, str | None] = {p: t for p, t in now.items() if base.get(p) != t}
  edits.update({p: None for p in base if p not in now})
  return edits


@dataclasses.dataclass(frozen=True)
class PolicySpec:
  """How a worker builds its policy (picklable: it travels to the actors).
  kind: endpoint (a shared OpenAI-compatible server) | scripted (actions per sub-task id)."""

  kind: str = "endpoint"
  base_url: str = ""
  model: str = ""
  max_tokens: int = 256
  temperature: float = 0.0
  scripts: Mapping[str, Sequence[dict]] = dataclasses.field(default_factory=dict)

  def build(self, subtask_id: str):
    if self.kind == "endpoint":
      return loop.EndpointPolicy(self.base_url, self.model, max_tokens=self.max_tokens, temperature=self.temperature)
    if self.kind == "scripted":
      actions = [loop.Action(**a) for a in self.scripts.get(subtask_id, [{"answer": "nothing to do"}])]
      return loop.ScriptedPolicy(actions, name="scripted")
    raise ValueError(f"unknown policy kind {self.kind!r}: endpoint or scripted")


class _TimedPolicy:
  """Counts the seconds and calls spent in the policy (for the model-server queueing figure)."""

  def __init__(self, policy):
    self.policy, self.name, self.seconds, self.calls = policy, policy.name, 0.0, 0

  def __call__(self, *args):
    start = time.monotonic()
    try:
      return self.policy(*args)
    finally:
      self.seconds += time.monotonic() - start
      self.calls += 1


class _JournaledSession:
  """Appends every session call and its result to a JSONL journal as it happens (one line each, flushed and
  fsynced), so the steps of an attempt whose process is killed are still on disk; a reader drops at most an
  incomplete last line."""

  def __init__(self, session, path: pathlib.Path):
    self.session, self.name = session, session.name
    self.workspace = getattr(session, "workspace", None)
    path.parent.mkdir(parents=True, exist_ok=True)
    self._file = open(path, "a", encoding="utf-8")  # pylint: disable=consider-using-with

  def _log(self, **entry) -> None:
    self._file.write(json.dumps(dict(entry, t=round(time.time(), 3)), ensure_ascii=False) + "\n")
    self._file.flush()
    os.fsync(self._file.fileno())

  def run(self, command: str, timeout_s: float = 60.0):
    self._log(call="run", command=command)
    obs = self.session.run(command, timeout_s)
    self._log(result="run", output=obs.output[-4000:], exit_code=obs.exit_code)
    return obs

  def read_file(self, path: str) -> str:
    return self.session.read_file(path)

  def write_file(self, path: str, content: str) -> None:
    self._log(call="write_file", path=path, content=content)
    self.session.write_file(path, content)

  def close(self) -> None:
    try:
      self.session.close()
    finally:
      self._file.close()


@dataclasses.dataclass(frozen=True)
class AgentWorker:
  """Runs the agent loop on a sub-task in its own session; its edits are the files it changed. journal_dir: where
  each attempt's session calls are journaled as they happen (`<id>.<attempt>.jsonl`; on a cluster, a shared
  filesystem path)."""

  policy: PolicySpec
  session: str = "sandbox"
  budgets: loop.Budgets = loop.Budgets()
  session_config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  journal_dir: str | None = None

  def __call__(self, subtask: SubTask, attempt: int) -> WorkerResult:
    from hrm_jax.agent import sessions  # pylint: disable=import-outside-toplevel

    kwargs = dict(self.session_config)
    kwargs["files"] = dict(subtask.files)
    session = sessions.open_session(self.session, **kwargs)
    if self.journal_dir:
      session = _JournaledSession(session, pathlib.Path(self.journal_dir) / f"{subtask.id}.{attempt}.jsonl")
    try:
      policy = _TimedPolicy(self.policy.build(subtask.id))
      episode = loop.run_episode(
        policy,
        session,
        subtask.statement,
        language=subtask.language,
        files=dict(subtask.files),
        budgets=self.budgets,
        episode_id=f"{subtask.id}.{attempt}",
        test_command=subtask.test_command,
      )
      edits = diff_files(subtask.files, workspace_files(session))
    finally:
      session.close()
    return WorkerResult(
      subtask.id,
      attempt,
      ok=episode.finished or (episode.stop_reason == "answer" and bool(edits)),
      edits=edits,
      episode=episode.trajectory,
      error="" if episode.stop_reason == "answer" else f"episode ended: {episode.stop_reason}",
      status="finished" if episode.stop_reason == "answer" else "failed",
      stats={
        "policy_s": round(policy.seconds, 4),
        "policy_calls": policy.calls,
        "steps": len(episode.trajectory["steps"]),
      },
    )


class WorkerActor:
  """A Ray actor holding one worker callable; `run` may execute on several threads at once (max_concurrency)."""

  def __init__(self, worker: Callable[[SubTask, int], WorkerResult]):
    import socket  # pylint: disable=import-outside-toplevel

    self.worker = worker
    self.name = f"{socket.gethostname()}:{os.getpid()}"

  def pid(self) -> int:
    return os.getpid()

  def run(self, subtask: SubTask, attempt: int) -> WorkerResult:
    started = time.time()
    try:
      result = self.worker(subtask, attempt)
    except Exception as error:  # the worker's own failure: reported, retried by the orchestrator
      result = WorkerResult(
        subtask.id,
        attempt,
        ok=False,
        status="raised",
        error=f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=5)}",
      )
    result.started_at = result.started_at or started
    result.ended_at = time.time()
    result.worker = self.name
    return result


# ----------------------------------------------------------------------------------------------- the orchestrator


def atomic_write(path: str | os.PathLike, text: str) -> None:
  """Writes `text` to `path` through a temporary file in the same directory and a rename (all or nothing)."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
  try:
    with os.fdopen(fd, "w", encoding="utf-8") as f:
      f.write(text)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    pathlib.Path(tmp).unlink(missing_ok=True)
    raise


def overhead(wall_s: float, work_s: float, workers: int, slots: int) -> tuple[float, float]:
  """(ideal wall, overhead) with ideal = work / min(workers, slots) and overhead = (wall - ideal) / wall."""
  ideal = work_s / max(1, min(workers, slots))
  return ideal, (wall_s - ideal) / wall_s if wall_s > 0 else 0.0


@dataclasses.dataclass
class RunReport:
  results: list[WorkerResult]  # the final attempt of each sub-task, in sub-task order
  attempts: list[WorkerResult]  # every attempt, in the order they ended
  wall_s: float
  slots: int
  retries: int

  @property
  def ok(self) -> bool:
    return all(r.ok for r in self.results)


class Orchestrator:
  """Dispatches sub-tasks to `actors` Ray actors of `per_actor` slots each, with retries (see the module doc).

  worker: the callable each sub-task runs (`AgentWorker`, or the benchmark's fixed-cost workers);
  max_attempts: attempts per sub-task; retry_budget: retries for the whole run (None: unlimited within
  max_attempts); timeout_s: wall limit of one attempt; log_dir: where attempts and episodes are written."""

  def __init__(
    self,
    worker: Callable[[SubTask, int], WorkerResult],
    *,
    actors: int = 2,
    per_actor: int = 8,
    max_attempts: int = 3,
    retry_budget: int | None = None,
    timeout_s: float = 600.0,
    log_dir: str | os.PathLike | None = None,
    progress: Callable[[str], None] | None = None,
  ):
    import ray  # pylint: disable=import-outside-toplevel  (the `ray` extra)

    if not ray.is_initialized():
      raise RuntimeError("call ray.init() (or orchestrate.connect) before creating an Orchestrator")
    self.ray = ray
    self.per_actor, self.max_attempts, self.retry_budget = per_actor, max_attempts, retry_budget
    self.timeout_s, self.progress = timeout_s, progress
    self.log_dir = pathlib.Path(log_dir) if log_dir else None
    # num_cpus=0: a worker agent waits on its sandbox and the model server; Ray's CPU count is not its limit.
    cls = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0, max_concurrency=per_actor)(WorkerActor)
    self.actors = [cls.remote(worker) for _ in range(actors)]
    ray.get([a.pid.remote() for a in self.actors])  # started before the clock of a run starts

  @property
  def slots(self) -> int:
    return len(self.actors) * self.per_actor

  def close(self) -> None:
    for actor in self.actors:
      self.ray.kill(actor, no_restart=True)
    self.actors = []

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()

  def _log_attempt(self, result: WorkerResult) -> None:
    if self.log_dir is not None:
      atomic_write(
        self.log_dir / "attempts" / f"{result.subtask_id}.{result.attempt}.json",
        json.dumps(dataclasses.asdict(result), indent=1),
      )

  def run(self, subtasks: Sequence[SubTask]) -> RunReport:
    ray = self.ray
    ids = [s.id for s in subtasks]
    if len(set(ids)) != len(ids):
      raise ValueError("sub-task ids must be unique")
    start = time.time()
    pending = collections.deque((s, 1) for s in subtasks)
    inflight: dict[Any, tuple[SubTask, int, int, float]] = {}  # ref -> (subtask, attempt, actor index, submitted)
    load = [0] * len(self.actors)
    final: dict[str, WorkerResult] = {}
    attempts: list[WorkerResult] = []
    retries = 0

    down: dict[int, tuple[Any, float]] = {}  # actor index -> (probe ref or None, when to probe again)

    def submit(subtask, attempt):
      up = [k for k in range(len(self.actors)) if k not in down and load[k] < self.per_actor]
      i = min(up, key=lambda k: load[k])
      load[i] += 1
      ref = self.actors[i].run.remote(subtask, attempt)
      inflight[ref] = (subtask, attempt, i, time.time())

    def room() -> bool:
      return any(k not in down and load[k] < self.per_actor for k in range(len(self.actors)))

    def settle(subtask, attempt, result):
      nonlocal retries
      attempts.append(result)
      self._log_attempt(result)
      if self.progress:
        first = result.error.splitlines()[0] if result.error else ""
        self.progress(f"{subtask.id} attempt {attempt}: {result.status} {first}".rstrip())
      budget_left = self.retry_budget is None or retries < self.retry_budget
      if not result.ok and attempt < self.max_attempts and budget_left:
        retries += 1
        pending.append((subtask, attempt + 1))
      else:
        final[subtask.id] = result

    while pending or inflight:
      while pending and room():
        submit(*pending.popleft())
      now = time.time()
      for k, (probe, when) in list(down.items()):  # a restarting actor takes work again once it answers
        if probe is None and now >= when:
          down[k] = (self.actors[k].pid.remote(), 0.0)
      probes = {probe: k for k, (probe, _) in down.items() if probe is not None}
      nearest = min((sub_at + self.timeout_s for _, _, _, sub_at in inflight.values()), default=now + 1)
      wait_s = max(0.0, min(nearest - now, 0.2 if down else 5.0))
      ready, _ = ray.wait(list(inflight) + list(probes), num_returns=1, timeout=wait_s)
      for ref in ready:
        if ref in probes:
          k = probes[ref]
          try:
            ray.get(ref)
            down.pop(k)
          except ray.exceptions.RayError:
            down[k] = (None, time.time() + 0.2)
          continue
        subtask, attempt, actor, submitted = inflight.pop(ref)
        load[actor] -= 1
        try:
          result = ray.get(ref)
          result.result_bytes = len(ray.cloudpickle.dumps(result)) if self.log_dir is not None else 0
        except ray.exceptions.RayActorError as error:  # the process died (in flight then): Ray restarts it
          if actor not in down:
            down[actor] = (None, time.time() + 0.2)
          result = WorkerResult(
            subtask.id, attempt, ok=False, status="killed", error=f"worker process died: {type(error).__name__}"
          )
        except ray.exceptions.RayError as error:
          result = WorkerResult(
            subtask.id, attempt, ok=False, status="raised", error=f"{type(error).__name__}: {error}"
          )
        result.submitted_at, result.received_at = submitted, time.time()
        settle(subtask, attempt, result)
      now = time.time()
      expired = [ref for ref, (_, _, _, sub_at) in inflight.items() if now > sub_at + self.timeout_s]
      for ref in expired:  # kill the actor holding it (restarted); its other sub-tasks go back unpenalised
        if ref not in inflight:
          continue
        subtask, attempt, actor, submitted = inflight.pop(ref)
        ray.kill(self.actors[actor], no_restart=False)
        down[actor] = (None, time.time() + 0.2)
        for other, (s2, a2, i2, _) in list(inflight.items()):
          if i2 == actor:
            inflight.pop(other)
            pending.appendleft((s2, a2))
        load[actor] = 0
        result = WorkerResult(
          subtask.id, attempt, ok=False, status="timeout", error=f"no result within {self.timeout_s:g} s"
        )
        result.submitted_at, result.received_at = submitted, time.time()
        settle(subtask, attempt, result)
    wall = time.time() - start
    results = [final[s.id] for s in subtasks]
    if self.log_dir is not None:
      atomic_write(
        self.log_dir / "episodes.jsonl",
        "".join(json.dumps(r.episode, ensure_ascii=False) + "\n" for r in results if r.episode is not None),
      )
    return RunReport(results, attempts, wall, self.slots, retries)


# ----------------------------------------------------------------------------------------------- merging


@dataclasses.dataclass
class MergeResult:
  files: dict[str, str]  # the merged workspace
  conflicts: dict[str, str]  # path -> text with conflict markers (unresolved)
  sources: dict[str, list[str]]  # path -> sub-task ids whose edits it holds


def merge_file(base: str, ours: str, theirs: str) -> tuple[str, bool]:
  """Three-way merge of one text file (`git merge-file`; text only, nothing runs). Returns (text, clean)."""
  with tempfile.TemporaryDirectory(prefix="hrm_jax_merge_") as d:
    paths = []
    for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
      p = os.path.join(d, name)
      with open(p, "w", encoding="utf-8") as f:
        f.write(text)
      paths.append(p)
    proc = subprocess.run(["git", "merge-file", "-p", *paths], capture_output=True, text=True, timeout=60)
  if proc.returncode < 0 or proc.returncode > 127:
    raise RuntimeError(f"git merge-file failed: {proc.stderr}")
  return proc.stdout, proc.returncode == 0


def merge_edits(base: Mapping[str, str], results: Sequence[WorkerResult]) -> MergeResult:
  """Folds every successful worker's edits into `base`, in sub-task order (see the module doc)."""
  files, sources, conflicts = dict(base), collections.defaultdict(list), {}
  for result in results:
    if not result.ok:
      continue
    for path, text in sorted(result.edits.items()):
      if path in conflicts:
        sources[path].append(result.subtask_id)
        continue
      if text is None:  # deletion: only when nobody else changed the file
        if files.get(path) == base.get(path):
          files.pop(path, None)
          sources[path].append(result.subtask_id)
        else:
          conflicts[path] = files.get(path, "")
        continue
      current = files.get(path)
      if current is None or current == base.get(path) or current == text:
        files[path] = text
      else:
        merged, clean = merge_file(base.get(path, ""), current, text)
        files[path] = merged
        if not clean:
          conflicts[path] = merged
      sources[path].append(result.subtask_id)
  return MergeResult(files, conflicts, dict(sources))


def resolve_conflicts(merge: MergeResult, worker: AgentWorker, statement: str, language: str = "python") -> MergeResult:
  """A final agent edits the conflicted files (markers in them) in a fresh session; a file is resolved when no
  conflict marker is left. Unresolved files stay in `conflicts`."""
  if not merge.conflicts:
    return merge
  paths = sorted(merge.conflicts)
  task = SubTask(
    "resolve",
    f"{statement}\n\nSeveral workers changed the same lines of {', '.join(paths)}; the files hold git conflict "
    "markers (<<<<<<<, =======, >>>>>>>). Combine both sides so each worker's change is kept, remove every "
    "marker, and run the tests.",
    files=merge.files,
    focus=tuple(paths),
    language=language,
  )
  result = worker(task, 1)
  files = dict(merge.files)
  files.update({p: t for p, t in result.edits.items() if t is not None})
  left = {p: files[p] for p in paths if p in files and CONFLICT_MARKER.search(files[p])}
  return MergeResult(
    files, left, dict(merge.sources, **{p: merge.sources.get(p, []) + ["resolve"] for p in paths if p not in left})
  )


# ----------------------------------------------------------------------------------------------- command line


def connect(address: str | None = None, num_cpus: int | None = None):
  """`ray.init()` on this machine (address None), or joins a cluster (`auto`, `ray://HOST:PORT`)."""
  import ray  # pylint: disable=import-outside-toplevel

  os.environ.setdefault("RAY_AUTH_MODE", "disabled")
  if not ray.is_initialized():
    if address:
      ray.init(address=address, log_to_driver=False)
    else:
      ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
  return ray


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument(
    "--task", required=True, help="task JSON: statement, files (or repo), targets, failing_tests, subtasks"
  )
  parser.add_argument(
    "--out", required=True, type=pathlib.Path, help="results: attempts/, episodes.jsonl, merged/, summary.json"
  )
  parser.add_argument("--split", default="files", choices=SPLITS, help="how the task becomes sub-tasks")
  parser.add_argument(
    "--agent",
    default="endpoint",
    choices=("endpoint", "ours", "oracle"),
    help="oracle: the task's 'oracle' edits, scripted",
  )
  parser.add_argument("--endpoint", help="a shared OpenAI-compatible server, http://HOST:PORT/v1 (e.g. hrm-jax serve)")
  parser.add_argument(
    "--model", help="endpoint: the served model's name; ours: a training workdir (served here, batched)"
  )
  parser.add_argument(
    "--address", default=None, help="a Ray cluster (auto, ray://HOST:10001); default: ray.init() here"
  )
  parser.add_argument("--actors", type=int, default=2, help="Ray worker actors (processes)")
  parser.add_argument("--per-actor", type=int, default=8, help="sub-tasks one actor runs at once")
  parser.add_argument("--max-attempts", type=int, default=3)
  parser.add_argument("--retry-budget", type=int, default=None, help="retries for the whole run (default: no cap)")
  parser.add_argument("--timeout-s", type=float, default=900.0, help="wall limit of one attempt")
  parser.add_argument(
    "--session", default="sandbox", choices=("sandbox", "swerex-local", "swerex-docker", "swerex-modal")
  )
  parser.add_argument("--max-steps", type=int, default=20, help="tool calls per worker episode")
  parser.add_argument("--temperature", type=float, default=0.0)
  parser.add_argument("--max-subtasks", type=int, default=64)


def run(args) -> int:
  say = lambda line: print(line, file=sys.stderr, flush=True)
  try:
    task = read_task(args.task)
  except TaskError as error:
    say(str(error))
    return 2
  server = None
  if args.agent == "endpoint" and not (args.endpoint and args.model):
    say("--agent endpoint needs --endpoint URL and --model NAME")
    return 2
  if args.agent == "ours" and not args.model:
    say("--agent ours needs --model WORKDIR (it is served here, one batched server for every worker)")
    return 2
  try:
    if args.agent == "ours":
      from hrm_jax import serve  # pylint: disable=import-outside-toplevel

      app, _ = serve.load(args.model, max_batch=max(1, min(32, args.actors * args.per_actor)))
      server = serve.ServerThread(app).__enter__()
      spec = PolicySpec(
        "endpoint", server.url + "/v1", os.path.basename(os.path.normpath(args.model)), temperature=args.temperature
      )
    elif args.agent == "endpoint":
      spec = PolicySpec("endpoint", args.endpoint, args.model, temperature=args.temperature)
    else:
      oracle = json.loads(pathlib.Path(args.task).read_text()).get("oracle") or {}
      spec = PolicySpec("scripted", scripts=oracle)
    planner = None
    if args.split == "plan":
      if spec.kind != "endpoint":
        say("--split plan needs a model: --agent endpoint or ours")
        return 2
      from hrm_jax.evals import generators  # pylint: disable=import-outside-toplevel

      ask = generators.endpoint_generator(spec.base_url, spec.model, max_tokens=256, temperature=args.temperature)
      planner = lambda prompt: ask([prompt])[0]
    try:
      subtasks = split_task(task, args.split, planner, args.max_subtasks)
    except TaskError as error:
      say(str(error))
      return 2
    say(f"{len(subtasks)} sub-tasks ({args.split}); {args.actors} actors x {args.per_actor} slots")
    connect(args.address)
    worker = AgentWorker(
      spec,
      args.session,
      loop.Budgets(max_steps=args.max_steps, wall_s=args.timeout_s),
      journal_dir=str(args.out.resolve() / "journal"),
    )
    with Orchestrator(
      worker,
      actors=args.actors,
      per_actor=args.per_actor,
      max_attempts=args.max_attempts,
      retry_budget=args.retry_budget,
      timeout_s=args.timeout_s,
      log_dir=args.out,
      progress=say,
    ) as orchestrator:
      report = orchestrator.run(subtasks)
    merge = merge_edits(task.files, report.results)
    if merge.conflicts and spec.kind == "endpoint":
      merge = resolve_conflicts(merge, worker, task.statement, task.language)
    for path, text in merge.files.items():
      atomic_write(args.out / "merged" / path, text)
    work = sum(r.busy_s for r in report.attempts)
    ideal, over = overhead(report.wall_s, work, len(subtasks), report.slots)
    summary = {
      "subtasks": len(subtasks),
      "ok": sum(r.ok for r in report.results),
      "attempts": len(report.attempts),
      "retries": report.retries,
      "statuses": collections.Counter(r.status for r in report.attempts),
      "wall_s": round(report.wall_s, 3),
      "work_s": round(work, 3),
      "ideal_s": round(ideal, 3),
      "overhead": round(over, 4),
      "changed_files": sorted(p for p in merge.files if merge.files[p] != task.files.get(p)),
      "conflicts": sorted(merge.conflicts),
      "sources": merge.sources,
    }
    atomic_write(args.out / "summary.json", json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return 0 if report.ok and not merge.conflicts else 1
  finally:
    if server is not None:
      server.__exit__(None, None, None)
