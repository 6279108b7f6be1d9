"""Augmentation: programs stay parseable in all six languages and keep passing their tests."""

import dataclasses

import pytest

from hrm_jax.data_pipelines import augment as A
from hrm_jax.data_pipelines import input_pipeline as ip
from hrm_jax.data_pipelines import lcb_sample_build, procedural
from hrm_jax.data_pipelines import livecodebench as lcb
from hrm_jax.data_pipelines import polyglot as P
from hrm_jax.tokenizer import LANGUAGES


@pytest.fixture(scope="module")
def exercises():
  return P.read_exercises()


@pytest.mark.parametrize("language", LANGUAGES)
def test_reference_solutions_still_parse_and_change(exercises, language):
  sources = [c for ex in exercises if ex.language == language for c in ex.solution.values()]
  assert sources
  changed = 0
  for seed in range(3):
    for code in sources:
      out = A.augment(language, code, seed)
      assert A.parses(language, out)
      changed += out != code
  assert changed > 0


def test_parse_check_catches_broken_code():
  for language, broken in [
    ("go", "func f( {"),
    ("rust", "fn f() { let x = ; }"),
    ("cpp", "int f() { return 1 }"),
    ("java", "class A { void f( }"),
    ("javascript", "function f( {"),
    ("python", "def f(:"),
  ]:
    assert not A.parses(language, broken)
    assert A.augment(language, broken, 0) == broken


def test_augmentation_is_deterministic():
  code = "def f(a, b):\n    total = a + b\n    return total\n\ndef g(x):\n    return x\n"
  assert A.augment("python", code, 5) == A.augment("python", code, 5)
  assert A.augment("python", code, 5) != code


def test_unsafe_names_are_kept():
  rust = 'struct P { x: i32 }\nfn f(x: i32) -> P {\n    let y = x + 1;\n    println!("{y}");\n    P { x }\n}\n'
  out = A.rename_locals("rust", rust, 0)
  assert "P { x }" in out and "{y}" in out and A.parses("rust", out)
  py = "def f(a, key=None):\n    return a\n\nf(1, key=2)\n"
  out = A.rename_locals("python", py, 0)
  assert "key=None" in out and "f(1, key=2)" in out


@pytest.mark.parametrize("language", LANGUAGES)
def test_procedural_solutions_still_pass_their_tests(language):
  cfg = procedural.ProceduralConfig(
    languages=(language,), families=("arith", "string", "repair"), min_ops=2, max_ops=3, seed=3
  )
  record = next(r for r in procedural.generate(cfg, "train", 30) if r["family"] == "string")
  code = A.augment(language, record["solution"], seed=1)
  assert code != record["solution"]
  assert procedural.run_record_tests(record, code=code).passed, code


def test_python_lcb_solutions_still_pass_their_tests():
  problems = lcb.read_jsonl(ip.BUNDLED_LCB_SAMPLE)
  jobs, changed = [], 0
  for p in problems:
    code = A.augment("python", p.extra["solution"], seed=2)
    changed += code != p.extra["solution"]
    jobs.append(
      {
        "code": code,
        "tests": [dataclasses.asdict(t) for t in p.public_tests + p.private_tests],
        "func_name": p.func_name,
      }
    )
  assert changed >= len(problems) // 2
  for p, results in zip(problems, lcb_sample_build.run_python_tests_batch(jobs)):
    assert all(r is True for r in results), (p.question_id, results)


def test_reordering_moves_definitions():
  go = "package m\n\nfunc a() int { return 1 }\n\nfunc b() int { return 2 }\n\nfunc c() int { return 3 }\n"
  outs = {A.reorder_definitions("go", go, s) for s in range(6)}
  assert len(outs) > 1 and all(A.parses("go", o) for o in outs)
  assert A.reorder_definitions("cpp", "int a();\nint b();\n", 0) == "int a();\nint b();\n"


@pytest.mark.parametrize("language", ["python", "javascript"])
def test_augmented_polyglot_references_pass_the_exercise_tests(exercises, language, tmp_path):
  import shutil

  from hrm_jax.evals import polyglot as harness

  for ex in [e for e in exercises if e.language == language]:
    workdir = tmp_path / f"{language}-{ex.name}"
    shutil.copytree(ex.path, workdir, ignore=shutil.ignore_patterns(".meta", ".docs"))
    changed = False
    for path, code in ex.solution.items():
      new = A.augment(language, code, seed=4)
      changed |= new != code
      (workdir / path).write_text(new)
    assert changed
    run = harness.run_tests(ex.exercise, workdir)
    assert run.passed, run.output[-2000:]


def test_augmented_copies_in_the_pipeline():
  cfg = ip.default_data_config()
  cfg.source, cfg.seq_len = "livecodebench_sample", 1024
  base = ip.load_records(cfg, "train")
  cfg.augment_copies = 2
  records = ip.load_records(cfg, "train")
  extra = records[len(base) :]
  assert records[: len(base)] == base and len(extra) > len(base)
  originals = {r["question_id"]: r for r in base}
  for r in extra:
    original = originals[r["question_id"].rsplit("/aug", 1)[0]]
    assert r["solution"] != original["solution"] and r["question_content"] == original["question_content"]
    assert A.parses("python", r["solution"])
  assert not any("/aug" in r["question_id"] for r in ip.load_records(cfg, "eval"))
