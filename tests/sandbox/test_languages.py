"""Per-language test commands: preparation rules, command shapes, and the bundled exercises end to end.

The end-to-end tests run every bundled Polyglot-format exercise twice with the real toolchains: with its
reference solution (must pass, with every test enabled and run) and with its stub (must fail). They need
`hrm-jax setup-toolchains` to have run (CI does it first) and fail with the setup report otherwise.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess

import pytest

from hrm_jax.sandbox import languages, toolchains

POLYGLOT = pathlib.Path(languages.__file__).resolve().parents[2] / "data_pipelines" / "data" / "polyglot"
EXERCISES = sorted(POLYGLOT.glob("*/exercises/practice/*"))


def _write_config(exercise: pathlib.Path, files: dict) -> None:
  (exercise / ".meta").mkdir(parents=True, exist_ok=True)
  (exercise / ".meta" / "config.json").write_text(json.dumps({"files": files}))


# ---------------------------------------------------------------------------------------------------------
# Layout and language detection.


def test_bundled_corpus_has_three_exercises_per_language_in_upstream_layout():
  for language in languages.LANGUAGES:
    names = [e.name for e in EXERCISES if e.parts[-4] == language]
    assert len(names) >= 3, (language, names)
  for exercise in EXERCISES:
    assert (exercise / ".docs" / "instructions.md").exists(), exercise
    files = languages.read_config(exercise)["files"]
    for key in ("solution", "test", "example"):
      assert files[key], (exercise, key)
      for name in files[key]:
        assert (exercise / name).is_file(), (exercise, name)
    assert all(name.startswith(".meta/") for name in files["example"]), exercise
  assert "Apache License, Version 2.0" in (POLYGLOT / "LICENSE").read_text()


def test_language_of_every_bundled_exercise_matches_its_folder():
  for exercise in EXERCISES:
    assert languages.language_of_exercise(exercise) == exercise.parts[-4]


def test_language_comes_from_test_file_suffix_before_path(tmp_path):
  exercise = tmp_path / "go" / "exercises" / "practice" / "thing"
  exercise.mkdir(parents=True)
  _write_config(exercise, {"test": ["notes.txt", "tests/thing.rs"]})
  assert languages.language_of_exercise(exercise) == "rust"
  _write_config(exercise, {"test": []})
  assert languages.language_of_exercise(exercise) == "go"


def test_language_unknown_is_an_error_naming_the_directory(tmp_path):
  with pytest.raises(ValueError, match=re.escape(str(tmp_path))):
    languages.language_of_exercise(tmp_path)
  with pytest.raises(ValueError, match="unknown language"):
    languages.prepare_exercise("cobol", tmp_path)


# ---------------------------------------------------------------------------------------------------------
# Preparation: enabling skipped tests as aider does.


def test_prepare_java_removes_disabled_with_argument_and_keeps_bare_disabled(tmp_path):
  test_file = tmp_path / "src" / "test" / "java" / "ThingTest.java"
  test_file.parent.mkdir(parents=True)
  _write_config(tmp_path, {"test": ["src/test/java/ThingTest.java"]})
  test_file.write_text(
    "class ThingTest {\n"
    '    @Disabled("Remove to run test")\n    @Test\n    void a() {}\n\n'
    '    @Disabled("Remove to run test") @Test\n    void b() {}\n\n'
    "    @Disabled\n    @Test\n    void c() {}\n}\n"
  )
  languages.prepare_exercise("java", tmp_path)
  once = test_file.read_text()
  assert once == (
    "class ThingTest {\n    @Test\n    void a() {}\n\n    @Test\n    void b() {}\n\n"
    "    @Disabled\n    @Test\n    void c() {}\n}\n"
  )
  languages.prepare_exercise("java", tmp_path)
  assert test_file.read_text() == once


def test_prepare_javascript_rewrites_xtest_only_and_links_shared_node_modules(tmp_path, monkeypatch):
  root = tmp_path / "cache"
  jest = toolchains.jest_script(root)
  jest.parent.mkdir(parents=True)
  jest.write_text("// placeholder file: only its presence is checked here\n")
  monkeypatch.setenv(toolchains.ENV_VAR, str(root))
  exercise = tmp_path / "ex"
  exercise.mkdir()
  spec = exercise / "thing.spec.js"
  spec.write_text(
    "test('a', f);\nxtest('b', f);\n  xtest('c', f);\nxit('d', f);\ntest.skip('e', f);\nmyxtest('f', f);\n"
  )
  languages.prepare_exercise("javascript", exercise)
  assert spec.read_text() == (
    "test('a', f);\ntest('b', f);\n  test('c', f);\nxit('d', f);\ntest.skip('e', f);\nmyxtest('f', f);\n"
  )
  link = exercise / "node_modules"
  assert link.is_symlink() and link.resolve() == toolchains.node_modules_dir(root).resolve()
  languages.prepare_exercise("javascript", exercise)  # idempotent
  assert link.is_symlink()


def test_missing_toolchain_cache_is_a_clear_error_naming_the_fix(tmp_path, monkeypatch):
  monkeypatch.setenv(toolchains.ENV_VAR, str(tmp_path / "empty-cache"))
  exercise = tmp_path / "ex"
  exercise.mkdir()
  for language in ("java", "javascript", "rust", "go"):
    if language == "rust" and toolchains.rust_bin_dir() is None:
      continue
    with pytest.raises(toolchains.ToolchainMissingError, match=f"hrm-jax setup-toolchains --languages {language}"):
      languages.prepare_exercise(language, exercise)
      languages.test_command(language, exercise)


def test_install_reference_solution_matches_java_by_name_and_takes_rust_cargo_example(tmp_path):
  java = tmp_path / "java" / "exercises" / "practice" / "poker"
  (java / ".meta" / "src" / "reference" / "java").mkdir(parents=True)
  (java / "src" / "main" / "java").mkdir(parents=True)
  _write_config(
    java,
    {
      "solution": ["src/main/java/Poker.java"],
      "test": ["src/test/java/PokerTest.java"],
      "example": [".meta/src/reference/java/Card.java", ".meta/src/reference/java/Poker.java"],
    },
  )
  for name in ("Card", "Poker"):
    (java / ".meta" / "src" / "reference" / "java" / f"{name}.java").write_text(f"class {name} {{}}\n")
  written = languages.install_reference_solution(java)
  assert sorted(p.relative_to(java).as_posix() for p in written) == [
    "src/main/java/Card.java",
    "src/main/java/Poker.java",
  ]
  assert (java / "src" / "main" / "java" / "Card.java").read_text() == "class Card {}\n"

  rust = tmp_path / "rust" / "exercises" / "practice" / "grep"
  (rust / ".meta").mkdir(parents=True)
  _write_config(
    rust, {"solution": ["src/lib.rs", "Cargo.toml"], "test": ["tests/grep.rs"], "example": [".meta/example.rs"]}
  )
  (rust / ".meta" / "example.rs").write_text("pub fn grep() {}\n")
  (rust / ".meta" / "Cargo-example.toml").write_text('[package]\nname = "grep"\n')
  languages.install_reference_solution(rust)
  assert (rust / "src" / "lib.rs").read_text() == "pub fn grep() {}\n"
  assert (rust / "Cargo.toml").read_text() == '[package]\nname = "grep"\n'


# ---------------------------------------------------------------------------------------------------------
# Commands against the real toolchains.


@pytest.fixture(scope="module")
def toolchain_root() -> pathlib.Path:
  root = toolchains.toolchains_root()
  statuses = toolchains.check(root)
  if not all(status.ok for status in statuses.values()):
    pytest.fail(
      "toolchains incomplete; run `hrm-jax setup-toolchains` first:\n" + toolchains.format_report(statuses, root)
    )
  return root


def _under(path: pathlib.Path, parents: list[pathlib.Path]) -> bool:
  path = path.resolve()
  return any(path == parent or parent in path.parents for parent in parents)


def test_commands_are_self_contained_and_read_only_from_listed_paths(toolchain_root, tmp_path):
  del toolchain_root
  read_paths = languages.toolchain_read_paths()
  for language in languages.LANGUAGES:
    command = languages.test_command(language, tmp_path)
    assert command.timeout_s == 180.0
    assert command.env["HOME"] == str(tmp_path)
    assert pathlib.Path(shutil.which(command.argv[0], path=command.env["PATH"])).is_file(), command.argv
    # Every absolute path the command names is readable in a sandbox: the exercise or a toolchain path.
    named = [a for a in command.argv if a.startswith("/")]
    named += [v for k, v in command.env.items() if k not in ("PATH", "HOME") and v.startswith("/")]
    for value in named:
      path = pathlib.Path(value.split("=", 1)[-1])
      assert _under(path, [*read_paths, tmp_path.resolve(), pathlib.Path("/dev/null")]), (language, value)
    for directory in command.env["PATH"].split(":"):
      if pathlib.Path(directory).exists():
        assert _under(pathlib.Path(directory), read_paths), (language, directory)


def test_rust_vendored_crates_resolve_offline_for_every_upstream_requirement(toolchain_root, tmp_path):
  bin_dir = toolchains.rust_bin_dir()
  crate = tmp_path / "probe"
  (crate / "src").mkdir(parents=True)
  dependencies = "\n".join(
    f'{alias} = {{ package = "{package}", version = "{requirement}" }}'
    for alias, package, requirement in toolchains.RUST_CRATES
  )
  (crate / "Cargo.toml").write_text(
    f'[package]\nname = "probe"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n{dependencies}\n'
  )
  (crate / "src" / "lib.rs").write_text("")
  env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), **toolchains.rust_env(toolchain_root, bin_dir)}
  done = subprocess.run(
    [str(bin_dir / "cargo"), "generate-lockfile", "--offline"],
    cwd=crate,
    env=env,
    capture_output=True,
    text=True,
    timeout=120,
  )
  assert done.returncode == 0, done.stderr
  lock = (crate / "Cargo.lock").read_text()
  versions = dict.fromkeys(re.findall(r'name = "rand"\nversion = "(\d+\.\d+)', lock))
  assert {"0.3", "0.8"} <= set(versions), lock
  assert 'name = "time"' in lock and 'name = "regex"' in lock and 'name = "num-bigint"' in lock


def _count_tests(language: str, exercise: pathlib.Path) -> int:
  """How many test cases the exercise's test files define (skipped ones included)."""
  patterns = {
    "cpp": r"^TEST_CASE\(",
    "go": r"^\s*\{\"",
    "java": r"^\s*@Test\b",
    "javascript": r"^\s*x?test\(",
    "python": r"^\s*def test_",
    "rust": r"^#\[test\]",
  }
  text = "".join((exercise / name).read_text() for name in languages.test_files(exercise))
  return len(re.findall(patterns[language], text, flags=re.MULTILINE))


def _ran_all_tests(language: str, output: str, expected: int) -> bool:
  """Whether the passing output reports exactly `expected` tests run and none skipped."""
  if language == "cpp":
    return re.search(rf"All tests passed \(\d+ assertions? in {expected} test cases\)", output) is not None
  if language == "java":
    return (
      re.search(rf"\[\s+{expected} tests successful\s+\]", output) is not None
      and re.search(r"\[\s+0 tests skipped\s+\]", output) is not None
    )
  if language == "javascript":
    return re.search(rf"Tests:\s+{expected} passed, {expected} total", output) is not None
  if language == "python":
    return re.search(rf"\b{expected} passed\b", output) is not None and "skipped" not in output
  if language == "rust":
    passed = sum(int(n) for n in re.findall(r"test result: ok\. (\d+) passed", output))
    return passed == expected and not re.search(r"[1-9]\d* ignored", output)
  return re.search(r"^ok\s", output, flags=re.MULTILINE) is not None  # go: table tests run as subtests


def _run(language: str, exercise: pathlib.Path) -> subprocess.CompletedProcess:
  languages.prepare_exercise(language, exercise)
  command = languages.test_command(language, exercise)
  return subprocess.run(
    command.argv,
    cwd=exercise,
    env=command.env,
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
    text=True,
    errors="replace",
    timeout=command.timeout_s,
  )


@pytest.fixture
def work_dir(tmp_path):
  """A scratch directory removed after the test (build outputs and the Go cache copy are large)."""
  work = tmp_path / "work"
  yield work
  shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda p: f"{p.parts[-4]}-{p.name}")
def test_reference_solution_passes_every_test(exercise, toolchain_root, work_dir):
  del toolchain_root
  language = languages.language_of_exercise(exercise)
  work = work_dir / exercise.name
  shutil.copytree(exercise, work)
  languages.install_reference_solution(work)
  done = _run(language, work)
  assert done.returncode == 0, done.stdout[-4000:]
  assert _ran_all_tests(language, done.stdout, _count_tests(language, exercise)), done.stdout[-4000:]


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda p: f"{p.parts[-4]}-{p.name}")
def test_stub_fails(exercise, toolchain_root, work_dir):
  del toolchain_root
  language = languages.language_of_exercise(exercise)
  work = work_dir / exercise.name
  shutil.copytree(exercise, work)
  done = _run(language, work)
  assert done.returncode != 0, done.stdout[-4000:]
