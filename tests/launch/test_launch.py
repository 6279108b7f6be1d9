"""launch/: tpu.sh --dry-run prints every command for a named TPU and passes shellcheck; a 2x2 sweep runs
four real training jobs on a tiny config and tabulates them."""

import os
import shutil
import subprocess
import sys

import pytest
from scale_helpers import write_config

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_tpu_dry_run_prints_every_command():
  out = subprocess.run(
    [
      "bash",
      os.path.join(REPO, "launch", "tpu.sh"),
      "--name",
      "hrm-pod",
      "--zone",
      "us-central2-b",
      "--type",
      "v4-32",
      "--config",
      "configs/hrm_100m.py",
      "--workdir",
      "gs://bucket/hrm_100m",
      "--spot",
      "--teardown",
      "--dry-run",
      "--",
      "--config.train.num_steps=500",
    ],
    capture_output=True,
    text=True,
    timeout=60,
    check=True,
  ).stdout
  lines = [l for l in out.splitlines() if l.startswith("+ ")]
  assert len(lines) == 6, out
  assert "tpu-vm create hrm-pod --zone=us-central2-b --accelerator-type=v4-32" in lines[0] and "--spot" in lines[0]
  assert lines[1].startswith("+ tar ")
  assert "scp" in lines[2] and "--worker=all" in lines[2]
  assert "ssh hrm-pod" in lines[3] and "pip" in lines[3] and "--worker=all" in lines[3]
  assert "ssh hrm-pod" in lines[4] and "--worker=all" in lines[4]
  assert "hrm-jax\\ train\\ --distributed\\ --config\\ configs/hrm_100m.py" in lines[4]
  assert "--config.train.num_steps=500" in lines[4]
  assert "tpu-vm delete hrm-pod" in lines[5]


POD = ["bash", os.path.join(REPO, "launch", "tpu.sh"), "--name", "hrm-pod", "--zone", "z", "--type", "v4-16"]


def _run_lines(args: list[str], word: str) -> tuple[str, list[str]]:
  """tpu.sh's printed output for a pod, and its `+ ...` command lines that contain `word`."""
  out = subprocess.run([*POD, *args], capture_output=True, text=True, timeout=60, check=True).stdout
  return out, [l for l in out.splitlines() if l.startswith("+ ") and word in l]


def test_tpu_rl_dry_run_runs_train_rl_on_every_worker():
  args = ["--config", "configs/gspo_tiny.py", "--workdir", "/mnt/shared/gspo", "--dry-run"]
  rl = ["--rl", "--init", "/mnt/shared/sft", "--", "--executor", "ray", "--executor-address", "auto"]
  out, run = _run_lines([*args, *rl], "train-rl")
  assert len(run) == 1 and "--worker=all" in run[0], out
  assert "hrm-jax\\ train-rl\\ --distributed\\ --config\\ configs/gspo_tiny.py" in run[0]
  assert "--init\\ /mnt/shared/sft\\ --executor\\ ray\\ --executor-address\\ auto" in run[0]
  refused = subprocess.run([*POD, *args, "--init", "/mnt/shared/sft"], capture_output=True, text=True, timeout=60)
  assert refused.returncode == 2 and "--init is for --rl" in refused.stderr


def test_tpu_bench_dry_run_benchmarks_on_every_worker():
  out, run = _run_lines(
    ["--config", "configs/hrm_100m.py", "--bench", "--dry-run", "--", "--batch-size", "256"], "bench"
  )
  assert len(run) == 1 and "--worker=all" in run[0] and "hrm-jax\\ train" not in run[0], out
  assert "python3\\ -m\\ hrm_jax.bench.train_step\\ --distributed\\ --config\\ configs/hrm_100m.py" in run[0]
  assert "--batch-size\\ 256" in run[0] and "bench.log" in run[0]


def test_tpu_requires_a_name():
  proc = subprocess.run(
    [
      "bash",
      os.path.join(REPO, "launch", "tpu.sh"),
      "--zone",
      "z",
      "--type",
      "v4-8",
      "--config",
      "c.py",
      "--workdir",
      "w",
      "--dry-run",
    ],
    capture_output=True,
    text=True,
  )
  assert proc.returncode == 2 and "--name is required" in proc.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed (apt-get install shellcheck)")
def test_launch_scripts_pass_shellcheck():
  import glob

  scripts = sorted(glob.glob(os.path.join(REPO, "launch", "*.sh"))) + [
    os.path.join(REPO, ".ci", "run"),
    os.path.join(REPO, ".ci", "wheel_check"),
  ]
  assert len(scripts) >= 6
  subprocess.run(["shellcheck", *scripts], check=True)


@pytest.mark.slow
def test_2x2_sweep_runs_and_tabulates(tmp_path):
  config_path = write_config(tmp_path, num_steps=3, checkpoint_every=3)
  sweep_file = tmp_path / "sweep.py"
  sweep_file.write_text(f"""
def get_sweep():
  return {{"config": {config_path!r},
          "axes": {{"train.seed": [0, 1], "model.hidden_size": [16, 32]}},
          "fixed": {{"train.log_every": 3}},
          "metrics": ["loss", "accuracy"]}}
""")
  listed = subprocess.run(
    [
      sys.executable,
      os.path.join(REPO, "launch", "sweep.py"),
      str(sweep_file),
      "--workdir",
      str(tmp_path / "runs"),
      "--print-only",
    ],
    capture_output=True,
    text=True,
    check=True,
  )
  # The seed axis first: the 2 parallel runs of each round differ in width, and the second round's runs start from
  # the first round's compiled programs (the session's compilation cache; a seed is data, not program).
  assert len(listed.stdout.splitlines()) == 4 and "--config.model.hidden_size=32" in listed.stdout
  proc = subprocess.run(
    [
      sys.executable,
      os.path.join(REPO, "launch", "sweep.py"),
      str(sweep_file),
      "--workdir",
      str(tmp_path / "runs"),
      "--parallel",
      "2",
      "--csv",
      str(tmp_path / "sweep.csv"),
    ],
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert proc.returncode == 0, proc.stdout + proc.stderr
  rows = [l for l in proc.stdout.splitlines() if l.startswith("| seed=")]
  assert len(rows) == 4, proc.stdout
  for row in rows:
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3] == "ok" and cells[4] == "3" and float(cells[5]) > 0  # status, step, loss
  assert {r.split("|")[1].strip() for r in rows} == {
    "seed=0,hidden_size=16",
    "seed=0,hidden_size=32",
    "seed=1,hidden_size=16",
    "seed=1,hidden_size=32",
  }
  assert len((tmp_path / "sweep.csv").read_text().splitlines()) == 5
