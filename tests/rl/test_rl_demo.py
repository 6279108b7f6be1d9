"""The GSPO-vs-GRPO benchmark end to end on a tiny random policy: runs, scores, table and curves."""

import json
import os

import test_rl_trainer as helpers

from hrm_jax.bench import rl_demo

TINY = [
  "--config.rl.num_steps=1",
  "--config.rl.prompts_per_batch=2",
  "--config.rl.rollout.group_size=2",
  "--config.rl.num_minibatches=2",
  "--config.rl.rollout.max_new_tokens=8",
  "--config.rl.eval_every=0",
  "--config.data.num_train=40",
  "--config.data.num_eval=6",
  "--config.data.seq_len=64",
]


def test_demo_writes_scores_table_and_curves(tmp_path, capsys):
  init = str(tmp_path / "sft")
  helpers._init_workdir(init)
  out = str(tmp_path / "demo")
  assert (
    rl_demo.main(
      [
        "--init",
        init,
        "--out",
        out,
        "--seeds",
        "0",
        "--objectives",
        "gspo,grpo",
        "--samples",
        "2",
        "--config",
        os.path.join(helpers.CONFIGS, "gspo_tiny.py"),
        *TINY,
      ]
    )
    == 0
  )
  with open(os.path.join(out, "summary.json")) as f:
    summary = json.load(f)
  assert summary["init"]["problems"] == 6 and 0 <= summary["init"]["sampled_pass@1"] <= 1
  assert sorted(summary["runs"]) == ["grpo_s0", "gspo_s0"]
  for run in summary["runs"].values():
    assert len(run["history"]) == 1 and 0 <= run["final"]["greedy_pass@1"] <= 1
  assert os.path.getsize(os.path.join(out, "curves.png")) > 1000
  assert "| **gspo mean** |" in capsys.readouterr().out
  # A second call reuses the finished runs.
  assert (
    rl_demo.main(
      [
        "--init",
        init,
        "--out",
        out,
        "--seeds",
        "0",
        "--objectives",
        "gspo",
        "--config",
        os.path.join(helpers.CONFIGS, "gspo_tiny.py"),
        *TINY,
      ]
    )
    == 0
  )
  assert "gspo_s0: done earlier" in capsys.readouterr().out
