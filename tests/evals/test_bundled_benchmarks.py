"""The oracle over the bundled benchmark data scores 100% and the stubs fail (all six Polyglot languages).

Needs the toolchain layer (`hrm_jax.sandbox.languages`, prepared by `hrm-jax setup-toolchains`) and the
bundled data under `hrm_jax.data_pipelines/data/`; skipped, saying which is missing, until they exist.
"""

import importlib.util
import pathlib

import pytest

import hrm_jax.data_pipelines
from hrm_jax.evals import livecodebench, polyglot

DATA = pathlib.Path(hrm_jax.data_pipelines.__file__).parent / "data"
POLYGLOT = DATA / "polyglot"
LCB_SAMPLE = DATA / "livecodebench_sample.jsonl"


@pytest.mark.slow
@pytest.mark.skipif(
  importlib.util.find_spec("hrm_jax.sandbox.languages") is None or not POLYGLOT.is_dir(),
  reason="needs hrm_jax.sandbox.languages and data_pipelines/data/polyglot",
)
def test_polyglot_oracle_passes_and_stubs_fail_in_all_languages(tmp_path):
  exercises = polyglot.find_exercises(POLYGLOT)
  assert {e.language for e in exercises} == set(polyglot.LANGUAGES)
  summary, results = polyglot.evaluate(exercises, None, tmp_path / "oracle", oracle=True, workers=2)
  failures = [
    (r["testdir"], r.get("outcomes"), r.get("exception")) for r in results if r.get("tests_outcomes") != [True]
  ]
  assert not failures
  for language, metrics in summary["by_language"].items():
    assert metrics["pass_rate_1"] == 100.0, language
  # Empty replies leave the stubs in place: they fail (one exercise per language: the harness, not the data).
  first = list({e.language: e for e in reversed(exercises)}.values())
  summary, _ = polyglot.evaluate(first, lambda prompts: [""] * len(prompts), tmp_path / "stubs", tries=1, workers=2)
  assert summary["overall"]["pass_num_1"] == 0 and len(first) == len(polyglot.LANGUAGES)


@pytest.mark.skipif(not LCB_SAMPLE.exists(), reason="needs data_pipelines/data/livecodebench_sample.jsonl")
@pytest.mark.parametrize("scenario", livecodebench.SCENARIOS)
def test_livecodebench_oracle_passes_on_bundled_problems(scenario):
  problems = livecodebench.load_problems(LCB_SAMPLE)
  assert problems and all(p.solution for p in problems), f"every problem needs '{livecodebench.SOLUTION_FIELD}'"
  summary, records = livecodebench.evaluate(problems, scenario, None, oracle=True, workers=2)
  assert summary["overall"]["pass@1"] == 1.0, [
    (r.question_id, r.grades) for r in records if not all(g["passed"] for g in r.grades)
  ]
