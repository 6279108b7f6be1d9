"""Harness fidelity on the shapes of the real benchmarks (issue 17, part 2), through the sandbox and the CLI.

The bundled exercises java/rational-sum (a reference helper class in its own file), java/inventory-json (a
solution importing org.json) and cpp/concurrent-ledger (a test with 1000 threads alive at once) reproduce
what made the full Aider Polyglot oracle miss; the C++ test-framework cache, the oracle's exit status, the
bundled corpus by name and the context check of `--model` are driven through the real code paths.
"""

import json
import pathlib
import shutil
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import lcb_fixtures  # noqa: E402
from test_polyglot import make_exercises  # noqa: E402

from hrm_jax import cli  # noqa: E402
from hrm_jax.data_pipelines import polyglot as polyglot_data  # noqa: E402
from hrm_jax.evals import livecodebench, polyglot  # noqa: E402
from hrm_jax.sandbox import languages  # noqa: E402

BUNDLED = pathlib.Path(polyglot_data.BUNDLED_ROOT)
README = pathlib.Path(__file__).resolve().parents[2] / "README.md"  # and the docs/ pages it links


def _exercise(language: str, name: str) -> polyglot.Exercise:
  (exercise,) = polyglot.find_exercises(BUNDLED, [language], [name])
  return exercise


# ----------------------------------------------------------------------------------------- one placement rule


def test_java_helper_class_goes_beside_the_solution_not_over_it():
  exercise = _exercise("java", "rational-sum")
  files = polyglot.reference_files(exercise)
  assert sorted(files) == ["src/main/java/Fraction.java", "src/main/java/RationalSum.java"]
  assert "public final class Fraction" in files["src/main/java/Fraction.java"]
  assert "class RationalSum" in files["src/main/java/RationalSum.java"]


def test_oracle_and_install_reference_solution_place_every_bundled_reference_alike(tmp_path):
  for exercise in polyglot.find_exercises(BUNDLED):
    work = tmp_path / exercise.language / exercise.name
    shutil.copytree(exercise.pristine, work)
    installed = {str(p.relative_to(work)): p.read_text() for p in languages.install_reference_solution(work)}
    assert installed == polyglot.reference_files(exercise), exercise.pristine


def test_training_targets_create_the_helper_class_file(caplog):
  exercise = polyglot_data.read_exercise(BUNDLED / "java" / "exercises" / "practice" / "rational-sum", "java")
  assert set(exercise.solution) == {"src/main/java/Fraction.java", "src/main/java/RationalSum.java"}
  # aider's fuzzy file names take `src/main/java/Fraction.java` for the editable RationalSum.java, so only the
  # whole-file target can create the helper; it re-applies to exactly the reference.
  (whole,) = polyglot_data.edit_records(exercise)
  assert "no diff-format edit record" in caplog.text
  applied = polyglot.edit_formats.apply_edits("whole", whole["solution"], exercise.stubs)
  assert not applied.malformed and applied.files == exercise.solution
  # A new file whose name is not close to an editable one gets an empty-SEARCH block.
  reply = polyglot_data.edit_target(
    {"src/main/java/RationalSum.java": "class RationalSum {}\n"},
    {"src/main/java/util/GreatestCommonDivisor.java": "class G {}\n"},
  )
  assert "<<<<<<< SEARCH\n=======\nclass G {}" in reply


# ----------------------------------------------------------------------------------------- in the sandbox


def test_java_and_cpp_shapes_pass_in_the_sandbox_and_their_stubs_fail(tmp_path):
  exercises = [
    _exercise("java", "rational-sum"),
    _exercise("java", "inventory-json"),
    _exercise("cpp", "concurrent-ledger"),
  ]
  _, results = polyglot.evaluate(exercises, None, tmp_path / "oracle", oracle=True, workers=2)
  assert [r["tests_outcomes"] for r in results] == [[True]] * 3, [
    (r["testdir"], (tmp_path / "oracle" / r["testdir"] / polyglot.HISTORY_FILE).read_text()[-3000:])
    for r in results
    if r["tests_outcomes"] != [True]
  ]
  # The stubs compile (org.json is on the main sources' classpath too) and fail their tests.
  _, results = polyglot.evaluate(exercises, lambda prompts: [""] * len(prompts), tmp_path / "stubs", tries=1, workers=2)
  assert [r["outcomes"] for r in results] == [["failed_tests"]] * 3


def _ledger_workdir(tmp_path: pathlib.Path, balance_body: str) -> pathlib.Path:
  exercise = _exercise("cpp", "concurrent-ledger")
  work = tmp_path / "concurrent-ledger"
  shutil.copytree(exercise.pristine, work)
  for target, content in polyglot.reference_files(exercise).items():
    (work / target).write_text(content)
  source = work / "concurrent_ledger.cpp"
  text = source.read_text()
  start = text.index("long Ledger::balance() const {")
  source.write_text(
    "#include <vector>\n"
    + text[:start]
    + "long Ledger::balance() const {\n"
    + balance_body
    + "\n}\n\n}  // namespace concurrent_ledger\n"
  )
  return work


def test_cpp_memory_bomb_is_still_stopped(tmp_path):
  exercise = _exercise("cpp", "concurrent-ledger")
  # 6 GiB in one allocation, over the 4 GiB a test run may use.
  work = _ledger_workdir(
    tmp_path,
    "  std::vector<char> bomb(6ull << 30, 1);\n"
    "  std::lock_guard<std::mutex> lock(mutex_);\n"
    "  return balance_ + bomb[bomb.size() - 1] - 1;",
  )
  run = polyglot.run_tests(exercise, work)
  assert run.outcome == "memory_limit", run.output[-3000:]


def test_cpp_framework_object_is_prebuilt_once_and_never_taken_from_edited_framework_files(tmp_path):
  exercise = _exercise("cpp", "concurrent-ledger")
  polyglot.warm_cpp_framework(exercise)
  assert languages.cpp_framework_cached(exercise.pristine)
  work = tmp_path / exercise.name  # the CMakeLists names the target after the folder
  shutil.copytree(exercise.pristine, work)
  for target, content in polyglot.reference_files(exercise).items():
    (work / target).write_text(content)
  run = polyglot.run_tests(exercise, work)
  assert run.passed and "Using the prebuilt test/tests-main.cpp object" in run.output, run.output[-3000:]
  # A changed framework file (a model may write files outside its editable set) misses the cache.
  main = work / "test" / "tests-main.cpp"
  main.write_text(main.read_text() + "// changed\n")
  run = polyglot.run_tests(exercise, work)
  assert run.passed and "Using the prebuilt" not in run.output, run.output[-3000:]


# ----------------------------------------------------------------------------------------- the CLI


def test_oracle_below_100_percent_exits_nonzero_and_lists_the_misses(tmp_path, capsys):
  root = make_exercises(tmp_path / "ex", ("adder", "adder-broken"))
  broken = root / "python" / "exercises" / "practice" / "adder-broken"
  (broken / ".meta" / "example.py").write_text("def add(a, b):\n    return a - b\n")
  out = tmp_path / "out"
  rc = cli.main(["eval", "polyglot", "--exercises", str(root), "--oracle", "--languages", "python", "--out", str(out)])
  err = capsys.readouterr().err
  assert rc == 1
  assert "oracle: 1 of 2 exercises did not pass:" in err and "python/adder-broken" in err
  assert "python/adder:" not in err.split("oracle:")[1]


def test_readme_polyglot_command_runs_with_the_bundled_corpus(tmp_path, capsys):
  lines = [
    (path.name, line)
    for path in [README, *sorted((README.parent / "docs").glob("*.md"))]
    for line in path.read_text().splitlines()
    if line.startswith("hrm-jax eval polyglot --exercises")
  ]
  assert any(name == "README.md" for name, _ in lines)
  for i, (name, line) in enumerate(lines):
    argv = line.rstrip("\\ ").split()[1:]
    out = tmp_path / f"out{i}"
    argv[argv.index("--out") + 1] = str(out)
    assert argv[argv.index("--exercises") + 1] == "bundled", name
    rc = cli.main(argv + ["--languages", "python", "--keywords", "word-tally"])
    assert rc == 0, (name, capsys.readouterr().err)
    report = json.loads((out / "report.json").read_text())
    assert report["by_language"]["python"]["pass_rate_1"] == 100.0, name
  assert (
    cli.main(["eval", "polyglot", "--exercises", str(tmp_path / "nothing"), "--oracle", "--out", str(tmp_path / "o2")])
    == 2
  )
  assert "or --exercises bundled" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------- --model context


@pytest.fixture(scope="module")
def short_context_workdir(tmp_path_factory):
  """An untrained causal code model with a 64-token context (config.json + an Orbax checkpoint)."""
  from hrm_jax.bench.serve import tiny_workdir

  workdir = tmp_path_factory.mktemp("short") / "model"
  tiny_workdir(str(workdir), seq_len=64, hidden_size=32, num_heads=2, L_cycles=1, halt_max_steps=1)
  return workdir


def test_polyglot_model_prompts_over_the_context_are_context_overflow(short_context_workdir, tmp_path, capsys):
  out = tmp_path / "poly"
  rc = cli.main(
    [
      "eval",
      "polyglot",
      "--exercises",
      "bundled",
      "--languages",
      "python",
      "--keywords",
      "word-tally,bracket-depth",
      "--model",
      str(short_context_workdir),
      "--max-new-tokens",
      "16",
      "--out",
      str(out),
    ]
  )
  err = capsys.readouterr().err
  assert rc == 0, err
  report = json.loads((out / "report.json").read_text())["overall"]
  assert report["context_overflows"] == 2 and report["exceptions"] == 0
  assert report["percent_cases_well_formed"] == 0.0 and report["pass_rate_2"] == 0.0
  assert err.count("does not fit the model's context") == 1
  result = json.loads((out / "python" / "word-tally" / polyglot.RESULTS_FILE).read_text())
  assert result["outcomes"] == ["context_overflow"] and result["num_replies"] == 0
  assert "exceeds the model's context (config.model.seq_len=64)" in result["context_overflow"]
  assert "| context_overflows |" in (out / "report.md").read_text().replace(
    "context_overflows | exceptions", "context_overflows |"
  )


def test_livecodebench_model_prompts_over_the_context_are_context_overflow(short_context_workdir, tmp_path, capsys):
  problems = lcb_fixtures.write(tmp_path / "problems.jsonl")
  out = tmp_path / "lcb"
  rc = cli.main(
    [
      "eval",
      "livecodebench",
      "--problems",
      str(problems),
      "--scenario",
      "codegeneration",
      "--model",
      str(short_context_workdir),
      "--max-new-tokens",
      "16",
      "--out",
      str(out),
    ]
  )
  err = capsys.readouterr().err
  assert rc == 0, err
  report = json.loads((out / "report.json").read_text())
  assert report["error_categories"]["context_overflow"] == 4 and report["overall"]["pass@1"] == 0.0
  assert err.count("does not fit the model's context") == 1
  assert "context_overflow" in livecodebench.ERROR_CATEGORIES


def test_cpp_framework_objects_are_stored_atomically_and_cached_ones_only_named(tmp_path, monkeypatch):
  import base64
  import gzip

  monkeypatch.setenv("HRM_JAX_TOOLCHAINS", str(tmp_path / "toolchains"))
  exercise = _exercise("cpp", "bracket-depth").pristine
  built, cached = "a" * 40, "b" * 40
  objects = languages.cpp_objects_dir()
  objects.mkdir(parents=True)
  (objects / f"{cached}.o").write_bytes(b"old object")
  output = (
    f"configure noise\n{languages.CPP_OBJECT_MARKER} {built} "
    f"{base64.b64encode(gzip.compress(b'new object')).decode()}\n"
    f"{languages.CPP_OBJECT_MARKER} {cached} cached\n"
  )
  assert not languages.cpp_framework_cached(exercise)
  assert languages.store_cpp_framework_objects(exercise, output) == [built, cached]
  assert (objects / f"{built}.o").read_bytes() == b"new object"
  assert (objects / f"{cached}.o").read_bytes() == b"old object"
  assert languages.cpp_framework_cached(exercise) and not list(objects.glob(".*partial"))
  with pytest.raises(ValueError, match="bad framework object key"):
    languages.store_cpp_framework_objects(exercise, f"{languages.CPP_OBJECT_MARKER} ../../x.o cached\n")
