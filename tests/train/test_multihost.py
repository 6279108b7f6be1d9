"""Two real `hrm-jax train` processes on localhost (CPU, 2 fake devices each) joined by jax.distributed: they
match the one-process run with the same global batch. (A process killed mid-run, its peer failing within the
heartbeat timeout instead of hanging: tests/rl/test_rl_multihost.py, through the same jax.distributed set-up.)"""

import os
import socket
import subprocess

import configs_for_tests as cft
import numpy as np
import pytest
from scale_helpers import HRM_JAX, logged, write_config

from hrm_jax import config_loader
from hrm_jax.train import trainer


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def start_pair(config_path, workdir, timeout_s=10):
  port = free_port()
  procs = []
  for pid in range(2):
    env = cft.fake_devices_env(2)
    log = open(os.path.join(os.path.dirname(workdir), f"proc{pid}.log"), "w")
    procs.append(
      subprocess.Popen(
        [
          HRM_JAX,
          "train",
          "--config",
          config_path,
          "--workdir",
          workdir,
          "--coordinator-address",
          f"localhost:{port}",
          "--num-processes",
          "2",
          "--process-id",
          str(pid),
          "--distributed-timeout",
          str(timeout_s),
          "--config.train.batch_size=8",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
      )
    )
  return procs


def read(path):
  with open(path) as f:
    return f.read()


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
  config_path = write_config(tmp_path, num_steps=4, checkpoint_every=2)
  workdir = str(tmp_path / "pair" / "run")
  os.makedirs(os.path.dirname(workdir))
  procs = start_pair(config_path, workdir)
  for i, p in enumerate(procs):
    assert p.wait(timeout=400) == 0, read(tmp_path / "pair" / f"proc{i}.log")[-3000:]
  log0, log1 = (read(tmp_path / "pair" / f"proc{i}.log") for i in range(2))
  assert "2 process(es)" in log0 and "data=4" in log0
  assert "step 4/4" in log0 and "step 4/4" not in log1  # logs are written once
  assert sorted(int(n) for n in os.listdir(os.path.join(workdir, "checkpoints")) if n.isdigit()) == [2, 4]

  config = config_loader.load(config_path, ["--config.train.batch_size=8"])
  single = trainer.train_and_evaluate(config, str(tmp_path / "single"))["history"]
  pair = logged(workdir)
  assert [r["step"] for r in pair] == [h["step"] for h in single] == [1, 2, 3, 4]
  for key in ("loss", "lm_loss", "q_halt_loss", "grad_norm"):
    np.testing.assert_allclose([r[key] for r in pair], [h[key] for h in single], rtol=2e-4, err_msg=key)
