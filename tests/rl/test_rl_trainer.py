"""One RL step end to end: tiny policy, 2 prompts x G=2, real sandbox, GSPO update, eval, checkpoint, resume."""

import json
import os
import sys

import jax
import ml_collections
import numpy as np
import pytest

from hrm_jax import config_loader
from hrm_jax.models import hrm
from hrm_jax.rl import trainer as rl_trainer
from hrm_jax.train import checkpoint as checkpoint_lib
from hrm_jax.train import trainer as sft_trainer

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "configs")


def _init_workdir(path: str) -> None:
  """A 'supervised' workdir holding a tiny random causal model with the real vocabulary."""
  sys.path.insert(0, CONFIGS)
  import common  # configs/common.py

  config = ml_collections.ConfigDict()
  config.model = common.code_model(
    seq_len=64,
    hidden_size=16,
    num_heads=2,
    expansion=2.0,
    H_layers=1,
    L_layers=1,
    H_cycles=1,
    L_cycles=1,
    halt_max_steps=2,
  )
  cfg = hrm.HRMConfig.from_config(config.model)
  _, variables = hrm.init_params(cfg, jax.random.key(0))
  os.makedirs(path, exist_ok=True)
  sft_trainer._save_config(path, config)
  ckpt = checkpoint_lib.Checkpointer(path, async_save=False)
  ckpt.save(7, {"params": variables["params"]}, None, force=True)
  ckpt.close()


def _rl_config(num_steps: int) -> ml_collections.ConfigDict:
  config = config_loader.load(
    os.path.join(CONFIGS, "gspo_tiny.py"),
    [
      f"--config.rl.num_steps={num_steps}",
      "--config.rl.prompts_per_batch=2",
      "--config.rl.rollout.group_size=2",
      "--config.rl.num_minibatches=2",
      "--config.rl.rollout.max_new_tokens=8",
      "--config.rl.eval_every=1",
      "--config.rl.eval_size=2",
      "--config.rl.checkpoint_every=1",
      "--config.data.num_train=40",
      "--config.data.num_eval=10",
      "--config.rl.curriculum=0:min_ops=1,max_ops=2",
      "--config.rl.q_compute_penalty=0.1",
    ],
  )
  config.data.seq_len = 64
  return config


def test_one_rl_step_end_to_end(tmp_path):
  init = str(tmp_path / "sft")
  _init_workdir(init)
  workdir = str(tmp_path / "rl")
  summary = rl_trainer.train_rl(_rl_config(1), workdir, init_workdir=init)
  (step,) = summary["history"]
  assert step["step"] == 1
  for key in ("loss", "policy_loss", "q_loss", "reward_mean", "pass_rate", "ratio_mean", "grad_norm"):
    assert np.isfinite(step[key]), key
  assert step["execute_s"] > 0 and 1 <= step["depth_mean"] <= 2
  assert [e["step"] for e in summary["evals"]] == [0, 1]
  assert all(0 <= e["pass@1"] <= 1 and e["problems"] == 2 for e in summary["evals"])
  # The update moved the policy.
  _, before, _ = checkpoint_lib.load_for_inference(init)
  moved = jax.tree.map(
    lambda a, b: float(np.abs(np.asarray(a) - np.asarray(b)).max()), before["params"], summary["params"]
  )
  assert max(jax.tree.leaves(moved)) > 0
  # The RL workdir is a model workdir too (generate/eval read it), and says what it learnt.
  _, loaded, config = checkpoint_lib.load_for_inference(workdir)
  assert config.rl.objective.name == "gspo" and config.model.hidden_size == 16
  with open(os.path.join(workdir, rl_trainer.HISTORY_FILE)) as f:
    assert json.load(f)["history"][0]["step"] == 1


@pytest.mark.slow
def test_resumed_run_matches_an_uninterrupted_one(tmp_path):
  init = str(tmp_path / "sft")
  _init_workdir(init)
  config = _rl_config(2)
  config.rl.eval_every = 0
  full = rl_trainer.train_rl(config, str(tmp_path / "full"), init_workdir=init)
  part = str(tmp_path / "part")
  first = rl_trainer.train_rl(config, part, init_workdir=init, stop_at_step=1)
  assert first["stopped_at"] == 1
  second = rl_trainer.train_rl(config, part)
  assert [h["step"] for h in second["history"]] == [1, 2]
  for a, b in zip(full["history"], second["history"]):
    for key in ("loss", "reward_mean", "ratio_mean", "q_loss"):
      np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_rl_step_on_a_sharded_mesh(tmp_path):
  """The RL state takes the supervised trainer's layout: on 4 fake devices with data=2, fsdp=2 the embed
  dimension of every matrix is split 2 ways, and the step runs."""
  import subprocess

  worker = os.path.join(os.path.dirname(__file__), "rl_mesh_worker.py")
  import configs_for_tests as cft  # here: rl_mesh_worker.py imports this module without tests/ on its path

  env = cft.fake_devices_env(4)
  out = tmp_path / "mesh.json"
  proc = subprocess.run(
    [sys.executable, worker, str(out), str(tmp_path), "data=2,fsdp=2"],
    env=env,
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  result = json.loads(out.read_text())
  assert result["devices"] == 4 and result["finite"]
  qkv = result["params"]["['L_level']['layers_0']['self_attn']['qkv_proj']['kernel']"]
  assert qkv["global"][0] == 16 and qkv["local"][0] == 8  # (embed, qkv): embed split over fsdp=2
  assert "Resumed" not in proc.stdout


def test_train_rl_command(tmp_path, capsys):
  from hrm_jax import cli

  config = os.path.join(CONFIGS, "gspo_tiny.py")
  tiny = [
    "--config.rl.num_steps=1",
    "--config.rl.prompts_per_batch=2",
    "--config.rl.rollout.group_size=2",
    "--config.rl.num_minibatches=2",
    "--config.rl.rollout.max_new_tokens=8",
    "--config.rl.eval_every=1",
    "--config.rl.eval_size=2",
    "--config.data.num_train=40",
    "--config.data.num_eval=10",
    "--config.data.seq_len=64",
  ]
  # a new workdir without --init, a bad override and a bad source are named, and nothing is trained
  assert cli.main(["train-rl", "--config", config, "--workdir", str(tmp_path / "none"), *tiny]) == 2
  assert "--init WORKDIR_SFT" in capsys.readouterr().err
  assert (
    cli.main(["train-rl", "--config", config, "--workdir", str(tmp_path / "bad"), "--config.rl.rollout.group_sise=4"])
    == 2
  )
  assert "group_sise" in capsys.readouterr().err
  init = str(tmp_path / "sft")
  _init_workdir(init)
  assert (
    cli.main(
      [
        "train-rl",
        "--config",
        config,
        "--init",
        init,
        "--workdir",
        str(tmp_path / "mixed"),
        *tiny,
        "--config.data.mixture=procedural=1,polyglot_edit=1",
      ]
    )
    == 2
  )
  assert "data.mixture names source 'polyglot_edit'" in capsys.readouterr().err
  workdir = str(tmp_path / "rl")
  assert cli.main(["train-rl", "--config", config, "--init", init, "--workdir", workdir, *tiny]) == 0
  out = capsys.readouterr().out
  assert "rl step 1/1 | reward_mean" in out and "held-out pass@1: step 0" in out
  assert os.path.exists(os.path.join(workdir, rl_trainer.HISTORY_FILE))
