"""LiveCodeBench scenarios as training data, and the temporal filter."""

import ast
import dataclasses
import json
import random

import pytest

from hrm_jax.data_pipelines import input_pipeline as ip
from hrm_jax.data_pipelines import lcb_sample_build, scenarios
from hrm_jax.data_pipelines import livecodebench as lcb


@pytest.fixture(scope="module")
def problems():
  return lcb.read_jsonl(ip.BUNDLED_LCB_SAMPLE)


def test_temporal_filter(problems):
  kept, report = scenarios.filter_by_cutoff(problems, "2024-01-31")
  assert all(p.contest_date[:10] <= "2024-01-31" for p in kept)
  assert len(kept) + len(report.removed) == len(problems) and report.removed
  assert all(p.contest_date[:10] > "2024-01-31" for p in problems if p.question_id in report.removed)
  assert "removed" in report.line()
  with pytest.raises(ValueError, match="--cutoff"):
    scenarios.filter_by_cutoff(problems, "January")
  cfg = ip.default_data_config()
  cfg.source, cfg.lcb_cutoff, cfg.seq_len = "livecodebench_sample", "2024-01-31", 1024
  train_ids = {r["question_id"] for r in ip.load_records(cfg, "train")}
  eval_ids = {r["question_id"] for r in ip.load_records(cfg, "eval")}
  assert train_ids == {p.question_id for p in kept} and eval_ids == set(report.removed)


def test_test_output_prediction_answers_are_right(problems):
  functional = [p for p in problems if p.is_functional][:10]
  for p in functional:
    for r in scenarios.test_output_prediction_records(p):
      assert "# TODO" in r["question_content"] and r["task"] == "test_output_prediction"
      rhs = ast.parse(r["solution"]).body[0].test.comparators[0]
      expected = [json.loads(t.output) for t in p.public_tests + p.private_tests]
      assert ast.literal_eval(rhs) in expected


def test_code_execution_literal_makes_the_assertion_pass(problems):
  functional = [p for p in problems if p.is_functional][:8]
  jobs = []
  for p in functional:
    for r in scenarios.code_execution_records(p):
      call = r["question_content"].split("assert ", 1)[1].split(" == ??")[0]
      code = p.extra["solution"] + f"\nassert {call} == {r['solution']}\nprint('ok')\n"
      jobs.append({"code": code, "tests": [{"input": "", "output": "ok\n"}], "func_name": None})
  assert jobs
  assert all(res == [True] for res in lcb_sample_build.run_python_tests_batch(jobs))


def test_self_repair_mutants_really_fail_and_feedback_is_real(problems):
  subset = problems[:6] + [p for p in problems if p.is_functional][:6]
  records = scenarios.self_repair_records(subset, seed=0, per_problem=1)
  assert len(records) >= 8
  by_id = {p.question_id: p for p in subset}
  jobs = []
  for r in records:
    p = by_id[r["question_id"].split("/")[0]]
    broken = r["question_content"].split("This program was written for the problem above:\n", 1)[1]
    broken = broken.split("\nThe program ", 1)[0]
    assert broken != p.extra["solution"] and r["solution"] == p.extra["solution"]
    assert "Input:" in r["question_content"] and "Expected:" in r["question_content"]
    jobs.append(
      {
        "code": broken,
        "tests": [dataclasses.asdict(t) for t in p.public_tests + p.private_tests],
        "func_name": p.func_name,
        "stop_at_first_failure": True,
      }
    )
  for res in lcb_sample_build.run_python_tests_batch(jobs, per_test_seconds=1.0):
    assert any(x is not True for x in res)


def test_mutation_is_deterministic_and_changes_the_program():
  code = "def f(x):\n    if x < 3:\n        return x + 1\n    return x * 2\n"
  a = scenarios.mutate(code, random.Random(1))
  b = scenarios.mutate(code, random.Random(1))
  assert a == b and a is not None and a[0] != code
  ast.parse(a[0])


def test_scenario_source_in_the_pipeline():
  cfg = ip.default_data_config()
  cfg.source, cfg.seq_len = "lcb_scenarios", 1024
  records = ip.load_records(cfg, "train")
  assert {r["task"] for r in records} == set(scenarios.SCENARIOS)
  batch = next(iter(ip.make_dataset(cfg, "train", batch_size=8, seed=0, repeat=True)))
  assert batch["inputs"].shape == (8, 1024)
