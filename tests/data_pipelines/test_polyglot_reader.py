"""Polyglot exercises: reader validation, SEARCH/REPLACE targets that re-apply exactly, the second-try shape."""

import json
import random
import shutil

import pytest

from hrm_jax.data_pipelines import input_pipeline as ip
from hrm_jax.data_pipelines import polyglot as P
from hrm_jax.evals import edit_formats


@pytest.fixture(scope="module")
def exercises():
  return P.read_exercises()


def test_bundled_exercises_cover_all_languages(exercises):
  assert {ex.language for ex in exercises} == set(P.LANGUAGES)
  for ex in exercises:
    # Editable files the reference changes, and files it adds beside them (java/rational-sum's Fraction.java).
    created = set(ex.solution) - set(ex.stubs)
    assert ex.solution and set(ex.solution) & set(ex.stubs) and not any((ex.path / c).exists() for c in created)
    assert not any(t in ex.stubs for t in ex.tests)
    assert "####" in ex.instructions


def test_targets_reapply_exactly_and_are_minimal(exercises):
  smaller = 0
  for ex in exercises:
    records = P.edit_records(ex)
    if len(records) == 1:  # a created file aider's fuzzy names map onto an editable one: whole-file only
      assert set(ex.solution) - set(ex.stubs) and records[0]["question_id"].endswith("/whole"), ex.name
      assert edit_formats.apply_whole(records[0]["solution"], ex.stubs).files == ex.solution
      continue
    diff, whole = records
    applied = edit_formats.apply_search_replace(diff["solution"], ex.stubs)
    assert not applied.malformed and {**ex.stubs, **applied.files} == {**ex.stubs, **ex.solution}, ex.name
    assert edit_formats.apply_whole(whole["solution"], ex.stubs).files == ex.solution
    assert "<<<<<<< SEARCH" in diff["solution"] and diff["task"] == whole["task"] == "edit"
    for test in ex.tests:
      assert test not in diff["question_content"]
    searched = sum(len(s.split("=======\n")[0]) for s in diff["solution"].split("<<<<<<< SEARCH\n")[1:])
    stub_size = sum(len(c) for c in ex.stubs.values())
    assert searched <= stub_size
    smaller += searched < stub_size
  assert smaller >= len(exercises) * 2 // 3  # tiny stubs (a lone `pass`) are searched whole


@pytest.mark.parametrize("seed", range(60))
def test_blocks_reapply_on_random_edits_with_repeated_lines(seed):
  rng = random.Random(seed)
  vocab = ["}\n", "  x += 1;\n", "  return x;\n", "int f() {\n", "\n", "  // note\n", "  y = 2;\n"]
  before = [rng.choice(vocab) for _ in range(rng.randint(0, 25))]
  after = list(before)
  for _ in range(rng.randint(1, 4)):
    op = rng.choice(("insert", "delete", "change"))
    i = rng.randint(0, len(after))
    if op == "insert" or not after:
      after.insert(i, rng.choice(vocab + ["  z = 3;\n"]))
    elif op == "delete":
      del after[min(i, len(after) - 1)]
    else:
      after[min(i, len(after) - 1)] = "  w = 4;\n"
  files = {"a.cc": "".join(before)}
  solution = {"a.cc": "".join(after)}
  if files == solution or solution["a.cc"].endswith("\n\n") or files["a.cc"].endswith("\n\n"):
    return  # a trailing blank line cannot be written in a SEARCH/REPLACE block (the parser drops it)
  reply = P.edit_target(files, solution)
  result = edit_formats.apply_search_replace(reply, files)
  assert not result.malformed and result.files.get("a.cc", files["a.cc"]) == solution["a.cc"]


def test_minimal_block_uses_context_only_when_needed():
  before = "a\nb\nx\nb\nc\n"
  blocks = P.search_replace_blocks("f", before, "a\nb\nx\nB\nc\n")
  assert blocks == [("x\nb\n", "x\nB\n")]  # "b" alone occurs twice, so one line of context is added
  assert P.search_replace_blocks("f", "", "new\n") == [("", "new\n")]
  assert P.search_replace_blocks("f", "a\nb\n", "a\nb\n") == []


def _copy_exercise(exercises, tmp_path, language="python"):
  ex = next(e for e in exercises if e.language == language)
  root = tmp_path / "root"
  shutil.copytree(ex.path, root / language / "exercises" / "practice" / ex.name)
  return root, root / language / "exercises" / "practice" / ex.name


def test_malformed_exercises_are_reported_with_their_path(exercises, tmp_path):
  root, directory = _copy_exercise(exercises, tmp_path)
  config = directory / ".meta" / "config.json"
  data = json.loads(config.read_text())
  data["files"]["test"] = ["missing_test.py"]
  config.write_text(json.dumps(data))
  with pytest.raises(P.ExerciseError, match="missing_test.py"):
    P.read_exercises(str(root), languages=("python",))
  report = P.ReadReport()
  assert P.read_exercises(str(root), languages=("python",), max_bad=1, report=report) == []
  assert len(report.bad) == 1 and str(directory) in report.bad[0]
  config.write_text("{not json")
  with pytest.raises(P.ExerciseError, match="not JSON"):
    P.read_exercise(directory, "python")
  (directory / ".meta" / "config.json").unlink()
  with pytest.raises(P.ExerciseError, match="config.json"):
    P.read_exercise(directory, "python")


def test_polyglot_source_in_the_pipeline():
  cfg = ip.default_data_config()
  cfg.source, cfg.seq_len = "polyglot_edit", 1536
  train, heldout = ip.load_records(cfg, "train"), ip.load_records(cfg, "eval")
  assert train and heldout
  assert not {r["question_title"] for r in train} & {r["question_title"] for r in heldout}
  batch = next(iter(ip.make_dataset(cfg, "train", batch_size=2, seed=0, repeat=True)))
  assert batch["inputs"].shape == (2, 1536)


def test_second_attempt_uses_real_test_output(exercises):
  ex = next(e for e in exercises if e.language == "python")
  record = P.second_attempt_record(ex)
  assert record is not None and record["task"] == "self_repair"
  assert "The tests failed with the output above" in record["question_content"]
  meta = json.loads(record["metadata"])
  assert meta["outcome"] != "passed"
  attempt = meta["attempt"]
  assert attempt != {**ex.stubs, **ex.solution}
  applied = edit_formats.apply_search_replace(record["solution"], attempt)
  assert not applied.malformed and {**attempt, **applied.files} == {**ex.stubs, **ex.solution}
