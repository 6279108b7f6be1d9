"""Rewards from real sandbox runs of correct, wrong, non-compiling and looping programs (procedural tasks)."""

import shutil

import numpy as np
import pytest

from hrm_jax.data_pipelines import procedural
from hrm_jax.rl import execution, rewards
from hrm_jax.sandbox import runner


def _record(language: str, family: str = "arith") -> dict:
  cfg = procedural.ProceduralConfig(languages=(language,), families=(family,), num_eval=5, max_ops=2)
  return procedural.generate(cfg, "eval", 1)[0]


def test_python_programs_scored_through_the_sandbox():
  record = _record("python")
  total = execution.num_tests(record)
  correct = record["solution"]
  # Right on x == 0 only: fails some tests but not all (partial credit from the FAIL lines).
  expected0 = procedural.eval_expr(correct.split("return ")[1].strip(), 0)
  partial = f"def f(x):\n    return {expected0}\n"
  cases = {
    "correct": correct,
    "wrong": correct.replace("return ", "return 1000 + "),
    "partial": partial,
    "syntax": "def f(x)\n    return x\n",
    "crash": "def f(x):\n    return undefined_name\n",
    "loop": "def f(x):\n    while True:\n        pass\n",
  }
  config = execution.ExecutionConfig(wall_s=3.0, workers=2)
  outcomes = dict(zip(cases, execution.execute_many([(record, c) for c in cases.values()], config)))
  assert outcomes["correct"] == rewards.ExecutionOutcome(total, total, True, rewards.STATUS_PASSED)
  assert outcomes["wrong"] == rewards.ExecutionOutcome(0, total, True, rewards.STATUS_FAILED)
  assert outcomes["syntax"] == rewards.ExecutionOutcome(0, total, False, rewards.STATUS_COMPILE_ERROR)
  assert outcomes["crash"].status == rewards.STATUS_RUNTIME_ERROR and outcomes["crash"].compiled
  assert outcomes["loop"].status == rewards.STATUS_TIMEOUT
  assert outcomes["partial"].status == rewards.STATUS_FAILED
  assert 0 <= outcomes["partial"].tests_passed < total

  config_r = rewards.RewardConfig(weights={"all_tests_passed": 1.0, "test_pass_fraction": 0.5, "compiled": 0.1})
  scored, parts = rewards.compute_rewards(config_r, [rewards.RewardInput(outcome=o) for o in outcomes.values()])
  by_name = dict(zip(cases, scored))
  assert by_name["correct"] == pytest.approx(1.6)
  assert by_name["wrong"] == pytest.approx(0.1) and by_name["syntax"] == 0.0
  assert by_name["partial"] == pytest.approx(0.1 + 0.5 * outcomes["partial"].tests_passed / total)
  np.testing.assert_array_equal(parts["compiled"], [1, 1, 1, 0, 1, 1])


def test_predict_tasks_compare_the_answer_text():
  record = _record("python", "predict")
  expected = record["solution"]
  assert execution.execute(record, expected).status == rewards.STATUS_PASSED
  assert execution.execute(record, "not a number").status == rewards.STATUS_FAILED


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_javascript_compile_errors_are_recognised():
  record = _record("javascript")
  assert execution.execute(record, record["solution"]).status == rewards.STATUS_PASSED
  broken = execution.execute(record, "function f(x) { return x +; }\n")
  assert broken.status == rewards.STATUS_COMPILE_ERROR and not broken.compiled


def test_sandbox_errors_are_not_rewards():
  result = runner.RunResult(runner.Outcome.SANDBOX_ERROR, None, None, "", "", 0.0, 0.0, 0, "rlimits", "boom")
  with pytest.raises(RuntimeError, match="sandbox error"):
    execution.outcome_from_run("python", 3, result)
