"""Search strategies on tasks where they must differ, with scripted generators (real policies: functions from a
prompt to a reply) and the real LiveCodeBench grader in the sandbox."""

import json

import pytest

from hrm_jax.agent import search
from hrm_jax.evals import livecodebench as lcb

# f(x) = 2x; public tests f(1) = 2, f(2) = 4; a private test f(5) = 10.
RIGHT = "def f(x):\n    return x * 2\n"
HALF = "def f(x):\n    return x + 1\n"  # passes f(1) only
WRONG = "def f(x):\n    return x * 3\n"  # passes no public test


def _problem() -> lcb.Problem:
  def functional(i, o):
    return {"input": i, "output": o, "testtype": "functional"}

  return lcb.problem_from_record(
    {
      "question_title": "double",
      "question_content": "Write a Python function `f(x)` that returns x * 2.",
      "platform": "procedural",
      "question_id": "double",
      "contest_id": "procedural",
      "contest_date": "2026-01-01T00:00:00",
      "starter_code": "",
      "difficulty": "easy",
      "public_test_cases": json.dumps([functional("1", "2"), functional("2", "4")]),
      "private_test_cases": json.dumps([functional("5", "10")]),
      "metadata": json.dumps({"func_name": "f"}),
    }
  )


class Script:
  """A policy: the root prompt gets `first` replies in turn; a repair prompt gets what `repair` maps the attempt
  (and the feedback in the prompt) to. Records every prompt it is sent."""

  def __init__(self, first, repair):
    self.first, self.repair, self.prompts, self.count = first, repair, [], 0

  def __call__(self, prompts: list[str]) -> list[str]:
    replies = []
    for p in prompts:
      self.prompts.append(p)
      if "This attempt has a bug" not in p:
        replies.append(self.first[self.count % len(self.first)])
        self.count += 1
      else:
        replies.append(self.repair(p))
    return replies


def _answer_passes(problem, result) -> bool:
  return result.answer is not None and problem.grade(result.answer.code).passed


def test_repair_feeds_the_failure_back_and_fixes_it():
  problem = search.CodeProblem(_problem(), style="statement")
  # The fix needs the feedback: the policy repairs only when the failing test's expected output is in the prompt.
  policy = Script([HALF], lambda p: RIGHT if "Expected: '4'" in p and HALF in p else HALF)
  config = search.SearchConfig("repair", budget=3)
  result = search.search(problem, policy, config)
  assert result.calls == 2 and result.answer.code == RIGHT.strip("\n") and _answer_passes(problem, result)
  assert result.attempts[0].check.score == 0.5 and "Expected: '4'" in policy.prompts[1]
  sampled = search.search(problem, Script([HALF], lambda p: RIGHT), search.SearchConfig("sample", budget=3))
  assert sampled.calls == 3 and not _answer_passes(problem, sampled)  # the same budget, no feedback: no fix


def test_mcts_finds_what_greedy_repair_and_sampling_miss():
  problem = search.CodeProblem(_problem(), style="statement")

  def repair(prompt):  # repairing the half-right attempt stays half right; the wrong one leads to the fix
    return RIGHT if WRONG.strip() in prompt else HALF

  budget = 8
  results = {
    s: search.search(problem, Script([HALF, WRONG], repair), search.SearchConfig(s, budget=budget))
    for s in search.STRATEGIES
  }
  assert not _answer_passes(problem, results["sample"]) and results["sample"].calls == budget
  assert not _answer_passes(problem, results["repair"]) and results["repair"].calls == budget
  tree = results["mcts"]
  assert _answer_passes(problem, tree) and tree.calls <= budget
  assert tree.attempts[tree.attempts.index(tree.answer)].parent is not None  # found below a first attempt


def test_strategy_names_and_overflow_fallback():
  with pytest.raises(ValueError, match="--strategy"):
    search.SearchConfig("beam")
  problem = search.CodeProblem(_problem(), style="statement")
  sent = []

  def short(prompts):
    sent.extend(prompts)
    return [HALF for _ in prompts]

  short.context_overflow = lambda p: None if len(p) < 80 else "too long"
  problem.prompt = "f(x) = 2x"  # fits; a repair prompt (with the attempt) does not: a fresh sample instead
  result = search.search(problem, short, search.SearchConfig("repair", budget=2))
  assert result.calls == 2 and result.overflowed == 1 and sent == ["f(x) = 2x"] * 2


def test_polyglot_repair_through_the_evaluator(tmp_path):
  from hrm_jax.data_pipelines import polyglot as polyglot_data
  from hrm_jax.evals import polyglot

  (exercise,) = polyglot.find_exercises(polyglot_data.BUNDLED_ROOT, ["python"], ["word-tally"])
  solution = (exercise.pristine / ".meta" / "example.py").read_text()

  def policy(prompts):  # aider's second try: the fix comes only once the test output is in the prompt
    return [f"word_tally.py\n```\n{solution}```\n" if "The tests failed" in p else "No change needed." for p in prompts]

  config = search.SearchConfig("repair", budget=3)
  summary, (result,) = polyglot.evaluate([exercise], policy, tmp_path, edit_format="whole", strategy=config)
  assert result["tests_outcomes"] == [True] and result["num_replies"] == 2
  assert summary["overall"]["pass_rate_1"] == 100.0
  assert (tmp_path / "python" / "word-tally" / "word_tally.py").read_text() == solution


def test_eval_livecodebench_cli_strategy(tmp_path, capsys):
  from hrm_jax import cli
  from hrm_jax.data_pipelines import input_pipeline

  problems = tmp_path / "p.jsonl"
  problems.write_text("".join(line + "\n" for line in open(input_pipeline.BUNDLED_LCB_SAMPLE).read().splitlines()[:1]))
  code = cli.main(
    [
      "eval",
      "livecodebench",
      "--problems",
      str(problems),
      "--scenario",
      "codegeneration",
      "--oracle",
      "--strategy",
      "mcts",
      "--budget",
      "3",
      "--out",
      str(tmp_path / "out"),
    ]
  )
  assert code == 0
  report = json.loads((tmp_path / "out" / "report.json").read_text())
  assert report["overall"]["pass@1"] == 1.0 and report["strategy"] == "mcts" and report["budget"] == 3
  assert (
    cli.main(
      [
        "eval",
        "livecodebench",
        "--problems",
        str(problems),
        "--scenario",
        "selfrepair",
        "--oracle",
        "--strategy",
        "mcts",
        "--out",
        str(tmp_path / "o2"),
      ]
    )
    == 2
  )
  assert "--strategy applies to --scenario codegeneration" in capsys.readouterr().err
