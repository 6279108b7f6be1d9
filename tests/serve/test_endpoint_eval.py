"""`hrm-jax eval ... --endpoint URL --model NAME`: the harnesses score a model behind an OpenAI-compatible server."""

# ruff: noqa: F811  (pytest fixtures imported from serve_fixtures are redefined as arguments)
import json
import os

import pytest
from serve_fixtures import served, served_2k, tiny_workdir  # noqa: F401

from hrm_jax import cli
from hrm_jax.evals import generators

PROBLEMS = os.path.join(os.path.dirname(__file__), "..", "..", "data_pipelines", "data", "livecodebench_sample.jsonl")


def test_endpoint_generator_sends_prompts_concurrently(served):
  url, server = served
  before = dict(server.engine.stats)
  generate = generators.endpoint_generator(url, "tiny", max_tokens=3, concurrency=4)
  replies = generate([f"Write function {i}." for i in range(6)] + ["word " * 400])
  assert len(replies) == 7 and replies[-1] == ""  # the last one is refused for its length: an empty reply
  assert server.engine.stats["requests"] - before["requests"] == 6 and server.engine.stats["max_rows"] >= 2
  with pytest.raises(RuntimeError, match="answered 404"):
    generators.endpoint_generator(url + "/v1", "other", max_tokens=3)(["x"])
  with pytest.raises(RuntimeError, match="--endpoint"):
    generators.endpoint_generator("http://127.0.0.1:9", "tiny", retries=0)(["x"])


def test_eval_livecodebench_through_our_server(served, tmp_path, capsys):
  url, server = served
  lines_before = sum(1 for _ in open(server.log_path)) if os.path.exists(server.log_path) else 0
  out = tmp_path / "lcb"
  rc = cli.main(
    [
      "eval",
      "livecodebench",
      "--problems",
      PROBLEMS,
      "--scenario",
      "codegeneration",
      "--endpoint",
      url + "/v1",
      "--model",
      "tiny",
      "--max-new-tokens",
      "8",
      "--end-date",
      "2023-06-24",
      "--out",
      str(out),
    ]
  )
  assert rc == 0, capsys.readouterr().err
  results = json.loads((out / "results.json").read_text())
  assert results["model"].startswith("endpoint: ") and len(results["problems"]) == 4
  report = json.loads((out / "report.json").read_text())
  assert report  # scored (an untrained model passes nothing, but every problem was graded)
  entries = [json.loads(l) for l in open(server.log_path)][lines_before:]
  assert len(entries) == 4 and all(e["route"] == "/v1/chat/completions" for e in entries)
  assert all(e["request"]["max_tokens"] == 8 and e["request"]["temperature"] == 0.0 for e in entries)


@pytest.mark.slow
def test_eval_polyglot_through_our_server(served_2k, tmp_path):
  """aider's protocol (two tries, the test output fed back) against our server, on one bundled exercise."""
  url, server = served_2k
  lines_before = sum(1 for _ in open(server.log_path)) if os.path.exists(server.log_path) else 0
  out = tmp_path / "polyglot"
  args = ["eval", "polyglot", "--exercises", "bundled", "--languages", "python", "--keywords", "bracket-depth"]
  args += ["--endpoint", url + "/v1", "--model", "tiny2k", "--max-new-tokens", "8", "--out", str(out)]
  assert cli.main(args) == 0
  report = json.loads((out / "report.json").read_text())
  assert report["by_language"]["python"]["completed_tests"] == 1
  entries = [json.loads(line) for line in open(server.log_path)][lines_before:]
  # an untrained model's edit does not apply, so the harness tries twice (aider's protocol)
  assert 1 <= len(entries) <= 2 and "bracket_depth.py" in json.dumps(entries[0]["request"]["messages"])
