"""Executing sampled programs against their tests in the sandbox, for rewards.

A procedural task record (`hrm_jax.data_pipelines.procedural`, LiveCodeBench schema plus `language`, `family`)
and a model's reply become one sandboxed run of the record's self-checking test program
(`procedural.build_test_program`) with the reply as the code under test; the run's `runner.RunResult` becomes
an `ExecutionOutcome` (`rewards.py`) with `outcome_from_run`:

  * compile errors: Python is compiled on the host with `compile()` (parsing runs no code); C++ and Rust build in
    the sandbox first and a failed build prints a marker; Java's single-file launcher, Go's `go run` and Node
    report compile errors by their own messages (matched by `COMPILE_ERROR_PATTERNS`).
  * tests: the test program prints `FAIL <i>` per failed case and exits 1 when any failed, 0 when all passed;
    passed = total - FAIL lines. A crash before the report scores 0 of the record's test count.
  * timeout / memory limit: the runner's classification.
  * `predict` (code execution) tasks are answered in text: the reply is compared with the expected output,
    nothing runs.

A LiveCodeBench record (source `livecodebench_sample`: no `family` field) is graded by the evaluation harness
(`hrm_jax.evals.livecodebench.grade_programs`: stdin or functional tests in the sandbox, LCB's output matching).
That harness stops at the first failing test, so a wrong answer scores 0 of the record's tests (no partial
credit); the reply is the code itself, or the last fenced block when it has one.

The test program's report is printed by the same process as the code under test, so a program could fake it
(exit 0 before the checks). `rewards.parse_test_report` documents the same limit; for these tasks a policy
would have to learn to print an exit call in place of the function, which the held-out pass@1 (the same
harness) would also count, so the eval numbers are only as trustworthy as this harness.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import pathlib
import re
import shlex
import sys
from collections.abc import Sequence

from hrm_jax import config_fields
from hrm_jax.data_pipelines import procedural
from hrm_jax.rl import rewards
from hrm_jax.sandbox import pool, runner, toolchains

BUILD_FAILED_MARKER = "HRM_RL_BUILD_FAILED"
_FAIL_LINE = re.compile(r"^FAIL \d+\s*$", re.MULTILINE)
COMPILE_ERROR_PATTERNS = {
  "javascript": re.compile(r"^SyntaxError\b", re.MULTILINE),
  "java": re.compile(r"error: compilation failed"),
  "go": re.compile(r"^# command-line-arguments", re.MULTILINE),
}


@dataclasses.dataclass(frozen=True)
class ExecutionConfig:
  """Sandbox settings for reward runs (config section `rl.execution`).

  Attributes:
    wall_s: wall-clock limit of one run (build + tests).
    memory_bytes: the sandbox's memory limit (RLIMIT_DATA).
    workers: runs at once (each is a sandboxed subprocess driven by a thread); for `ray`, tasks in flight at
      once is `queue_size` and the cluster's CPUs bound what runs.
    executor: where the programs run (`executors.py`): `local` (this machine's sandbox pool), `ray` (a Ray
      cluster, each task runs this module's `execute` in the project's sandbox on a worker) or `swerex` (a
      SWE-ReX runtime).
    address: `ray`: the cluster address given to `ray.init` ("" starts a local Ray instance, "auto" joins the
      cluster of this machine, "ray://host:10001" a remote one). `swerex`: the `swerex-remote` server URL
      ("http://host:8000"; its token from the environment variable HRM_SWEREX_TOKEN); "" with
      `swerex_deployment` docker/modal/local.
    swerex_deployment: `remote` (the server at `address`), `docker`, `modal` or `local` (no isolation).
    queue_size: samples queued or running at most (0: two rollout batches): submitting more waits, so
      generation waits on execution only when the queue is full.
    max_attempts: runs of one sample before its failure stops the run (a crashed worker, a lost task, a sandbox
      error): a retried sample's result is counted once, at its own row.
    task_timeout_s: a remote task running longer is presumed lost and submitted again (0: 3 x wall_s + 60).
  """

  wall_s: float = 20.0
  memory_bytes: int = 1 << 30
  workers: int = 2
  executor: str = "local"
  address: str = ""
  swerex_deployment: str = "remote"
  queue_size: int = 0
  max_attempts: int = 3
  task_timeout_s: float = 0.0

  def __post_init__(self):
    if self.executor not in ("local", "ray", "swerex"):
      raise ValueError(f"rl.execution.executor must be local, ray or swerex, got {self.executor!r}")
    if self.workers < 1 or self.max_attempts < 1 or self.queue_size < 0:
      raise ValueError(
        f"rl.execution needs workers >= 1, max_attempts >= 1 and queue_size >= 0, got {self.workers}, "
        f"{self.max_attempts}, {self.queue_size}"
      )

  @classmethod
  def from_mapping(cls, mapping) -> ExecutionConfig:
    """From `config.rl.execution` (a ConfigDict or mapping): unknown or wrongly typed fields are named."""
    return config_fields.from_mapping(cls, mapping, "rl.execution")


def num_tests(record: dict) -> int:
  """How many test cases a record has (public + private)."""
  return len(json.loads(record["public_test_cases"])) + len(json.loads(record["private_test_cases"]))


@functools.lru_cache(maxsize=1)
def _read_paths() -> tuple[pathlib.Path, ...]:
  from hrm_jax.sandbox import languages  # the toolchain directories a compiler may need to read

  return tuple(languages.toolchain_read_paths())


@functools.lru_cache(maxsize=1)
def _search_path() -> str:
  """PATH for the sandbox: this interpreter's directory, the real directories of the toolchains (the rustup
  proxies in ~/.cargo/bin are not readable there), then the system directories."""
  dirs = [str(pathlib.Path(sys.executable).parent)]
  for tool in ("node", "go", "java", "g++"):
    found = toolchains.which(tool)
    if found is not None:
      dirs.append(str(toolchains.real_dir(found)))
  rust = toolchains.rust_bin_dir()
  if rust is not None:
    dirs.append(str(rust))
  dirs.append(runner.DEFAULT_PATH)
  return ":".join(dict.fromkeys(dirs))


def _command(language: str, filename: str) -> str:
  """One shell command: build (marker on failure) then run, for `procedural.toolchain_commands`."""
  steps = procedural.toolchain_commands(language, filename)
  run = " ".join(shlex.quote(a) for a in steps[-1])
  if len(steps) == 1:
    return f"exec {run}"
  build = " && ".join(" ".join(shlex.quote(a) for a in step) for step in steps[:-1])
  return f"{{ {build}; }} || {{ echo {BUILD_FAILED_MARKER} >&2; exit 1; }}; exec {run}"


def _python_compiles(source: str) -> bool:
  try:
    compile(source, "main.py", "exec")
  except (SyntaxError, ValueError, RecursionError, MemoryError):
    return False
  return True


def outcome_from_run(language: str, total: int, result: runner.RunResult) -> rewards.ExecutionOutcome:
  """Maps one sandboxed run of a procedural test program to an `ExecutionOutcome`.

  Raises RuntimeError when the sandbox itself failed (`sandbox_error`): that is not the program's fault and
  must not become a reward.
  """
  Outcome = runner.Outcome
  if result.outcome == Outcome.SANDBOX_ERROR:
    raise RuntimeError(f"sandbox error while running a {language} program: {result.detail}")
  failures = len(_FAIL_LINE.findall(result.stdout))
  pattern = COMPILE_ERROR_PATTERNS.get(language)
  if BUILD_FAILED_MARKER in result.stderr or (
    result.outcome == Outcome.RUNTIME_ERROR and pattern is not None and pattern.search(result.stderr)
  ):
    return rewards.ExecutionOutcome(0, total, False, rewards.STATUS_COMPILE_ERROR)
  if result.outcome == Outcome.TIMEOUT:
    return rewards.ExecutionOutcome(0, total, True, rewards.STATUS_TIMEOUT)
  if result.outcome == Outcome.MEMORY_LIMIT:
    return rewards.ExecutionOutcome(0, total, True, rewards.STATUS_MEMORY_LIMIT)
  if result.outcome == Outcome.PASSED and failures == 0:
    return rewards.ExecutionOutcome(total, total, True, rewards.STATUS_PASSED)
  if result.exit_code == 1 and 0 < failures <= total and "Traceback" not in result.stderr:
    return rewards.ExecutionOutcome(total - failures, total, True, rewards.STATUS_FAILED)
  return rewards.ExecutionOutcome(0, total, True, rewards.STATUS_RUNTIME_ERROR)


def _predict_outcome(record: dict, reply: str) -> rewards.ExecutionOutcome:
  expected = json.loads(record["public_test_cases"])[0]["output"]
  ok = reply.strip() == expected.strip()
  return rewards.ExecutionOutcome(int(ok), 1, True, rewards.STATUS_PASSED if ok else rewards.STATUS_FAILED)


_LCB_STATUS = {
  "time_limit": rewards.STATUS_TIMEOUT,
  "memory_limit": rewards.STATUS_MEMORY_LIMIT,
  "wrong_answer": rewards.STATUS_FAILED,
}


def _lcb_outcome(record: dict, reply: str, config: ExecutionConfig, backend) -> rewards.ExecutionOutcome:
  from hrm_jax.evals import livecodebench as lcb

  problem = lcb.problem_from_record(record, where=f"record {record.get('question_id')!r}")
  total = len(problem.tests)
  code = lcb.extract_code(reply) or reply
  if not _python_compiles(code):
    return rewards.ExecutionOutcome(0, total, False, rewards.STATUS_COMPILE_ERROR)
  (grade,) = lcb.grade_programs(
    [(problem, code)], workers=1, timeout_s=min(lcb.TEST_TIMEOUT_S, config.wall_s), backend=backend
  )
  if grade.passed:
    return rewards.ExecutionOutcome(total, total, True, rewards.STATUS_PASSED)
  if grade.category == "sandbox_error":
    raise RuntimeError(f"sandbox error while grading {problem.question_id}: {grade.metadata.get('error')}")
  if grade.category in ("compile_error", "no_code"):
    return rewards.ExecutionOutcome(0, total, False, rewards.STATUS_COMPILE_ERROR)
  return rewards.ExecutionOutcome(0, total, True, _LCB_STATUS.get(grade.category, rewards.STATUS_RUNTIME_ERROR))


def execute(
  record: dict, reply: str, config: ExecutionConfig = ExecutionConfig(), backend: str | pool.Backend = "local"
) -> rewards.ExecutionOutcome:
  """Runs `reply` as the code of `record` against the record's tests in the sandbox.

  `backend`: "local" (this machine's sandbox) or a `pool.Backend` such as `swerex_backend.SweRexBackend`, which
  gets the test program as a file and one shell command (build, then run)."""
  if record.get("family") == "predict":
    return _predict_outcome(record, reply)
  if "family" not in record:  # a LiveCodeBench problem
    return _lcb_outcome(record, reply, config, backend)
  language = record["language"]
  total = num_tests(record)
  filename, source = procedural.build_test_program(record, reply)
  if language == "python" and not _python_compiles(source):
    return rewards.ExecutionOutcome(0, total, False, rewards.STATUS_COMPILE_ERROR)
  command = _command(language, filename)
  limits = runner.Limits(wall_s=config.wall_s, memory_bytes=config.memory_bytes)
  if not isinstance(backend, str):
    env = {"GOFLAGS": "-mod=mod", "GO111MODULE": "off"}
    request = pool.RunRequest(["/bin/sh", "-c", command], limits=limits, env=env, files={filename: source})
    return outcome_from_run(language, total, pool.run_request(request, backend))

  def setup(work: pathlib.Path):
    (work / filename).write_text(source)
    if language == "go":  # a private copy of the warm build cache: a cold one rebuilds the standard library
      from hrm_jax.sandbox import languages

      languages.seed_go_cache(work, toolchains.toolchains_root())
    env = {"PATH": _search_path(), "GOCACHE": str(work / ".gocache"), "GOFLAGS": "-mod=mod", "GO111MODULE": "off"}
    return ["/bin/sh", "-c", command], env

  result = runner.run_prepared(setup, limits=limits, read_paths=_read_paths())
  return outcome_from_run(language, total, result)


def execute_many(
  items: Sequence[tuple[dict, str]], config: ExecutionConfig = ExecutionConfig()
) -> list[rewards.ExecutionOutcome]:
  """`execute` over (record, reply) pairs with at most `config.workers` sandboxes at once; input order."""
  return pool.map_bounded(lambda item: execute(item[0], item[1], config), items, config.workers)
