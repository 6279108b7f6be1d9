"""LiveCodeBench harness: comparison rules, loading, the four scenarios, oracle at 100%."""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import lcb_fixtures  # noqa: E402

from hrm_jax.evals import livecodebench as lcb  # noqa: E402


@pytest.fixture(scope="module")
def problems(tmp_path_factory):
  return lcb.load_problems(lcb_fixtures.write(tmp_path_factory.mktemp("lcb") / "problems.jsonl"))


def test_stdin_comparison_rules():
  assert lcb.stdin_outputs_match("7   \n", "7\n")
  assert lcb.stdin_outputs_match("\n\n1 2\n3\n\n\n", "1 2\n3")
  assert lcb.stdin_outputs_match("2.5\n", "2.50\n")
  assert lcb.stdin_outputs_match("1e2 3\n", "100 3.0\n")
  assert not lcb.stdin_outputs_match("2.5000001\n", "2.5\n")
  assert not lcb.stdin_outputs_match("a  b\n", "a b\n")
  assert not lcb.stdin_outputs_match("1\n\n2\n", "1\n2\n")
  assert not lcb.stdin_outputs_match("Yes\n", "yes\n")
  assert lcb.call_outputs_match("[1, 3]", "[1, 3]")
  assert lcb.call_outputs_match("1.0", "1")
  assert not lcb.call_outputs_match("[1, 3]", "[3, 1]")


def test_loading_decodes_private_tests_and_filters_dates(problems, tmp_path):
  assert [p.question_id for p in problems] == ["abc900_a", "abc900_b", "9001", "9002"]
  assert len(problems[0].tests) == 3 and problems[0].tests[1].output == "8\n"
  assert problems[2].func_name == "sumList" and problems[0].func_name is None
  path = lcb_fixtures.write(tmp_path / "p.jsonl")
  window = lcb.load_problems(path, start_date="2024-01-01", end_date="2024-06-01")
  assert [p.question_id for p in window] == ["abc900_b", "9001"]
  assert [p.question_id for p in lcb.load_problems(path, platform="leetcode")] == ["9001", "9002"]


def test_extraction():
  assert lcb.extract_code("text\n```python\nfirst\n```\nmore\n```python\nsecond\n```\n") == "second"
  assert lcb.extract_code("no fences") == ""
  assert lcb.extract_test_output("blah\nassert f(1) == 2\n") == "assert f(1) == 2"
  assert lcb.extract_execution_answer("assert f(1) == [1, 2] [/ANSWER]") == "[1, 2]"
  assert lcb.extract_execution_answer("thinking [ANSWER] assert f(1) == 3\nok", cot=True) == "3"


def test_oracle_codegeneration_scores_100(problems):
  summary, records = lcb.evaluate(problems, "codegeneration", None, oracle=True, workers=2)
  assert summary["overall"]["pass@1"] == 1.0, [r.grades for r in records]
  assert set(summary["by_difficulty"]) == {"easy", "medium", "hard"}
  assert summary["by_platform"]["leetcode"]["problems"] == 2


def test_wrong_programs_are_categorised(problems):
  wrong = {
    "abc900_a": "```python\nprint(input())\n```",  # wrong answer
    "abc900_b": "```python\nwhile True:\n  pass\n```",  # time limit
    "9001": "```python\nclass Solution:\n  def sumList(self, nums):\n    return 1 / 0\n```",  # runtime
    "9002": "```python\nclass Solution(:\n```",  # compile error
  }
  by_prompt = {lcb.codegen_prompt(p): wrong[p.question_id] for p in problems}
  grades = lcb.grade_programs(
    [(p, lcb.extract_code(by_prompt[lcb.codegen_prompt(p)])) for p in problems], workers=2, timeout_s=1
  )
  assert [g.category for g in grades] == ["wrong_answer", "time_limit", "runtime_error", "compile_error"]
  assert grades[0].metadata["expected"] == "7\n" and "3 4" in grades[0].metadata["output"]
  assert "ZeroDivisionError" in grades[2].metadata["error"]


def test_nested_tuple_is_not_equal_to_json_list(problems):
  as_list = "class Solution:\n  def minMax(self, nums, k):\n    return [min(nums) + k, max(nums) + k]\n"
  assert lcb.grade_programs([(problems[3], as_list)])[0].passed
  nested = "class Solution:\n  def minMax(self, nums, k):\n    return [min(nums) + k, (max(nums) + k,)]\n"
  assert lcb.grade_programs([(problems[3], nested)])[0].category == "wrong_answer"


def test_selfrepair_repairs_failed_samples(problems):
  repair_prompts = []

  def generator(prompts):
    out = []
    for prompt in prompts:
      problem = next(p for p in problems if p.question_content in prompt)
      if "### Feedback:" in prompt:
        repair_prompts.append(prompt)
        out.append(f"```python\n{problem.solution}\n```")
      elif problem.question_id == "9001":
        out.append(f"```python\n{problem.solution}\n```")  # already right: not re-asked
      else:
        out.append("```python\nprint(0)\n```")
    return out

  summary, records = lcb.evaluate(problems, "selfrepair", generator)
  assert summary["overall"]["pass@1"] == 1.0
  assert len(repair_prompts) == 3
  assert any("Wrong Answer" in p and "Expected: '7\\n'" in p for p in repair_prompts)
  codegen_summary, _ = lcb.evaluate(problems, "codegeneration", generator)
  assert codegen_summary["overall"]["pass@1"] == 0.25


def test_testoutputprediction_oracle_and_sandboxed_eval(problems, tmp_path):
  summary, _ = lcb.evaluate(problems, "testoutputprediction", None, oracle=True)
  assert summary["overall"]["pass@1"] == 1.0 and summary["overall"]["problems"] == 2
  target = tmp_path / "pwned"
  hostile = f"assert sumList([1, 2, 3]) == __import__('pathlib').Path({str(target)!r}).write_text('x') or 6"
  wrong = "assert sumList([1, 2, 3]) == 7"
  grades = lcb.grade_test_outputs([(problems[2], hostile), (problems[2], wrong), (problems[2], "nonsense")])
  assert not target.exists()
  assert [g.category for g in grades][1:] == ["wrong_answer", "no_code"]


def test_codeexecution_oracle_and_dropped(problems):
  summary, _ = lcb.evaluate(problems, "codeexecution", None, oracle=True)
  assert summary["overall"]["pass@1"] == 1.0
  items = lcb.execution_problems_from_codegen(problems)
  assert items[0].input == "Solution().sumList([1, 2, 3])" and items[0].output == "6"
  records = lcb.run_codeexecution(items[:1], lambda ps: [f"assert {items[0].input} == 6"] * len(ps), 1, 1)
  assert records[0].grades[0]["passed"] is True
  records = lcb.run_codeexecution(items[:1], lambda ps: [f"{items[0].input}\n"] * len(ps), 1, 1)
  assert records[0].grades[0]["passed"] is False  # dropped: the answer repeats the input call
  records = lcb.run_codeexecution(items[:1], lambda ps: ["5\n"] * len(ps), 1, 1)
  assert records[0].grades[0]["category"] == "wrong_answer"
