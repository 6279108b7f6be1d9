"""Security suite, part 2: limits that hold for the whole run, not per process.

Every attack here runs only inside the sandbox (`runner.run*`); the test process itself starts only runner
processes (and kills only those). Figures and the mechanism used on a machine: docs/sandbox.md.
"""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

from hrm_jax.sandbox import runner
from hrm_jax.sandbox.runner import Limits, Outcome

REPO = pathlib.Path(__file__).resolve().parents[2]
ISO = runner.isolation()
needs_cgroup = pytest.mark.skipif(
  ISO.memory_accounting == "none", reason=f"no cgroup memory accounting here: {ISO.description}"
)
needs_namespaces = pytest.mark.skipif(
  not ISO.filesystem_isolated, reason=f"this machine allows only: {ISO.description}"
)
needs_seccomp = pytest.mark.skipif(ISO.seccomp == "none", reason=f"no seccomp binding here: {ISO.description}")
SMALL = 256 << 20


def _processes_with(token: str) -> list[int]:
  pids = []
  for entry in pathlib.Path("/proc").iterdir():
    if entry.name.isdigit() and int(entry.name) != os.getpid():
      try:
        if token in (entry / "cmdline").read_bytes().decode(errors="replace"):
          pids.append(int(entry.name))
      except OSError:
        pass
  return pids


def _token() -> str:
  """A number unlikely to appear in any other command line: `sleep <token>` marks a test's processes."""
  return f"4{os.getpid() % 1000}.{int.from_bytes(os.urandom(3), 'big')}"


# ---- memory: accounted for the whole run ----


@needs_cgroup
def test_shared_anonymous_mmap_from_python_hits_memory_limit():
  source = textwrap.dedent("""
      import mmap
      m = mmap.mmap(-1, 1 << 30, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
      for offset in range(0, len(m), 4096):
        m[offset] = 1
      print("mapped 1 GiB", flush=True)
      """)
  result = runner.run_python(source, limits=Limits(wall_s=20, memory_bytes=SMALL))
  assert result.outcome == Outcome.MEMORY_LIMIT, result
  assert "mapped 1 GiB" not in result.stdout


@needs_cgroup
@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_shared_anonymous_mmap_from_compiled_c_hits_memory_limit():
  source = textwrap.dedent("""
      #include <stdio.h>
      #include <string.h>
      #include <sys/mman.h>
      int main(void) {
        size_t size = (size_t)1 << 30;
        char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) { perror("mmap"); return 3; }
        memset(p, 1, size);
        printf("mapped 1 GiB\\n");
        return 0;
      }
      """)
  result = runner.run(
    ["sh", "-c", "gcc -O1 -o bomb bomb.c && ./bomb"],
    files={"bomb.c": source},
    limits=Limits(wall_s=30, memory_bytes=SMALL),
  )
  assert result.outcome == Outcome.MEMORY_LIMIT, result
  assert "mapped 1 GiB" not in result.stdout


@needs_cgroup
def test_forked_children_together_hit_memory_limit():
  # Each child stays under the per-process limit (200 MiB < 256 MiB); together they hold 800 MiB.
  source = textwrap.dedent("""
      import os, time
      children = []
      for _ in range(4):
        pid = os.fork()
        if pid == 0:
          block = b"x" * (200 << 20)
          time.sleep(2)
          os._exit(0)
        children.append(pid)
      codes = [os.waitpid(pid, 0)[1] for pid in children]
      print("children", codes, flush=True)
      """)
  result = runner.run_python(source, limits=Limits(wall_s=20, memory_bytes=SMALL))
  assert result.outcome == Outcome.MEMORY_LIMIT, result


_THREADS_C = textwrap.dedent("""
    #include <pthread.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    static pthread_barrier_t barrier;
    static void *work(void *arg) { pthread_barrier_wait(&barrier); return arg; }
    int main(int argc, char **argv) {
      static pthread_t threads[1000];
      pthread_barrier_init(&barrier, NULL, 1001);
      for (int i = 0; i < 1000; i++) {
        int err = pthread_create(&threads[i], NULL, work, NULL);
        if (err) { fprintf(stderr, "thread %d: %s\\n", i, strerror(err)); return 3; }
      }
      pthread_barrier_wait(&barrier);
      for (int i = 0; i < 1000; i++) pthread_join(threads[i], NULL);
      printf("1000 threads\\n");
      if (argc > 1) {  /* then 1 GiB really used (volatile: the compiler may not drop it) */
        size_t size = (size_t)1 << 30;
        volatile char *p = malloc(size);
        for (size_t i = 0; i < size; i += 4096) p[i] = 1;
        printf("1 GiB\\n");
      }
      return 0;
    }
    """)


@needs_cgroup
@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_many_threads_pass_with_large_data_limit_while_cgroup_stops_a_bomb():
  # ~1000 threads reserve 8 GiB of stacks they barely touch: RLIMIT_DATA would refuse them; the cgroup counts
  # only what is used, so a large `data_bytes` lets them run while `memory_bytes` still stops a real bomb.
  limits = Limits(wall_s=30, memory_bytes=512 << 20, data_bytes=16 << 30, processes=1100)
  build = "gcc -O1 -pthread -o threads threads.c && ./threads"
  threads = runner.run(["sh", "-c", build], files={"threads.c": _THREADS_C}, limits=limits)
  assert threads.outcome == Outcome.PASSED, threads
  bomb = runner.run(["sh", "-c", build + " bomb"], files={"threads.c": _THREADS_C}, limits=limits)
  assert bomb.outcome == Outcome.MEMORY_LIMIT, bomb
  assert "1 GiB" not in bomb.stdout


@needs_cgroup
def test_ordinary_program_under_cgroup_passes_and_reports_mechanism():
  result = runner.run_python(
    "block = b'x' * (64 << 20)\nprint(len(block))", limits=Limits(wall_s=20, memory_bytes=SMALL)
  )
  assert result.outcome == Outcome.PASSED, result
  assert ISO.memory_accounting in ISO.description
  assert 64 << 20 <= result.peak_memory_bytes <= SMALL  # The cgroup's peak: the 64 MiB block and the interpreter.


# ---- disk: the run's writable places are bounded ----


@needs_namespaces
def test_many_files_hit_disk_limit():
  # 12 files of 60 MiB (each under the per-file limit) must not land 720 MiB anywhere.
  source = textwrap.dedent("""
      import os
      written = 0
      try:
        for i in range(12):
          with open(f"f{i}", "wb") as f:
            for _ in range(60):
              f.write(b"0" * (1 << 20))
              written += 1 << 20
      finally:
        print("written", written, flush=True)
      """)
  limits = Limits(wall_s=30, memory_bytes=2 << 30, file_size_bytes=64 << 20, disk_bytes=128 << 20)
  result = runner.run_python(source, limits=limits)
  assert result.outcome == Outcome.OUTPUT_LIMIT, result
  assert "disk" in result.detail
  written = int(result.stdout.split()[-1])
  assert written <= 128 << 20


@needs_namespaces
def test_files_in_tmp_and_home_count_toward_disk_limit():
  source = textwrap.dedent("""
      import os, tempfile
      for place in (tempfile.gettempdir(), os.environ["HOME"], "."):
        with open(os.path.join(place, "blob"), "wb") as f:
          f.write(b"0" * (30 << 20))
        print("wrote", place, flush=True)
      """)
  result = runner.run_python(source, limits=Limits(wall_s=30, file_size_bytes=64 << 20, disk_bytes=64 << 20))
  assert result.outcome == Outcome.OUTPUT_LIMIT, result
  assert result.stdout.count("wrote") == 2


def test_single_oversized_file_reports_the_limit():
  # Python ignores SIGXFSZ: the write fails with EFBIG; the outcome must still name the limit.
  source = "open('big', 'wb').write(b'0' * (8 << 20))\n"
  result = runner.run_python(source, limits=Limits(wall_s=10, file_size_bytes=1 << 20))
  assert result.outcome == Outcome.OUTPUT_LIMIT, result
  assert "file size" in result.detail


def test_disk_limit_defaults_and_old_constructor_still_work():
  limits = Limits(5.0, None, 1 << 30)
  assert limits.disk_bytes and 128 << 20 <= limits.disk_bytes <= 1 << 30
  assert limits.rlimits()["memory_bytes"] == 1 << 30  # RLIMIT_DATA defaults to memory_bytes.
  assert Limits(data_bytes=8 << 30).rlimits()["memory_bytes"] == 8 << 30


# ---- lifetime: the jail dies with its runner ----


@pytest.fixture
def scratch_base():
  """A directory for the scratch dirs of the runners a test starts (searchable by the private uids, which
  pytest's tmp_path is not: in rlimits mode the program's working dir is on the host)."""
  base = pathlib.Path(tempfile.mkdtemp(prefix="hrm_jax_test_"))
  os.chmod(base, 0o711)
  yield base
  shutil.rmtree(base, ignore_errors=True)


def _start_runner(tmp_path: pathlib.Path, source: str) -> subprocess.Popen:
  """A real runner process (this repository's `runner.run_python`) whose scratch dirs live under tmp_path."""
  # The source travels in the environment, so its marker shows only in the jailed program's command line.
  code = (
    "import os\nfrom hrm_jax.sandbox import runner\n"
    "r = runner.run(['sh', '-c', os.environ['SOURCE']], limits=runner.Limits(wall_s=120, cpu_s=120))\n"
    "print(r.outcome.value, flush=True)\n"
  )
  env = {**os.environ, "HRM_JAX_SANDBOX_TMP": str(tmp_path), "SOURCE": source}
  return subprocess.Popen(
    [sys.executable, "-c", code], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
  )


def _read(path: pathlib.Path) -> str:
  """A lease file's text; "" once it is gone (other runners end leases concurrently)."""
  try:
    return path.read_text()
  except OSError:
    return ""


def _wait_for(predicate, timeout: float) -> bool:
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    if predicate():
      return True
    time.sleep(0.05)
  return predicate()


def test_sigkill_of_runner_kills_the_jail_and_next_start_cleans_up(scratch_base):
  tmp_path = scratch_base
  token = _token()
  proc = _start_runner(tmp_path, f"sleep {token} & sleep 120")
  try:
    assert _wait_for(lambda: _processes_with(token), 30), proc.stderr.read1().decode() if proc.poll() else ""
    assert list(tmp_path.glob("hrm_jax_sbx_*")), "the run's scratch dir should exist while it runs"
    leases = [p for p in (runner.STATE_DIR / "uids").glob("*") if str(tmp_path) in _read(p)]
    assert len(leases) == (1 if ISO.private_uid else 0)
    os.kill(proc.pid, signal.SIGKILL)  # The runner we started.
    proc.wait(timeout=10)
    assert _wait_for(lambda: not _processes_with(token), 3), "the jailed program outlived its runner"
  finally:
    if proc.poll() is None:
      os.kill(proc.pid, signal.SIGKILL)
      proc.wait()
  assert list(tmp_path.glob("hrm_jax_sbx_*")), "a killed runner leaves its scratch dir (removed on next start)"
  second = _start_runner(tmp_path, "echo ok")
  out, err = second.communicate(timeout=60)
  assert out.decode().strip() == "passed", err.decode()[-2000:]
  assert not list(tmp_path.glob("hrm_jax_sbx_*")), "stale scratch dir of a dead runner was not removed"
  for lease in leases:
    assert str(tmp_path) not in _read(lease), "stale uid lease was not reclaimed"
    if ISO.memory_accounting != "none":
      assert not any(d.exists() for d in runner._cgroups.run_dirs(f"uid-{lease.name}")) or lease.exists()


def test_jail_enforces_the_wall_limit_when_its_runner_stops_watching(scratch_base):
  tmp_path = scratch_base
  token = _token()
  source = f"sleep {token} & sleep 120"
  code = (
    "import os\nfrom hrm_jax.sandbox import runner\n"
    "runner.run(['sh', '-c', os.environ['SOURCE']], limits=runner.Limits(wall_s=2, cpu_s=120))\n"
  )
  proc = subprocess.Popen(
    [sys.executable, "-c", code],
    cwd=REPO,
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    env={**os.environ, "HRM_JAX_SANDBOX_TMP": str(tmp_path), "SOURCE": source},
  )
  try:
    assert _wait_for(lambda: _processes_with(token), 30)
    os.kill(proc.pid, signal.SIGSTOP)  # The runner we started: alive (no parent-death signal) but not watching.
    started = time.monotonic()
    assert _wait_for(lambda: not _processes_with(token), 2 + 2 + 4), "the jail let its program outlive wall_s"
    assert time.monotonic() - started < 2 + 2 + 4
  finally:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_missing_whole_run_limits_are_reported_loudly(tmp_path):
  code = "from hrm_jax.sandbox import runner\nprint(runner.isolation().description)\n"
  env = {
    **os.environ,
    "HRM_JAX_SANDBOX_CGROUPS": "off",
    "HRM_JAX_SANDBOX_SECCOMP": "off",
    "HRM_JAX_SANDBOX_MODE": "rlimits",
    "HRM_JAX_SANDBOX_TMP": str(tmp_path),
  }
  done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
  assert done.returncode == 0, done.stderr
  assert "NO whole-run memory accounting" in done.stdout and "NO seccomp" in done.stdout
  assert "NO disk limit" in done.stdout
  assert "no cgroup for whole-run memory accounting" in done.stderr  # The warning, on stderr by default.
  assert "no seccomp filter" in done.stderr


# ---- namespaces and dangerous syscalls inside the jail ----


@needs_seccomp
def test_new_namespaces_and_privileged_syscalls_are_denied():
  source = textwrap.dedent("""
      import ctypes, errno, os, platform, subprocess, threading
      libc = ctypes.CDLL(None, use_errno=True)
      CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWPID = 0x20000, 0x10000000, 0x40000000, 0x20000000
      SIGCHLD = 17
      numbers = {"x86_64": dict(clone=56, ptrace=101, bpf=321, keyctl=250, setns=308),
                 "aarch64": dict(clone=220, ptrace=117, bpf=280, keyctl=219, setns=268)}[platform.machine()]
      def report(name, result):
        print(name, "allowed" if result >= 0 else "denied", ctypes.get_errno() if result < 0 else "", flush=True)
      for flag_name, flag in (("newuser", CLONE_NEWUSER), ("newns", CLONE_NEWNS), ("newnet", CLONE_NEWNET)):
        report("unshare_" + flag_name, libc.unshare(flag))
      pid = libc.syscall(numbers["clone"], CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)
      if pid == 0:
        os._exit(0)
      if pid > 0:
        os.waitpid(pid, 0)
      report("clone_newuser", pid)
      report("mount", libc.mount(b"none", b"/tmp", b"tmpfs", 0, None))
      report("bpf", libc.syscall(numbers["bpf"], 0, 0, 0))
      report("keyctl", libc.syscall(numbers["keyctl"], 0, 0, 0, 0, 0))
      report("ptrace", libc.syscall(numbers["ptrace"], 16, os.getppid(), 0, 0))  # PTRACE_ATTACH
      report("setns", libc.syscall(numbers["setns"], 0, 0))
      print(subprocess.run(["unshare", "-U", "-r", "id", "-u"], capture_output=True, text=True).returncode != 0,
            "unshare_command_failed", flush=True)
      # Ordinary process and thread creation still works.
      threads = [threading.Thread(target=lambda: None) for _ in range(4)]
      [t.start() for t in threads]; [t.join() for t in threads]
      print("child", subprocess.run(["sh", "-c", "echo $((6 * 7))"], capture_output=True, text=True).stdout.strip())
      """)
  result = runner.run_python(source, limits=Limits(wall_s=20))
  assert result.outcome == Outcome.PASSED, result
  lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
  for name in (
    "unshare_newuser",
    "unshare_newns",
    "unshare_newnet",
    "clone_newuser",
    "mount",
    "bpf",
    "keyctl",
    "ptrace",
    "setns",
  ):
    assert lines[name].startswith("denied"), (name, result.stdout)
  assert lines["True"] == "unshare_command_failed", result.stdout
  assert lines["child"] == "42"


# ---- concurrency: private uids are never shared ----


@pytest.mark.slow
@pytest.mark.skipif(not ISO.private_uid, reason="private uids need root")
def test_two_runner_processes_with_20_runs_each_get_distinct_uids(tmp_path):
  code = textwrap.dedent("""
      import json, sys
      from hrm_jax.sandbox import pool, runner
      source = "import os, time\\nstart = time.time()\\ntime.sleep(1.5)\\nprint(os.getuid(), start, time.time())"
      requests = [pool.RunRequest([sys.executable, "-I", "-c", source], limits=runner.Limits(wall_s=60))
                  for _ in range(20)]
      results = pool.run_many(requests, workers=20)
      print(json.dumps([[r.outcome.value, r.stdout.strip(), r.detail] for r in results]))
      """)
  env = {**os.environ, "HRM_JAX_SANDBOX_TMP": str(tmp_path)}
  procs = [
    subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in range(2)
  ]
  outputs = [p.communicate(timeout=120) for p in procs]
  runs = []
  for (out, err), proc in zip(outputs, procs):
    assert proc.returncode == 0, err.decode()[-2000:]
    runs += json.loads(out.decode().splitlines()[-1])
  assert [outcome for outcome, _, _ in runs] == ["passed"] * 40, runs
  # Two runs may share a uid only one after the other (a lease ends with its run); on a loaded machine the
  # first runs can end before the last start.
  spans = sorted((int(uid), float(start), float(end)) for uid, start, end in (out.split() for _, out, _ in runs))
  for (uid_a, start_a, end_a), (uid_b, start_b, end_b) in zip(spans, spans[1:]):
    assert uid_a != uid_b or end_a < start_b, (uid_a, start_a, end_a, start_b, end_b)
  assert len({uid for uid, _, _ in spans}) >= 20


@pytest.mark.skipif(not ISO.private_uid, reason="private uids need root")
def test_uid_with_live_processes_is_not_reused():
  # A process of ours that runs under the uid the allocator would hand out next: the next runs must skip it,
  # and the runner's clean-up must not kill it.
  runner.run_python("pass")  # Reclaims leases of dead runners first (their uids' leftovers are killed).
  with runner._StateLock():  # No other runner (another pytest worker) leases meanwhile.
    leased = {int(p.name) for p in (runner.STATE_DIR / "uids").iterdir()}
    busy = runner._uids_of_live_processes()
    uid = min(u for u in range(runner.UID_BASE, runner.UID_BASE + 1000) if u not in leased | busy)
    holder = subprocess.Popen(["sleep", "60"], user=uid, group=uid)
  try:
    results = [runner.run_python("import os\nprint(os.getuid())", limits=Limits(wall_s=20)) for _ in range(3)]
    assert all(r.outcome == Outcome.PASSED for r in results), results
    assert uid not in {int(r.stdout) for r in results}
    assert holder.poll() is None, "the runner killed a process it did not start"
  finally:
    holder.kill()
    holder.wait()


# ---- the jail's spec is not visible inside ----


@needs_namespaces
def test_spec_is_not_in_pid1_cmdline():
  secret = "spec-secret-" + os.urandom(6).hex()
  source = textwrap.dedent("""
      import os
      for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
          print(pid, open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\\0", b" ").decode())
        except OSError as error:
          print(pid, "unreadable", error.errno)
      """)
  result = runner.run(
    [sys.executable, "-I", "main.py"],
    files={"main.py": source},
    env={"SANDBOX_SECRET": secret},
    limits=Limits(wall_s=20),
  )
  assert result.outcome == Outcome.PASSED, result
  pid1 = next(line for line in result.stdout.splitlines() if line.startswith("1 "))
  assert "jail.py" in pid1
  for line in result.stdout.splitlines():
    assert secret not in line and "hrm_jax_sbx_" not in line and "read_paths" not in line, line
