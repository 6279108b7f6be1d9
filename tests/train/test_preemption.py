"""Preemption and faults with real signals on a real `hrm-jax train` process (tiny copy-task config file):
kill -9 loses at most the steps since the last checkpoint, SIGTERM saves at the next step boundary and exits 0,
resumed runs log bit-identical metrics to an uninterrupted run, each step once. (A corrupt newest checkpoint:
test_checkpoint_faults.py.)"""

import os
import re
import signal
import subprocess
import time

import pytest
from scale_helpers import HRM_JAX, logged, write_config

from hrm_jax import config_loader
from hrm_jax.train import trainer


class Trainer:
  """A `hrm-jax train` subprocess whose output is read line by line."""

  def __init__(self, config_path, workdir, extra=(), env=None):
    self.lines: list[str] = []
    self.proc = subprocess.Popen(
      [HRM_JAX, "train", "--config", config_path, "--workdir", str(workdir), *extra],
      stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT,
      text=True,
      bufsize=1,
      env=dict(os.environ, JAX_PLATFORMS="cpu", **(env or {})),
    )

  def wait_for(self, pattern, timeout=240):
    """Reads output until a line matches `pattern`; returns the match."""
    deadline = time.time() + timeout
    regex = re.compile(pattern)
    while time.time() < deadline:
      line = self.proc.stdout.readline()
      if not line:
        if self.proc.poll() is not None:
          break
        continue
      self.lines.append(line)
      m = regex.search(line)
      if m:
        return m
    raise AssertionError(f"no line matching {pattern!r}; output:\n" + "".join(self.lines[-40:]))

  def finish(self, timeout=120):
    out, _ = self.proc.communicate(timeout=timeout)
    self.lines.append(out)
    return self.proc.returncode, "".join(self.lines)


def checkpoint_steps(workdir):
  d = os.path.join(workdir, "checkpoints")
  return sorted(int(n) for n in os.listdir(d) if n.isdigit()) if os.path.isdir(d) else []


@pytest.mark.slow
def test_kill9_sigterm_and_resume_repeat_an_uninterrupted_run(tmp_path):
  config_path = write_config(tmp_path)
  workdir = tmp_path / "run"
  every = 3

  # 1. kill -9 mid-run: resuming loses at most the steps since the last complete checkpoint.
  p1 = Trainer(config_path, workdir)
  p1.wait_for(r"step ([5-9]|\d\d+)/")
  while not checkpoint_steps(workdir):  # the first (async) save has committed
    p1.wait_for(r"step \d+/")
  p1.proc.send_signal(signal.SIGKILL)
  p1.proc.wait(timeout=60)
  assert p1.proc.returncode == -signal.SIGKILL
  last_logged = logged(workdir)[-1]["step"]

  # 2. resume, then SIGTERM: it saves at the next step boundary and exits 0.
  p2 = Trainer(config_path, workdir)
  resumed_at = int(p2.wait_for(r"Resumed from .* at step (\d+)").group(1))
  assert resumed_at % every == 0 and 0 < resumed_at <= last_logged
  assert last_logged - resumed_at <= 2 * every  # at most the steps since the last (complete) checkpoint
  p2.wait_for(rf"step {resumed_at + 3}/")
  p2.proc.send_signal(signal.SIGTERM)
  code, out = p2.finish()
  assert code == 0, out[-3000:]
  stopped = int(re.search(r"Stopping \(15\): saved step (\d+)", out).group(1))
  assert stopped in checkpoint_steps(workdir) and stopped > resumed_at + 2
  assert logged(workdir)[-1]["step"] == stopped  # the step it was in when signalled was finished and saved

  # 3. every logged step of the two interrupted processes equals the uninterrupted run, bit for bit.
  records = logged(workdir)
  horizon = max(r["step"] for r in records)
  config = config_loader.load(config_path)
  reference = trainer.train_and_evaluate(config, str(tmp_path / "reference"), stop_at_step=horizon)
  by_step = {h["step"]: h for h in reference["history"]}
  assert sorted(by_step) == list(range(1, horizon + 1))
  for r in records:
    for key in ("loss", "lm_loss", "q_halt_loss", "grad_norm", "accuracy"):
      assert r[key] == by_step[r["step"]][key], (r["step"], key)
  # Steps lost to kill -9 were run again; a resumed run drops the lines past its step, so metrics.jsonl holds
  # each step once.
  assert [r["step"] for r in records] == list(range(1, horizon + 1))
