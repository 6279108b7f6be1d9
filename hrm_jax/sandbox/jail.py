"""Sandbox launcher: isolates one untrusted command, then runs it as an unprivileged user.

Run as a separate process by `runner.py` (`python -I -S jail.py SPEC_JSON`); it imports only the standard
library so that it starts fast and does not depend on the project being importable. Status messages (one JSON
object per line) go to the file descriptor named in the spec: `{"ready": ...}` once the jail is built,
`{"exit_code": ...}` or `{"signal": ...}` when the command ends, or `{"error": ...}` if the jail could not be
built (the runner reports that as `sandbox_error`).

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
In both modes the command runs with a private uid (when started as root), `no_new_privs`, and the limits
RLIMIT_DATA (memory), RLIMIT_CPU, RLIMIT_NPROC (per uid, hence per run), RLIMIT_NOFILE, RLIMIT_FSIZE and RLIMIT_CORE=0.
"""
import ctypes
import fcntl
import json
import os
import platform
import resource
import signal
import socket
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

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
  _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
         f"mount {source} -> {target}")


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


def _build_root(spec: dict) -> None:
  """Assembles the new root filesystem under spec['root_dir'] and pivots into it."""
  root = spec["root_dir"]
  _mount(None, "/", None, MS_REC | MS_PRIVATE)
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
  for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                       ("stderr", "/proc/self/fd/2")):
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


def _exec_command(spec: dict, status_fd: int) -> None:
  """In the forked child: drop privileges, apply limits, exec. Never returns."""
  try:
    os.set_inheritable(status_fd, False)  # Closed by a successful exec; kept to report a failed one.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if os.getuid() == 0 and spec.get("uid") is not None:
      os.setgroups([])
      os.setresgid(spec["uid"], spec["uid"], spec["uid"])
      os.setresuid(spec["uid"], spec["uid"], spec["uid"])
    _apply_limits(spec["limits"])
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    os.chdir(spec["cwd"])
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


def _supervise(spec: dict, status_fd: int) -> int:
  """Runs the command as a child and reaps every process; returns the exit code for this process."""
  pid = os.fork()
  if pid == 0:
    _exec_command(spec, status_fd)
  while True:
    try:
      waited, status, usage = os.wait4(-1, 0)
    except ChildProcessError:
      return 0
    except InterruptedError:
      continue
    if waited != pid:
      continue
    message = {"cpu_s": usage.ru_utime + usage.ru_stime, "max_rss_kb": usage.ru_maxrss}
    if os.WIFSIGNALED(status):
      message["signal"] = os.WTERMSIG(status)
      code = 128 + os.WTERMSIG(status)
    else:
      message["exit_code"] = os.WEXITSTATUS(status)
      code = os.WEXITSTATUS(status)
    _send(status_fd, message)
    return code


def main() -> int:
  spec = json.loads(sys.argv[1])
  status_fd = spec["status_fd"]
  mode = spec["mode"]
  try:
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
    elif mode == "rlimits":
      pass
    else:
      raise JailError(f"unknown mode {mode!r}")
  except BaseException as error:
    _send(status_fd, {"error": f"{type(error).__name__}: {error}"})
    if mode == "namespaces" and os.getpid() == 1:
      os._exit(125)
    return 125
  _send(status_fd, {"ready": mode})
  code = _supervise(spec, status_fd)
  if os.getpid() == 1:
    os._exit(code)
  return code


if __name__ == "__main__":
  sys.exit(main())
