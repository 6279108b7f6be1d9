"""SWE-ReX backend wiring, exercised through the "local" deployment (a swerex-remote child process on this host:
no isolation)."""

import pathlib
import subprocess
import sys
import time

import pytest

pytest.importorskip("swerex")

from hrm_jax.sandbox import pool, runner, swerex_backend  # noqa: E402
from hrm_jax.sandbox.runner import Limits, Outcome  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "evals"))
import lcb_fixtures  # noqa: E402


@pytest.fixture(scope="module")
def backend():
  with swerex_backend.SweRexBackend("local") as rex:
    yield rex


def test_runs_with_files_stdin_and_classifies(backend):
  ok = pool.run_request(
    pool.RunRequest(
      [sys.executable, "main.py"], stdin="abc", files={"main.py": "import sys\nprint(sys.stdin.read()[::-1])\n"}
    ),
    backend,
  )
  assert ok.outcome == Outcome.PASSED and ok.stdout == "cba\n" and ok.mechanism == "swerex-local"
  failed = pool.run_request(pool.RunRequest([sys.executable, "-c", "raise SystemExit(4)"]), backend)
  assert failed.outcome == Outcome.RUNTIME_ERROR and failed.exit_code == 4
  slow = pool.run_request(
    pool.RunRequest([sys.executable, "-c", "import time; time.sleep(30)"], limits=Limits(wall_s=1)), backend
  )
  assert slow.outcome == Outcome.TIMEOUT
  memory = pool.run_request(
    pool.RunRequest([sys.executable, "-c", "x = bytearray(3 << 30)"], limits=Limits(memory_bytes=512 << 20)), backend
  )
  assert memory.outcome == Outcome.MEMORY_LIMIT


def test_livecodebench_oracle_through_swerex(backend, tmp_path):
  from hrm_jax.evals import livecodebench

  problems = livecodebench.load_problems(lcb_fixtures.write(tmp_path / "p.jsonl"))
  summary, _ = livecodebench.evaluate(problems, "codegeneration", None, oracle=True, backend=backend)
  assert summary["overall"]["pass@1"] == 1.0


def test_unknown_deployment_and_backend():
  with pytest.raises(ValueError):
    swerex_backend.SweRexBackend("kubernetes")
  assert runner.is_memory_error("MemoryError\n")


def test_local_server_is_a_child_process_that_dies_with_its_parent():
  """The "local" deployment's server (see swerex_backend's docstring) outlives neither close() nor a SIGKILLed
  parent. The parent here is a Python process this test starts; it prints its server's pid and sleeps."""
  parent = subprocess.Popen(
    [
      sys.executable,
      "-c",
      "import time; from hrm_jax.sandbox import swerex_backend as r; "
      "s = r._LocalServer(); print(s.process.pid, flush=True); time.sleep(120)",
    ],
    stdout=subprocess.PIPE,
    text=True,
  )
  try:
    server_pid = int(parent.stdout.readline())
    assert _alive(server_pid)
  finally:
    parent.kill()
    parent.wait()
  deadline = time.monotonic() + 10
  while _alive(server_pid) and time.monotonic() < deadline:
    time.sleep(0.1)
  assert not _alive(server_pid)


def _alive(pid: int) -> bool:
  """True while `pid` runs (a zombie, reaped by init once re-parented, counts as gone)."""
  try:
    with open(f"/proc/{pid}/stat") as stat:
      return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
  except FileNotFoundError:
    return False
