"""`hrm-jax train` under bad input and badly timed signals, through the real command (real processes, real
signals): every case ends with one line that names the problem and the documented exit code, no traceback."""

import os
import signal
import subprocess

import pytest
from scale_helpers import HRM_JAX, write_config
from test_preemption import Trainer


def _train(args, timeout=300):
  out = subprocess.run(
    [HRM_JAX, "train", *args],
    capture_output=True,
    text=True,
    timeout=timeout,
    env=dict(os.environ, JAX_PLATFORMS="cpu"),
  )
  return out.returncode, out.stdout + out.stderr


@pytest.mark.parametrize("field", ["checkpoint_every", "log_every", "batch_size"])
def test_zero_interval_is_named_before_compiling(tmp_path, field):
  code, out = _train(
    ["--config", write_config(tmp_path), "--workdir", str(tmp_path / "w"), f"--config.train.{field}=0"]
  )
  assert code == 2, out
  assert f"config.train.{field}=0: must be >= 1" in out and "Traceback" not in out, out
  assert "Compiled" not in out


def test_workdir_under_a_file_is_refused(tmp_path):
  blocker = tmp_path / "file"
  blocker.write_text("not a directory")
  workdir = blocker / "run"
  code, out = _train(["--config", write_config(tmp_path), "--workdir", str(workdir)])
  assert code == 2, out
  assert f"workdir {workdir}: cannot be created" in out and "Traceback" not in out, out


@pytest.mark.slow
def test_sigterm_during_compile_exits_0_and_keeps_nothing(tmp_path):
  config_path = write_config(tmp_path, num_steps=6, checkpoint_every=2)
  workdir = tmp_path / "run"
  # SIGTERM as soon as the model is built: the step is being compiled; nothing was trained, nothing is saved.
  p = Trainer(config_path, workdir)
  p.wait_for(r"hrm-jax: .* parameters")
  p.proc.send_signal(signal.SIGTERM)
  code, out = p.finish()
  assert code == 0, out[-3000:]
  assert "Traceback" not in out
  assert "before the first step: the run keeps nothing" in out or "Stopping (15): saved step 1" in out, out[
    -2000:
  ]  # (a compile faster than the signal)
