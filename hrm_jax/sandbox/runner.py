"""Runs untrusted programs: one scratch directory per run, resource limits, no network, private filesystem.

Every run:
  * gets a fresh scratch directory (`run/<name>/` is the working directory, `home/` is $HOME, `tmp/` is /tmp),
    deleted afterwards;
  * runs under the launcher `jail.py`, which (when the machine allows it) puts the command in new mount, PID,
    network, IPC and UTS namespaces with a read-only view of the system directories, no view of home
    directories or the project, and only the scratch directory writable; see `jail.py` for the details;
  * runs as a private uid (when started as root) with limits on CPU time, address space, processes, open
    files and file size; the runner enforces wall time and the total size of stdout + stderr;
  * ends with every process it started: the PID namespace dies with its init, the process group is killed,
    and any process left with the run's private uid is killed.

`isolation()` probes once which level works here and says so (the CLI prints it at start-up).
"""
from __future__ import annotations

import dataclasses
import enum
import itertools
import json
import logging
import os
import pathlib
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, Mapping, Sequence

JAIL = pathlib.Path(__file__).with_name("jail.py")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_LOG = logging.getLogger(__name__)


class Outcome(str, enum.Enum):
  """How a run ended. The runner itself produces all but `failed_tests` and `compile_error`, which callers
  that know what the command was (a test suite, a build) assign with `RunResult.refine`."""
  PASSED = "passed"
  FAILED_TESTS = "failed_tests"
  COMPILE_ERROR = "compile_error"
  RUNTIME_ERROR = "runtime_error"
  TIMEOUT = "timeout"
  MEMORY_LIMIT = "memory_limit"
  OUTPUT_LIMIT = "output_limit"
  SANDBOX_ERROR = "sandbox_error"


@dataclasses.dataclass(frozen=True)
class Limits:
  """Resource limits of one run. `None` disables a limit (except wall time and output, always enforced)."""
  wall_s: float = 10.0
  cpu_s: float | None = None  # None: same as wall_s.
  # RLIMIT_DATA: private writable memory (heap, anonymous mappings). Unlike RLIMIT_AS it ignores the large
  # PROT_NONE reservations of the JVM, Go and V8, so one limit works for every language.
  memory_bytes: int | None = 2 << 30
  processes: int | None = 64  # RLIMIT_NPROC for the run's private uid: threads count too.
  open_files: int | None = 256
  file_size_bytes: int | None = 64 << 20
  output_bytes: int = 1 << 20  # stdout + stderr together.

  def rlimits(self) -> dict:
    return {"memory_bytes": self.memory_bytes, "cpu_s": self.wall_s if self.cpu_s is None else self.cpu_s,
            "processes": self.processes, "open_files": self.open_files, "file_size_bytes": self.file_size_bytes}


@dataclasses.dataclass
class RunResult:
  outcome: Outcome
  exit_code: int | None  # None when killed by a signal or never started.
  signal: int | None
  stdout: str
  stderr: str
  wall_s: float
  cpu_s: float
  max_rss_kb: int
  mechanism: str
  detail: str = ""  # why the runner chose the outcome (limit hit, sandbox error message).

  @property
  def ok(self) -> bool:
    return self.outcome == Outcome.PASSED

  def refine(self, failure: Outcome) -> "RunResult":
    """Turns a plain non-zero exit (`runtime_error`) into `failure` (e.g. `failed_tests`); other outcomes stay."""
    if self.outcome == Outcome.RUNTIME_ERROR:
      return dataclasses.replace(self, outcome=failure)
    return self


@dataclasses.dataclass(frozen=True)
class Isolation:
  mode: str  # "namespaces" or "rlimits".
  description: str
  network_isolated: bool
  filesystem_isolated: bool
  private_uid: bool  # Runs as a uid of its own: RLIMIT_NPROC holds (root ignores it) and leftovers are found.


_MEMORY_PATTERNS = re.compile(
    r"MemoryError|std::bad_alloc|OutOfMemoryError|out of memory|memory allocation of \d+ bytes failed|"
    r"Cannot allocate memory|cannot allocate memory|heap out of memory|failed to allocate", re.IGNORECASE)

_uid_counter = itertools.count()
_uid_lock = threading.Lock()
_isolation: Isolation | None = None
_isolation_lock = threading.Lock()


def is_memory_error(stderr: str, stdout: str = "") -> bool:
  """Whether a failed program's output shows an allocation failure (Python, C++, Java, Go, Rust, V8)."""
  # Head and tail: Go prints "fatal error: runtime: out of memory" before a long goroutine dump.
  return any(_MEMORY_PATTERNS.search(text) for text in (stderr[:4096], stderr[-4096:], stdout[-2048:]))


def _next_uid() -> int:
  """A private uid per run, so RLIMIT_NPROC counts only this run's processes and leftovers can be found."""
  with _uid_lock:
    return 200_000 + (os.getpid() % 5_000) * 1_000 + next(_uid_counter) % 1_000


def default_read_paths() -> list[pathlib.Path]:
  """The Python installation the sandboxed programs use (venv and base prefix), read-only."""
  paths = {pathlib.Path(sys.prefix), pathlib.Path(sys.base_prefix), pathlib.Path(sys.exec_prefix),
           pathlib.Path(sys.executable).resolve().parent.parent}
  return sorted(p for p in paths if p.exists())


def _describe(mode: str) -> Isolation:
  if mode == "namespaces":
    return Isolation(
        mode, "namespaces (mount, pid, net, ipc, uts) + pivot_root to a read-only root with only the scratch "
        "dir writable + private uid + no_new_privs + rlimits", network_isolated=True, filesystem_isolated=True,
        private_uid=os.getuid() == 0)
  # As root the command always gets a private uid (root would ignore RLIMIT_NPROC and could kill(-1)); if
  # the interpreter or a toolchain is not reachable by that uid, runs fail as sandbox_error naming the path.
  private_uid = os.getuid() == 0
  reach = all(_world_readable(p) for p in default_read_paths())
  uid_note = "private uid + " if reach or not private_uid else (
      "private uid (which cannot reach the Python installation: runs will fail) + ")
  return Isolation(
      mode, f"rlimits only ({uid_note}new session + rlimits): NO network or filesystem isolation on this "
      "machine (namespaces unavailable)", network_isolated=False, filesystem_isolated=False,
      private_uid=private_uid)


def isolation() -> Isolation:
  """Probes (once per process) the strongest isolation that works here: namespaces, else rlimits only."""
  global _isolation
  with _isolation_lock:
    if _isolation is None:
      forced = os.environ.get("HRM_JAX_SANDBOX_MODE")
      if forced:
        _isolation = _describe(forced)
      else:
        probe = _run_once(["/bin/true"], mode="namespaces", limits=Limits(wall_s=20), stdin=None, env=None,
                          files=None, copy_tree=None, cwd=None, read_paths=(), keep_scratch=False)
        if probe.outcome == Outcome.PASSED:
          _isolation = _describe("namespaces")
        else:
          _isolation = _describe("rlimits")
          _LOG.warning("sandbox: namespaces unavailable (%s); falling back to rlimits only", probe.detail)
      _LOG.info("sandbox isolation: %s", _isolation.description)
  return _isolation


def _world_readable(path: pathlib.Path) -> bool:
  """Whether an unprivileged uid can reach `path` (every ancestor searchable by others)."""
  path = path.resolve()
  for part in [path, *path.parents]:
    try:
      if not part.stat().st_mode & 0o001:
        return False
    except OSError:
      return False
  return True


def _kill_uid(uid: int) -> int:
  """SIGKILLs every process whose real uid is the run's private uid; returns how many were found."""
  found = 0
  for entry in pathlib.Path("/proc").iterdir():
    if not entry.name.isdigit():
      continue
    try:
      status = (entry / "status").read_text()
    except OSError:
      continue
    match = re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE)
    if match and int(match.group(1)) == uid:
      found += 1
      try:
        os.kill(int(entry.name), signal.SIGKILL)
      except OSError:
        pass
  return found


def _chown_tree(path: pathlib.Path, uid: int) -> None:
  os.chown(path, uid, uid)
  for root, dirs, files in os.walk(path):
    for name in dirs + files:
      os.lchown(os.path.join(root, name), uid, uid)


Setup = Callable[[pathlib.Path], tuple[Sequence[str], Mapping[str, str]]]


def _work_dir(scratch: pathlib.Path, copy_tree: pathlib.Path | None) -> pathlib.Path:
  """`<scratch>/run/<name of the copied tree>` (build files such as Exercism's CMakeLists derive names from
  their directory's name), else `<scratch>/run/work`."""
  return scratch / "run" / (pathlib.Path(copy_tree).name if copy_tree is not None else "work")


def _make_scratch(files: Mapping[str, str | bytes] | None, copy_tree: pathlib.Path | None) -> pathlib.Path:
  base = pathlib.Path(os.environ.get("HRM_JAX_SANDBOX_TMP", tempfile.gettempdir()))
  scratch = pathlib.Path(tempfile.mkdtemp(prefix="hrm_jax_sbx_", dir=base))
  os.chmod(scratch, 0o711)
  (scratch / "run").mkdir(mode=0o711)
  work = _work_dir(scratch, copy_tree)
  if copy_tree is not None:
    shutil.copytree(copy_tree, work, symlinks=True)
  else:
    work.mkdir()
  for rel, content in (files or {}).items():
    target = work / rel
    if not target.resolve().is_relative_to(work.resolve()):
      raise ValueError(f"sandbox file {rel!r} escapes the scratch directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
      target.write_bytes(content)
    else:
      target.write_text(content)
  for name in ("home", "tmp", "root"):
    (scratch / name).mkdir()
  return scratch


def _decode(data: bytes) -> str:
  return data.decode("utf-8", errors="replace")


def _run_once(argv: Sequence[str], *, mode: str, limits: Limits, stdin: str | bytes | None,
              env: Mapping[str, str] | None, files, copy_tree, cwd, read_paths, keep_scratch,
              setup: Setup | None = None) -> RunResult:
  uid = _next_uid() if os.getuid() == 0 else None
  start = time.monotonic()
  scratch = _make_scratch(files, copy_tree)
  work = _work_dir(scratch, copy_tree)
  if setup is not None:
    try:
      argv, setup_env = setup(work)
    except Exception as error:  # The harness's own preparation failed: not the program's fault.
      shutil.rmtree(scratch, ignore_errors=True)
      return RunResult(Outcome.SANDBOX_ERROR, None, None, "", "", time.monotonic() - start, 0.0, 0, mode,
                       f"setup failed: {type(error).__name__}: {error}")
    env = {**(env or {}), **setup_env}
  if uid is not None:
    for path, mode_bits in ((work, 0o700), (scratch / "home", 0o700), (scratch / "tmp", 0o1777)):
      _chown_tree(path, uid)
      os.chmod(path, mode_bits)
  run_cwd = work / cwd if cwd else work
  full_env = {"PATH": f"{pathlib.Path(sys.executable).parent}:{DEFAULT_PATH}", "HOME": str(scratch / "home"),
              "TMPDIR": "/tmp" if mode == "namespaces" else str(scratch / "tmp"), "LANG": "C.UTF-8",
              "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8"}
  full_env.update(env or {})
  status_read, status_write = os.pipe()
  spec = {"mode": mode, "argv": list(argv), "cwd": str(run_cwd), "env": full_env, "uid": uid,
          "limits": limits.rlimits(), "status_fd": status_write, "root_dir": str(scratch / "root"),
          "tmp_dir": str(scratch / "tmp"),
          "read_paths": [str(p) for p in [*default_read_paths(), *map(pathlib.Path, read_paths)]],
          "write_paths": [str(work), str(scratch / "home")]}
  stdin_bytes = stdin.encode() if isinstance(stdin, str) else stdin
  stdout, stderr, status_lines = bytearray(), bytearray(), bytearray()
  outcome, detail = None, ""
  proc = None
  try:
    try:
      proc = subprocess.Popen(
          [sys.executable, "-I", "-S", str(JAIL), json.dumps(spec)], stdin=subprocess.PIPE,
          stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(status_write,), start_new_session=True)
    finally:
      os.close(status_write)
    if stdin_bytes:
      threading.Thread(target=_feed, args=(proc.stdin, stdin_bytes), daemon=True).start()
    else:
      proc.stdin.close()
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ, stdout)
    selector.register(proc.stderr, selectors.EVENT_READ, stderr)
    status_file = os.fdopen(status_read, "rb", buffering=0)
    selector.register(status_file, selectors.EVENT_READ, status_lines)
    deadline = start + limits.wall_s
    while selector.get_map():
      remaining = deadline - time.monotonic()
      if remaining <= 0:
        outcome, detail = Outcome.TIMEOUT, f"wall time limit {limits.wall_s:g}s"
        break
      for key, _ in selector.select(timeout=min(remaining, 0.5)):
        chunk = os.read(key.fd, 65536)
        if not chunk:
          selector.unregister(key.fileobj)
          continue
        key.data.extend(chunk)
      if len(stdout) + len(stderr) > limits.output_bytes:
        outcome, detail = Outcome.OUTPUT_LIMIT, f"output over {limits.output_bytes} bytes"
        break
    selector.close()
    status_file.close()
  finally:
    if proc is not None:
      _terminate(proc, uid)
  wall = time.monotonic() - start
  if not keep_scratch:
    shutil.rmtree(scratch, ignore_errors=True)
  messages = [json.loads(line) for line in status_lines.decode().splitlines() if line.strip()]
  final = next((m for m in messages if "exit_code" in m or "signal" in m), {})
  error = next((m["error"] for m in messages if "error" in m), None)
  cpu = float(final.get("cpu_s", 0.0))
  exit_code, sig = final.get("exit_code"), final.get("signal")
  limit_cpu = limits.rlimits()["cpu_s"]
  if outcome is None:
    if error is not None:
      outcome, detail = Outcome.SANDBOX_ERROR, error
    elif not final:
      outcome, detail = Outcome.SANDBOX_ERROR, (f"launcher ended with code {proc.returncode} without a status; "
                                                f"stderr: {_decode(bytes(stderr[-500:]))}")
    elif sig == signal.SIGXCPU or (sig == signal.SIGKILL and limit_cpu and cpu >= limit_cpu - 0.05):
      outcome, detail = Outcome.TIMEOUT, f"CPU time limit {limit_cpu:g}s"
    elif sig == signal.SIGXFSZ:
      outcome, detail = Outcome.OUTPUT_LIMIT, f"file size limit {limits.file_size_bytes} bytes"
    elif exit_code == 0:
      outcome = Outcome.PASSED
    elif is_memory_error(_decode(bytes(stderr[:4096] + b"\n" + stderr[-4096:])), _decode(bytes(stdout[-2048:]))) or (
        limits.memory_bytes and final.get("max_rss_kb", 0) * 1024 >= 0.9 * limits.memory_bytes):
      outcome, detail = Outcome.MEMORY_LIMIT, f"memory limit {limits.memory_bytes} bytes"
    else:
      outcome = Outcome.RUNTIME_ERROR
      detail = f"killed by signal {sig}" if sig is not None else f"exit code {exit_code}"
  return RunResult(outcome=outcome, exit_code=exit_code, signal=sig,
                   stdout=_decode(bytes(stdout[:limits.output_bytes])),
                   stderr=_decode(bytes(stderr[:limits.output_bytes])), wall_s=wall, cpu_s=cpu,
                   max_rss_kb=int(final.get("max_rss_kb", 0)), mechanism=mode, detail=detail)


def _feed(pipe, data: bytes) -> None:
  try:
    pipe.write(data)
    pipe.close()
  except (BrokenPipeError, OSError, ValueError):
    pass


def _terminate(proc: subprocess.Popen, uid: int | None) -> None:
  """Kills the launcher's process group and every process of the run's uid, then reaps the launcher."""
  for _ in range(3):
    try:
      os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
      pass
    if uid is not None:
      _kill_uid(uid)
    try:
      proc.wait(timeout=5)
      break
    except subprocess.TimeoutExpired:
      continue
  for pipe in (proc.stdin, proc.stdout, proc.stderr):
    try:
      pipe.close()
    except OSError:
      pass
  if uid is not None:  # A process that forked during the first sweep.
    _kill_uid(uid)


def run(argv: Sequence[str], *, limits: Limits = Limits(), stdin: str | bytes | None = None,
        env: Mapping[str, str] | None = None, files: Mapping[str, str | bytes] | None = None,
        copy_tree: pathlib.Path | None = None, cwd: str | None = None,
        read_paths: Sequence[pathlib.Path] = (), keep_scratch: bool = False) -> RunResult:
  """Runs `argv` in a fresh sandbox.

  Args:
    argv: the command; argv[0] is looked up on the sandbox PATH (the Python interpreter's dir, then system).
    limits: resource limits.
    stdin: text or bytes fed to the command's stdin (closed at once when None).
    env: variables added to the sandbox's minimal environment (PATH, HOME, TMPDIR, LANG, ...).
    files: relative path -> content, written into the scratch working directory first.
    copy_tree: a directory copied as the scratch working directory (the original is never written).
    cwd: working directory relative to the scratch working directory.
    read_paths: extra host paths the command may read (toolchain caches); never writable.
    keep_scratch: leave the scratch directory on disk (for debugging).
  """
  return _run_once(argv, mode=isolation().mode, limits=limits, stdin=stdin, env=env, files=files,
                   copy_tree=copy_tree, cwd=cwd, read_paths=read_paths, keep_scratch=keep_scratch)


def run_prepared(setup: Setup, *, limits: Limits = Limits(), stdin: str | bytes | None = None,
                 env: Mapping[str, str] | None = None, copy_tree: pathlib.Path | None = None,
                 read_paths: Sequence[pathlib.Path] = (), keep_scratch: bool = False) -> RunResult:
  """Like `run`, but `setup(work_dir)` (trusted harness code) prepares the scratch working directory and
  returns (argv, env) for it: commands that embed their directory's absolute path (which the sandbox keeps:
  the scratch directory has the same path inside) are built for the directory they will run in. An
  exception in `setup` gives `sandbox_error`."""
  return _run_once([], mode=isolation().mode, limits=limits, stdin=stdin, env=env, files=None,
                   copy_tree=copy_tree, cwd=None, read_paths=read_paths, keep_scratch=keep_scratch, setup=setup)


def run_python(source: str, stdin: str | bytes | None = None, limits: Limits = Limits(),
               args: Sequence[str] = (), files: Mapping[str, str | bytes] | None = None) -> RunResult:
  """Runs Python `source` (written to `main.py` in the scratch dir) with this interpreter, isolated mode."""
  all_files = {"main.py": source, **(files or {})}
  return run([sys.executable, "-I", "main.py", *args], limits=limits, stdin=stdin, files=all_files)
