"""Rewards from execution feedback, composed by config weights.

A reward is a weighted sum of named components, each a function of one `RewardInput` (the response text, its
token count, the task kind, and the `ExecutionOutcome` of running it):

  test_pass_fraction  tests passed / tests run (0 without tests or when the program did not compile)
  all_tests_passed    1 when every test ran and passed, else 0
  compiled            1 when the program compiled (or, for interpreted languages, parsed)
  edit_format         edit tasks: 1 when the reply holds at least one SEARCH/REPLACE block and every block is
                      well-formed (aider's `diff` format, see shared/reference/benchmarks.md A5), else 0
  patch_similarity    edit tasks with a reference patch and no tests: difflib.SequenceMatcher ratio between the
                      predicted and the reference patch in [0, 1], and -1 when the reply is not a well-formed
                      edit (SWE-RL, Wei et al. 2025, arXiv 2502.18449, section 2.1)
  length_penalty      DAPO's soft overlong punishment (Yu et al. 2025, arXiv 2503.14476, eq. 13): 0 up to
                      `length_max_tokens - length_cache_tokens`, then falling linearly to -1 at
                      `length_max_tokens`, and -1 beyond

The module depends on no sandbox internals: whoever runs the code fills an `ExecutionOutcome`
(`parse_test_report` builds one from unittest or pytest output).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from hrm_jax import config_fields

# Execution statuses. `passed`: every test ran and passed; `failed`: tests ran and some failed or errored;
# `compile_error`: the program did not compile/parse; `runtime_error`: it crashed before any test result
# (an import-time exception, a missing entry point); `timeout` and `memory_limit`: a sandbox limit hit;
# `no_tests`: it ran cleanly but reported no tests.
STATUS_PASSED = "passed"
STATUS_FAILED = "failed"
STATUS_COMPILE_ERROR = "compile_error"
STATUS_RUNTIME_ERROR = "runtime_error"
STATUS_TIMEOUT = "timeout"
STATUS_MEMORY_LIMIT = "memory_limit"
STATUS_NO_TESTS = "no_tests"
STATUSES = frozenset(
  {
    STATUS_PASSED,
    STATUS_FAILED,
    STATUS_COMPILE_ERROR,
    STATUS_RUNTIME_ERROR,
    STATUS_TIMEOUT,
    STATUS_MEMORY_LIMIT,
    STATUS_NO_TESTS,
  }
)


@dataclasses.dataclass(frozen=True)
class ExecutionOutcome:
  """What running a response against its tests gave.

  Attributes:
    tests_passed: number of tests that passed.
    tests_total: number of tests that ran, or that should have run (a timeout may cut the report short).
    compiled: whether the program compiled (parsed, for interpreted languages).
    status: one of `STATUSES`.
  """

  tests_passed: int
  tests_total: int
  compiled: bool
  status: str

  def __post_init__(self):
    if self.status not in STATUSES:
      raise ValueError(f"ExecutionOutcome.status {self.status!r} is not one of {sorted(STATUSES)}")
    if not 0 <= self.tests_passed <= self.tests_total:
      raise ValueError(
        f"ExecutionOutcome needs 0 <= tests_passed <= tests_total, got "
        f"tests_passed={self.tests_passed}, tests_total={self.tests_total}"
      )
    if self.status == STATUS_COMPILE_ERROR and self.compiled:
      raise ValueError("ExecutionOutcome.status is compile_error but compiled=True")


@dataclasses.dataclass(frozen=True)
class RewardInput:
  """One response to score.

  Attributes:
    response: the model's reply (for edit tasks, the text holding the SEARCH/REPLACE blocks).
    num_tokens: the response's length in tokens (for the length penalty).
    outcome: the execution result; None when the response was not run (an edit task without tests).
    is_edit: whether the task asks for edits to existing files rather than a whole program.
    predicted_patch: for edit tasks, the diff that applying the response's edits produced (None when
      applying failed).
    reference_patch: for edit tasks, the reference (oracle) diff, when there is one.
  """

  response: str = ""
  num_tokens: int = 0
  outcome: ExecutionOutcome | None = None
  is_edit: bool = False
  predicted_patch: str | None = None
  reference_patch: str | None = None


@dataclasses.dataclass(frozen=True)
class RewardConfig:
  """Which components make the reward, and their parameters.

  Attributes:
    weights: component name -> weight; the reward is the weighted sum. Names: see `component_names()`.
    length_max_tokens: the length penalty's hard limit `L_max` (DAPO); needed when `length_penalty` is weighted.
    length_cache_tokens: the width `L_cache` of the band before `L_max` where the penalty ramps from 0 to -1.
    malformed_edit_similarity: `patch_similarity` of a reply that is not a well-formed edit (SWE-RL: -1).
  """

  weights: Mapping[str, float] = dataclasses.field(
    default_factory=lambda: {"all_tests_passed": 1.0, "test_pass_fraction": 0.5}
  )
  length_max_tokens: int = 0
  length_cache_tokens: int = 0
  malformed_edit_similarity: float = -1.0

  def __post_init__(self):
    unknown = sorted(set(self.weights) - set(_COMPONENTS))
    if unknown:
      raise ValueError(
        f"unknown reward component(s) {unknown} in rl.rewards.weights; choose from: {', '.join(component_names())}"
      )
    if self.weights.get("length_penalty", 0.0) != 0.0:
      if not 0 < self.length_cache_tokens <= self.length_max_tokens:
        raise ValueError(
          "length_penalty needs 0 < length_cache_tokens <= length_max_tokens, got "
          f"length_cache_tokens={self.length_cache_tokens}, "
          f"length_max_tokens={self.length_max_tokens} (rl.rewards)"
        )

  @classmethod
  def from_mapping(cls, mapping: Mapping[str, Any]) -> RewardConfig:
    """From `config.rl.rewards` (a ConfigDict or mapping): unknown or wrongly typed fields are named."""
    values = dict(mapping)
    if "weights" in values:
      values["weights"] = {str(k): float(v) for k, v in dict(values["weights"]).items()}
    return config_fields.from_mapping(cls, values, "rl.rewards")


# --- edit blocks ---------------------------------------------------------------------------------------

# aider's lenient markers (shared/reference/benchmarks.md A5): compared after trimming the line.
_HEAD = re.compile(r"^<{5,9} SEARCH>?\s*$")
_DIVIDER = re.compile(r"^={5,9}\s*$")
_TAIL = re.compile(r"^>{5,9} REPLACE\s*$")
_FENCE = re.compile(r"^(```+|~~~+)(.*)$")


@dataclasses.dataclass(frozen=True)
class EditBlock:
  path: str
  search: str
  replace: str


class EditFormatError(ValueError):
  """A reply's SEARCH/REPLACE blocks are structurally broken."""


def _filename_before(lines: Sequence[str], head_index: int) -> str | None:
  """Looks back up to 3 lines before a head marker, past fence lines, for the file name."""
  for back in range(1, 4):
    index = head_index - back
    if index < 0:
      return None
    line = lines[index].strip()
    fence = _FENCE.match(line)
    if fence:
      info = fence.group(2).strip()
      if "." in info or "/" in info:  # "```path/to/file.py" carries the name itself (diff-fenced)
        return info
      continue
    name = line.rstrip(":").lstrip("#").strip().strip("`*").strip()
    return name or None
  return None


def parse_edit_blocks(text: str) -> list[EditBlock]:
  """Parses aider-style SEARCH/REPLACE blocks; raises EditFormatError on a structural error.

  A block is a head line `<<<<<<< SEARCH`, the search text, a divider `=======`, the replacement, and a tail
  `>>>>>>> REPLACE` (a second divider also ends it). The file name is on one of the 3 lines before the head
  (past fence lines) or inside the opening fence; a block without one reuses the previous block's name.
  """
  lines = text.splitlines()
  blocks: list[EditBlock] = []
  previous_path: str | None = None
  i = 0
  while i < len(lines):
    if not _HEAD.match(lines[i].strip()):
      if _DIVIDER.match(lines[i].strip()) or _TAIL.match(lines[i].strip()):
        raise EditFormatError(f"line {i + 1}: {lines[i].strip()!r} outside a SEARCH/REPLACE block")
      i += 1
      continue
    path = _filename_before(lines, i) or previous_path
    if path is None:
      raise EditFormatError(f"line {i + 1}: SEARCH block without a file name")
    j = i + 1
    while j < len(lines) and not _DIVIDER.match(lines[j].strip()):
      if _HEAD.match(lines[j].strip()) or _TAIL.match(lines[j].strip()):
        raise EditFormatError(f"line {j + 1}: expected '=======' before {lines[j].strip()!r}")
      j += 1
    if j == len(lines):
      raise EditFormatError(f"line {i + 1}: SEARCH block without a '=======' divider")
    k = j + 1
    while k < len(lines) and not (_TAIL.match(lines[k].strip()) or _DIVIDER.match(lines[k].strip())):
      if _HEAD.match(lines[k].strip()):
        raise EditFormatError(f"line {k + 1}: new SEARCH block before '>>>>>>> REPLACE'")
      k += 1
    if k == len(lines):
      raise EditFormatError(f"line {i + 1}: SEARCH block without a '>>>>>>> REPLACE' tail")
    search = "\n".join(lines[i + 1 : j])
    replace = "\n".join(lines[j + 1 : k])
    blocks.append(
      EditBlock(path=path, search=search + "\n" if search else "", replace=replace + "\n" if replace else "")
    )
    previous_path = path
    i = k + 1
  return blocks


def edit_blocks_well_formed(text: str) -> bool:
  """True when `text` holds at least one SEARCH/REPLACE block and none is malformed."""
  try:
    return bool(parse_edit_blocks(text))
  except EditFormatError:
    return False


# --- components ----------------------------------------------------------------------------------------

RewardComponent = Callable[[RewardInput, RewardConfig], float]
_COMPONENTS: dict[str, RewardComponent] = {}


def register_component(name: str) -> Callable[[RewardComponent], RewardComponent]:
  def wrap(fn: RewardComponent) -> RewardComponent:
    if name in _COMPONENTS:
      raise ValueError(f"reward component {name!r} is already registered (hrm_jax/rl/rewards.py)")
    _COMPONENTS[name] = fn
    return fn

  return wrap


def component_names() -> list[str]:
  return sorted(_COMPONENTS)


@register_component("test_pass_fraction")
def test_pass_fraction(sample: RewardInput, config: RewardConfig) -> float:
  outcome = sample.outcome
  if outcome is None or not outcome.compiled or outcome.tests_total == 0:
    return 0.0
  return outcome.tests_passed / outcome.tests_total


@register_component("all_tests_passed")
def all_tests_passed(sample: RewardInput, config: RewardConfig) -> float:
  outcome = sample.outcome
  ok = (
    outcome is not None
    and outcome.status == STATUS_PASSED
    and outcome.tests_total > 0
    and outcome.tests_passed == outcome.tests_total
  )
  return 1.0 if ok else 0.0


@register_component("compiled")
def compiled(sample: RewardInput, config: RewardConfig) -> float:
  return 1.0 if sample.outcome is not None and sample.outcome.compiled else 0.0


@register_component("edit_format")
def edit_format(sample: RewardInput, config: RewardConfig) -> float:
  return 1.0 if sample.is_edit and edit_blocks_well_formed(sample.response) else 0.0


def patch_similarity_ratio(predicted: str, reference: str) -> float:
  """difflib.SequenceMatcher ratio of two patches, in [0, 1] (SWE-RL, arXiv 2502.18449)."""
  return difflib.SequenceMatcher(None, predicted, reference, autojunk=False).ratio()


@register_component("patch_similarity")
def patch_similarity(sample: RewardInput, config: RewardConfig) -> float:
  if not sample.is_edit or sample.reference_patch is None:
    return 0.0
  if sample.predicted_patch is None or not edit_blocks_well_formed(sample.response):
    return config.malformed_edit_similarity
  return patch_similarity_ratio(sample.predicted_patch, sample.reference_patch)


@register_component("length_penalty")
def length_penalty(sample: RewardInput, config: RewardConfig) -> float:
  if config.length_max_tokens <= 0 or config.length_cache_tokens <= 0:
    return 0.0
  free = config.length_max_tokens - config.length_cache_tokens
  if sample.num_tokens <= free:
    return 0.0
  if sample.num_tokens <= config.length_max_tokens:
    return (free - sample.num_tokens) / config.length_cache_tokens
  return -1.0


def compute_reward(config: RewardConfig, sample: RewardInput) -> tuple[float, dict[str, float]]:
  """Returns `(reward, components)`: the weighted sum, and every weighted component's unweighted value."""
  components = {name: float(_COMPONENTS[name](sample, config)) for name in config.weights}
  total = sum(config.weights[name] * value for name, value in components.items())
  return float(total), components


def compute_rewards(config: RewardConfig, samples: Iterable[RewardInput]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
  """Scores a batch: `(rewards [B] float32, {component: [B] float32})`."""
  totals, per_component = [], {name: [] for name in config.weights}
  for sample in samples:
    total, components = compute_reward(config, sample)
    totals.append(total)
    for name, value in components.items():
      per_component[name].append(value)
  return (
    np.asarray(totals, np.float32),
    {name: np.asarray(values, np.float32) for name, values in per_component.items()},
  )


# --- test reports -> ExecutionOutcome ------------------------------------------------------------------

_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in ", re.MULTILINE)
_UNITTEST_RESULT = re.compile(r"^(OK|FAILED)\b(?: \(([^)]*)\))?\s*$", re.MULTILINE)
_PYTEST_SUMMARY = re.compile(r"^=*\s*((?:\d+ [a-z]+(?:, )?)+) in [\d.]+s\b.*$", re.MULTILINE)
_PYTEST_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)")


def _unittest_counts(output: str) -> tuple[int, int] | None:
  """(passed, total) from unittest's 'Ran N tests' and 'OK'/'FAILED (failures=a, errors=b, ...)' lines."""
  ran = _UNITTEST_RAN.findall(output)
  results = _UNITTEST_RESULT.findall(output)
  if not ran or not results:
    return None
  total = int(ran[-1])
  verdict, details = results[-1]
  counts = {key.strip(): int(value) for key, value in (item.split("=") for item in details.split(",") if "=" in item)}
  total -= counts.get("skipped", 0)
  bad = counts.get("failures", 0) + counts.get("errors", 0) + counts.get("unexpected successes", 0)
  if verdict == "FAILED" and bad == 0:
    bad = total
  return max(total - bad, 0), max(total, 0)


def _pytest_counts(output: str) -> tuple[int, int] | None:
  """(passed, total) from pytest's final summary line, e.g. '2 failed, 3 passed in 0.12s'."""
  summaries = _PYTEST_SUMMARY.findall(output)
  if not summaries:
    return None
  counts: dict[str, int] = {}
  for number, kind in _PYTEST_COUNT.findall(summaries[-1]):
    kind = "error" if kind == "errors" else kind
    counts[kind] = counts.get(kind, 0) + int(number)
  passed = counts.get("passed", 0) + counts.get("xfailed", 0)
  total = passed + counts.get("failed", 0) + counts.get("error", 0) + counts.get("xpassed", 0)
  return passed, total


def parse_test_report(
  output: str,
  returncode: int | None,
  *,
  compiled: bool = True,
  timed_out: bool = False,
  memory_limited: bool = False,
  expected_tests: int | None = None,
) -> ExecutionOutcome:
  """Builds an ExecutionOutcome from a test run's merged stdout/stderr (unittest or pytest).

  Args:
    output: the run's stdout and stderr.
    returncode: the test command's exit status (None when it was killed).
    compiled: whether the compile (or parse) step before the tests succeeded; False short-circuits.
    timed_out: the run was killed at its time limit.
    memory_limited: the run was killed at its memory limit.
    expected_tests: how many tests the task has, when known; the total is at least this, so a run cut
      short (or a crash before the report) scores against the full test count.

  The summary is text that the program under test could print too (a fake "3 passed" line followed by
  `os._exit(0)`), which a policy under RL may learn to do. Where that matters, pass `expected_tests` and
  give this the output of a harness whose report the program cannot write into.
  """
  floor = expected_tests or 0
  if not compiled:
    return ExecutionOutcome(0, floor, False, STATUS_COMPILE_ERROR)
  counts = _pytest_counts(output) or _unittest_counts(output)
  passed, total = counts if counts is not None else (0, 0)
  total = max(total, floor)
  passed = min(passed, total)
  if timed_out:
    status = STATUS_TIMEOUT
  elif memory_limited:
    status = STATUS_MEMORY_LIMIT
  elif counts is None or total == 0:
    status = STATUS_NO_TESTS if returncode == 0 and total == 0 else STATUS_RUNTIME_ERROR
  elif passed == total and returncode == 0:
    status = STATUS_PASSED
  else:
    status = STATUS_FAILED
  return ExecutionOutcome(passed, total, True, status)
