"""GSPO on several processes: two real `hrm-jax train-rl` processes on localhost (2 fake CPU devices each, joined by
jax.distributed) repeat the one-process run on 4 fake devices with the same seeds and rollout shards (losses,
rewards to fp32 tolerance). One of the pair is killed mid-run; the survivor fails within the
heartbeat timeout; both are restarted and resume from the multi-process checkpoint, ending where the
uninterrupted single process ends."""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
import test_rl_trainer as helpers  # noqa: E402

from hrm_jax.rl import trainer as rl_trainer  # noqa: E402

HRM_JAX = os.path.join(os.path.dirname(sys.executable), "hrm-jax")
ARGS = [
  "--config",
  os.path.join(helpers.CONFIGS, "gspo_tiny.py"),
  "--config.rl.num_steps=3",
  "--config.rl.prompts_per_batch=4",
  "--config.rl.rollout.group_size=2",
  "--config.rl.num_minibatches=2",
  "--config.rl.rollout.max_new_tokens=8",
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


def _start(init, workdir, log_path, devices, distributed=()):
  env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
  log = open(log_path, "w")
  cmd = [HRM_JAX, "train-rl", *ARGS, "--init", init, "--workdir", workdir, *distributed]
  return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)


def _start_pair(init, workdir, tag):
  port = _free_port()
  return [
    _start(
      init,
      workdir,
      os.path.join(os.path.dirname(workdir), f"{tag}{pid}.log"),
      2,
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
  init = str(tmp_path / "sft")
  helpers._init_workdir(init)
  single_dir, pair_dir = str(tmp_path / "single" / "run"), str(tmp_path / "pair" / "run")
  os.makedirs(os.path.dirname(single_dir))
  os.makedirs(os.path.dirname(pair_dir))
  single = _start(init, single_dir, str(tmp_path / "single" / "log"), 4)
  procs = [single]
  try:
    pair = _start_pair(init, pair_dir, "first")
    procs += pair
    log0 = os.path.join(os.path.dirname(pair_dir), "first0.log")
    first_ckpt = os.path.join(pair_dir, "checkpoints", "1")
    deadline = time.time() + 500
    while not (os.path.isdir(first_ckpt) and "rl step 1/3" in _read(log0)):
      assert time.time() < deadline and pair[0].poll() is None, _read(log0)[-3000:]
      time.sleep(0.1)
    pair[1].kill()  # mid-run: step 2 is being generated, executed or learnt
    try:
      code = pair[0].wait(timeout=120)
    except subprocess.TimeoutExpired:
      raise AssertionError("the surviving process hung after its peer was killed") from None
    assert code != 0, _read(log0)[-2000:]

    resumed = _start_pair(init, pair_dir, "resumed")
    procs += resumed
    for i, p in enumerate(resumed):
      assert p.wait(timeout=500) == 0, _read(os.path.join(os.path.dirname(pair_dir), f"resumed{i}.log"))[-3000:]
    assert single.wait(timeout=500) == 0, _read(str(tmp_path / "single" / "log"))[-3000:]
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  out0 = _read(os.path.join(os.path.dirname(pair_dir), "resumed0.log"))
  out1 = _read(os.path.join(os.path.dirname(pair_dir), "resumed1.log"))
  assert "Resumed from" in out0 and "2 process(es) x 1 rollout shard(s)" in out0
  assert "rl step 3/3" in out0 and "rl step 3/3" not in out1  # logs are written once
  assert "1 process(es) x 2 rollout shard(s)" in _read(str(tmp_path / "single" / "log"))

  one, two = _history(single_dir), _history(pair_dir)
  assert [h["step"] for h in one["history"]] == [h["step"] for h in two["history"]] == [1, 2, 3]
  for key in ("loss", "policy_loss", "q_loss", "grad_norm", "ratio_mean", "reward_mean", "pass_rate", "depth_mean"):
    np.testing.assert_allclose(
      [h[key] for h in two["history"]], [h[key] for h in one["history"]], rtol=1e-4, atol=1e-6, err_msg=key
    )
