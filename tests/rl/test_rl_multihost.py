"""GSPO on several processes: two real `hrm-jax train-rl` processes on localhost (2 fake CPU devices each, joined by
jax.distributed) repeat the one-process run on 4 fake devices with the same seeds and rollout shards (losses,
rewards to fp32 tolerance) over two GSPO steps; each process generates its rollout rows on both its devices. One
of the pair is killed after the first step's checkpoint, while the second step is under way (its rollout batch,
generated ahead, is in the checkpoint); the survivor fails within the heartbeat timeout; both are restarted in
the same workdir and resume from the multi-process checkpoint, ending where the uninterrupted single process
ends.

Test budget (49 s on a 2-core machine with one core busy; 110 s quiet before): two steps, no held-out eval, the
one-process reference started once the pair is down (three processes at once would slow the pair's first step),
LLVM optimisation off and a persistent compilation cache shared by the runs.
"""

import json
import os
import socket
import subprocess
import sys
import time

import configs_for_tests as cft
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
import test_rl_trainer as helpers  # noqa: E402

from hrm_jax.rl import trainer as rl_trainer  # noqa: E402

HRM_JAX = os.path.join(os.path.dirname(sys.executable), "hrm-jax")
ARGS = [
  "--config",
  os.path.join(helpers.CONFIGS, "gspo_tiny.py"),
  "--config.rl.num_steps=2",
  "--config.rl.prompts_per_batch=4",
  "--config.rl.rollout.group_size=2",
  "--config.rl.num_minibatches=2",
  "--config.rl.rollout.max_new_tokens=6",
  "--config.rl.rollout_shards=2",
  "--config.rl.eval_every=0",  # held-out eval would compile one more generator per process (test budget)
  "--config.rl.checkpoint_every=1",
  "--config.rl.curriculum=0:min_ops=1,max_ops=2",
  "--config.data.num_train=40",
  "--config.data.num_eval=10",
  "--config.data.seq_len=64",
]


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _start(init, workdir, log_path, devices, cache, distributed=()):
  # The restarted pair's process 0 loads the update step the first pair compiled from a cache under tmp_path
  # (JAX writes entries from process 0 only).
  env = cft.fake_devices_env(devices, JAX_COMPILATION_CACHE_DIR=cache)
  log = open(log_path, "w")
  cmd = [HRM_JAX, "train-rl", *ARGS, "--init", init, "--workdir", workdir, *distributed]
  return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)


def _start_pair(init, workdir, cache, tag):
  port = _free_port()
  return [
    _start(
      init,
      workdir,
      os.path.join(os.path.dirname(workdir), f"{tag}{pid}.log"),
      2,
      cache,
      ["--coordinator-address", f"localhost:{port}", "--num-processes", "2", "--process-id", str(pid)]
      + ["--distributed-timeout", "10"],
    )
    for pid in range(2)
  ]


def _read(path):
  with open(path) as f:
    return f.read()


def _history(workdir):
  with open(os.path.join(workdir, rl_trainer.HISTORY_FILE)) as f:
    return json.load(f)


@pytest.mark.slow
def test_two_processes_repeat_one_and_resume_after_a_kill(tmp_path):
  init, cache = str(tmp_path / "sft"), str(tmp_path / "jax_cache")
  helpers._init_workdir(init)
  single_dir, pair_dir = str(tmp_path / "single" / "run"), str(tmp_path / "pair" / "run")
  os.makedirs(os.path.dirname(single_dir))
  os.makedirs(os.path.dirname(pair_dir))
  logs = os.path.dirname(pair_dir)
  procs = []
  try:
    pair = _start_pair(init, pair_dir, cache, "first")
    procs += pair
    log0 = os.path.join(logs, "first0.log")
    first_ckpt = os.path.join(pair_dir, "checkpoints", "1")
    deadline = time.time() + 500
    while not (os.path.isdir(first_ckpt) and "rl step 1/2" in _read(log0)):
      assert time.time() < deadline and pair[0].poll() is None, _read(log0)[-3000:]
      time.sleep(0.05)
    # Mid-run: step 2's batch (generated ahead, saved with checkpoint 1) is being executed or learnt.
    assert pair[1].poll() is None and not os.path.isdir(os.path.join(pair_dir, "checkpoints", "2"))
    pair[1].kill()
    killed_at = time.time()
    # The one-process reference starts now: it runs while the pair is down and resuming (on 2 cores, three
    # processes at once would slow the pair's first step, the longest part of the test).
    single = _start(init, single_dir, str(tmp_path / "single" / "log"), 4, cache)
    procs.append(single)
    try:
      code = pair[0].wait(timeout=120)
    except subprocess.TimeoutExpired:
      raise AssertionError("the surviving process hung after its peer was killed") from None
    assert code != 0 and "rl step 2/2" not in _read(log0), _read(log0)[-2000:]
    survivor_s = time.time() - killed_at

    resumed = _start_pair(init, pair_dir, cache, "resumed")
    procs += resumed
    for i, p in enumerate(resumed):
      assert p.wait(timeout=500) == 0, _read(os.path.join(logs, f"resumed{i}.log"))[-3000:]
    assert single.wait(timeout=500) == 0, _read(str(tmp_path / "single" / "log"))[-3000:]
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  print(f"survivor exited {survivor_s:.1f} s after its peer was killed")
  out0, out1 = _read(os.path.join(logs, "resumed0.log")), _read(os.path.join(logs, "resumed1.log"))
  assert (
    "Resumed from" in out0
    and "at RL step 1" in out0
    and "2 process(es) x 1 rollout shard(s) generated on 2 device(s)" in out0
  )
  assert "rl step 2/2" in out0 and "rl step 2/2" not in out1  # logs are written once
  assert "1 process(es) x 2 rollout shard(s) generated on 4 device(s)" in _read(str(tmp_path / "single" / "log"))

  one, two = _history(single_dir), _history(pair_dir)
  assert [h["step"] for h in one["history"]] == [h["step"] for h in two["history"]] == [1, 2]
  for key in ("loss", "policy_loss", "q_loss", "grad_norm", "ratio_mean", "reward_mean", "pass_rate", "depth_mean"):
    np.testing.assert_allclose(
      [h[key] for h in two["history"]], [h[key] for h in one["history"]], rtol=1e-4, atol=1e-6, err_msg=key
    )
