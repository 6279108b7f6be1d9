"""The architecture comparison and self-evolution benchmarks: held-out sets, leak checks, de-duplication, and one
tiny end-to-end run of each (a couple of training steps; the figures are in docs/experiments.md)."""

import json
import os

import pytest

from hrm_jax.bench import arch_compare, self_evolve

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def tiny():
  from hrm_jax.tokenizer import load_tokenizer

  sweep = arch_compare.load_sweep(arch_compare.DEFAULT_SWEEP, "tiny")
  config = arch_compare.arm_config(sweep, "hrm", 0)
  return sweep, config, load_tokenizer()


def test_heldout_tasks_graded_and_disjoint_from_training(tiny):
  _, config, tok = tiny
  tasks = arch_compare.heldout_tasks(config, max_ops=4, per_cell=3, lcb=2, max_new_tokens=24, tokenizer=tok)
  proc = [t for t in tasks if t["tier"] != arch_compare.LCB_TIER]
  # harder than training (data.max_ops = 2): every difficulty 1..4, per_cell of each in the one language
  assert sorted({t["num_ops"] for t in proc}) == [1, 2, 3, 4]
  for ops in range(1, 5):
    assert sum(t["num_ops"] == ops and t["tier"] == f"{ops}op" for t in proc) == 3
  assert len({t["question_id"] for t in tasks}) == len(tasks)
  arch_compare.check_no_leak(arch_compare.training_records(config), tasks)


def test_leak_fails_loudly(tiny):
  _, config, tok = tiny
  train = arch_compare.training_records(config)
  tasks = arch_compare.heldout_tasks(config, max_ops=2, per_cell=1, lcb=0, max_new_tokens=24, tokenizer=tok)
  leaked = dict(train[5], question_id="renamed", tier="2op")
  with pytest.raises(arch_compare.LeakError, match="same statement"):
    arch_compare.check_no_leak(train, tasks + [leaked])
  with pytest.raises(arch_compare.LeakError, match="held-out task"):
    self_evolve.check_not_heldout([dict(tasks[0], question_id="self-r1-x")], tasks)


def test_matched_flops_steps(tiny):
  sweep, _, _ = tiny
  costs = arch_compare.arm_costs(sweep, ["hrm", "transformer", "trm"])
  assert costs["hrm"]["params"] == costs["transformer"]["params"] == costs["trm"]["params"]
  ref = costs["hrm"]["train_flops"]
  for arm in ("transformer", "trm"):  # within one step of the reference budget
    c = costs[arm]
    assert abs(c["train_flops"] - ref) <= c["train_flops"] / c["num_steps"] / 2 + 1
  # the recurrent models compute more per token: the Transformer gets more steps
  assert costs["transformer"]["num_steps"] > costs["hrm"]["num_steps"]


def test_verified_solutions_deduplicated(tiny):
  _, config, tok = tiny
  tasks = arch_compare.heldout_tasks(config, max_ops=1, per_cell=1, lcb=0, max_new_tokens=24, tokenizer=tok)
  pool = self_evolve.self_play_pool(config, arch_compare.training_records(config), tasks, size=2, max_ops=2)
  assert len(pool) == 2 and all(not t["solution"] for t in pool)
  from hrm_jax.data_pipelines import procedural

  good = [procedural.arith_function("python", t["question_content"].split("returns ")[1].rstrip(".")) for t in pool]
  rows = [pool[0], pool[0], pool[1]]
  replies = [good[0], good[0] + "\n\n", "def f(x):\n    return 0\n"]  # the second is the first with blank lines
  outcomes = arch_compare.Scorer(workers=2).score(rows, replies)  # in the sandbox
  assert [o[0] for o in outcomes] == [True, True, False]
  seen = set()
  new = self_evolve.verified_records(rows, replies, outcomes, 1, seen, set())
  assert len(new) == 1 and new[0]["solution"] == good[0] and new[0]["source_id"] == pool[0]["question_id"]
  assert self_evolve.verified_records(rows, replies, outcomes, 2, seen, set()) == []  # a later round: no repeat


@pytest.mark.slow
def test_arch_compare_end_to_end(tmp_path):
  out = tmp_path / "out"
  # the Transformer arm (the cheapest to compile; the HRM trains in test_self_evolve_end_to_end)
  args = ["--size", "tiny", "--arms", "transformer", "--workdir", str(tmp_path / "w"), "--out", str(out)]
  assert arch_compare.main(args) == 0
  run = json.loads((out / "runs" / "transformer_s0.json").read_text())
  assert {t["tier"] for t in run["tasks"]} == {"1op", "2op", "3op"}
  assert set(run["tasks"][0]["results"]) == {"act1", "act2", "forced2"}
  assert all(1 <= t["results"]["act2"]["depth"] <= 2 for t in run["tasks"])
  summary = json.loads((out / "summary.json").read_text())
  assert summary["arms"]["transformer"]["num_steps"] > 2  # the HRM's 2 steps of FLOPs
  assert "pass@1 per difficulty" in (out / "table.md").read_text()
  assert arch_compare.main(args) == 0  # a rerun reuses the finished run


@pytest.mark.slow
def test_self_evolve_end_to_end(tmp_path):
  sweep = arch_compare.load_sweep(arch_compare.DEFAULT_SWEEP, "tiny")
  fixed = {k: v for k, v in sweep["fixed"].items() if k.startswith(("model.", "train."))}
  overrides = arch_compare._overrides({**fixed, "data.num_train": 200, "data.seq_len": 64})
  args = ["--rounds", "1", "--pool", "3", "--samples", "2", "--eval-max-ops", "2", "--eval-per-cell", "1"]
  args += ["--max-new-tokens", "16", "--workdir", str(tmp_path / "w"), "--out", str(tmp_path / "out")]
  assert self_evolve.main(args + overrides) == 0
  summary = json.loads((tmp_path / "out" / "summary.json").read_text())
  assert [r["round"] for r in summary["rounds"]] == [0, 1]
  assert summary["rounds"][0]["new_records"] == summary["rounds"][1]["self_records"]
