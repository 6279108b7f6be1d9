"""Checkpoint faults through the real `hrm-jax train` CLI (tiny copy-task config): a newest step overwritten with
random bytes is caught by its digest, set aside and the previous one resumed; a disk that fills up during a save
(a real size-limited tmpfs mounted on the checkpoint directory) stops the run at once with one line, and the
previous checkpoint stays intact."""

import os
import subprocess

import pytest
from scale_helpers import HRM_JAX, logged, write_config

from hrm_jax.train import checkpoint


def _train(config_path, workdir, *overrides, timeout=600):
  proc = subprocess.run(
    [HRM_JAX, "train", "--config", config_path, "--workdir", str(workdir), *overrides],
    capture_output=True,
    text=True,
    timeout=timeout,
    env=dict(os.environ, JAX_PLATFORMS="cpu"),
  )
  return proc.returncode, proc.stdout + proc.stderr


def _steps(directory):
  return sorted(int(n) for n in os.listdir(directory) if n.isdigit())


@pytest.mark.slow
def test_random_bytes_in_the_newest_step_resume_the_previous_one(tmp_path):
  config_path = write_config(tmp_path, num_steps=6, checkpoint_every=3)
  workdir = tmp_path / "run"
  code, out = _train(config_path, workdir)
  assert code == 0, out[-3000:]
  ckpt_dir = os.path.join(workdir, "checkpoints")
  assert _steps(ckpt_dir) == [3, 6]
  newest = os.path.join(ckpt_dir, "6")
  for root, _, files in os.walk(newest):
    for name in files:
      path = os.path.join(root, name)
      size = os.path.getsize(path)
      with open(path, "wb") as f:
        f.write(os.urandom(size))

  # The same config (its compiled step is reused from the session's compilation cache): steps 4-6 again.
  code, out = _train(config_path, workdir)
  assert code == 0, out[-3000:]
  assert "Resumed from" in out and "at step 3" in out
  assert "checkpoint step 6" in out and "could not be restored" in out
  assert f"moved the unreadable checkpoint to {newest}.unreadable" in out
  assert os.path.isdir(newest + ".unreadable") and _steps(ckpt_dir) == [3, 6]
  assert all(checkpoint.verify_digest(os.path.join(ckpt_dir, str(s))) is None for s in (3, 6))
  resumed = [r for r in logged(workdir) if r["step"] > 3][-3:]
  assert [r["step"] for r in resumed] == [4, 5, 6]
  assert all(r["loss"] == r["loss"] for r in resumed)  # finite, not NaN from garbage weights


def _as_root(*command):
  """`command` as root: directly when we are root, else through passwordless sudo (CI runners)."""
  prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
  return subprocess.run([*prefix, *command], capture_output=True, text=True)


def _mount_tmpfs(path, size):
  options = f"size={size},uid={os.getuid()},gid={os.getgid()}"  # writable by this (maybe non-root) user
  proc = _as_root("mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path))
  return proc.returncode == 0, proc.stderr.strip()


@pytest.mark.slow
def test_disk_full_during_a_save_stops_at_once_with_one_line(tmp_path):
  config_path = write_config(tmp_path, num_steps=3, checkpoint_every=3)
  workdir = tmp_path / "run"
  ckpt_dir = workdir / "checkpoints"
  ckpt_dir.mkdir(parents=True)
  mounted, why = _mount_tmpfs(ckpt_dir, "64m")
  if not mounted:
    pytest.skip(f"cannot mount a tmpfs here (needs root, or passwordless sudo): {why}")
  try:
    code, out = _train(config_path, workdir)
    assert code == 0, out[-3000:]
    assert _steps(ckpt_dir) == [3], (os.listdir(ckpt_dir), out[-3000:])
    stat = os.statvfs(ckpt_dir)
    used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
    # Room for about half of another step: the next save cannot complete.
    assert _as_root("mount", "-o", f"remount,size={used + used // 2}", str(ckpt_dir)).returncode == 0

    code, out = _train(config_path, workdir, "--config.train.num_steps=12")
    assert code == 1, out[-3000:]
    errors = [line for line in out.splitlines() if "saving checkpoint step 6" in line]
    assert len(errors) == 1 and "No space left on device" in errors[0], out[-3000:]
    assert errors[0].startswith("hrm-jax train: ") and "latest complete: step 3" in errors[0]
    assert "Traceback" not in out and "ERROR" not in out, out[-3000:]
    assert len(out.splitlines()) < 20, out
    assert max(r["step"] for r in logged(workdir)) < 12, out  # stopped at once, not at the end of the run
    # The previous checkpoint is intact (its digest holds) and the partial one is gone.
    assert sorted(os.listdir(ckpt_dir)) == ["3"], (os.listdir(ckpt_dir), out)
    assert checkpoint.verify_digest(os.path.join(ckpt_dir, "3")) is None
    model, params, _ = checkpoint.load_for_inference(str(workdir))
    assert params["params"]
  finally:
    _as_root("umount", "-l", str(ckpt_dir))
