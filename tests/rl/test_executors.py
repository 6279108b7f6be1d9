"""Executors: the local sandbox pool, a (local) Ray cluster and a SWE-ReX remote runtime score the same samples
the same (a correct, a wrong, a non-compiling, a crashing and a timed-out program); the queue bound holds
generation back only when full; failed, crashed and lost tasks are retried, counted once, at their own row."""

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from hrm_jax.data_pipelines import procedural
from hrm_jax.rl import execution, executors, rewards

CONFIG = execution.ExecutionConfig(wall_s=5.0, workers=2)  # a loaded 2-core CI machine: generous for the quick ones


@pytest.fixture(scope="module")
def samples():
  cfg = procedural.ProceduralConfig(languages=("python",), families=("arith",), num_eval=5, max_ops=2)
  record = procedural.generate(cfg, "eval", 1)[0]
  correct = record["solution"]
  replies = {
    "correct": correct,
    "wrong": correct.replace("return ", "return 1000 + "),
    "syntax": "def f(x)\n    return x\n",
    "crash": "def f(x):\n    return undefined_name\n",
    "loop": "def f(x):\n    while True:\n        pass\n",
  }
  items = [(record, reply) for reply in replies.values()]
  with executors.ThreadExecutor(CONFIG) as local:
    outcomes = local.map(items)
  statuses = [o.status for o in outcomes]
  assert statuses == [
    rewards.STATUS_PASSED,
    rewards.STATUS_FAILED,
    rewards.STATUS_COMPILE_ERROR,
    rewards.STATUS_RUNTIME_ERROR,
    rewards.STATUS_TIMEOUT,
  ]
  return replies, items, outcomes


def _slow(record, reply, config):
  time.sleep(0.3)
  return rewards.ExecutionOutcome(1, 1, True, rewards.STATUS_PASSED)


def test_submit_waits_only_when_the_queue_is_full():
  items = [({}, str(i)) for i in range(4)]
  config = execution.ExecutionConfig(workers=1)
  with executors.ThreadExecutor(config, queue_size=8, task_fn=_slow) as roomy:
    t0 = time.perf_counter()
    submission = roomy.submit(items)
    assert time.perf_counter() - t0 < 0.25  # handed over; generation goes on
    assert len(submission.result()) == 4 and submission.wait_s > 0.5
  with executors.ThreadExecutor(config, queue_size=2, task_fn=_slow) as full:
    t0 = time.perf_counter()
    full.submit(items).result()
    submitted_after = time.perf_counter() - t0
  assert submitted_after >= 4 * 0.3 - 0.05  # one worker: all four ran one by one


def test_failed_runs_are_retried_once_counted_then_reported():
  attempts = {}
  lock = threading.Lock()

  def flaky(record, reply, config):
    with lock:
      attempts[reply] = attempts.get(reply, 0) + 1
      first = attempts[reply] == 1
    if reply == "always":
      raise RuntimeError("sandbox error: boom")
    if reply == "once" and first:
      raise RuntimeError("sandbox error: transient")
    return rewards.ExecutionOutcome(int(reply == "once"), 1, True, rewards.STATUS_FAILED)

  config = execution.ExecutionConfig(workers=2, max_attempts=2)
  with executors.ThreadExecutor(config, task_fn=flaky) as ex:
    outcomes = ex.map([({}, "a"), ({}, "once"), ({}, "b")])
    assert [o.tests_passed for o in outcomes] == [0, 1, 0]
    assert ex.stats["retried"] == 1 and ex.stats["completed"] == 3 and ex.stats["duplicates"] == 0
    with pytest.raises(executors.ExecutionError, match="sample 1 .* failed 2 runs.*boom"):
      ex.map([({}, "a"), ({}, "always")])


def test_ray_scores_like_the_local_pool_and_survives_lost_tasks(ray_local, samples, tmp_path):
  replies, items, local = samples
  with executors.RayExecutor(CONFIG) as ray_ex:
    assert ray_ex.map(items) == local

  crash_marker, hang_marker = str(tmp_path / "crashed"), str(tmp_path / "hung")
  correct, wrong = replies["correct"], replies["wrong"]

  def lossy(record, reply, config):
    """First run of the correct reply: its worker process dies. First run of the wrong one: it hangs."""
    if reply == correct and not os.path.exists(crash_marker):
      open(crash_marker, "w").close()
      os._exit(1)
    if reply == wrong and not os.path.exists(hang_marker):
      open(hang_marker, "w").close()
      time.sleep(600)
    return execution.execute(record, reply, config)

  config = execution.ExecutionConfig(wall_s=5.0, workers=2, task_timeout_s=10.0)
  quick = items[:4]  # the looping program's timeout is covered above
  with executors.RayExecutor(config, task_fn=lossy) as ray_ex:
    outcomes = ray_ex.map(quick)
    stats = dict(ray_ex.stats)
  assert os.path.exists(crash_marker) and os.path.exists(hang_marker)
  assert outcomes == local[:4]  # each result at its own row after the retries
  assert stats["completed"] == len(quick) and stats["retried"] >= 2 and stats["timed_out"] >= 1
  reward_config = rewards.RewardConfig(weights={"all_tests_passed": 1.0, "test_pass_fraction": 0.5})
  scored = [
    rewards.compute_rewards(reward_config, [rewards.RewardInput(outcome=o) for o in x])[0]
    for x in (outcomes, local[:4])
  ]
  assert list(scored[0]) == list(scored[1])


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_swerex_deployment_scores_like_the_local_pool(samples):
  """The "local" SWE-ReX deployment: a swerex-remote child process (commands run on this host: no sandbox;
  known programs only)."""
  pytest.importorskip("swerex")
  _, items, local = samples
  config = execution.ExecutionConfig(wall_s=5.0, workers=2, executor="swerex", swerex_deployment="local")
  with executors.make_executor(config) as rex:
    assert rex.name == "swerex-local"
    assert rex.map(items) == local


def test_swerex_remote_runtime_scores_like_the_local_pool(samples, monkeypatch):
  """A real `swerex-remote` server on localhost (it runs commands on this host: no sandbox, known programs).
  SWE-ReX's RemoteRuntime needs aiohttp, which swe-rex 1.4.0 does not declare: the sandbox and dev extras
  install it, so a missing aiohttp fails this test instead of skipping it."""
  pytest.importorskip("swerex")
  import aiohttp  # noqa: F401

  _, items, local = samples
  port = _free_port()
  server = subprocess.Popen(
    [os.path.join(os.path.dirname(sys.executable), "swerex-remote"), "--port", str(port), "--auth-token", "t0k"],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
  )
  try:
    deadline = time.time() + 60
    while True:
      try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        break
      except OSError:
        assert time.time() < deadline and server.poll() is None, "swerex-remote did not start"
        time.sleep(0.2)
    monkeypatch.setenv(executors.SWEREX_TOKEN_ENV, "t0k")
    config = execution.ExecutionConfig(wall_s=5.0, workers=2, executor="swerex", address=f"http://127.0.0.1:{port}")
    with executors.make_executor(config) as rex:
      assert rex.name == "swerex-remote"
      assert rex.map(items) == local
  finally:
    server.terminate()
    server.wait(timeout=30)
