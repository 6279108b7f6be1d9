"""SWE-smith task instances: a validating reader, training records, and a small git-repository fixture.

Instance fields (reference/benchmarks.md C1): instance_id (`<owner>__<repo>.<commit8>.<bug_type>__<hash8>`),
repo, patch (a unified diff that INTRODUCES the bug), FAIL_TO_PASS and PASS_TO_PASS (test ids; lists, or
JSON strings of lists as the Hugging Face copies store them), problem_statement, image_name, base_commit
(the bug branch, named like the instance), created_at (optional). Files are JSONL or one JSON list.

Training record: the problem statement and the buggy code of the files the patch touches -> the fix, i.e.
the reverse of `patch`, as a unified diff (task `edit`, language python for the fixture).

`build_fixture(directory)` makes the fixture the tests use: a git repository of a small Python package
(`FIXTURE_FILES`, written for hrm-jax) with `FIXTURE_BUGS` (>= 10) committed each on its own branch, and
returns their instances, with FAIL_TO_PASS / PASS_TO_PASS found by actually running pytest on every branch.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
from typing import Iterator

REQUIRED = ("instance_id", "repo", "patch", "FAIL_TO_PASS", "PASS_TO_PASS", "problem_statement", "image_name",
            "base_commit")
INSTANCE_ID = re.compile(r"^[\w.-]+__[\w.-]+\.[0-9a-f]{8}\.[\w-]+__[\w]+$")


class InstanceError(ValueError):
  """A malformed SWE-smith instance; the message names the file, line and field."""


@dataclasses.dataclass(frozen=True)
class SweSmithInstance:
  instance_id: str
  repo: str
  patch: str
  fail_to_pass: tuple[str, ...]
  pass_to_pass: tuple[str, ...]
  problem_statement: str
  image_name: str
  base_commit: str
  created_at: str = ""

  @property
  def files(self) -> list[str]:
    """Paths the patch touches (from its `diff --git a/X b/X` headers)."""
    return re.findall(r"^diff --git a/(\S+) b/", self.patch, flags=re.MULTILINE)


def _test_list(value, field: str) -> tuple[str, ...]:
  if isinstance(value, str):
    try:
      value = json.loads(value)
    except json.JSONDecodeError as e:
      raise InstanceError(f"field {field}: a string that is not a JSON list: {e}") from e
  if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
    raise InstanceError(f"field {field} must be a list of test ids")
  return tuple(value)


def parse_instance(obj) -> SweSmithInstance:
  if not isinstance(obj, dict):
    raise InstanceError(f"expected a JSON object, got {type(obj).__name__}")
  missing = [f for f in REQUIRED if f not in obj]
  if missing:
    raise InstanceError(f"missing field(s) {', '.join(missing)}")
  for f in ("instance_id", "repo", "patch", "problem_statement", "image_name", "base_commit"):
    if not isinstance(obj[f], str):
      raise InstanceError(f"field {f} must be a string")
  if not INSTANCE_ID.match(obj["instance_id"]):
    raise InstanceError(f"field instance_id {obj['instance_id']!r} is not <owner>__<repo>.<commit8>.<type>__<id>")
  if "diff --git a/" not in obj["patch"] or "\n@@ " not in obj["patch"]:
    raise InstanceError("field patch is not a unified git diff")
  f2p = _test_list(obj["FAIL_TO_PASS"], "FAIL_TO_PASS")
  p2p = _test_list(obj["PASS_TO_PASS"], "PASS_TO_PASS")
  if not f2p:
    raise InstanceError("field FAIL_TO_PASS is empty (a valid instance breaks at least one test)")
  return SweSmithInstance(obj["instance_id"], obj["repo"], obj["patch"], f2p, p2p, obj["problem_statement"],
                          obj["image_name"], obj["base_commit"], str(obj.get("created_at", "")))


def iter_file(path: str) -> Iterator[tuple[int, SweSmithInstance | InstanceError]]:
  """(line or list index, instance or error) for a JSONL file or a JSON list."""
  with open(path, encoding="utf-8") as f:
    text = f.read()
  if text.lstrip().startswith("["):
    try:
      items = list(enumerate(json.loads(text), start=1))
    except json.JSONDecodeError as e:
      yield 0, InstanceError(f"{path}: not JSON: {e}")
      return
  else:
    items = []
    for lineno, line in enumerate(text.splitlines(), start=1):
      if line.strip():
        try:
          items.append((lineno, json.loads(line)))
        except json.JSONDecodeError as e:
          items.append((lineno, InstanceError(f"not JSON: {e}")))
  for where, obj in items:
    if isinstance(obj, InstanceError):
      yield where, InstanceError(f"{path}:{where}: {obj}")
      continue
    try:
      yield where, parse_instance(obj)
    except InstanceError as e:
      yield where, InstanceError(f"{path}:{where}: {e}")


def read_instances(path: str, max_bad: int = 0) -> list[SweSmithInstance]:
  good, bad = [], []
  for _, item in iter_file(path):
    (bad if isinstance(item, InstanceError) else good).append(item)
  if len(bad) > max_bad:
    raise InstanceError(f"{path}: {len(bad)} malformed instance(s) (threshold {max_bad}):\n  "
                        + "\n  ".join(str(e) for e in bad[:10]))
  for error in bad:
    logging.getLogger(__name__).warning("skipped (within max_bad=%d): %s", max_bad, error)
  return good


def reverse_patch(patch: str) -> str:
  """The unified diff that undoes `patch` (headers, hunk ranges and +/- lines swapped)."""
  out = []
  for line in patch.splitlines(keepends=True):
    if line.startswith("--- "):
      out.append("+++ " + line[4:])
    elif line.startswith("+++ "):
      out.append("--- " + line[4:])
    elif line.startswith("@@ "):
      m = re.match(r"@@ -(\S+) \+(\S+) @@(.*)", line, flags=re.S)
      out.append(f"@@ -{m.group(2)} +{m.group(1)} @@{m.group(3)}" if m else line)
    elif line.startswith("+") and not line.startswith("+++"):
      out.append("-" + line[1:])
    elif line.startswith("-") and not line.startswith("---"):
      out.append("+" + line[1:])
    else:
      out.append(line)
  # `---`/`+++` pairs are now in the wrong order within each file header: swap them back.
  fixed = []
  i = 0
  while i < len(out):
    if out[i].startswith("+++ ") and i + 1 < len(out) and out[i + 1].startswith("--- "):
      fixed += [out[i + 1], out[i]]
      i += 2
    else:
      fixed.append(out[i])
      i += 1
  return "".join(fixed)


def to_training_record(instance: SweSmithInstance, buggy_files: dict[str, str]) -> dict:
  """Statement + the buggy files -> the fix as a unified diff (the reverse of the bug patch)."""
  shown = "".join(f"\n{path}\n```\n{content}```\n" for path, content in sorted(buggy_files.items()))
  return {
      "question_title": instance.instance_id, "question_content": f"{instance.problem_statement}\n{shown}",
      "platform": "swe-smith", "question_id": instance.instance_id, "contest_id": instance.repo,
      "contest_date": (instance.created_at or "2026-01-01T00:00:00")[:19], "starter_code": "",
      "difficulty": "medium", "public_test_cases": "[]", "private_test_cases": "[]",
      "metadata": json.dumps({"FAIL_TO_PASS": list(instance.fail_to_pass), "PASS_TO_PASS": list(instance.pass_to_pass),
                              "base_commit": instance.base_commit}),
      "language": "python", "solution": reverse_patch(instance.patch), "task": "edit",
  }


# ----------------------------------------------------------------------------------------------------------
# The fixture repository.

FIXTURE_OWNER, FIXTURE_REPO = "hrmjax", "minicalc"
FIXTURE_FILES = {
    "minicalc/__init__.py": "",
    "minicalc/arith.py": (
        "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\n"
        "def mul(a, b):\n    return a * b\n\n\ndef clamp(x, lo, hi):\n    if x < lo:\n        return lo\n"
        "    if x > hi:\n        return hi\n    return x\n"),
    "minicalc/text.py": (
        "def words(s):\n    return s.split()\n\n\ndef title(s):\n    return ' '.join(w[:1].upper() + w[1:] for w in words(s))\n"
        "\n\ndef count_char(s, c):\n    return sum(1 for ch in s if ch == c)\n\n\n"
        "def is_palindrome(s):\n    t = [ch.lower() for ch in s if ch.isalnum()]\n    return t == t[::-1]\n"),
    "minicalc/stats.py": (
        "def mean(xs):\n    return sum(xs) / len(xs)\n\n\ndef median(xs):\n    s = sorted(xs)\n    n = len(s)\n"
        "    mid = n // 2\n    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2\n\n\n"
        "def running_max(xs):\n    out, best = [], None\n    for x in xs:\n"
        "        best = x if best is None or x > best else best\n        out.append(best)\n    return out\n"),
    "tests/test_arith.py": (
        "from minicalc import arith\n\n\ndef test_add():\n    assert arith.add(2, 3) == 5\n\n\n"
        "def test_sub():\n    assert arith.sub(2, 3) == -1\n\n\ndef test_mul():\n    assert arith.mul(4, 3) == 12\n\n\n"
        "def test_clamp_low():\n    assert arith.clamp(-5, 0, 10) == 0\n\n\n"
        "def test_clamp_high():\n    assert arith.clamp(50, 0, 10) == 10\n\n\n"
        "def test_clamp_inside():\n    assert arith.clamp(5, 0, 10) == 5\n"),
    "tests/test_text.py": (
        "from minicalc import text\n\n\ndef test_words():\n    assert text.words(' a  b ') == ['a', 'b']\n\n\n"
        "def test_title():\n    assert text.title('hello big world') == 'Hello Big World'\n\n\n"
        "def test_count_char():\n    assert text.count_char('banana', 'n') == 2\n\n\n"
        "def test_palindrome():\n    assert text.is_palindrome('A man, a plan, a canal: Panama')\n\n\n"
        "def test_not_palindrome():\n    assert not text.is_palindrome('abc')\n"),
    "tests/test_stats.py": (
        "from minicalc import stats\n\n\ndef test_mean():\n    assert stats.mean([1, 2, 3, 5]) == 2.75\n\n\n"
        "def test_median_odd():\n    assert stats.median([5, 1, 3]) == 3\n\n\n"
        "def test_median_even():\n    assert stats.median([4, 1, 3, 2]) == 2.5\n\n\n"
        "def test_running_max():\n    assert stats.running_max([1, 3, 2, 5]) == [1, 3, 3, 5]\n"),
}
# (bug type, file, old text, new text, problem statement)
FIXTURE_BUGS = (
    ("func_pm_op_swap", "minicalc/arith.py", "return a + b", "return a - b", "add() returns the difference."),
    ("func_pm_op_swap", "minicalc/arith.py", "return a * b", "return a + b", "mul(4, 3) gives 7 instead of 12."),
    ("func_pm_ctrl_invert_if", "minicalc/arith.py", "if x < lo:", "if x > lo:",
     "clamp() returns the lower bound for values inside the range."),
    ("func_pm_remove_cond", "minicalc/arith.py", "    if x > hi:\n        return hi\n", "",
     "clamp() does not limit values above the upper bound."),
    ("func_pm_op_change", "minicalc/text.py", "if ch == c)", "if ch != c)", "count_char counts the wrong characters."),
    ("func_pm_remove_call", "minicalc/text.py", "w[:1].upper() + w[1:]", "w[:1] + w[1:]",
     "title() leaves words in lower case."),
    ("func_pm_remove_call", "minicalc/text.py", "[ch.lower() for", "[ch for",
     "is_palindrome is case sensitive: 'A man, a plan, a canal: Panama' is rejected."),
    ("func_pm_op_change_const", "minicalc/stats.py", "    mid = n // 2\n", "    mid = n // 2 + 1\n",
     "median() picks the wrong element."),
    ("func_pm_op_swap", "minicalc/stats.py", "(s[mid - 1] + s[mid]) / 2", "(s[mid - 1] - s[mid]) / 2",
     "median() of an even-length list is wrong."),
    ("func_pm_ctrl_shuffle", "minicalc/stats.py", "x > best else best", "x < best else best",
     "running_max tracks the minimum."),
    ("func_pm_remove_assign", "minicalc/stats.py", "        out.append(best)\n", "",
     "running_max returns an empty list."),
    ("func_pm_op_change", "minicalc/stats.py", "return sum(xs) / len(xs)", "return sum(xs) // len(xs)",
     "mean() rounds down."),
)

_GIT_ENV = {"GIT_AUTHOR_NAME": "hrm-jax", "GIT_AUTHOR_EMAIL": "fixture@hrm-jax", "GIT_COMMITTER_NAME": "hrm-jax",
            "GIT_COMMITTER_EMAIL": "fixture@hrm-jax", "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00",
            "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00"}


def _git(directory: str, *args: str) -> str:
  env = dict(os.environ, **_GIT_ENV, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_SYSTEM=os.devnull)
  proc = subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True, env=env, timeout=60)
  if proc.returncode != 0:
    raise RuntimeError(f"git {' '.join(args)} failed in {directory}: {proc.stderr}")
  return proc.stdout


def run_pytest(directory: str) -> dict[str, str]:
  """{test id: "PASSED" | "FAILED" | ...} from `pytest -rA` (SWE-smith's pytest log parsing, in substance)."""
  proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "tests"],
                        cwd=directory, capture_output=True, text=True, timeout=300,
                        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
  status = {}
  for line in proc.stdout.splitlines():
    m = re.match(r"^(PASSED|FAILED|ERROR) (\S+)", line)
    if m:
      status[m.group(2)] = m.group(1)
  return status


def build_fixture(directory: str) -> list[dict]:
  """Creates the fixture repository in `directory` (which must not exist) and returns its instances."""
  os.makedirs(directory)
  for path, content in FIXTURE_FILES.items():
    os.makedirs(os.path.join(directory, os.path.dirname(path)), exist_ok=True)
    with open(os.path.join(directory, path), "w") as f:
      f.write(content)
  _git(directory, "init", "-q", "-b", "main")
  _git(directory, "add", "-A")
  _git(directory, "commit", "-q", "-m", "minicalc")
  clean_commit = _git(directory, "rev-parse", "HEAD").strip()
  clean = run_pytest(directory)
  repo_name = f"{FIXTURE_OWNER}__{FIXTURE_REPO}.{clean_commit[:8]}"
  instances = []
  for bug_type, path, old, new, statement in FIXTURE_BUGS:
    full = os.path.join(directory, path)
    with open(full) as f:
      content = f.read()
    if content.count(old) != 1:
      raise ValueError(f"fixture bug {bug_type} in {path}: {old!r} must occur exactly once")
    digest = hashlib.sha256(f"{path}\n{old}\n{new}".encode()).hexdigest()[:8]
    instance_id = f"{repo_name}.{bug_type}__{digest}"
    _git(directory, "checkout", "-q", "-b", instance_id, clean_commit)
    with open(full, "w") as f:
      f.write(content.replace(old, new))
    patch = _git(directory, "diff")
    _git(directory, "commit", "-q", "-am", "Bug Patch")
    buggy = run_pytest(directory)
    f2p = sorted(t for t, s in clean.items() if s == "PASSED" and buggy.get(t) != "PASSED")
    p2p = sorted(t for t, s in clean.items() if s == "PASSED" and buggy.get(t) == "PASSED")
    if not f2p:
      raise ValueError(f"fixture bug {bug_type} in {path} ({old!r} -> {new!r}) breaks no test")
    instances.append({
        "instance_id": instance_id, "repo": f"swesmith/{repo_name}", "patch": patch, "FAIL_TO_PASS": f2p,
        "PASS_TO_PASS": p2p, "problem_statement": statement,
        "image_name": f"swesmith.x86_64.{FIXTURE_OWNER}_1776_{FIXTURE_REPO}.{clean_commit[:8]}",
        "base_commit": _git(directory, "rev-parse", "HEAD").strip(), "created_at": "2026-01-01T00:00:00",
    })
    _git(directory, "checkout", "-q", "main")
  return instances


def buggy_files(directory: str, instance: SweSmithInstance) -> dict[str, str]:
  """The files the patch touches, as they are on the instance's bug branch."""
  return {path: _git(directory, "show", f"{instance.base_commit}:{path}") for path in instance.files}
