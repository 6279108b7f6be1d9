"""LiveCodeBench reader: schema validation, private-test decoding, the restricted unpickler, the bundled sample."""

import base64
import json
import os
import pickle
import zlib

import pytest

from hrm_jax.data_pipelines import input_pipeline as ip
from hrm_jax.data_pipelines import lcb_sample_build
from hrm_jax.data_pipelines import livecodebench as lcb

SAMPLE = ip.BUNDLED_LCB_SAMPLE


def _record(**overrides):
  rec = {
    "question_title": "t",
    "question_content": "Print 1.",
    "platform": "atcoder",
    "question_id": "abc001_a",
    "contest_id": "abc001",
    "contest_date": "2023-08-21T00:00:00",
    "starter_code": "",
    "difficulty": "easy",
    "public_test_cases": json.dumps([{"input": "", "output": "1\n", "testtype": "stdin"}]),
    "private_test_cases": lcb.encode_private_tests([{"input": "x\n", "output": "1\n", "testtype": "stdin"}]),
    "metadata": "{}",
  }
  rec.update(overrides)
  return rec


def _write(tmp_path, lines):
  path = tmp_path / "p.jsonl"
  path.write_text("".join(line + "\n" for line in lines))
  return str(path)


def test_valid_record_round_trip():
  p = lcb.parse_record(_record())
  assert p.private_tests == (lcb.TestCase("x\n", "1\n", "stdin"),)
  assert not p.is_functional
  f = lcb.parse_record(_record(metadata=json.dumps({"func_name": "twoSum"}), private_test_cases="[]"))
  assert f.func_name == "twoSum" and f.private_tests == ()


def test_private_tests_encoding_matches_lcb_layout():
  tests = [{"input": "1", "output": "2", "testtype": "functional"}]
  encoded = lcb.encode_private_tests(tests)
  raw = pickle.loads(zlib.decompress(base64.b64decode(encoded)))  # what LiveCodeBench's own loader does
  assert isinstance(raw, str) and json.loads(raw) == tests
  assert lcb.decode_private_tests(encoded) == tests
  assert lcb.decode_private_tests(json.dumps(tests)) == tests


class _RunsCode:
  def __reduce__(self):
    return (os.system, ("echo pwned > /dev/null",))


@pytest.mark.parametrize("payload", [_RunsCode(), ("a", "tuple"), {1: "x"}, b"bytes", {"a": {1, 2}}])
def test_restricted_unpickler_rejects_non_plain_data(payload):
  blob = base64.b64encode(zlib.compress(pickle.dumps(payload))).decode()
  with pytest.raises(lcb.UnsafePickleError):
    lcb.decode_private_tests(blob)
  with pytest.raises(lcb.RecordError, match="private_test_cases"):
    lcb.parse_record(_record(private_test_cases=blob))


def test_restricted_unpickler_never_runs_code(tmp_path):
  marker = tmp_path / "ran"

  class Evil:
    def __reduce__(self):
      return (open, (str(marker), "w"))

  with pytest.raises(lcb.UnsafePickleError, match="global"):
    lcb.safe_unpickle(pickle.dumps(Evil()))
  assert not marker.exists()
  assert lcb.safe_unpickle(pickle.dumps(["a", {"b": [1, 2.5, None, True]}])) == ["a", {"b": [1, 2.5, None, True]}]


@pytest.mark.parametrize(
  "bad, reason",
  [
    (_record(difficulty="impossible"), "difficulty"),
    ({k: v for k, v in _record().items() if k != "metadata"}, "missing field"),
    (_record(contest_date="last week"), "contest_date"),
    (_record(public_test_cases="not json"), "public_test_cases"),
    (_record(public_test_cases=json.dumps([{"input": 1, "output": "2"}])), "public_test_cases"),
    (_record(private_test_cases="@@@"), "private_test_cases"),
    (_record(metadata="[1]"), "metadata"),
    (_record(question_title=3), "question_title"),
  ],
)
def test_malformed_records_name_the_field(bad, reason):
  with pytest.raises(lcb.RecordError, match=reason):
    lcb.parse_record(bad)


def test_reader_reports_file_and_line_and_threshold(tmp_path):
  path = _write(tmp_path, [json.dumps(_record()), "{not json", json.dumps(_record(question_id="b", difficulty="x"))])
  with pytest.raises(lcb.RecordError) as info:
    lcb.read_jsonl(path)
  assert f"{path}:2" in str(info.value) and f"{path}:3" in str(info.value) and "2 malformed" in str(info.value)
  assert [p.question_id for p in lcb.read_jsonl(path, max_bad=2)] == ["abc001_a"]
  dup = _write(tmp_path, [json.dumps(_record()), json.dumps(_record())])
  with pytest.raises(lcb.RecordError, match="duplicate question_id"):
    lcb.read_jsonl(dup)


def test_bundled_sample_shape():
  problems = lcb.read_jsonl(SAMPLE)
  assert len(problems) >= 60
  assert {p.difficulty for p in problems} == {"easy", "medium"}
  assert sum(p.is_functional for p in problems) >= 20 and sum(not p.is_functional for p in problems) >= 20
  for p in problems:
    assert p.public_tests and p.private_tests and p.extra["solution"].strip()
    assert bool(p.starter_code) == p.is_functional
  raw = [json.loads(line) for line in open(SAMPLE)]
  assert all(not r["private_test_cases"].startswith("[") for r in raw)  # compressed, as LCB ships them


def test_bundled_solutions_pass_all_their_tests():
  assert lcb_sample_build.check_file(SAMPLE) == []


def test_wrong_solution_is_caught():
  problem = lcb.read_jsonl(SAMPLE)[0]
  tests = [{"input": t.input, "output": t.output} for t in problem.public_tests]
  results = lcb_sample_build.run_python_tests("print(0)\n", tests, problem.func_name)
  assert any(r is not True for r in results)


def test_sample_through_the_input_pipeline():
  cfg = ip.default_data_config()
  cfg.source = "livecodebench_sample"
  cfg.seq_len = 1024
  train, heldout = ip.load_records(cfg, "train"), ip.load_records(cfg, "eval")
  assert len(train) + len(heldout) == 60 and heldout
  assert not {r["question_id"] for r in train} & {r["question_id"] for r in heldout}
  batch = next(iter(ip.make_dataset(cfg, "train", batch_size=4, seed=0, repeat=True)))
  assert batch["inputs"].shape == (4, 1024)
  report = ip.dataset_report(cfg, "train")
  assert report.kept == len(train) and report.dropped_too_long == 0


def test_tolerated_bad_records_are_logged_not_silent(tmp_path, caplog):
  path = _write(tmp_path, [json.dumps(_record()), "{broken"])
  with caplog.at_level("WARNING"):
    assert len(lcb.read_jsonl(path, max_bad=1)) == 1
  assert f"{path}:2" in caplog.text


@pytest.mark.slow
def test_bundled_solutions_pass_in_the_project_sandbox():
  import pathlib

  from hrm_jax.evals import livecodebench as harness

  problems = harness.load_problems(pathlib.Path(SAMPLE))
  grades = harness.grade_programs([(p, p.solution) for p in problems], workers=2)
  failed = [(p.question_id, g.category, g.metadata) for p, g in zip(problems, grades) if not g.passed]
  assert len(problems) == 60 and not failed


# ---------------------------------------------------------------------------------------------------------
# One reader for the pipeline, the evaluator and the RL rewards; refused pickles through the real CLI.


def test_evaluator_reads_through_the_same_reader():
  from hrm_jax.evals import livecodebench as harness

  assert harness.load_problems(SAMPLE) == lcb.read_jsonl(SAMPLE)
  windowed = harness.load_problems(SAMPLE, start_date="2024-01-01", platform="hrm-jax")
  assert windowed and all(p.contest_date >= "2024-01-01" for p in windowed)
  problem = windowed[0]
  assert isinstance(problem, lcb.LcbProblem)
  assert problem.tests == problem.public_tests + problem.private_tests and problem.solution
  record = lcb.to_training_record(problem)  # what the RL rewards grade: the same reader parses it back
  assert harness.problem_from_record(record).tests == problem.tests


def test_a_line_that_is_not_utf8_names_its_line(tmp_path):
  path = tmp_path / "p.jsonl"
  path.write_bytes(json.dumps(_record()).encode() + b"\n" + b'{"question_title": "\xff"}\n')
  with pytest.raises(lcb.RecordError, match=rf"{path}:2: not UTF-8"):
    lcb.read_jsonl(str(path))
  assert len(lcb.read_jsonl(str(path), max_bad=1)) == 1


@pytest.fixture
def refused_pickle_file(tmp_path):
  marker = tmp_path / "ran"
  evil = base64.b64encode(zlib.compress(pickle.dumps(_Runs(str(marker))))).decode()
  good = _record(question_id="abc001_a", solution="print(1)\n")
  bad = _record(question_id="abc001_b", private_test_cases=evil, solution="print(1)\n")
  path = _write(tmp_path, [json.dumps(good), json.dumps(bad)])
  return path, marker


class _Runs:
  def __init__(self, marker):
    self.marker = marker

  def __reduce__(self):
    return (os.system, (f"touch {self.marker}",))


def _cli(*args):
  import subprocess
  import sys

  return subprocess.run([sys.executable, "-m", "hrm_jax.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", ["eval", "data"])
def test_refused_pickle_is_one_line_and_exit_2_in_the_cli(refused_pickle_file, tmp_path, command):
  path, marker = refused_pickle_file
  if command == "eval":
    done = _cli(
      "eval",
      "livecodebench",
      "--problems",
      path,
      "--oracle",
      "--scenario",
      "codegeneration",
      "--out",
      str(tmp_path / "out"),
    )
  else:
    config = tmp_path / "cfg.py"
    config.write_text(
      "from hrm_jax.data_pipelines import input_pipeline\n"
      "def get_config():\n  return input_pipeline.default_data_config()\n"
    )
    done = _cli(
      "data",
      "inspect",
      "--config",
      str(config),
      "--config.source=livecodebench_sample",
      f"--config.lcb_path={path}",
      "--num",
      "0",
      "--batches",
      "1",
    )
  assert done.returncode == 2, (done.stdout, done.stderr)
  assert f"{path}:2: refused pickle global posix.system" in done.stderr
  assert "Traceback" not in done.stderr and not marker.exists()
