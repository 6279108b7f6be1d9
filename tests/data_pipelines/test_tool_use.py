"""Tool-use trajectories: schema validation, the bundled sample, training records."""

import json

import pytest

from hrm_jax.data_pipelines import tool_use
from hrm_jax.tokenizer import load_tokenizer


def _traj(**overrides):
  obj = {
    "id": "t1",
    "language": "python",
    "task": "What is 1+1?",
    "files": {},
    "steps": [
      {"call": {"tool": "python", "args": {"code": "print(1+1)"}}, "result": {"output": "2\n", "exit_code": 0}}
    ],
    "answer": "2",
  }
  obj.update(overrides)
  return obj


def test_bundled_sample_is_valid_and_large_enough():
  trajectories = tool_use.read_jsonl(tool_use.BUNDLED_SAMPLE)
  assert len(trajectories) >= 20
  assert {t.language for t in trajectories} >= {"python", "go", "rust", "cpp", "java", "javascript"}
  assert sum(len(t.steps) > 1 for t in trajectories) >= 5
  train = tool_use.split_trajectories(trajectories, "train")
  heldout = tool_use.split_trajectories(trajectories, "eval")
  assert train and heldout and not {t.id for t in train} & {t.id for t in heldout}


def test_training_records_predict_only_actions():
  t = tool_use.parse_trajectory(_traj())
  records = tool_use.to_training_records(t)
  assert [r["solution"] for r in records] == [
    '<|tool_call|>{"tool": "python", "args": {"code": "print(1+1)"}}',
    "<|answer|>2",
  ]
  assert records[1]["question_content"].endswith("<|tool_result|>2\n")
  tok = load_tokenizer()
  ids = tok.encode(records[1]["question_content"])
  assert tok.token_id("<|tool_call|>") in ids and tok.token_id("<|tool_result|>") in ids


@pytest.mark.parametrize(
  "bad, reason",
  [
    (_traj(language="cobol"), "language"),
    (_traj(steps=[]), "steps"),
    (_traj(steps=[{"call": {"tool": "rm", "args": {}}, "result": {"output": "", "exit_code": 0}}]), "tool"),
    (
      _traj(steps=[{"call": {"tool": "python", "args": {"src": "x"}}, "result": {"output": "", "exit_code": 0}}]),
      "args",
    ),
    (
      _traj(steps=[{"call": {"tool": "python", "args": {"code": "x"}}, "result": {"output": 3, "exit_code": 0}}]),
      "result",
    ),
    (_traj(answer=" "), "answer"),
    (_traj(files={"a": 1}), "files"),
  ],
)
def test_malformed_trajectories_name_the_field(bad, reason):
  with pytest.raises(tool_use.TrajectoryError, match=reason):
    tool_use.parse_trajectory(bad)


def test_reader_names_file_and_line(tmp_path):
  path = tmp_path / "t.jsonl"
  path.write_text(json.dumps(_traj()) + "\n" + json.dumps(_traj(id="t2", language="x")) + "\n")
  with pytest.raises(tool_use.TrajectoryError, match=f"{path}:2"):
    tool_use.read_jsonl(str(path))
  assert len(tool_use.read_jsonl(str(path), max_bad=1)) == 1


def test_a_line_that_is_not_utf8_is_named_and_tolerated(tmp_path):
  from hrm_jax.data_pipelines import tool_use as tu

  good = open(tu.BUNDLED_SAMPLE, "rb").read().splitlines()[:3]
  path = tmp_path / "mixed.jsonl"
  path.write_bytes(b"\n".join([good[0], b'{"id": "x", "task": "caf\xff"}', good[1], good[2]]) + b"\n")
  with pytest.raises(tu.TrajectoryError, match=r"mixed\.jsonl:2: not UTF-8"):
    tu.read_jsonl(str(path))
  kept = tu.read_jsonl(str(path), max_bad=1)  # the lines after the bad one are not lost
  assert len(kept) == 3
