"""Runs untrusted programs: one scratch directory per run, resource limits, no network, private filesystem.

Every run:
  * gets a fresh scratch directory (`run/<name>/` is the working directory, `home/` is $HOME, `tmp/` is /tmp),
    deleted afterwards;
  * runs under the launcher `jail.py`, which (when the machine allows it) puts the command in new mount, PID,
    network, IPC and UTS namespaces with a read-only view of the system directories, no view of home
    directories or the project, and only the scratch directory writable; see `jail.py` for the details;
  * runs as a private uid (when started as root, leased under a lock: see `_lease_uid`) with limits on CPU
    time, memory, processes, open files and file size; the runner enforces wall time and the total size of
    stdout + stderr;
  * has its memory and process count accounted for the whole run (every process, shared mappings included)
    by a cgroup of its own (v1 or v2 memory + pids controllers) where the machine allows it, and its
    writable places (work dir, $HOME, /tmp) on one tmpfs of `Limits.disk_bytes` inside its mount namespace;
  * runs under a seccomp filter (libseccomp through pyseccomp) that refuses new namespaces, mount, bpf,
    keyctl, ptrace and the like;
  * ends with every process it started: the PID namespace dies with its init, the process group is killed,
    every process of the run's cgroup and of its private uid is killed; the jail also dies with the runner
    (parent-death signal) and enforces the wall limit itself. A runner killed with SIGKILL leaves its scratch
    dir, uid lease and cgroup behind: the next runner to start removes them.

`isolation()` probes once which level works here and says so (the CLI prints it at start-up), with a warning
for each whole-run limit that does not hold on this machine.
"""

from __future__ import annotations

import ctypes.util
import dataclasses
import enum
import errno
import fcntl
import importlib.util
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
from collections.abc import Callable, Mapping, Sequence

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
  """Resource limits of one run. `None` disables a limit (except wall time and output, always enforced).

  `memory_bytes` holds for the whole run where a memory cgroup is available (`isolation().memory_accounting`):
  every process, shared and anonymous mappings, and the files in the run's writable places (a tmpfs is
  memory) count together; the OOM killer ends the run as `memory_limit`. Each process also gets RLIMIT_DATA
  (`data_bytes`, by default the same value), which makes allocations fail early and cleanly (MemoryError,
  std::bad_alloc) and is the only memory limit where no cgroup is available. Programs that reserve much
  address space they never touch (e.g. C++ tests with ~1000 threads of 8 MiB stacks) can get a larger
  `data_bytes` while the cgroup still bounds what they use.
  """

  wall_s: float = 10.0
  cpu_s: float | None = None  # None: same as wall_s.
  # RLIMIT_DATA counts private writable memory (heap, anonymous mappings). Unlike RLIMIT_AS it ignores the large
  # PROT_NONE reservations of the JVM, Go and V8, so one limit works for every language.
  memory_bytes: int | None = 2 << 30
  processes: int | None = 64  # RLIMIT_NPROC for the run's private uid and the cgroup's pids.max: threads count.
  open_files: int | None = 256
  file_size_bytes: int | None = 64 << 20
  output_bytes: int = 1 << 20  # stdout + stderr together.
  # Total size of the files the run may keep in its writable places (work dir, $HOME, /tmp), namespaces mode.
  disk_bytes: int | None = 512 << 20
  data_bytes: int | None = None  # RLIMIT_DATA per process; None: same as memory_bytes.

  def rlimits(self) -> dict:
    return {
      "memory_bytes": self.memory_bytes if self.data_bytes is None else self.data_bytes,
      "cpu_s": self.wall_s if self.cpu_s is None else self.cpu_s,
      "processes": self.processes,
      "open_files": self.open_files,
      "file_size_bytes": self.file_size_bytes,
    }


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
  # Peak memory of the whole run (all processes, page cache and tmpfs files included) from its cgroup; 0 where
  # no cgroup accounts it.
  peak_memory_bytes: int = 0

  @property
  def ok(self) -> bool:
    return self.outcome == Outcome.PASSED

  def refine(self, failure: Outcome) -> RunResult:
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
  memory_accounting: str = "none"  # "cgroup v1", "cgroup v2" or "none" (per-process RLIMIT_DATA only).
  disk: str = "none"  # "tmpfs" (Limits.disk_bytes holds) or "none" (per-file RLIMIT_FSIZE only).
  seccomp: str = "none"  # "libseccomp" or "none".


_MEMORY_PATTERNS = re.compile(
  r"MemoryError|std::bad_alloc|OutOfMemoryError|out of memory|memory allocation of \d+ bytes failed|"
  r"Cannot allocate memory|cannot allocate memory|heap out of memory|failed to allocate",
  re.IGNORECASE,
)

_run_counter = itertools.count()
_isolation: Isolation | None = None
_isolation_lock = threading.Lock()
_stale_swept = False

# Private uids: [UID_BASE, UID_BASE + UID_COUNT), leased one per live run (see `_lease_uid`).
UID_BASE = 200_000
UID_COUNT = 10_000
# Machine-wide state (uid leases and their lock); machine-wide because uids are. /run where it is writable
# (root), else the system temporary directory (never HRM_JAX_SANDBOX_TMP, which differs between runners).
STATE_DIR = pathlib.Path(
  os.environ.get("HRM_JAX_SANDBOX_STATE")
  or (
    "/run/hrm_jax_sandbox"
    if os.access("/run", os.W_OK)
    else os.path.join(tempfile.gettempdir(), "hrm_jax_sandbox_state")
  )
)
CGROUP_MOUNT = pathlib.Path(os.environ.get("HRM_JAX_CGROUP_MOUNT", "/sys/fs/cgroup"))
CGROUP_GROUP = "hrm_jax_sandbox"
# The launcher and the namespace's init are in the run's cgroup too: pids.max leaves room for them.
JAIL_PROCESSES = 4


def is_memory_error(stderr: str, stdout: str = "") -> bool:
  """Whether a failed program's output shows an allocation failure (Python, C++, Java, Go, Rust, V8)."""
  # Head and tail: Go prints "fatal error: runtime: out of memory" before a long goroutine dump.
  return any(_MEMORY_PATTERNS.search(text) for text in (stderr[:4096], stderr[-4096:], stdout[-2048:]))


_FILE_LIMIT_PATTERNS = re.compile(r"File too large|\[Errno 27\]|EFBIG|No space left on device|\[Errno 28\]|ENOSPC")


# ---- processes: owners, uids ----


def _start_time(pid: int) -> str | None:
  """The kernel's start time of `pid` (field 22 of /proc/PID/stat), which tells a pid from a reused one."""
  try:
    stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
  except OSError:
    return None
  return stat[stat.rindex(")") + 2 :].split()[19]


def _owner() -> str:
  return f"{os.getpid()} {_start_time(os.getpid())}"


def _owner_alive(owner: str) -> bool:
  try:
    pid, start = owner.split()
    return _start_time(int(pid)) == start
  except ValueError:
    return False


def _uids_of_live_processes() -> set[int]:
  uids = set()
  for entry in pathlib.Path("/proc").iterdir():
    if entry.name.isdigit():
      try:
        status = (entry / "status").read_text()
      except OSError:
        continue
      match = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status, re.MULTILINE)
      if match and not re.search(r"^State:\s+Z", status, re.MULTILINE):
        uids.update(int(u) for u in match.groups())
  return uids


class _StateLock:
  """An exclusive lock on STATE_DIR/lock (fcntl.flock: between processes and between threads alike)."""

  def __enter__(self):
    STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    (STATE_DIR / "uids").mkdir(mode=0o700, exist_ok=True)
    self._file = open(STATE_DIR / "lock", "a")
    fcntl.flock(self._file, fcntl.LOCK_EX)
    return self

  def __exit__(self, *exc):
    fcntl.flock(self._file, fcntl.LOCK_UN)
    self._file.close()


def _read_lease(path: pathlib.Path) -> dict:
  try:
    return json.loads(path.read_text())
  except (OSError, ValueError):
    return {}


def _lease_uid(scratch: pathlib.Path) -> int:
  """Leases a private uid for one run: under a machine-wide lock, the lowest uid of the range that no live run
  holds and that no live process uses (as real, effective, saved or filesystem uid). Leases of dead runners
  are reclaimed (their leftovers killed first, see `_reclaim`)."""
  with _StateLock():
    held = set()
    for path in (STATE_DIR / "uids").iterdir():
      lease = _read_lease(path)
      if lease and _owner_alive(lease.get("owner", "")):
        held.add(int(path.name))
      elif time.time() - path.stat().st_mtime > 5 or lease:  # A half-written lease is given 5 s.
        _reclaim(int(path.name), lease)
        path.unlink(missing_ok=True)
      else:
        held.add(int(path.name))
    busy = _uids_of_live_processes()
    for uid in range(UID_BASE, UID_BASE + UID_COUNT):
      if uid not in held and uid not in busy:
        path = STATE_DIR / "uids" / str(uid)
        path.write_text(json.dumps({"owner": _owner(), "scratch": str(scratch)}))
        return uid
  raise RuntimeError(f"sandbox: all {UID_COUNT} private uids are in use")


def _release_uid(uid: int) -> None:
  """Ends the lease, unless a process of the uid survived (then the lease outlives this runner and the next
  runner reclaims it)."""
  deadline = time.monotonic() + 2
  while _kill_uid(uid) and time.monotonic() < deadline:  # SIGKILLed processes take a moment to go.
    time.sleep(0.01)
  if _kill_uid(uid) == 0:
    with _StateLock():
      (STATE_DIR / "uids" / str(uid)).unlink(missing_ok=True)
  else:
    _LOG.warning("sandbox: processes of uid %d survived SIGKILL; its lease is kept", uid)


def _reclaim(uid: int, lease: dict) -> None:
  """Removes what a dead runner's run left: its processes (uid and cgroup), cgroups and scratch dir."""
  _kill_uid(uid)
  if _cgroups is not None:
    _cgroups.remove(_cgroups.run_dirs(f"uid-{uid}"))
  scratch = lease.get("scratch")
  if scratch and pathlib.Path(scratch).name.startswith("hrm_jax_sbx_"):
    shutil.rmtree(scratch, ignore_errors=True)


def _sweep_stale(base: pathlib.Path) -> None:
  """Once per process: removes scratch dirs (under `base`) of runners that died, and (as root) leases and
  cgroups of dead runs."""
  global _stale_swept
  if _stale_swept:
    return
  _stale_swept = True
  for scratch in base.glob("hrm_jax_sbx_*"):
    try:
      owner = (scratch / "owner").read_text()
    except OSError:
      continue  # Not ours to judge (being created, or made by an older runner).
    if not _owner_alive(owner):
      shutil.rmtree(scratch, ignore_errors=True)
  if os.getuid() == 0:
    with _StateLock():
      leases = {}
      for path in (STATE_DIR / "uids").iterdir():
        lease = _read_lease(path)
        if lease and not _owner_alive(lease.get("owner", "")):
          _reclaim(int(path.name), lease)
          path.unlink(missing_ok=True)
        else:
          leases[path.name] = lease
      if _cgroups is not None:
        for name in _cgroups.run_names():
          if name.startswith("uid-") and name[4:] not in leases:
            _cgroups.remove(_cgroups.run_dirs(name))


# ---- cgroups: memory and processes of the whole run ----


class _Cgroups:
  """The run cgroups' parent (`hrm_jax_sandbox`) under each controller of v1, or under the v2 hierarchy."""

  def __init__(self, version: int, parents: dict[str, pathlib.Path]):
    self.version = version
    self.parents = parents  # controller ("memory", "pids"; v2: "unified") -> parent dir.

  @property
  def name(self) -> str:
    return f"cgroup v{self.version}"

  def describe(self) -> str:
    return f"{self.name} memory+pids under {', '.join(str(p) for p in self.parents.values())}"

  def run_dirs(self, name: str) -> list[pathlib.Path]:
    return [parent / name for parent in self.parents.values()]

  def run_names(self) -> set[str]:
    names = set()
    for parent in self.parents.values():
      names.update(p.name for p in parent.iterdir() if p.is_dir())
    return names

  def create(self, name: str, limits: Limits) -> list[pathlib.Path]:
    """Makes the run's cgroup(s) with its memory and pids limits; returns the dirs the jail joins."""
    dirs = self.run_dirs(name)
    self.remove(dirs)  # Left by a dead runner that held the same uid.
    try:
      self._make(dirs, name, limits)
    except OSError:
      self.remove(dirs)
      raise
    return dirs

  def _make(self, dirs: list[pathlib.Path], name: str, limits: Limits) -> None:
    for path in dirs:
      path.mkdir()
    pids_max = "max" if limits.processes is None else str(limits.processes + JAIL_PROCESSES)
    if self.version == 1:
      memory, pids = self.parents["memory"] / name, self.parents["pids"] / name
      if limits.memory_bytes:
        (memory / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
        if (memory / "memory.memsw.limit_in_bytes").exists():  # Swap may not hold what memory may not.
          (memory / "memory.memsw.limit_in_bytes").write_text(str(limits.memory_bytes))
      (pids / "pids.max").write_text(pids_max)
    else:
      group = dirs[0]
      if limits.memory_bytes:
        (group / "memory.max").write_text(str(limits.memory_bytes))
        if (group / "memory.swap.max").exists():
          (group / "memory.swap.max").write_text("0")
      (group / "pids.max").write_text(pids_max)

  def oom_kills(self, dirs: list[pathlib.Path]) -> int:
    """How many processes the OOM killer ended in the run's memory cgroup."""
    path = dirs[0] / ("memory.oom_control" if self.version == 1 else "memory.events")
    try:
      match = re.search(r"^oom_kill (\d+)", path.read_text(), re.MULTILINE)
    except OSError:
      return 0
    return int(match.group(1)) if match else 0

  def peak_bytes(self, dirs: list[pathlib.Path]) -> int:
    path = dirs[0] / ("memory.max_usage_in_bytes" if self.version == 1 else "memory.peak")
    try:
      return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
      return 0

  @staticmethod
  def kill(dirs: list[pathlib.Path]) -> int:
    """SIGKILLs every process in the run's cgroups (all of them the run's); returns how many were found."""
    found = 0
    for path in dirs:
      try:
        pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
      except OSError:
        continue
      for pid in pids:
        found += 1
        try:
          os.kill(pid, signal.SIGKILL)
        except OSError:
          pass
    return found

  def remove(self, dirs: list[pathlib.Path]) -> None:
    """Kills what is left in the run's cgroups and removes them (retrying while killed processes exit)."""
    for path in dirs:
      deadline = time.monotonic() + 5
      while path.exists():
        self.kill([path])
        try:
          path.rmdir()
        except FileNotFoundError:
          break
        except OSError as error:
          if error.errno != errno.EBUSY or time.monotonic() > deadline:
            _LOG.warning("sandbox: cannot remove cgroup %s: %s", path, error)
            break
          time.sleep(0.01)


def _probe_cgroups() -> tuple[_Cgroups | None, str]:
  """Finds memory + pids controllers we can create groups under (v2 first, then v1); (None, why) if none."""
  if os.environ.get("HRM_JAX_SANDBOX_CGROUPS") == "off":
    return None, "disabled by HRM_JAX_SANDBOX_CGROUPS=off"
  reasons = []
  for unified in (CGROUP_MOUNT, CGROUP_MOUNT / "unified"):
    try:
      controllers = (unified / "cgroup.controllers").read_text().split()
    except OSError:
      continue
    if not {"memory", "pids"} <= set(controllers):
      reasons.append(f"{unified}: cgroup v2 without memory+pids controllers")
      continue
    try:
      (unified / "cgroup.subtree_control").write_text("+memory +pids")
      parent = unified / CGROUP_GROUP
      parent.mkdir(exist_ok=True)
      (parent / "cgroup.subtree_control").write_text("+memory +pids")
      cgroups = _Cgroups(2, {"unified": parent})
      cgroups.remove(cgroups.create(f"probe-{os.getpid()}", Limits()))
      return cgroups, ""
    except OSError as error:
      reasons.append(f"{unified}: {error}")
  memory, pids = CGROUP_MOUNT / "memory", CGROUP_MOUNT / "pids"
  if (memory / "memory.limit_in_bytes").exists() and (pids / "cgroup.procs").exists():
    try:
      parents = {"memory": memory / CGROUP_GROUP, "pids": pids / CGROUP_GROUP}
      for parent in parents.values():
        parent.mkdir(exist_ok=True)
      if (parents["memory"] / "memory.use_hierarchy").exists():
        try:
          (parents["memory"] / "memory.use_hierarchy").write_text("1")
        except OSError:
          pass
      cgroups = _Cgroups(1, parents)
      cgroups.remove(cgroups.create(f"probe-{os.getpid()}", Limits()))
      return cgroups, ""
    except OSError as error:
      reasons.append(f"cgroup v1 at {CGROUP_MOUNT}: {error}")
  else:
    reasons.append(f"no cgroup v1 memory+pids controllers at {CGROUP_MOUNT}")
  return None, "; ".join(reasons)


def _seccomp_module() -> str | None:
  """The pyseccomp module file (the jail loads it by path: it runs with -I -S), if it works here."""
  if os.environ.get("HRM_JAX_SANDBOX_SECCOMP") == "off":
    return None
  found = importlib.util.find_spec("pyseccomp")
  if found is None or not found.origin:
    return None
  try:
    import pyseccomp  # noqa: F401  (raises where libseccomp is missing)
  except (ImportError, OSError, RuntimeError):
    return None
  global _seccomp_libraries
  _seccomp_libraries = {name: ctypes.util.find_library(name) for name in ("c", "seccomp")}
  return found.origin


_cgroups: _Cgroups | None = None
_cgroups_reason = ""
_seccomp_path: str | None = None
_seccomp_libraries: dict[str, str | None] = {}


def default_read_paths() -> list[pathlib.Path]:
  """The Python installation the sandboxed programs use (venv and base prefix), read-only."""
  paths = {
    pathlib.Path(sys.prefix),
    pathlib.Path(sys.base_prefix),
    pathlib.Path(sys.exec_prefix),
    pathlib.Path(sys.executable).resolve().parent.parent,
  }
  return sorted(p for p in paths if p.exists())


def _whole_run_limits(mode: str) -> tuple[dict, str]:
  """The Isolation fields for memory, disk and seccomp, and their part of the description."""
  memory = _cgroups.name if _cgroups is not None else "none"
  disk = "tmpfs" if mode == "namespaces" else "none"
  seccomp = "libseccomp" if _seccomp_path else "none"
  parts = [
    f"memory+pids for the whole run by {_cgroups.describe()}"
    if _cgroups is not None
    else f"NO whole-run memory accounting (per-process RLIMIT_DATA only: {_cgroups_reason})",
    "disk: writable places on a tmpfs of Limits.disk_bytes"
    if disk == "tmpfs"
    else "NO disk limit beyond the per-file size",
    "seccomp (libseccomp via pyseccomp): no new namespaces, mount, bpf, keyctl, ptrace"
    if _seccomp_path
    else "NO seccomp filter (pyseccomp/libseccomp unavailable): new namespaces, ptrace etc. are not refused",
  ]
  return {"memory_accounting": memory, "disk": disk, "seccomp": seccomp}, "; ".join(parts)


def _describe(mode: str) -> Isolation:
  fields, limits_text = _whole_run_limits(mode)
  if mode == "namespaces":
    return Isolation(
      mode,
      "namespaces (mount, pid, net, ipc, uts) + pivot_root to a read-only root with only the scratch "
      f"dir writable + private uid + no_new_privs + rlimits; {limits_text}",
      network_isolated=True,
      filesystem_isolated=True,
      private_uid=os.getuid() == 0,
      **fields,
    )
  # As root the command always gets a private uid (root would ignore RLIMIT_NPROC and could kill(-1)); if
  # the interpreter or a toolchain is not reachable by that uid, runs fail as sandbox_error naming the path.
  private_uid = os.getuid() == 0
  reach = all(_world_readable(p) for p in default_read_paths())
  uid_note = (
    ""
    if not private_uid
    else "private uid + "
    if reach
    else ("private uid (which cannot reach the Python installation: runs will fail) + ")
  )
  return Isolation(
    mode,
    f"rlimits only ({uid_note}new session + rlimits): NO network or filesystem isolation on this "
    f"machine (namespaces unavailable); {limits_text}",
    network_isolated=False,
    filesystem_isolated=False,
    private_uid=private_uid,
    **fields,
  )


def isolation() -> Isolation:
  """Probes (once per process) the strongest isolation that works here: namespaces, else rlimits only; and
  which whole-run limits hold (cgroup memory accounting, tmpfs disk limit, seccomp). Logs one line saying
  so, and a warning for each missing piece."""
  global _isolation, _cgroups, _cgroups_reason, _seccomp_path
  with _isolation_lock:
    if _isolation is None:
      if os.getuid() == 0 or os.environ.get("HRM_JAX_CGROUP_MOUNT"):
        _cgroups, _cgroups_reason = _probe_cgroups()
      else:
        _cgroups, _cgroups_reason = None, "not root"
      _seccomp_path = _seccomp_module()
      forced = os.environ.get("HRM_JAX_SANDBOX_MODE")
      if forced:
        _isolation = _describe(forced)
      else:
        probe = _run_once(
          ["/bin/true"],
          mode="namespaces",
          limits=Limits(wall_s=20),
          stdin=None,
          env=None,
          files=None,
          copy_tree=None,
          cwd=None,
          read_paths=(),
          keep_scratch=False,
        )
        if probe.outcome == Outcome.PASSED:
          _isolation = _describe("namespaces")
        else:
          _isolation = _describe("rlimits")
          _LOG.warning("sandbox: namespaces unavailable (%s); falling back to rlimits only", probe.detail)
      if _isolation.memory_accounting == "none":
        _LOG.warning(
          "sandbox: no cgroup for whole-run memory accounting (%s): a program can exceed the "
          "memory limit with shared mappings or several processes",
          _cgroups_reason,
        )
      if _isolation.seccomp == "none":
        _LOG.warning(
          "sandbox: no seccomp filter (install pyseccomp and libseccomp): programs may create namespaces, mount, ptrace"
        )
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
  """SIGKILLs every process whose real uid is the run's private uid; returns how many were found (zombies,
  which hold nothing but their pid until reaped, are not counted)."""
  found = 0
  for entry in pathlib.Path("/proc").iterdir():
    if not entry.name.isdigit():
      continue
    try:
      status = (entry / "status").read_text()
    except OSError:
      continue
    match = re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE)
    if match and int(match.group(1)) == uid and not re.search(r"^State:\s+Z", status, re.MULTILINE):
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
  _sweep_stale(base)
  scratch = pathlib.Path(tempfile.mkdtemp(prefix="hrm_jax_sbx_", dir=base))
  try:
    _fill_scratch(scratch, files, copy_tree)
  except BaseException:
    shutil.rmtree(scratch, ignore_errors=True)
    raise
  return scratch


def _fill_scratch(
  scratch: pathlib.Path, files: Mapping[str, str | bytes] | None, copy_tree: pathlib.Path | None
) -> None:
  os.chmod(scratch, 0o711)
  (scratch / "owner").write_text(_owner())  # Who to ask whether this dir is stale (`_sweep_stale`).
  os.chmod(scratch / "owner", 0o600)
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
  for name in ("home", "tmp", "root", "disk"):
    (scratch / name).mkdir()


def _decode(data: bytes) -> str:
  return data.decode("utf-8", errors="replace")


def _spec_fd(spec: dict) -> int:
  """The jail's spec in an anonymous memory file (never on a command line or on disk); the fd to pass on."""
  fd = os.memfd_create("hrm_jax_sandbox_spec", os.MFD_CLOEXEC)
  os.write(fd, json.dumps(spec).encode())
  os.lseek(fd, 0, os.SEEK_SET)
  return fd


def _run_once(
  argv: Sequence[str],
  *,
  mode: str,
  limits: Limits,
  stdin: str | bytes | None,
  env: Mapping[str, str] | None,
  files,
  copy_tree,
  cwd,
  read_paths,
  keep_scratch,
  setup: Setup | None = None,
) -> RunResult:
  start = time.monotonic()
  scratch = _make_scratch(files, copy_tree)
  work = _work_dir(scratch, copy_tree)
  try:
    return _run_in_scratch(
      argv,
      mode=mode,
      limits=limits,
      stdin=stdin,
      env=env,
      cwd=cwd,
      read_paths=read_paths,
      setup=setup,
      start=start,
      scratch=scratch,
      work=work,
    )
  finally:
    if not keep_scratch:
      shutil.rmtree(scratch, ignore_errors=True)


def _not_started(mode: str, start: float, detail: str) -> RunResult:
  """The `sandbox_error` result of a run that failed before its program started (the harness's fault)."""
  return RunResult(Outcome.SANDBOX_ERROR, None, None, "", "", time.monotonic() - start, 0.0, 0, mode, detail)


def _run_in_scratch(argv, *, mode, limits, stdin, env, cwd, read_paths, setup, start, scratch, work) -> RunResult:
  if setup is not None:
    try:
      argv, setup_env = setup(work)
    except Exception as error:  # The harness's own preparation failed: not the program's fault.
      return _not_started(mode, start, f"setup failed: {type(error).__name__}: {error}")
    env = {**(env or {}), **setup_env}
  try:
    uid = _lease_uid(scratch) if os.getuid() == 0 else None
  except (OSError, RuntimeError) as error:
    return _not_started(mode, start, f"cannot lease a private uid: {error}")
  cgroup_dirs = None
  try:
    if _cgroups is not None:
      name = f"uid-{uid}" if uid is not None else f"run-{os.getpid()}-{next(_run_counter)}"
      try:
        cgroup_dirs = _cgroups.create(name, limits)
      except OSError as error:
        return _not_started(mode, start, f"cannot create the run's cgroup {name}: {error}")
    return _launch(
      argv,
      mode=mode,
      limits=limits,
      stdin=stdin,
      env=env,
      cwd=cwd,
      read_paths=read_paths,
      start=start,
      scratch=scratch,
      work=work,
      uid=uid,
      cgroup_dirs=cgroup_dirs,
    )
  finally:
    if cgroup_dirs is not None:
      _cgroups.remove(cgroup_dirs)
    if uid is not None:
      _release_uid(uid)


def _launch(argv, *, mode, limits, stdin, env, cwd, read_paths, start, scratch, work, uid, cgroup_dirs) -> RunResult:
  if uid is not None:
    for path, mode_bits in ((work, 0o700), (scratch / "home", 0o700), (scratch / "tmp", 0o1777)):
      _chown_tree(path, uid)
      os.chmod(path, mode_bits)
  run_cwd = work / cwd if cwd else work
  full_env = {
    "PATH": f"{pathlib.Path(sys.executable).parent}:{DEFAULT_PATH}",
    "HOME": str(scratch / "home"),
    "TMPDIR": "/tmp" if mode == "namespaces" else str(scratch / "tmp"),
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
  }
  full_env.update(env or {})
  status_read, status_write = os.pipe()
  spec = {
    "mode": mode,
    "argv": list(argv),
    "cwd": str(run_cwd),
    "env": full_env,
    "uid": uid,
    "limits": limits.rlimits(),
    "status_fd": status_write,
    "root_dir": str(scratch / "root"),
    "tmp_dir": str(scratch / "tmp"),
    "disk_dir": str(scratch / "disk"),
    "disk_bytes": limits.disk_bytes if mode == "namespaces" else None,
    "read_paths": [str(p) for p in [*default_read_paths(), *map(pathlib.Path, read_paths)]],
    "write_paths": [str(work), str(scratch / "home")],
    "wall_s": limits.wall_s,
    "runner_pid": os.getpid(),
    "cgroups": [str(d) for d in cgroup_dirs or ()],
    "seccomp_module": _seccomp_path,
    "seccomp_libraries": _seccomp_libraries,
  }
  spec_fd = _spec_fd(spec)
  stdin_bytes = stdin.encode() if isinstance(stdin, str) else stdin
  stdout, stderr, status_lines = bytearray(), bytearray(), bytearray()
  outcome, detail = None, ""
  proc = None
  try:
    try:
      # A clean environment: the runner's own variables (tokens, keys) are none of the jail's business.
      proc = subprocess.Popen(
        [sys.executable, "-I", "-S", str(JAIL), str(spec_fd)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=(status_write, spec_fd),
        start_new_session=True,
        env={"PATH": DEFAULT_PATH, "LANG": "C.UTF-8"},
      )
    finally:
      os.close(status_write)
      os.close(spec_fd)
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
      _terminate(proc, uid, cgroup_dirs)
  wall = time.monotonic() - start
  oom_kills = _cgroups.oom_kills(cgroup_dirs) if cgroup_dirs else 0
  peak_memory = _cgroups.peak_bytes(cgroup_dirs) if cgroup_dirs else 0
  messages = [json.loads(line) for line in status_lines.decode().splitlines() if line.strip()]
  final = next((m for m in messages if "exit_code" in m or "signal" in m), {})
  error = next((m["error"] for m in messages if "error" in m), None)
  cpu = float(final.get("cpu_s", 0.0))
  exit_code, sig = final.get("exit_code"), final.get("signal")
  limit_cpu = limits.rlimits()["cpu_s"]
  failed = exit_code != 0
  disk_full = limits.disk_bytes and "disk_free" in final and final["disk_free"] < max(1 << 20, limits.disk_bytes // 100)
  error_text = _decode(bytes(stderr[:4096] + b"\n" + stderr[-4096:]))
  if outcome is None:
    if oom_kills:
      outcome, detail = (
        Outcome.MEMORY_LIMIT,
        (
          f"memory limit {limits.memory_bytes} bytes for the whole run "
          f"({_cgroups.name}: {oom_kills} process(es) killed)"
        ),
      )
    elif error is not None:
      outcome, detail = Outcome.SANDBOX_ERROR, error
    elif not final:
      outcome, detail = (
        Outcome.SANDBOX_ERROR,
        (f"launcher ended with code {proc.returncode} without a status; stderr: {_decode(bytes(stderr[-500:]))}"),
      )
    elif final.get("wall_limit"):
      outcome, detail = Outcome.TIMEOUT, f"wall time limit {limits.wall_s:g}s (enforced by the jail)"
    elif sig == signal.SIGXCPU or (sig == signal.SIGKILL and limit_cpu and cpu >= limit_cpu - 0.05):
      outcome, detail = Outcome.TIMEOUT, f"CPU time limit {limit_cpu:g}s"
    elif sig == signal.SIGXFSZ or (failed and "file_at_limit" in final):
      outcome, detail = Outcome.OUTPUT_LIMIT, f"file size limit {limits.file_size_bytes} bytes"
    elif failed and disk_full:
      outcome, detail = Outcome.OUTPUT_LIMIT, f"disk limit {limits.disk_bytes} bytes (work dir, $HOME, /tmp)"
    elif exit_code == 0:
      outcome = Outcome.PASSED
    elif is_memory_error(error_text, _decode(bytes(stdout[-2048:]))) or (
      limits.memory_bytes and final.get("max_rss_kb", 0) * 1024 >= 0.9 * limits.memory_bytes
    ):
      outcome, detail = Outcome.MEMORY_LIMIT, f"memory limit {limits.memory_bytes} bytes"
    elif _FILE_LIMIT_PATTERNS.search(error_text) and (limits.file_size_bytes or limits.disk_bytes):
      # No tmpfs report (rlimits mode) or the file was removed: the program's own words name the limit.
      outcome, detail = (
        Outcome.OUTPUT_LIMIT,
        (f"file size or disk limit ({limits.file_size_bytes} / {limits.disk_bytes} bytes)"),
      )
    else:
      outcome = Outcome.RUNTIME_ERROR
      detail = f"killed by signal {sig}" if sig is not None else f"exit code {exit_code}"
  return RunResult(
    outcome=outcome,
    exit_code=exit_code,
    signal=sig,
    stdout=_decode(bytes(stdout[: limits.output_bytes])),
    stderr=_decode(bytes(stderr[: limits.output_bytes])),
    wall_s=wall,
    cpu_s=cpu,
    max_rss_kb=int(final.get("max_rss_kb", 0)),
    mechanism=mode,
    detail=detail,
    peak_memory_bytes=peak_memory,
  )


def _feed(pipe, data: bytes) -> None:
  try:
    pipe.write(data)
    pipe.close()
  except (BrokenPipeError, OSError, ValueError):
    pass


def _terminate(proc: subprocess.Popen, uid: int | None, cgroup_dirs: list[pathlib.Path] | None = None) -> None:
  """Kills the launcher's process group, every process of the run's cgroups and of its uid, then reaps the
  launcher."""
  for _ in range(3):
    try:
      os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
      pass
    if cgroup_dirs:
      _Cgroups.kill(cgroup_dirs)
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


def run(
  argv: Sequence[str],
  *,
  limits: Limits = Limits(),
  stdin: str | bytes | None = None,
  env: Mapping[str, str] | None = None,
  files: Mapping[str, str | bytes] | None = None,
  copy_tree: pathlib.Path | None = None,
  cwd: str | None = None,
  read_paths: Sequence[pathlib.Path] = (),
  keep_scratch: bool = False,
) -> RunResult:
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
    keep_scratch: leave the scratch directory on disk (for debugging). With `limits.disk_bytes` (namespaces
      mode) it holds the staged inputs only: the program wrote to a tmpfs that ends with the run.
  """
  return _run_once(
    argv,
    mode=isolation().mode,
    limits=limits,
    stdin=stdin,
    env=env,
    files=files,
    copy_tree=copy_tree,
    cwd=cwd,
    read_paths=read_paths,
    keep_scratch=keep_scratch,
  )


def run_prepared(
  setup: Setup,
  *,
  limits: Limits = Limits(),
  stdin: str | bytes | None = None,
  env: Mapping[str, str] | None = None,
  copy_tree: pathlib.Path | None = None,
  read_paths: Sequence[pathlib.Path] = (),
  keep_scratch: bool = False,
) -> RunResult:
  """Like `run`, but `setup(work_dir)` (trusted harness code) prepares the scratch working directory and
  returns (argv, env) for it: commands that embed their directory's absolute path (which the sandbox keeps:
  the scratch directory has the same path inside) are built for the directory they will run in. An
  exception in `setup` gives `sandbox_error`."""
  return _run_once(
    [],
    mode=isolation().mode,
    limits=limits,
    stdin=stdin,
    env=env,
    files=None,
    copy_tree=copy_tree,
    cwd=None,
    read_paths=read_paths,
    keep_scratch=keep_scratch,
    setup=setup,
  )


def run_python(
  source: str,
  stdin: str | bytes | None = None,
  limits: Limits = Limits(),
  args: Sequence[str] = (),
  files: Mapping[str, str | bytes] | None = None,
) -> RunResult:
  """Runs Python `source` (written to `main.py` in the scratch dir) with this interpreter, isolated mode."""
  all_files = {"main.py": source, **(files or {})}
  return run([sys.executable, "-I", "main.py", *args], limits=limits, stdin=stdin, files=all_files)
