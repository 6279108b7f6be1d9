"""Runner and pool behaviour on ordinary programs."""

import threading
import time

import pytest

from hrm_jax.sandbox import pool, runner
from hrm_jax.sandbox.runner import Limits, Outcome


def test_stdin_stdout_and_files():
  result = runner.run_python(
    "import sys\nprint(sys.stdin.read().upper() + open('data.txt').read())", stdin="abc", files={"data.txt": "xyz"}
  )
  assert result.outcome == Outcome.PASSED
  assert result.stdout == "ABCxyz\n"
  assert result.exit_code == 0


def test_nonzero_exit_is_runtime_error_and_refines():
  result = runner.run_python("raise SystemExit(3)")
  assert result.outcome == Outcome.RUNTIME_ERROR
  assert result.exit_code == 3
  assert result.refine(Outcome.FAILED_TESTS).outcome == Outcome.FAILED_TESTS
  passed = runner.run_python("pass")
  assert passed.refine(Outcome.FAILED_TESTS).outcome == Outcome.PASSED


def test_crash_by_signal_is_runtime_error():
  result = runner.run_python("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")
  assert result.outcome == Outcome.RUNTIME_ERROR
  assert result.signal == 11


def test_missing_command_is_sandbox_error():
  result = runner.run(["no-such-command-hrm-jax"])
  assert result.outcome == Outcome.SANDBOX_ERROR
  assert "no-such-command-hrm-jax" in result.detail


def test_copy_tree_is_not_modified(tmp_path):
  (tmp_path / "a.txt").write_text("original\n")
  result = runner.run(["sh", "-c", "cat a.txt; echo changed > a.txt; cat a.txt"], copy_tree=tmp_path)
  assert result.stdout == "original\nchanged\n"
  assert (tmp_path / "a.txt").read_text() == "original\n"


def test_each_run_has_its_own_scratch():
  first = runner.run_python("import os\nopen('mark', 'w').write('x')\nprint(os.getcwd())")
  second = runner.run_python("import os\nprint(os.path.exists('mark'), os.getcwd())")
  assert first.outcome == second.outcome == Outcome.PASSED
  assert second.stdout.split()[0] == "False"
  assert first.stdout.strip() != second.stdout.split()[1]


def test_pool_runs_concurrently_in_order():
  requests = [pool.RunRequest(["sh", "-c", f"sleep 0.5; echo {i}"], limits=Limits(wall_s=20)) for i in range(4)]
  start = time.monotonic()
  results = pool.run_many(requests, workers=4)
  elapsed = time.monotonic() - start
  assert [r.stdout.strip() for r in results] == ["0", "1", "2", "3"]
  assert elapsed < 4 * 0.5 + 1.0


def test_map_bounded_limits_concurrency():
  active, peak, lock = [0], [0], threading.Lock()

  def job(i):
    with lock:
      active[0] += 1
      peak[0] = max(peak[0], active[0])
    time.sleep(0.05)
    with lock:
      active[0] -= 1
    return i * i

  assert pool.map_bounded(job, range(10), workers=3) == [i * i for i in range(10)]
  assert peak[0] <= 3
  with pytest.raises(ValueError):
    pool.map_bounded(job, [1], workers=0)
  with pytest.raises(ValueError, match="backend"):
    pool.run_request(pool.RunRequest(["true"]), backend="docker")
