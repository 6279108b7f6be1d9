"""Security suite: hostile programs must be stopped or refused, classified, and leave the host unaffected."""

import os
import pathlib
import re
import shutil
import socket
import sys
import textwrap
import threading

import pytest

from hrm_jax.sandbox import runner
from hrm_jax.sandbox.runner import Limits, Outcome

REPO = pathlib.Path(__file__).resolve().parents[2]
needs_namespaces = pytest.mark.skipif(
  not runner.isolation().filesystem_isolated, reason=f"this machine allows only: {runner.isolation().description}"
)


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


@pytest.fixture(autouse=True)
def next_run_is_unaffected():
  yield
  result = runner.run_python("print(6 * 7)", limits=Limits(wall_s=20))
  assert result.outcome == Outcome.PASSED, result
  assert result.stdout.strip() == "42"


def test_isolation_is_reported():
  iso = runner.isolation()
  assert iso.mode in ("namespaces", "rlimits")
  assert iso.description


def test_fork_bomb_is_contained():
  source = textwrap.dedent("""
      import os, time
      print("bomb", flush=True)
      while True:
        try:
          os.fork()
        except OSError:
          time.sleep(0.01)
      """)
  result = runner.run_python(source, limits=Limits(wall_s=3, processes=32))
  assert result.outcome == Outcome.TIMEOUT, result
  assert "bomb" in result.stdout


def test_infinite_loop_hits_cpu_limit():
  result = runner.run_python("while True:\n  pass\n", limits=Limits(wall_s=10, cpu_s=1))
  assert result.outcome == Outcome.TIMEOUT, result
  assert result.wall_s < 6
  assert "CPU" in result.detail


def test_sleeping_program_hits_wall_limit():
  result = runner.run_python("import time\ntime.sleep(60)\n", limits=Limits(wall_s=1))
  assert result.outcome == Outcome.TIMEOUT, result
  assert result.wall_s < 5


def test_memory_bomb_hits_memory_limit():
  source = "chunks = []\nwhile True:\n  chunks.append(bytearray(64 << 20))\n"
  result = runner.run_python(source, limits=Limits(wall_s=10, memory_bytes=512 << 20))
  assert result.outcome == Outcome.MEMORY_LIMIT, result


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_memory_bomb_in_node_hits_memory_limit():
  # RLIMIT_DATA (not RLIMIT_AS) so that runtimes reserving address space up front still start.
  source = "let a = []; while (true) a.push(new Array(1e6).fill(1.5));"
  result = runner.run(["node", "-e", source], limits=Limits(wall_s=30, memory_bytes=512 << 20))
  assert result.outcome == Outcome.MEMORY_LIMIT, result


def test_stdout_flood_hits_output_limit():
  source = "import sys\nwhile True:\n  sys.stdout.write('x' * 65536)\n"
  result = runner.run_python(source, limits=Limits(wall_s=10, output_bytes=1 << 20))
  assert result.outcome == Outcome.OUTPUT_LIMIT, result
  assert len(result.stdout) <= 1 << 20
  assert result.wall_s < 5


def test_file_size_limit():
  source = "open('big', 'wb').write(b'0' * (8 << 20))\n"
  result = runner.run_python(source, limits=Limits(wall_s=10, file_size_bytes=1 << 20))
  assert result.outcome == Outcome.OUTPUT_LIMIT, result  # EFBIG names the limit (see test_sandbox_limits.py).
  assert "File too large" in result.stderr


def test_open_files_limit():
  source = "fs = [open('/dev/null') for _ in range(1000)]\n"
  result = runner.run_python(source, limits=Limits(wall_s=10, open_files=64))
  assert result.outcome == Outcome.RUNTIME_ERROR, result
  assert "Too many open files" in result.stderr


@needs_namespaces
def test_writing_outside_scratch_is_refused(tmp_path):
  targets = [
    REPO / "PWNED_BY_SANDBOX",
    tmp_path / "pwned",
    pathlib.Path("/etc/pwned_by_sandbox"),
    pathlib.Path("/usr/pwned_by_sandbox"),
    pathlib.Path(sys.prefix) / "pwned_by_sandbox",
    pathlib.Path.home() / "pwned_by_sandbox",
  ]
  source = textwrap.dedent(f"""
      import os
      for path in {[str(t) for t in targets]!r}:
        try:
          os.makedirs(os.path.dirname(path), exist_ok=True)
          with open(path, "w") as f:
            f.write("pwned")
          print("wrote", path)
        except OSError as error:
          print("refused", path, error.errno)
      open("inside", "w").write("ok")
      print("inside ok")
      """)
  result = runner.run_python(source, limits=Limits(wall_s=10))
  assert result.outcome == Outcome.PASSED, result
  assert "inside ok" in result.stdout
  for target in targets:
    assert not target.exists(), f"{target} was written from the sandbox"


@needs_namespaces
def test_reading_outside_scratch_is_refused():
  secret_file = pathlib.Path.home() / ".hrm_jax_sandbox_test_secret"
  secret = "s3cr3t-" + os.urandom(8).hex()
  secret_file.write_text(secret)
  try:
    paths = [str(secret_file), str(REPO / "setup.cfg"), str(pathlib.Path(__file__).resolve()), "/etc/shadow"]
    source = textwrap.dedent(f"""
        for path in {paths!r}:
          try:
            print(open(path).read())
          except OSError as error:
            print("refused", path, error.errno)
        """)
    result = runner.run_python(source, limits=Limits(wall_s=10))
  finally:
    secret_file.unlink()
  assert result.outcome == Outcome.PASSED, result
  assert secret not in result.stdout
  assert "install_requires" not in result.stdout
  assert "needs_namespaces" not in result.stdout
  assert result.stdout.count("refused") == 4


@needs_namespaces
def test_network_connection_to_local_server_is_refused():
  server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
  server.bind(("127.0.0.1", 0))
  server.listen(4)
  server.settimeout(0.2)
  port = server.getsockname()[1]
  accepted = []
  stop = threading.Event()

  def accept_loop():
    while not stop.is_set():
      try:
        conn, _ = server.accept()
        accepted.append(conn)
      except OSError:
        continue

  thread = threading.Thread(target=accept_loop, daemon=True)
  thread.start()
  source = textwrap.dedent(f"""
      import socket
      try:
        s = socket.create_connection(("127.0.0.1", {port}), timeout=2)
        s.sendall(b"hello")
        print("connected")
      except OSError as error:
        print("refused", error.errno)
      """)
  try:
    result = runner.run_python(source, limits=Limits(wall_s=10))
  finally:
    stop.set()
    thread.join()
    server.close()
  assert result.outcome == Outcome.PASSED, result
  assert "refused" in result.stdout
  assert not accepted


def test_killing_the_parent_is_refused():
  source = textwrap.dedent(f"""
      import os, signal
      for pid in (os.getppid(), 1, {os.getpid()}):
        try:
          os.kill(pid, signal.SIGKILL)
          print("killed", pid)
        except OSError as error:
          print("refused", pid, error.errno)
      try:
        os.kill(-1, signal.SIGKILL)
      except OSError as error:
        print("refused -1", error.errno)
      print("still here")
      """)
  result = runner.run_python(source, limits=Limits(wall_s=10))
  assert result.outcome == Outcome.PASSED, result
  assert "still here" in result.stdout


def test_background_processes_die_with_the_run():
  token = f"{os.getpid() % 1000}.{os.urandom(2).hex()}".replace("a", "1").replace("b", "2")
  token = re.sub(r"[^0-9.]", "7", token)
  source = textwrap.dedent(f"""
      import os, subprocess, time
      subprocess.Popen(["sleep", "1{token}"], start_new_session=True)
      if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
          os.execvp("sleep", ["sleep", "2{token}"])
        os._exit(0)
      time.sleep(0.3)
      print("started")
      """)
  result = runner.run_python(source, limits=Limits(wall_s=10))
  assert result.outcome == Outcome.PASSED, result
  assert "started" in result.stdout
  assert _processes_with(token) == []


def test_runaway_children_die_on_timeout():
  token = f"3{os.getpid() % 1000}.{int.from_bytes(os.urandom(2), 'big')}"
  source = f"import subprocess, time\nsubprocess.Popen(['sleep', '{token}'])\ntime.sleep(60)\n"
  result = runner.run_python(source, limits=Limits(wall_s=1))
  assert result.outcome == Outcome.TIMEOUT, result
  assert _processes_with(token) == []
