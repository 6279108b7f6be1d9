"""Tests for hrm_jax/rl/rewards.py, scored on real executions of small Python programs."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np
import pytest

from hrm_jax.rl import objectives, rewards

_TESTS_UNITTEST = """\
import unittest
from solution import add

class AddTest(unittest.TestCase):
  def test_positive(self):
    self.assertEqual(add(1, 2), 3)
  def test_negative(self):
    self.assertEqual(add(-1, 1), 0)
  def test_double(self):
    self.assertEqual(add(2, 2), 4)

if __name__ == "__main__":
  unittest.main()
"""

_TESTS_PYTEST = """\
from solution import add

def test_positive():
  assert add(1, 2) == 3

def test_negative():
  assert add(-1, 1) == 0

def test_double():
  assert add(2, 2) == 4
"""

_CORRECT = "def add(a, b):\n  return a + b\n"
_WRONG = "def add(a, b):\n  return a + b if a > 0 else a - b\n"  # fails test_negative only
_SYNTAX_ERROR = "def add(a, b)\n  return a + b\n"
_INFINITE_LOOP = "def add(a, b):\n  while True:\n    pass\n"


def _execute(workdir: pathlib.Path, solution: str, runner: str, timeout_s: float = 120.0) -> rewards.ExecutionOutcome:
  """Compiles solution.py, runs its tests with `runner` under a timeout, and parses the report."""
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / "solution.py").write_text(solution)
  (workdir / "test_solution.py").write_text(_TESTS_UNITTEST if runner == "unittest" else _TESTS_PYTEST)
  compile_run = subprocess.run(
    [sys.executable, "-m", "py_compile", "solution.py"], cwd=workdir, capture_output=True, text=True, timeout=timeout_s
  )
  if compile_run.returncode != 0:
    assert "SyntaxError" in compile_run.stderr
    return rewards.parse_test_report(compile_run.stderr, compile_run.returncode, compiled=False, expected_tests=3)
  command = (
    [sys.executable, "-m", "unittest", "-v", "test_solution"]
    if runner == "unittest"
    else [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_solution.py"]
  )
  try:
    run = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout_s)
  except subprocess.TimeoutExpired as expired:
    partial = expired.stdout or b""
    partial = partial.decode(errors="replace") if isinstance(partial, bytes) else partial
    return rewards.parse_test_report(partial, None, timed_out=True, expected_tests=3)
  return rewards.parse_test_report(run.stdout + run.stderr, run.returncode, expected_tests=3)


_CONFIG = rewards.RewardConfig(weights={"all_tests_passed": 1.0, "test_pass_fraction": 0.5, "compiled": 0.1})


@pytest.mark.parametrize("runner", ["unittest", "pytest"])
def test_rewards_of_correct_and_wrong_programs(tmp_path, runner):
  correct = _execute(tmp_path / "correct", _CORRECT, runner)
  assert correct == rewards.ExecutionOutcome(3, 3, True, rewards.STATUS_PASSED)
  reward, parts = rewards.compute_reward(_CONFIG, rewards.RewardInput(outcome=correct))
  assert parts == {"all_tests_passed": 1.0, "test_pass_fraction": 1.0, "compiled": 1.0}
  assert reward == pytest.approx(1.6)

  wrong = _execute(tmp_path / "wrong", _WRONG, runner)
  assert wrong == rewards.ExecutionOutcome(2, 3, True, rewards.STATUS_FAILED)
  reward, parts = rewards.compute_reward(_CONFIG, rewards.RewardInput(outcome=wrong))
  assert parts["all_tests_passed"] == 0.0
  assert parts["test_pass_fraction"] == pytest.approx(2 / 3)
  assert reward == pytest.approx(0.5 * 2 / 3 + 0.1)


def test_rewards_of_non_compiling_and_timed_out_programs(tmp_path):
  broken = _execute(tmp_path / "syntax", _SYNTAX_ERROR, "unittest")
  assert broken == rewards.ExecutionOutcome(0, 3, False, rewards.STATUS_COMPILE_ERROR)
  reward, parts = rewards.compute_reward(_CONFIG, rewards.RewardInput(outcome=broken))
  assert reward == 0.0 and parts == {"all_tests_passed": 0.0, "test_pass_fraction": 0.0, "compiled": 0.0}

  looping = _execute(tmp_path / "loop", _INFINITE_LOOP, "unittest", timeout_s=3.0)
  assert looping.status == rewards.STATUS_TIMEOUT and looping.compiled and looping.tests_total == 3
  reward, parts = rewards.compute_reward(_CONFIG, rewards.RewardInput(outcome=looping))
  assert parts["all_tests_passed"] == 0.0 and parts["compiled"] == 1.0
  assert reward == pytest.approx(0.1 + 0.5 * looping.tests_passed / 3)


def test_executed_group_gives_gspo_advantages(tmp_path):
  # One prompt, four sampled programs: the right one gets the only positive advantage.
  outcomes = [
    _execute(tmp_path / str(i), program, "unittest")
    for i, program in enumerate([_CORRECT, _WRONG, _SYNTAX_ERROR, _CORRECT])
  ]
  config = rewards.RewardConfig(weights={"all_tests_passed": 1.0})
  scores, parts = rewards.compute_rewards(config, [rewards.RewardInput(outcome=o) for o in outcomes])
  np.testing.assert_array_equal(scores, [1.0, 0.0, 0.0, 1.0])
  assert parts["all_tests_passed"].shape == (4,)
  advantages, _ = objectives.group_advantages_grid(scores[None, :], epsilon=0.0)
  np.testing.assert_allclose(advantages[0], [0.8660254, -0.8660254, -0.8660254, 0.8660254], rtol=1e-6)


@pytest.mark.parametrize(
  "output, returncode, expected",
  [
    ("test_a ... ok\n\n----\nRan 2 tests in 0.001s\n\nOK\n", 0, (2, 2, rewards.STATUS_PASSED)),
    ("Ran 5 tests in 0.1s\n\nFAILED (failures=1, errors=1, skipped=1)\n", 1, (2, 4, rewards.STATUS_FAILED)),
    ("Ran 3 tests in 0.0s\n\nOK (skipped=1)\n", 0, (2, 2, rewards.STATUS_PASSED)),
    ("..F\n1 failed, 2 passed in 0.05s\n", 1, (2, 3, rewards.STATUS_FAILED)),
    ("==== 1 failed, 3 passed, 1 error, 2 warnings in 1.20s ====\n", 1, (3, 5, rewards.STATUS_FAILED)),
    ("==== 4 passed in 0.3s (0:00:00) ====\n", 0, (4, 4, rewards.STATUS_PASSED)),
    ("Traceback (most recent call last):\nImportError: boom\n", 1, (0, 0, rewards.STATUS_RUNTIME_ERROR)),
    ("", 0, (0, 0, rewards.STATUS_NO_TESTS)),
  ],
)
def test_parse_test_report(output, returncode, expected):
  outcome = rewards.parse_test_report(output, returncode)
  assert (outcome.tests_passed, outcome.tests_total, outcome.status) == expected


_EDIT_REPLY = """\
I will fix the sign.

solution.py
```python
<<<<<<< SEARCH
  return a - b
=======
  return a + b
>>>>>>> REPLACE
```

```python
<<<<<<< SEARCH
=======
def sub(a, b):
  return a - b
>>>>>>> REPLACE
```
"""


def test_parse_edit_blocks():
  blocks = rewards.parse_edit_blocks(_EDIT_REPLY)
  assert blocks == [
    rewards.EditBlock("solution.py", "  return a - b\n", "  return a + b\n"),
    rewards.EditBlock("solution.py", "", "def sub(a, b):\n  return a - b\n"),  # name reused
  ]
  fenced = "```src/util.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n```\n"
  assert rewards.parse_edit_blocks(fenced)[0].path == "src/util.py"
  assert rewards.edit_blocks_well_formed(_EDIT_REPLY)
  malformed = {
    "no divider": "a.py\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n",
    "no tail": "a.py\n<<<<<<< SEARCH\nx\n=======\ny\n",
    "no file name": "<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n",
    "stray tail": "a.py\n>>>>>>> REPLACE\n",
  }
  for reason, text in malformed.items():
    with pytest.raises(rewards.EditFormatError):
      rewards.parse_edit_blocks(text)
    assert not rewards.edit_blocks_well_formed(text), reason
  assert not rewards.edit_blocks_well_formed("just prose, no edits")


def test_edit_format_and_patch_similarity():
  reference = "--- a/solution.py\n+++ b/solution.py\n@@\n-  return a - b\n+  return a + b\n"
  close = "--- a/solution.py\n+++ b/solution.py\n@@\n-  return a - b\n+  return b + a\n"
  config = rewards.RewardConfig(weights={"edit_format": 0.2, "patch_similarity": 1.0})
  exact, parts = rewards.compute_reward(
    config,
    rewards.RewardInput(response=_EDIT_REPLY, is_edit=True, predicted_patch=reference, reference_patch=reference),
  )
  assert parts == {"edit_format": 1.0, "patch_similarity": 1.0} and exact == pytest.approx(1.2)
  _, parts = rewards.compute_reward(
    config, rewards.RewardInput(response=_EDIT_REPLY, is_edit=True, predicted_patch=close, reference_patch=reference)
  )
  assert 0.8 < parts["patch_similarity"] < 1.0
  # A reply with no well-formed edit gets SWE-RL's -1, whatever its patch.
  malformed, parts = rewards.compute_reward(
    config,
    rewards.RewardInput(
      response="a.py\n<<<<<<< SEARCH\nx\n", is_edit=True, predicted_patch=reference, reference_patch=reference
    ),
  )
  assert parts == {"edit_format": 0.0, "patch_similarity": -1.0} and malformed == -1.0
  # Not an edit task: neither component applies.
  _, parts = rewards.compute_reward(config, rewards.RewardInput(response=_EDIT_REPLY))
  assert parts == {"edit_format": 0.0, "patch_similarity": 0.0}
  assert rewards.patch_similarity_ratio("abcd", "abce") == pytest.approx(0.75)


def test_length_penalty_follows_dapo():
  config = rewards.RewardConfig(weights={"length_penalty": 1.0}, length_max_tokens=100, length_cache_tokens=20)
  values = [rewards.compute_reward(config, rewards.RewardInput(num_tokens=n))[0] for n in (10, 80, 90, 100, 150)]
  assert values == pytest.approx([0.0, 0.0, -0.5, -1.0, -1.0])
  with pytest.raises(ValueError, match="length_cache_tokens"):
    rewards.RewardConfig(weights={"length_penalty": 1.0})


def test_config_validation():
  with pytest.raises(ValueError, match="test_pass_fraction"):
    rewards.RewardConfig(weights={"pass_rate": 1.0})
  config = rewards.RewardConfig.from_mapping({"weights": {"compiled": 1}, "length_max_tokens": 5})
  assert config.weights == {"compiled": 1.0} and config.length_max_tokens == 5
  with pytest.raises(ValueError, match="config.rl.rewards has unknown field"):
    rewards.RewardConfig.from_mapping({"weight": {}})
  with pytest.raises(ValueError, match="tests_passed"):
    rewards.ExecutionOutcome(4, 3, True, rewards.STATUS_FAILED)
  with pytest.raises(ValueError, match="status"):
    rewards.ExecutionOutcome(0, 3, True, "crashed")
