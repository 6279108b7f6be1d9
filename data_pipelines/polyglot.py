"""Aider Polyglot exercises as edit training data: a validating reader and SEARCH/REPLACE / whole-file targets.

Layout (reference/benchmarks.md A1): `<root>/<lang>/exercises/practice/<name>/` with `.docs/instructions.md`
(+ optional introduction.md / instructions.append.md), `.meta/config.json` whose `files` lists `solution`
(stubs), `test` and `example` (reference solution) paths. The bundled exercises live in
`data_pipelines/data/polyglot/`. Prompts are the evaluation harness's own (`hrm_jax.evals.polyglot`:
instructions + aider's addendum, the editable files; never the tests), so training and evaluation agree.

Targets, from (stub, instructions, reference solution):
  edit (diff)   minimal SEARCH/REPLACE blocks: each changed line range with just enough context to be unique;
                verified by applying them with the harness's own applier (`hrm_jax.evals.edit_formats`), which
                must give exactly the solution (else larger blocks, at worst one block over the whole file).
  edit (whole)  every changed file in full.
  self_repair   aider's second try: a first attempt (the solution with one injected bug), the real output of
                running the tests on it, and blocks that turn the attempt into the solution.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import os
import pathlib
import random
import re
import shutil
import tempfile
from collections.abc import Sequence

from hrm_jax.evals import edit_formats
from hrm_jax.evals import polyglot as harness

LANGUAGES = harness.LANGUAGES
BUNDLED_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "polyglot")


class ExerciseError(ValueError):
  """A malformed exercise directory; the message names the directory and the field or file."""


@dataclasses.dataclass(frozen=True)
class PolyglotExercise:
  language: str
  name: str
  path: pathlib.Path
  instructions: str  # what the harness shows: docs + aider's addendum
  stubs: dict  # editable path -> stub content
  solution: dict  # editable path -> reference content (only files the reference changes)
  tests: tuple[str, ...]
  exercise: harness.Exercise


def _validate(directory: pathlib.Path, language: str) -> harness.Exercise:
  config_path = directory / ".meta" / "config.json"
  if not config_path.is_file():
    raise ExerciseError(f"{directory}: missing .meta/config.json")
  try:
    config = json.loads(config_path.read_text())
  except json.JSONDecodeError as e:
    raise ExerciseError(f"{config_path}: not JSON: {e}") from e
  files = config.get("files") if isinstance(config, dict) else None
  if not isinstance(files, dict):
    raise ExerciseError(f"{config_path}: field files must be an object")
  for key in ("solution", "test", "example"):
    value = files.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
      raise ExerciseError(f"{config_path}: field files.{key} must be a non-empty list of paths")
    for rel in value:
      if not (directory / rel).is_file():
        raise ExerciseError(f"{config_path}: files.{key} names {rel}, which does not exist")
  if not (directory / ".docs" / "instructions.md").is_file():
    raise ExerciseError(f"{directory}: missing .docs/instructions.md")
  return harness.Exercise(language, directory.name, directory, config)


def read_exercise(directory: pathlib.Path, language: str) -> PolyglotExercise:
  ex = _validate(pathlib.Path(directory), language)
  editable = ex.editable()
  if not editable:
    raise ExerciseError(f"{directory}: no editable solution file (all are tests, examples or build files)")
  stubs = {p: (ex.pristine / p).read_text() for p in editable}
  try:
    reference = harness.reference_files(ex)
  except ValueError as e:
    raise ExerciseError(str(e)) from e
  # Changed editable files, and files the reference adds beside them (a Java helper class in its own file);
  # never build files the model does not see (Cargo.toml).
  solution = {
    p: c
    for p, c in reference.items()
    if (p in stubs and c != stubs[p]) or (p not in stubs and not (ex.pristine / p).exists())
  }
  if not solution:
    raise ExerciseError(f"{directory}: the reference solution changes none of the editable files {editable}")
  return PolyglotExercise(
    language, ex.name, ex.pristine, harness.instructions(ex), stubs, solution, tuple(ex.files["test"]), ex
  )


@dataclasses.dataclass
class ReadReport:
  exercises: int = 0
  bad: list = dataclasses.field(default_factory=list)

  def line(self) -> str:
    return f"polyglot: {self.exercises} exercises read, {len(self.bad)} malformed"


def read_exercises(
  root: str = BUNDLED_ROOT, languages: Sequence[str] = LANGUAGES, max_bad: int = 0, report: ReadReport | None = None
) -> list[PolyglotExercise]:
  """Every `<root>/<lang>/exercises/practice/*` directory; more than `max_bad` malformed ones raise."""
  report = report if report is not None else ReadReport()
  out = []
  for language in languages:
    if language not in LANGUAGES:
      raise ValueError(f"unknown language {language!r}; expected one of {LANGUAGES}")
    practice = pathlib.Path(root) / language / "exercises" / "practice"
    for directory in sorted(p for p in practice.glob("*") if p.is_dir()):
      try:
        out.append(read_exercise(directory, language))
      except ExerciseError as e:
        report.bad.append(str(e))
  report.exercises = len(out)
  if len(report.bad) > max_bad:
    raise ExerciseError(
      f"{root}: {len(report.bad)} malformed exercise(s) (threshold {max_bad}):\n  " + "\n  ".join(report.bad[:10])
    )
  for error in report.bad:
    logging.getLogger(__name__).warning("skipped (within max_bad=%d): %s", max_bad, error)
  return out


# ----------------------------------------------------------------------------------------------------------
# SEARCH/REPLACE targets.


def _occurrences(lines: list[str], part: list[str]) -> int:
  n = len(part)
  return sum(lines[i : i + n] == part for i in range(len(lines) - n + 1)) if n else 0


def _regions(before: list[str], after: list[str]) -> list[tuple[int, int, list[tuple[int, int, int, int]]]]:
  """Changed regions of `before`, each widened until its text is unique in `before`: (lo, hi, ops)."""
  ops = [
    op[1:] for op in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes() if op[0] != "equal"
  ]
  regions = []
  for i1, i2, j1, j2 in ops:
    lo, hi, grow_before = i1, i2, True
    while not (hi > lo and _occurrences(before, before[lo:hi]) == 1):
      if (grow_before and lo > 0) or hi >= len(before):
        if lo == 0:
          break
        lo -= 1
      else:
        hi += 1
      grow_before = not grow_before
    # The harness's parser drops blank lines at the end of SEARCH/REPLACE parts, so end blocks on a
    # non-blank line when the file allows it.
    while hi < len(before) and (not before[hi - 1].strip() or (hi == i2 and j2 > j1 and not after[j2 - 1].strip())):
      hi += 1
    if regions and lo <= regions[-1][1]:  # touches the previous region: merge
      plo, phi, pops = regions.pop()
      regions.append((plo, max(hi, phi), pops + [(i1, i2, j1, j2)]))
    else:
      regions.append((lo, hi, [(i1, i2, j1, j2)]))
  return regions


def _replacement(before: list[str], after: list[str], lo: int, hi: int, ops) -> list[str]:
  out, pos = [], lo
  for i1, i2, j1, j2 in ops:
    out += before[pos:i1] + after[j1:j2]
    pos = i2
  return out + before[pos:hi]


def search_replace_blocks(path: str, before: str, after: str) -> list[tuple[str, str]]:
  """Minimal (search, replace) pairs turning `before` into `after` (unverified; see `edit_target`)."""
  if before == after:
    return []
  if not before:
    return [("", after)]
  a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
  if a and not a[-1].endswith("\n") or b and not b[-1].endswith("\n"):
    return [(before, after)]  # a missing final newline cannot be expressed line-wise: replace the file
  return [("".join(a[lo:hi]), "".join(_replacement(a, b, lo, hi, ops))) for lo, hi, ops in _regions(a, b)]


def _applies_exactly(reply: str, files: dict, solution: dict) -> bool:
  result = edit_formats.apply_search_replace(reply, files)
  return not result.malformed and {**files, **result.files} == {**files, **solution}


def edit_target(files: dict, solution: dict) -> str:
  """A `diff`-format reply (SEARCH/REPLACE blocks) that turns `files` into `solution` under the harness's
  applier, as small as found: minimal blocks, else one block per file spanning its changes, else whole files."""

  def render(pairs_by_path):
    return "".join(edit_formats.render_search_replace(p, s, r) for p, pairs in pairs_by_path for s, r in pairs)

  changed = [p for p in files if p in solution and solution[p] != files[p]]
  created = [(p, [("", solution[p])]) for p in solution if p not in files]  # new files: an empty SEARCH
  minimal = render([*((p, search_replace_blocks(p, files[p], solution[p])) for p in changed), *created])
  if _applies_exactly(minimal, files, solution):
    return minimal
  spans = []
  for p in changed:
    a, b = files[p].splitlines(keepends=True), solution[p].splitlines(keepends=True)
    regions = _regions(a, b)
    lo, hi = regions[0][0], regions[-1][1]
    spans.append((p, [("".join(a[lo:hi]), "".join(_replacement(a, b, lo, hi, [op for r in regions for op in r[2]])))]))
  spanned = render([*spans, *created])
  if _applies_exactly(spanned, files, solution):
    return spanned
  whole = render([*((p, [(files[p], solution[p])]) for p in changed), *created])
  if not _applies_exactly(whole, files, solution):
    raise ValueError(f"no SEARCH/REPLACE reply re-applies exactly for {changed}")
  return whole


def whole_target(solution: dict) -> str:
  return "".join(edit_formats.render_whole(p, c) for p, c in solution.items())


def _record(ex: PolyglotExercise, qid: str, task: str, prompt: str, target: str) -> dict:
  return {
    "question_title": f"{ex.language}/{ex.name}",
    "question_content": prompt,
    "platform": "polyglot",
    "question_id": qid,
    "contest_id": "polyglot",
    "contest_date": "2026-01-01T00:00:00",
    "starter_code": "",
    "difficulty": "medium",
    "public_test_cases": "[]",
    "private_test_cases": "[]",
    "metadata": json.dumps({"exercise": ex.name, "tests": list(ex.tests)}),
    "language": ex.language,
    "solution": target,
    "task": task,
  }


def edit_records(ex: PolyglotExercise) -> list[dict]:
  """Two `edit` records: SEARCH/REPLACE (`diff`) and whole-file, with the harness's first-try prompt.

  The `diff` record is left out (and logged) when no SEARCH/REPLACE reply can express the reference: a new
  file whose path is close to an editable one (java `Fraction.java` beside `RationalSum.java`) is taken for
  that file by aider's fuzzy file-name matching, which the harness reproduces."""
  records = []
  try:
    records.append(
      _record(
        ex,
        f"{ex.language}/{ex.name}/diff",
        "edit",
        harness.build_prompt("diff", ex.stubs, [], ex.instructions),
        edit_target(ex.stubs, ex.solution),
      )
    )
  except ValueError as e:
    logging.getLogger(__name__).warning("%s/%s: no diff-format edit record: %s", ex.language, ex.name, e)
  records.append(
    _record(
      ex,
      f"{ex.language}/{ex.name}/whole",
      "edit",
      harness.build_prompt("whole", ex.stubs, [], ex.instructions),
      whole_target(ex.solution),
    )
  )
  return records


# ----------------------------------------------------------------------------------------------------------
# Second attempt (self-repair) with real test output.

_MUTATIONS = (
  (re.compile(r" \+ "), " - "),
  (re.compile(r" - "), " + "),
  (re.compile(r" < "), " <= "),
  (re.compile(r" <= "), " < "),
  (re.compile(r" > "), " >= "),
  (re.compile(r" >= "), " > "),
  (re.compile(r" == "), " != "),
  (re.compile(r"\b1\b"), "2"),
  (re.compile(r"\b0\b"), "1"),
)


def inject_bug(text: str, rng: random.Random) -> str | None:
  """The text with one operator or small constant changed on one code line (comments untouched)."""
  sites = []
  lines = text.splitlines(keepends=True)
  for n, line in enumerate(lines):
    code = re.split(r"//|#", line, maxsplit=1)[0]
    for k, (pattern, _) in enumerate(_MUTATIONS):
      sites += [(n, k, m.start(), m.end()) for m in pattern.finditer(code)]
  if not sites:
    return None
  n, k, start, end = rng.choice(sites)
  lines[n] = lines[n][:start] + _MUTATIONS[k][1] + lines[n][end:]
  return "".join(lines)


def second_attempt_record(ex: PolyglotExercise, seed: int = 0, tries: int = 8) -> dict | None:
  """A `self_repair` record in aider's second-try shape, or None when no injected bug made the tests fail.

  Runs the exercise's tests (in the sandbox, through the evaluation harness) on each buggy attempt.
  """
  rng = random.Random(f"{seed}/{ex.language}/{ex.name}")
  target_path = sorted(ex.solution)[0]
  for _ in range(tries):
    broken = inject_bug(ex.solution[target_path], rng)
    if broken is None:
      return None
    attempt = {**ex.stubs, **ex.solution, target_path: broken}
    with tempfile.TemporaryDirectory(prefix="hrm_polyglot_") as tmp:
      workdir = pathlib.Path(tmp) / ex.name
      shutil.copytree(ex.path, workdir, ignore=shutil.ignore_patterns(".meta", ".docs"))
      for path, content in attempt.items():
        (workdir / path).write_text(content)
      run = harness.run_tests(ex.exercise, workdir)
    if run.passed:
      continue
    try:
      first_reply = edit_target(ex.stubs, {p: c for p, c in attempt.items() if ex.stubs.get(p) != c})
      target = edit_target(attempt, {target_path: ex.solution[target_path]})
    except ValueError:  # not expressible in the diff format (see edit_records)
      return None
    prompt = harness.build_prompt(
      "diff", attempt, [(ex.instructions, first_reply)], harness.test_failure_text(run.output, ex.exercise)
    )
    record = _record(ex, f"{ex.language}/{ex.name}/repair", "self_repair", prompt, target)
    record["metadata"] = json.dumps(
      {"exercise": ex.name, "tests": list(ex.tests), "outcome": run.outcome, "attempt": attempt}
    )
    return record
  return None
