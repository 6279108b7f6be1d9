"""SWE-ReX backend wiring, exercised through its LocalDeployment (which runs on the host: no isolation)."""

import pathlib
import sys

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
