"""Config files load and give the documented sizes; the main command runs end to end at a reduced step count."""

import glob
import os

import jax
import pytest

from hrm_jax import cli, config_loader
from hrm_jax.models import hrm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def params_of(spec, *overrides):
  config = config_loader.load(os.path.join(ROOT, spec), list(overrides))
  cfg = hrm.HRMConfig.from_config(config.model)
  shapes = jax.eval_shape(lambda: hrm.init_params(cfg, jax.random.key(0))[1])
  return hrm.count_params(shapes)


def test_parameter_counts_per_config():
  assert params_of("configs/hrm_27m.py:native") == 27_275_266  # the reference's count (hrm-spec.md 1.9)
  code_27m = params_of("configs/hrm_27m.py")
  # Same architecture with the 8192-token code vocabulary: blocks + 2 x 8192 x 512 + Q head + 12 prefix rows.
  assert code_27m == 27_262_976 + 2 * 8192 * 512 + 1026 + 12 * 512
  assert abs(params_of("configs/hrm_100m.py") - 100e6) / 100e6 < 0.05
  assert params_of("configs/transformer_tiny.py") == params_of("configs/tiny_cpu.py")


def test_every_config_file_has_a_command_header_and_loads():
  for path in glob.glob(os.path.join(ROOT, "configs", "*.py")):
    if os.path.basename(path) in ("common.py", "__init__.py"):
      continue
    text = open(path).read()
    assert "COMMAND:" in text, path
    config_loader.load(path)


def test_override_errors_name_the_field():
  with pytest.raises(KeyError, match="config.train.num_stepz"):
    config_loader.load(os.path.join(ROOT, "configs/tiny_cpu.py"), ["--config.train.num_stepz=3"])
  with pytest.raises(TypeError, match="config.train.num_steps"):
    config_loader.load(os.path.join(ROOT, "configs/tiny_cpu.py"), ["--config.train.num_steps=abc"])


def test_params_command(capsys):
  assert cli.main(["params", "--config", os.path.join(ROOT, "configs/hrm_27m.py:native")]) == 0
  assert "27,275,266 parameters" in capsys.readouterr().out


@pytest.mark.slow
def test_main_command_runs_end_to_end(tmp_path, capsys):
  workdir = str(tmp_path / "run")
  args = [
    "train",
    "--config",
    os.path.join(ROOT, "configs/tiny_cpu.py"),
    "--workdir",
    workdir,
    "--config.train.num_steps=4",
    "--config.train.log_every=2",
    "--config.train.checkpoint_every=2",
    "--config.data.num_train=300",
    "--config.data.num_eval=16",
    "--config.train.sample_prompts=1",
    # tiny_cpu narrowed (compile time dominates here; .ci/wheel_check trains tiny_cpu itself from the wheel)
    "--config.model.hidden_size=32",
    "--config.model.H_layers=1",
    "--config.model.L_layers=1",
  ]
  assert cli.main(args) == 0
  out = capsys.readouterr().out
  assert "ETA" in out and "| exact match" in out and "Sample generation:" in out
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints")))[-1] == "4"
  assert glob.glob(os.path.join(workdir, "tensorboard", "events.out.tfevents.*"))
  # Rerunning with the same workdir resumes (nothing left to train) and still evaluates.
  assert cli.main(args) == 0
  assert "Resumed from" in capsys.readouterr().out
  # And the trained workdir generates.
  assert (
    cli.main(
      [
        "generate",
        "--workdir",
        workdir,
        "--prompt",
        "Write a Python function `f(x)` that returns x + 1.",
        "--max-new-tokens",
        "8",
      ]
    )
    == 0
  )
