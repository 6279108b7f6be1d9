"""Sandbox launcher: isolates one untrusted command, then runs it as an unprivileged user.

Run as a separate process by `runner.py` (`python -I -S jail.py SPEC_FD`): the spec (a JSON object with host
paths, the environment and the limits) is read from an inherited file descriptor, so it never appears in any
command line (`/proc/1/cmdline` inside the jail shows only the fd number). The launcher imports only the
standard library (plus, when the spec names it, the pyseccomp module file) so that it starts fast and does not
depend on the project being importable. Status messages (one JSON object per line) go to the file descriptor
named in the spec: `{"ready": ...}` once the jail is built, `{"exit_code": ...}` or `{"signal": ...}` when the
command ends, or `{"error": ...}` if the jail could not be built (the runner reports that as `sandbox_error`).

Lifetime: the launcher asks for SIGKILL when its parent (the runner) dies (`PR_SET_PDEATHSIG`) and checks that
the runner is still its parent; PID 1 of the namespace does the same towards the launcher, so SIGKILL of the
runner takes the whole jail down. The supervisor also enforces the wall limit itself (plus a grace period), as
a backstop for a runner that stopped watching. Whole-run limits: the launcher joins the run's cgroups (memory,
pids) named in the spec before it forks, so every process of the run is accounted together.

Isolation levels (the spec's `mode`):
  * `namespaces`: new mount, PID, network, IPC and UTS namespaces (needs CAP_SYS_ADMIN, e.g. root in a
    container). A fresh root is assembled on a tmpfs: system directories and the paths listed in
    `read_paths` are bind-mounted read-only, the scratch directory read-write, `/proc` is the new PID
    namespace's, `/dev` holds only null/zero/full/random/urandom, and nothing else of the host (home
    directories, the project, other runs) exists. The network namespace has only a down loopback device.
    The launcher becomes PID 1 of the namespace; when the command exits, PID 1 exits and the kernel kills
    every process left in the namespace (background processes included).
  * `rlimits`: no namespaces are available: a new session, resource limits and (as root) a private uid only.
    No network or filesystem isolation; the runner reports this loudly.
In both modes the command runs with a private uid (when started as root), `no_new_privs`, a seccomp filter
(when pyseccomp/libseccomp is available: no new namespaces, mount, bpf, keyctl, ptrace, ...), and the limits
RLIMIT_DATA (memory), RLIMIT_CPU, RLIMIT_NPROC (per uid, hence per run), RLIMIT_NOFILE, RLIMIT_FSIZE and RLIMIT_CORE=0.
With `disk_bytes` in namespaces mode, the run's writable places (work dir, $HOME, /tmp) are copied onto one
tmpfs of that size, mounted over the host paths inside the jail's mount namespace: the host disk is never
written, and the total is bounded.
"""

import ctypes
import ctypes.util
import errno
import fcntl
import importlib.util
import json
import os
import platform
import resource
import shutil
import signal
import socket
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWTIME = 0x00000080
# Namespace flags the sandboxed program may not use (unshare/clone); clone's low byte is its exit signal, so
# CLONE_NEWTIME (only valid for unshare and clone3) is checked for unshare only.
NAMESPACE_FLAGS = (CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUSER, CLONE_NEWCGROUP)
# Syscalls refused with EPERM: filesystem mounts, namespace entry, kernel keyrings, eBPF, tracing other
# processes, reading or writing their memory, kernel modules and reboot. clone3 passes its flags in memory that
# a seccomp filter cannot read: it gets ENOSYS, which makes the C libraries fall back to clone (checked above).
DENIED_SYSCALLS = (
  "mount",
  "umount2",
  "pivot_root",
  "move_mount",
  "open_tree",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "mount_setattr",
  "setns",
  "bpf",
  "keyctl",
  "add_key",
  "request_key",
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "perf_event_open",
  "kexec_load",
  "kexec_file_load",
  "init_module",
  "finit_module",
  "delete_module",
  "reboot",
  "swapon",
  "swapoff",
  "acct",
  "userfaultfd",
  "open_by_handle_at",
  "name_to_handle_at",
  "quotactl",
)
WALL_GRACE_S = 2.0

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

SIOCSIFFLAGS = 0x8914
IFF_UP, IFF_LOOPBACK, IFF_RUNNING = 0x1, 0x8, 0x40

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

# pivot_root has no libc wrapper; syscall numbers from the kernel's syscall tables.
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41}

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt")
DEVICES = ("null", "zero", "full", "random", "urandom")

_libc = ctypes.CDLL(None, use_errno=True)


class JailError(RuntimeError):
  pass


def _check(result: int, what: str) -> None:
  if result != 0:
    err = ctypes.get_errno()
    raise JailError(f"{what}: {os.strerror(err)} (errno {err})")


def _mount(source, target, fstype, flags, data=None) -> None:
  enc = lambda s: None if s is None else s.encode()
  _check(
    _libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {source} -> {target}"
  )


def _bind(source: str, target: str, writable: bool) -> None:
  """Bind-mounts `source` at `target` (creating the mount point), read-only unless `writable`."""
  if os.path.isdir(source):
    os.makedirs(target, exist_ok=True)
  else:
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if not os.path.exists(target):
      open(target, "w").close()
  _mount(source, target, None, MS_BIND)
  flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV
  if not writable:
    flags |= MS_RDONLY
  _mount(None, target, None, flags)


def _copy_owned(source: str, target: str) -> None:
  """Copies a staged tree (files, dirs, symlinks) keeping modes and owners."""
  shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
  for root, dirs, files in os.walk(source):
    rel = os.path.relpath(root, source)
    for name in [".", *dirs, *files]:
      info = os.lstat(os.path.join(root, name))
      os.lchown(os.path.normpath(os.path.join(target, rel, name)), info.st_uid, info.st_gid)


def _writable_on_tmpfs(spec: dict) -> None:
  """Moves the run's writable places onto one tmpfs of `disk_bytes` (in this mount namespace only): each
  staged host directory is copied onto it and the copy bind-mounted over the host path, so the rest of the
  jail (and the program) sees the same paths while nothing reaches the host disk."""
  disk = spec["disk_dir"]
  _mount("tmpfs", disk, "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(spec['disk_bytes'])},mode=711")
  for index, path in enumerate([spec["tmp_dir"], *spec["write_paths"]]):
    copy = f"{disk}/{index}"
    try:
      _copy_owned(path, copy)
    except OSError as error:
      if error.errno == errno.ENOSPC or "No space left" in str(error):
        raise JailError(f"the staged files do not fit in the disk limit of {spec['disk_bytes']} bytes") from None
      raise
    _mount(copy, path, None, MS_BIND)


def _build_root(spec: dict) -> None:
  """Assembles the new root filesystem under spec['root_dir'] and pivots into it."""
  root = spec["root_dir"]
  _mount(None, "/", None, MS_REC | MS_PRIVATE)
  if spec.get("disk_bytes"):
    _writable_on_tmpfs(spec)
  _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
  for path in SYSTEM_DIRS:
    if os.path.islink(path):
      os.symlink(os.readlink(path), root + path)
    elif os.path.isdir(path):
      _bind(path, root + path, writable=False)
  # /tmp first: the scratch directory itself usually lives under the host's /tmp.
  os.makedirs(root + "/tmp", exist_ok=True)
  _mount(spec["tmp_dir"], root + "/tmp", None, MS_BIND)
  # Extra read-only paths, parents first, then the writable ones (scratch dir, its tmp).
  for path in sorted(set(spec["read_paths"]), key=len):
    if any(path == d or path.startswith(d + "/") for d in SYSTEM_DIRS if not os.path.islink(d)):
      continue  # Already visible (read-only) through the system directory.
    if os.path.exists(path) and not os.path.islink(path):
      _bind(path, root + path, writable=False)
  for path in sorted(set(spec["write_paths"]), key=len):
    _bind(path, root + path, writable=True)
  # /proc of the new PID namespace.
  os.makedirs(root + "/proc", exist_ok=True)
  _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
  # Minimal /dev.
  dev = root + "/dev"
  os.makedirs(dev, exist_ok=True)
  _mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=755")
  for name in DEVICES:
    if os.path.exists("/dev/" + name):
      open(f"{dev}/{name}", "w").close()
      _mount("/dev/" + name, f"{dev}/{name}", None, MS_BIND)
  os.makedirs(dev + "/shm")
  _mount("tmpfs", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
  for name, target in (
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
  ):
    os.symlink(target, f"{dev}/{name}")
  _mount(None, dev, None, MS_REMOUNT | MS_NOSUID | MS_NOEXEC | MS_RDONLY)
  # pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only the new root.
  os.chdir(root)
  number = SYS_PIVOT_ROOT.get(platform.machine())
  if number is None:
    raise JailError(f"pivot_root: unknown syscall number for machine {platform.machine()!r}")
  _check(_libc.syscall(number, b".", b"."), "pivot_root")
  _check(_libc.umount2(b".", MNT_DETACH), "umount old root")
  os.chdir("/")
  _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _loopback_up() -> None:
  """Brings up `lo` in the new network namespace: programs may talk to themselves (compiler daemons, test
  runners' workers); the host's loopback, in another namespace, stays unreachable."""
  with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", IFF_UP | IFF_LOOPBACK | IFF_RUNNING))


def _apply_limits(limits: dict) -> None:
  def set_limit(kind, soft, hard=None):
    hard = soft if hard is None else hard
    current_soft, current_hard = resource.getrlimit(kind)
    if current_hard != resource.RLIM_INFINITY:
      soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(kind, (soft, hard))

  if limits.get("memory_bytes"):
    set_limit(resource.RLIMIT_DATA, limits["memory_bytes"])
  if limits.get("cpu_s"):
    cpu = int(limits["cpu_s"] + 0.999)
    set_limit(resource.RLIMIT_CPU, cpu, cpu + 1)
  if limits.get("processes"):
    set_limit(resource.RLIMIT_NPROC, limits["processes"])
  if limits.get("open_files"):
    set_limit(resource.RLIMIT_NOFILE, limits["open_files"])
  if limits.get("file_size_bytes"):
    set_limit(resource.RLIMIT_FSIZE, limits["file_size_bytes"])
  set_limit(resource.RLIMIT_CORE, 0)


def _seccomp_filter(spec: dict):
  """Builds (in the launcher, before any namespace is made) the filter the command will run under, with
  libseccomp through the pyseccomp module named in the spec; None when the spec names none."""
  path = spec.get("seccomp_module")
  if not path:
    return None
  module_spec = importlib.util.spec_from_file_location("pyseccomp", path)
  seccomp = importlib.util.module_from_spec(module_spec)
  # pyseccomp looks its libraries up with ctypes.util.find_library, which runs ldconfig (~40 ms); the runner
  # resolved them once and passes the names.
  libraries = spec.get("seccomp_libraries") or {}
  find_library = ctypes.util.find_library
  ctypes.util.find_library = lambda name: libraries.get(name) or find_library(name)
  try:
    module_spec.loader.exec_module(seccomp)
  finally:
    ctypes.util.find_library = find_library
  refuse = seccomp.ERRNO(errno.EPERM)
  filt = seccomp.SyscallFilter(seccomp.ALLOW)
  for name in DENIED_SYSCALLS:
    try:
      filt.add_rule(refuse, name)
    except (OSError, ValueError, RuntimeError):
      pass  # Not a syscall on this architecture (or unknown to this libseccomp).
  for flag in NAMESPACE_FLAGS:
    filt.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
  for flag in (*NAMESPACE_FLAGS, CLONE_NEWTIME):
    filt.add_rule(refuse, "unshare", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
  try:
    filt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
  except (OSError, ValueError, RuntimeError):
    pass
  return filt


def _exec_command(spec: dict, status_fd: int, seccomp_filter) -> None:
  """In the forked child: drop privileges, apply limits and the seccomp filter, exec. Never returns."""
  try:
    os.set_inheritable(status_fd, False)  # Closed by a successful exec; kept to report a failed one.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, 0)
    # The OOM killer prefers the program over the jail's own processes; set while still root, the value is
    # also the floor the program can lower it to.
    try:
      with open("/proc/self/oom_score_adj", "w") as adj:
        adj.write("500")
    except OSError:
      pass  # Not root and already above 500: the program is preferred anyway.
    if os.getuid() == 0 and spec.get("uid") is not None:
      os.setgroups([])
      os.setresgid(spec["uid"], spec["uid"], spec["uid"])
      os.setresuid(spec["uid"], spec["uid"], spec["uid"])
    # Changing uid clears the parent-death signal: set it again, for the rlimits mode (no PID namespace).
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _apply_limits(spec["limits"])
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    os.chdir(spec["cwd"])
    if seccomp_filter is not None:
      seccomp_filter.load()
    os.execvpe(spec["argv"][0], spec["argv"], spec["env"])
  except BaseException as error:  # exec (or privilege drop) failed: a sandbox error, not the program's.
    try:
      _send(status_fd, {"error": f"cannot run {spec['argv'][0]!r}: {type(error).__name__}: {error}"})
      os.write(2, f"sandbox: cannot run {spec['argv'][0]!r}: {error}\n".encode())
    finally:
      os._exit(127)


def _send(status_fd: int, message: dict) -> None:
  try:
    os.write(status_fd, (json.dumps(message) + "\n").encode())
  except OSError:
    pass


_command_pid = [None]  # The command's pid once forked (for the SIGTERM handler of the rlimits mode).


def _kill_run(spec: dict, child: int | None) -> None:
  """Kills every process of the run (called by the wall-limit backstop)."""
  if os.getpid() == 1:
    try:
      os.kill(-1, signal.SIGKILL)  # As PID 1 of the namespace: everything in it but this process.
    except OSError:
      pass
    return
  # rlimits mode: the command, every other process of the run's cgroups, every process of its private uid.
  pids = {child} if child else set()
  for group in spec.get("cgroups", ()):
    try:
      pids.update(int(p) for p in open(os.path.join(group, "cgroup.procs")).read().split())
    except OSError:
      continue
  if spec.get("uid") is not None:
    for entry in os.listdir("/proc"):
      try:
        if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == spec["uid"]:
          pids.add(int(entry))
      except OSError:
        pass
  pids.discard(os.getpid())
  for pid in pids:
    try:
      os.kill(pid, signal.SIGKILL)
    except OSError:
      pass


def _disk_report(spec: dict, writable: list[str], failed: bool) -> dict:
  """After the command: how full the run's tmpfs is, and (on failure) a file that reached RLIMIT_FSIZE (the
  kernel stops a write exactly there; Python and others ignore SIGXFSZ and fail with EFBIG instead)."""
  report = {}
  if spec.get("disk_bytes") and writable:
    try:
      stat = os.statvfs(writable[0])
      report["disk_used"] = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
      report["disk_free"] = stat.f_bavail * stat.f_frsize
    except OSError:
      pass
  limit = spec["limits"].get("file_size_bytes")
  if failed and limit:
    seen = 0
    for place in writable:
      for root, dirs, files in os.walk(place):
        seen += len(dirs)
        for name in files:
          seen += 1
          try:
            if os.lstat(os.path.join(root, name)).st_size >= limit:
              report["file_at_limit"] = os.path.join(root, name)
              return report
          except OSError:
            pass
        if seen > 100_000:  # A tree made to slow this walk down: give up (the outcome is the program's).
          return report
  return report


def _supervise(spec: dict, status_fd: int, seccomp_filter, writable: list[str]) -> int:
  """Runs the command as a child and reaps every process; returns the exit code for this process."""
  pid = os.fork()
  if pid == 0:
    _exec_command(spec, status_fd, seccomp_filter)
  _command_pid[0] = pid
  expired = []

  def on_wall_limit(signum, frame):
    expired.append(True)
    _kill_run(spec, pid)

  signal.signal(signal.SIGALRM, on_wall_limit)
  signal.setitimer(signal.ITIMER_REAL, float(spec["wall_s"]) + WALL_GRACE_S)
  while True:
    try:
      waited, status, usage = os.wait4(-1, 0)
    except ChildProcessError:
      return 0
    except InterruptedError:
      continue
    if waited != pid:
      continue
    signal.setitimer(signal.ITIMER_REAL, 0)
    message = {"cpu_s": usage.ru_utime + usage.ru_stime, "max_rss_kb": usage.ru_maxrss}
    if os.WIFSIGNALED(status):
      message["signal"] = os.WTERMSIG(status)
      code = 128 + os.WTERMSIG(status)
    else:
      message["exit_code"] = os.WEXITSTATUS(status)
      code = os.WEXITSTATUS(status)
    if expired:
      message["wall_limit"] = True
    message.update(_disk_report(spec, writable, failed=code != 0))
    _send(status_fd, message)
    return code


def _join_cgroups(spec: dict) -> None:
  """Moves this process (hence every process it starts) into the run's cgroups."""
  for group in spec.get("cgroups", ()):
    with open(os.path.join(group, "cgroup.procs"), "w") as procs:
      procs.write(str(os.getpid()))


def _read_spec(fd: int) -> dict:
  with os.fdopen(fd, "rb") as source:
    source.seek(0)
    return json.loads(source.read())


def main() -> int:
  spec = _read_spec(int(sys.argv[1]))
  status_fd = spec["status_fd"]
  mode = spec["mode"]
  # Die with the runner; if it already died before the line below took effect, stop here. With namespaces,
  # SIGKILL suffices (the namespace dies with its init, which dies with this process). Without, this process
  # gets SIGTERM and kills the run's processes first: grandchildren of the command have no parent-death signal.
  if mode == "namespaces":
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
  else:
    signal.signal(signal.SIGTERM, lambda signum, frame: (_kill_run(spec, _command_pid[0]), os._exit(137)))
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
  if spec.get("runner_pid") and os.getppid() != spec["runner_pid"]:
    return 125
  seccomp_filter = None
  try:
    _join_cgroups(spec)
    seccomp_filter = _seccomp_filter(spec)
    if mode == "namespaces":
      _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
      child = os.fork()
      if child:
        # Outside the PID namespace: wait for its init (whose death kills the namespace) and mirror its code.
        while True:
          try:
            _, status = os.waitpid(child, 0)
            break
          except InterruptedError:
            continue
        return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
      # PID 1 of the new namespace: dies (and takes the namespace with it) if the launcher is killed. It also
      # shares the launcher's process group, which the runner kills as a whole.
      _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
      _build_root(spec)
      socket.sethostname("sandbox")
      _loopback_up()
      writable = ["/tmp", *spec["write_paths"]]
    elif mode == "rlimits":
      writable = [spec["tmp_dir"], *spec["write_paths"]]
    else:
      raise JailError(f"unknown mode {mode!r}")
  except BaseException as error:
    _send(status_fd, {"error": f"{type(error).__name__}: {error}"})
    if mode == "namespaces" and os.getpid() == 1:
      os._exit(125)
    return 125
  _send(status_fd, {"ready": mode})
  code = _supervise(spec, status_fd, seccomp_filter, writable)
  if os.getpid() == 1:
    os._exit(code)
  return code


if __name__ == "__main__":
  sys.exit(main())
