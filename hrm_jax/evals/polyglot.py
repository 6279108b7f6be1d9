"""Aider Polyglot harness: aider's protocol over `<lang>/exercises/practice/<exercise>/` trees.

Protocol (benchmarks.md A2-A4, aider `benchmark/benchmark.py` at 5dc9490), as implemented here:
  * editable files = `files.solution` minus `CMakeLists.txt`, `Cargo.toml`, `.meta/**`, `.docs/**`, the test
    and example files; they are restored from the pristine exercise before the first try. The model sees the
    instructions (introduction + instructions + instructions.append + our addendum naming the editable files'
    basenames) and the editable files' contents, never the tests.
  * the reply is applied in the edit format (`diff` SEARCH/REPLACE or `whole`); a reply that does not parse
    or apply is reflected back (up to `max_reflections` times, as aider's 3 reflections) and counts as a
    malformed response;
  * tests: every `files.test` file is restored from pristine, `languages.prepare_exercise` enables skipped
    tests (xtest -> test, @Disabled removal, ...) and sets up offline scaffolding, then
    `languages.test_command` runs in the sandbox on a copy of the exercise; pass = exit status 0; on timeout
    the output is "Tests timed out!";
  * two tries: the second prompt carries the first reply and the complete cleaned test output (timings
    `in N.NNs` removed, the sandbox path replaced by the exercise name) with the failure addendum;
  * `<out>/<lang>/<exercise>/.results.json` is written last; an exercise with a parseable one is skipped, so
    an interrupted run resumes where it stopped.
The prompt is one text (the generator interface is prompt -> reply), so the second try's prompt restates the
files and the first reply instead of continuing a chat. aider's auto-lint reflection is not reproduced.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from hrm_jax.evals import edit_formats
from hrm_jax.evals import generators as gen_lib
from hrm_jax.sandbox import pool, runner

LANGUAGES = ("cpp", "go", "java", "javascript", "python", "rust")
TEST_TIMEOUT_S = 180.0
RESULTS_FILE = ".results.json"
HISTORY_FILE = ".chat.history.md"
IGNORED_NAMES = ("CMakeLists.txt", "Cargo.toml")
BUILD_DIRS = ("target", "build", "node_modules")
SCRATCH_PATH = re.compile(r"[^\s'\"]*/hrm_jax_sbx_[A-Za-z0-9_]+/run/")
TIMING = re.compile(r"\bin \d+\.\d+s\b")
# Memory (RLIMIT_DATA) of one test run: compilers and test runners included. All six languages' reference
# solutions pass under it (the JVM, Go and V8 reserve address space without committing it).
TEST_MEMORY_BYTES = 4 << 30
TEST_PROCESSES = 512  # RLIMIT_NPROC (threads count); a language's TestCommand may ask for more (C++: 2048).
LAZY_COMMENT = re.compile(r"^[+]? *#.* \.\.\. ", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Exercise:
  language: str
  name: str
  pristine: pathlib.Path  # Never written.
  config: dict

  @property
  def files(self) -> dict:
    return self.config.get("files", {})

  def editable(self) -> list[str]:
    ignored = set(self.files.get("test", [])) | set(self.files.get("example", []))
    return [
      f
      for f in self.files.get("solution", [])
      if f not in ignored
      and pathlib.PurePosixPath(f).name not in IGNORED_NAMES
      and not f.startswith((".meta/", ".docs/"))
    ]


def find_exercises(
  root: pathlib.Path, languages: Sequence[str] = LANGUAGES, keywords: Sequence[str] = ()
) -> list[Exercise]:
  """All `<root>/<lang>/exercises/practice/<name>` with a `.meta/config.json`, sorted by language and name."""
  exercises = []
  for language in languages:
    if language not in LANGUAGES:
      raise ValueError(f"unknown language {language!r}; choose from {', '.join(LANGUAGES)}")
    practice = pathlib.Path(root) / language / "exercises" / "practice"
    for path in sorted(practice.glob("*/.meta/config.json")):
      directory = path.parent.parent
      if keywords and not any(k in directory.name for k in keywords):
        continue
      exercises.append(Exercise(language, directory.name, directory, json.loads(path.read_text())))
  return exercises


# ----------------------------------------------------------------------------------------------- languages


def _languages():
  """The toolchain layer (`hrm_jax.sandbox.languages`); without it only Python exercises can run (pytest)."""
  try:
    from hrm_jax.sandbox import languages  # pylint: disable=import-outside-toplevel

    return languages
  except ImportError:
    return None


def _prepare(language: str, directory: pathlib.Path) -> None:
  languages = _languages()
  if languages is not None:
    languages.prepare_exercise(language, directory)
  elif language != "python":
    raise RuntimeError(f"no toolchain layer (hrm_jax.sandbox.languages) to run {language} exercises")


def _test_command(language: str, directory: pathlib.Path) -> tuple[list[str], dict[str, str], float, int]:
  """(argv, env, timeout_s, processes) of the exercise's test run."""
  languages = _languages()
  if languages is not None:
    command = languages.test_command(language, directory)
    return list(command.argv), dict(command.env), float(command.timeout_s), int(command.processes)
  if language != "python":
    raise RuntimeError(f"no toolchain layer (hrm_jax.sandbox.languages) to run {language} exercises")
  return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], {}, TEST_TIMEOUT_S, TEST_PROCESSES


def _read_paths() -> list[pathlib.Path]:
  languages = _languages()
  return list(languages.toolchain_read_paths()) if languages is not None else []


# ----------------------------------------------------------------------------------------------- prompts


def instructions(exercise: Exercise) -> str:
  docs = exercise.pristine / ".docs"
  text = "".join(
    (docs / name).read_text()
    for name in ("introduction.md", "instructions.md", "instructions.append.md")
    if (docs / name).exists()
  )
  names = " ".join(pathlib.PurePosixPath(f).name for f in exercise.editable())
  # Our wording of aider's addendum (benchmark/prompts.py, in substance per benchmarks.md A2).
  return text + (
    f"\n####\n\nFollow the instructions above by editing these files: {names}\n"
    "Keep the existing function and class names: the tests call them.\n"
    "Use the standard library only; do not ask for packages to be installed.\n"
  )


def test_failure_text(output: str, exercise: Exercise) -> str:
  names = " ".join(pathlib.PurePosixPath(f).name for f in exercise.editable())
  return (
    f"{output}\n####\n\nThe tests failed with the output above. The tests are right; do not edit them.\n"
    f"Change the code in {names} so that they pass.\n"
  )


def files_block(files: dict[str, str]) -> str:
  return "".join(
    f"\n{path}\n```\n{content}{'' if content.endswith(chr(10)) or not content else chr(10)}```\n"
    for path, content in files.items()
  )


def build_prompt(edit_format: str, files: dict[str, str], history: Sequence[tuple[str, str]], message: str) -> str:
  """One self-contained prompt: edit rules, the files as they are now, earlier turns, then the message."""
  parts = [
    "Act as an expert software developer. " + edit_formats.format_instructions(edit_format),
    "",
    "I have added these files to the chat so you can edit them:",
    files_block(files),
  ]
  for user, reply in history:
    parts += ["### Earlier request:", user, "### Your reply:", reply]
  parts += ["### Request:", message]
  return "\n".join(parts)


# ----------------------------------------------------------------------------------------------- oracle


def reference_files(exercise: Exercise) -> dict[str, str]:
  """Solution path -> reference content, placed by the one rule of `languages.reference_targets`: Java by
  file name with helper classes beside the solution classes, others by suffix, Rust's
  `.meta/Cargo-example.toml` over `Cargo.toml` (benchmarks.md A1)."""
  from hrm_jax.sandbox import languages  # pylint: disable=import-outside-toplevel

  return {
    target: (exercise.pristine / example).read_text()
    for example, target in languages.reference_targets(exercise.pristine).items()
  }


# ----------------------------------------------------------------------------------------------- one exercise


@dataclasses.dataclass
class TestRun:
  passed: bool
  outcome: str
  output: str
  wall_s: float


def _limits(processes: int, output_bytes: int = 4 << 20) -> runner.Limits:
  # aider's 180 s test timeout (the languages layer uses the same value).
  return runner.Limits(
    wall_s=TEST_TIMEOUT_S,
    cpu_s=TEST_TIMEOUT_S * 4,
    memory_bytes=TEST_MEMORY_BYTES,
    processes=processes,
    open_files=4096,
    file_size_bytes=1 << 30,
    output_bytes=output_bytes,
  )


_warm_lock = threading.Lock()
_warm_tried: set[str] = set()


def warm_cpp_framework(exercise: Exercise) -> None:
  """Compiles the C++ exercise's test-framework objects once, in the sandbox, from the PRISTINE exercise,
  into the cache its test runs reuse (`languages.cpp_framework_warm_command`). A failure only costs speed:
  the tests then compile the framework themselves."""
  languages = _languages()
  if exercise.language != "cpp" or languages is None:
    return
  fingerprint = languages.cpp_framework_fingerprint(exercise.pristine)
  if fingerprint in _warm_tried or languages.cpp_framework_cached(exercise.pristine):
    return
  # One warm-up at a time: exercises with other CMakeLists but the same flags then find the object built by
  # the first and only name it, instead of compiling it again side by side.
  with _warm_lock:
    if fingerprint in _warm_tried or languages.cpp_framework_cached(exercise.pristine):
      return
    _warm_tried.add(fingerprint)  # tried once per process, even when it fails

    def setup(run_dir: pathlib.Path):
      command = languages.cpp_framework_warm_command(run_dir)
      return list(command.argv), dict(command.env)

    result = runner.run_prepared(
      setup,
      limits=_limits(TEST_PROCESSES, output_bytes=256 << 20),
      copy_tree=exercise.pristine,
      read_paths=_read_paths(),
    )
    if result.ok:
      try:
        languages.store_cpp_framework_objects(exercise.pristine, result.stdout)
        return
      except (ValueError, OSError) as error:  # a corrupt object line (binascii, gzip) or an unwritable cache
        result = dataclasses.replace(result, detail=str(error))
    print(
      f"{exercise.language}/{exercise.name}: could not prebuild the test framework "
      f"({result.outcome.value}: {result.detail}); its tests compile it",
      file=sys.stderr,
    )


def run_tests(exercise: Exercise, workdir: pathlib.Path) -> TestRun:
  """Runs the tests in the sandbox on a copy of `workdir` with the test files restored from pristine and the
  exercise prepared (`languages.prepare_exercise`) in the sandbox's own working directory."""
  warm_cpp_framework(exercise)

  def setup(run_dir: pathlib.Path):
    for build_dir in BUILD_DIRS:
      if (run_dir / build_dir).is_symlink():
        (run_dir / build_dir).unlink()
      else:
        shutil.rmtree(run_dir / build_dir, ignore_errors=True)
    for name in (RESULTS_FILE, HISTORY_FILE):
      (run_dir / name).unlink(missing_ok=True)
    for test in exercise.files.get("test", []):
      (run_dir / test).parent.mkdir(parents=True, exist_ok=True)
      shutil.copy2(exercise.pristine / test, run_dir / test)
    _prepare(exercise.language, run_dir)
    argv, env, _, _ = _test_command(exercise.language, run_dir)
    return argv, env

  try:  # The limits are fixed before setup runs: the language's process limit (C++ asks for more).
    processes = _test_command(exercise.language, workdir)[3]
  except Exception:  # pylint: disable=broad-except  # setup fails the same way and reports it
    processes = TEST_PROCESSES
  result = runner.run_prepared(setup, limits=_limits(processes), copy_tree=workdir, read_paths=_read_paths())
  output = result.stdout + result.stderr
  if result.outcome == runner.Outcome.TIMEOUT:
    output = "Tests timed out!"
  elif result.outcome == runner.Outcome.SANDBOX_ERROR:
    output = f"sandbox error: {result.detail}\n{output}"
  output = TIMING.sub("", SCRATCH_PATH.sub("", output))  # absolute exercise path -> its directory name
  outcome = result.refine(runner.Outcome.FAILED_TESTS).outcome.value
  return TestRun(result.ok, outcome, output, result.wall_s)


def _write_files(workdir: pathlib.Path, files: dict[str, str], exercise: Exercise) -> None:
  protected = set(exercise.files.get("test", []))
  for path, content in files.items():
    target = (workdir / path).resolve()
    if not target.is_relative_to(workdir.resolve()) or path in protected or path.startswith((".meta/", ".docs/")):
      continue  # Edits outside the exercise or to tests/metadata are dropped (tests are restored anyway).
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)


def run_exercise(
  exercise: Exercise,
  generator: gen_lib.Generator,
  out_dir: pathlib.Path,
  *,
  edit_format: str = "diff",
  tries: int = 2,
  max_reflections: int = 3,
  model: str = "",
  oracle: bool = False,
) -> dict[str, Any]:
  """Runs aider's protocol on one exercise and writes its results file; returns the results."""
  workdir = out_dir / exercise.language / exercise.name
  if workdir.exists():
    shutil.rmtree(workdir)
  shutil.copytree(exercise.pristine, workdir, symlinks=True)
  editable = exercise.editable()
  start = time.monotonic()
  results: dict[str, Any] = {
    "testdir": f"{exercise.language}/{exercise.name}",
    "testcase": exercise.name,
    "language": exercise.language,
    "model": model,
    "edit_format": edit_format,
    "tests_outcomes": [],
    "outcomes": [],
    "test_timeouts": 0,
    "num_error_outputs": 0,
    "num_malformed_responses": 0,
    "syntax_errors": 0,
    "indentation_errors": 0,
    "lazy_comments": 0,
    "num_user_asks": 0,
    "num_replies": 0,
  }
  history_log = [f"# {exercise.language}/{exercise.name}\n"]
  try:
    if oracle:
      _write_files(workdir, reference_files(exercise), exercise)  # Also Cargo.toml, which the model never sees.
    message = instructions(exercise)
    history: list[tuple[str, str]] = []
    for _ in range(tries):
      for _reflection in range(max_reflections + 1):
        files = {f: (workdir / f).read_text() for f in editable}
        prompt = build_prompt(edit_format, files, history, message)
        overflow = None if oracle else gen_lib.context_overflow(generator, prompt)
        if overflow:  # Never sent: the model cannot read the whole prompt.
          results["context_overflow"] = overflow
          history_log += ["\n## prompt\n", prompt, f"\n## not sent: {overflow}\n"]
          break
        reply = "" if oracle else gen_lib.generate_all(generator, [prompt])[0]
        results["num_replies"] += 1
        results["lazy_comments"] += len(LAZY_COMMENT.findall(reply))
        history_log += ["\n## prompt\n", prompt, "\n## reply\n", reply]
        applied = (
          edit_formats.ApplyResult({}, [], False) if oracle else edit_formats.apply_edits(edit_format, reply, files)
        )
        _write_files(workdir, applied.files, exercise)
        history.append((message, reply))
        if not applied.malformed:
          break
        results["num_malformed_responses"] += 1
        results["num_error_outputs"] += 1
        message = "\n\n".join(applied.failed)
      if "context_overflow" in results:
        results["outcomes"].append("context_overflow")
        break
      test = run_tests(exercise, workdir)
      results["tests_outcomes"].append(test.passed)
      results["outcomes"].append(test.outcome)
      results["syntax_errors"] += test.output.count("SyntaxError")
      results["indentation_errors"] += test.output.count("IndentationError")
      history_log += ["\n## test output\n", f"```\n{test.output}\n```\n"]
      if test.outcome == "timeout":
        results["test_timeouts"] += 1
      if test.passed:
        break
      message = test_failure_text(test.output, exercise)
  except Exception:  # Recorded as a completed case that did not pass (aider's {"exception": ...}).
    results = {
      "exception": traceback.format_exc(),
      "testdir": results["testdir"],
      "testcase": exercise.name,
      "language": exercise.language,
      "tests_outcomes": [],
    }
  results["duration"] = time.monotonic() - start
  for build_dir in BUILD_DIRS:
    shutil.rmtree(workdir / build_dir, ignore_errors=True)
  (workdir / HISTORY_FILE).write_text("".join(history_log))
  (workdir / RESULTS_FILE).write_text(json.dumps(results, indent=1))
  return results


def _load_results(workdir: pathlib.Path) -> dict | None:
  try:
    return json.loads((workdir / RESULTS_FILE).read_text())
  except (OSError, json.JSONDecodeError):
    return None


def evaluate(
  exercises: Sequence[Exercise],
  generator: gen_lib.Generator | None,
  out_dir: pathlib.Path,
  *,
  workers: int = 1,
  edit_format: str = "diff",
  tries: int = 2,
  oracle: bool = False,
  model: str = "",
  progress: Callable[[str], None] | None = None,
  strategy=None,
) -> tuple[dict, list[dict]]:
  """Runs (or resumes) every exercise; returns (summary, per-exercise results). strategy: a
  `hrm_jax.agent.search.SearchConfig`: each exercise's answer comes from that search (one try in the summary)."""
  out_dir = pathlib.Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)

  def one(exercise: Exercise) -> dict:
    previous = _load_results(out_dir / exercise.language / exercise.name)
    if previous is not None:
      return previous
    if strategy is not None and not oracle:
      from hrm_jax.agent import search  # pylint: disable=import-outside-toplevel

      result = search.polyglot_exercise(exercise, generator, out_dir, strategy, edit_format, model)
    else:
      result = run_exercise(
        exercise, generator, out_dir, edit_format=edit_format, tries=tries, model=model, oracle=oracle
      )
    if progress:
      progress(f"{exercise.language}/{exercise.name}: {result.get('outcomes') or 'exception'}")
    return result

  results = pool.map_bounded(one, exercises, workers)
  tries = 1 if strategy is not None and not oracle else tries
  return summarize(results, total=len(exercises), tries=tries), results


def _metrics(results: Sequence[dict], total: int, tries: int) -> dict[str, Any]:
  completed = len(results)
  pass_num = [0] * tries
  for r in results:
    outcomes = r.get("tests_outcomes", [])
    if outcomes and outcomes[-1]:
      for i in range(len(outcomes) - 1, tries):
        pass_num[i] += 1
  with_malformed = sum(1 for r in results if r.get("num_malformed_responses", 0) > 0)
  # A case well formed: it got at least one reply and none was malformed (a context overflow before the
  # first reply, or an exception, is not).
  well_formed = sum(
    1
    for r in results
    if r.get("num_malformed_responses", 0) == 0 and "exception" not in r and r.get("num_replies", 1) > 0
  )

  def total_of(key):
    return sum(r.get(key, 0) for r in results)

  metrics = {"completed_tests": completed, "total_tests": total}
  for i in range(tries):
    metrics[f"pass_rate_{i + 1}"] = round(100.0 * pass_num[i] / completed, 1) if completed else 0.0
    metrics[f"pass_num_{i + 1}"] = pass_num[i]
  metrics.update(
    {
      "percent_cases_well_formed": round(100.0 * well_formed / completed, 1) if completed else 0.0,
      "error_outputs": total_of("num_error_outputs"),
      "num_malformed_responses": total_of("num_malformed_responses"),
      "num_with_malformed_responses": with_malformed,
      "user_asks": total_of("num_user_asks"),
      "lazy_comments": total_of("lazy_comments"),
      "syntax_errors": total_of("syntax_errors"),
      "indentation_errors": total_of("indentation_errors"),
      "test_timeouts": total_of("test_timeouts"),
      "exceptions": sum(1 for r in results if "exception" in r),
      "context_overflows": sum(1 for r in results if "context_overflow" in r),
      "seconds_per_case": round(total_of("duration") / completed, 2) if completed else 0.0,
    }
  )
  return metrics


def summarize(results: Sequence[dict], total: int | None = None, tries: int = 2) -> dict[str, Any]:
  by_language = {}
  for language in sorted({r["language"] for r in results}):
    subset = [r for r in results if r["language"] == language]
    by_language[language] = _metrics(subset, len(subset), tries)
  return {
    "benchmark": "polyglot",
    "tries": tries,
    "overall": _metrics(results, len(results) if total is None else total, tries),
    "by_language": by_language,
  }
