"""Polyglot harness on small Python exercises (the toolchain layer adds the other languages)."""

import json
import pathlib

import pytest

from hrm_jax.evals import edit_formats, polyglot

STUB = "def add(a, b):\n    pass\n"
SOLUTION = "def add(a, b):\n    return a + b\n"
TESTS = (
  "import unittest\n\nfrom adder import add\n\n\nclass AdderTest(unittest.TestCase):\n"
  "    def test_secret_case_7731(self):\n        self.assertEqual(add(2, 3), 5)\n"
)


def make_exercises(root: pathlib.Path, names=("adder",)) -> pathlib.Path:
  for name in names:
    ex = root / "python" / "exercises" / "practice" / name
    (ex / ".meta").mkdir(parents=True)
    (ex / ".docs").mkdir()
    (ex / ".docs" / "instructions.md").write_text("# Instructions\n\nImplement `add(a, b)` returning a + b.\n")
    (ex / "adder.py").write_text(STUB)
    (ex / "adder_test.py").write_text(TESTS)
    (ex / ".meta" / "example.py").write_text(SOLUTION)
    (ex / ".meta" / "config.json").write_text(
      json.dumps({"files": {"solution": ["adder.py"], "test": ["adder_test.py"], "example": [".meta/example.py"]}})
    )
  return root


def test_find_exercises_and_editable(tmp_path):
  exercises = polyglot.find_exercises(make_exercises(tmp_path), ["python"])
  assert [(e.language, e.name) for e in exercises] == [("python", "adder")]
  assert exercises[0].editable() == ["adder.py"]
  assert polyglot.reference_files(exercises[0]) == {"adder.py": SOLUTION}
  with pytest.raises(ValueError):
    polyglot.find_exercises(tmp_path, ["cobol"])


def test_oracle_passes_and_stub_fails(tmp_path):
  exercises = polyglot.find_exercises(make_exercises(tmp_path / "ex"), ["python"])
  summary, _ = polyglot.evaluate(exercises, None, tmp_path / "oracle", oracle=True)
  assert summary["overall"]["pass_rate_1"] == 100.0
  summary, results = polyglot.evaluate(
    exercises, lambda ps: ["I cannot help."] * len(ps), tmp_path / "stub", edit_format="whole"
  )
  assert summary["overall"]["pass_rate_2"] == 0.0
  assert results[0]["tests_outcomes"] == [False, False]
  assert results[0]["outcomes"] == ["failed_tests", "failed_tests"]


def test_second_try_gets_test_output_and_tests_stay_hidden(tmp_path):
  exercises = polyglot.find_exercises(make_exercises(tmp_path / "ex"), ["python"])
  prompts = []

  def generator(batch):
    replies = []
    for prompt in batch:
      prompts.append(prompt)
      if "The tests failed with the output above" in prompt:
        replies.append(edit_formats.render_search_replace("adder.py", "    return a - b\n", "    return a + b\n"))
      else:  # First try: wrong code, and an attempt to weaken the tests.
        replies.append(
          edit_formats.render_search_replace("adder.py", "    pass\n", "    return a - b\n")
          + edit_formats.render_search_replace("adder_test.py", "", "# gutted\n")
        )
    return replies

  summary, results = polyglot.evaluate(exercises, generator, tmp_path / "out", edit_format="diff")
  assert results[0]["tests_outcomes"] == [False, True]
  assert summary["overall"]["pass_rate_1"] == 0.0 and summary["overall"]["pass_rate_2"] == 100.0
  assert "AssertionError" in prompts[-1] or "FAILED" in prompts[-1]
  assert "self.assertEqual(add(2, 3), 5)" not in prompts[0]  # tests are never shown (only their output)
  assert "class AdderTest" not in prompts[0]
  assert str(tmp_path) not in prompts[-1]  # sandbox paths are replaced by the exercise name
  assert (tmp_path / "out" / "python" / "adder" / polyglot.RESULTS_FILE).exists()


def test_malformed_reply_is_counted_and_reflected(tmp_path):
  exercises = polyglot.find_exercises(make_exercises(tmp_path / "ex"), ["python"])
  calls = []

  def generator(batch):
    calls.extend(batch)
    if len(calls) == 1:
      return ["adder.py\n```\n<<<<<<< SEARCH\nnot in the file\n=======\nx\n>>>>>>> REPLACE\n```\n"]
    return [edit_formats.render_search_replace("adder.py", "    pass\n", "    return a + b\n")]

  summary, results = polyglot.evaluate(exercises, generator, tmp_path / "out")
  assert results[0]["num_malformed_responses"] == 1
  assert "SearchReplaceNoExactMatch" in calls[1]
  assert summary["overall"]["percent_cases_well_formed"] == 0.0
  assert summary["overall"]["pass_rate_1"] == 100.0


def test_results_dir_resumes(tmp_path):
  exercises = polyglot.find_exercises(make_exercises(tmp_path / "ex", ("adder", "adder2")), ["python"])
  out = tmp_path / "out"
  polyglot.evaluate(exercises[:1], None, out, oracle=True)

  def must_not_run(batch):
    raise AssertionError("finished exercise was re-run")

  summary, results = polyglot.evaluate(exercises, must_not_run, out)
  assert results[0]["tests_outcomes"] == [True]
  assert "exception" in results[1]  # the unfinished one ran (and its generator failure is recorded)
  assert summary["overall"]["completed_tests"] == 2 and summary["overall"]["exceptions"] == 1
