"""Procedural tasks: reference solutions pass their tests with the real toolchains; splits never overlap."""

import json
import shutil

import pytest

from hrm_jax.data_pipelines import procedural as P
from hrm_jax.tokenizer import LANGUAGES, TASKS, load_tokenizer

TOOL = {"cpp": "g++", "go": "go", "java": "java", "javascript": "node", "python": "python3", "rust": "rustc"}


def _one_per_family(language: str) -> list[dict]:
  recs = P.generate(P.ProceduralConfig(languages=(language,), min_ops=2, max_ops=3, seed=7), "train", 200)
  chosen = {}
  for r in recs:
    if r["family"] not in chosen or r["num_ops"] > chosen[r["family"]]["num_ops"]:
      chosen[r["family"]] = r
  assert set(chosen) == set(P.FAMILIES)
  return [chosen[f] for f in P.FAMILIES]


@pytest.mark.parametrize("language", LANGUAGES)
def test_reference_solutions_pass_and_bugs_fail(language):
  if shutil.which(TOOL[language]) is None:
    pytest.fail(f"{language} toolchain ({TOOL[language]}) is not installed")
  for record in _one_per_family(language):
    result = P.run_record_tests(record)
    assert result.passed, (record["question_content"], result.stdout, result.stderr)
    if record["family"] == "repair":
      buggy = record["question_content"].split("\n", 1)[1]
      bad = P.run_record_tests(record, code=buggy)
      assert not bad.passed and "FAIL" in bad.stdout
    if record["family"] == "predict":
      wrong = str(int(record["solution"]) + 1) + "\n"
      assert not P.run_record_tests(record, code=wrong).passed


def test_records_follow_the_livecodebench_schema():
  for r in P.generate(P.ProceduralConfig(), "eval", 50):
    for field in (
      "question_title",
      "question_content",
      "platform",
      "question_id",
      "contest_id",
      "contest_date",
      "starter_code",
      "difficulty",
      "public_test_cases",
      "private_test_cases",
      "metadata",
    ):
      assert isinstance(r[field], str), field
    assert r["language"] in LANGUAGES and r["task"] in TASKS and r["difficulty"] in ("easy", "medium", "hard")
    public = json.loads(r["public_test_cases"])
    assert public and all(set(t) == {"input", "output", "testtype"} for t in public)
    if r["family"] != "predict":
      assert json.loads(r["metadata"])["func_name"] == "f"
      assert len(json.loads(r["private_test_cases"])) == 4


def test_generation_is_deterministic_and_seeded():
  cfg = P.ProceduralConfig(max_ops=3)
  assert P.generate(cfg, "train", 100) == P.generate(cfg, "train", 100)
  other = P.generate(P.ProceduralConfig(max_ops=3, seed=1), "train", 100)
  assert [r["question_content"] for r in other] != [r["question_content"] for r in P.generate(cfg, "train", 100)]
  tasks = P.ProceduralTasks(cfg, "train")
  assert tasks[0] == P.generate(cfg, "train", 1)[0]


def test_splits_never_overlap_even_in_a_small_task_space():
  # One language, one op: a few hundred distinct arith tasks exist, so train draws do hit eval tasks.
  cfg = P.ProceduralConfig(
    languages=("python",), families=("arith",), max_ops=1, max_constant=40, num_eval=60, eval_fraction=0.3
  )
  heldout = P.generate(cfg, "eval", 60)
  stats = P.GenerationStats()
  train = P.generate(cfg, "train", 150, stats)
  assert stats.redrawn > 0 and stats.duplicates > 0
  assert len({P.content_key(r) for r in train}) == 150 and len({P.content_key(r) for r in heldout}) == 60
  P.assert_disjoint(train, heldout)
  with pytest.raises(AssertionError, match="equals train task"):
    P.assert_disjoint(train + [dict(heldout[0], question_id="x")], heldout)
  with pytest.raises(RuntimeError, match="distinct"):
    P.generate(P.ProceduralConfig(languages=("python",), families=("arith",), max_ops=1, num_eval=10), "train", 1000)


def test_splits_are_stratified_by_difficulty():
  # The tiny_cpu task space: Python arith, 1-2 operations. The few dozen 1-op tasks are shared between the
  # splits in about the same proportion as the 2-op ones (drawing eval first used to take nearly all of them).
  cfg = P.ProceduralConfig(languages=("python",), families=("arith",), num_eval=200)
  train, heldout = P.generate(cfg, "train", 1500), P.generate(cfg, "eval", 200)

  def one_op_share(records):
    return sum(r["difficulty"] == "easy" for r in records) / len(records)

  assert 0 < one_op_share(heldout) < 0.1 and 0 < one_op_share(train) < 0.1
  assert abs(one_op_share(heldout) - one_op_share(train)) < 0.03
  easy_train = sum(r["difficulty"] == "easy" for r in train)
  easy_eval = sum(r["difficulty"] == "easy" for r in heldout)
  assert easy_train > 3 * easy_eval  # most of the small stratum is trained on


def test_default_splits_are_disjoint():
  cfg = P.ProceduralConfig()
  P.assert_disjoint(P.generate(cfg, "train", 3000), P.generate(cfg, "eval", cfg.num_eval))


def test_default_tasks_are_short():
  tok = load_tokenizer()
  for r in P.generate(P.ProceduralConfig(), "train", 600):
    n = len(tok.encode(r["question_content"])) + len(tok.encode(r["solution"])) + 3
    assert n < 128, r["question_content"]


def test_difficulty_knobs_change_length():
  short = P.generate(P.ProceduralConfig(max_ops=1), "train", 300)
  long = P.generate(P.ProceduralConfig(min_ops=3, max_ops=3), "train", 300)
  assert {r["num_ops"] for r in short} == {1} and {r["num_ops"] for r in long} == {3}
  mean = lambda rs: sum(len(r["solution"]) for r in rs) / len(rs)
  assert mean(long) > mean(short)


def test_expressions_render_with_correct_precedence():
  e = P.Expr("x", 3)
  e = P._apply(e, "+", 3, const_left=False)
  e = P._apply(e, "*", 2, const_left=False)
  assert e.text == "(x + 3) * 2"
  assert P._apply(e, "-", 9, const_left=True).text == "9 - (x + 3) * 2"
  assert P._apply(P._apply(P.Expr("x", 3), "-", 1, False), "-", 9, True).text == "9 - (x - 1)"
  assert P.eval_expr("9 - (x - 1)", 4) == 6


@pytest.mark.parametrize(
  "kwargs", [dict(languages=("cobol",)), dict(families=("nope",)), dict(min_ops=3, max_ops=2), dict(max_constant=1)]
)
def test_bad_config_is_named(kwargs):
  with pytest.raises(ValueError, match="ProceduralConfig"):
    P.ProceduralConfig(**kwargs)
