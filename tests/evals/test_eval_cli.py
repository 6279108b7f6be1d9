"""`hrm-jax eval` end to end: oracle and --generator runs write JSON, Markdown and PNG reports."""

import json
import pathlib
import shlex
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import lcb_fixtures  # noqa: E402
from test_polyglot import make_exercises  # noqa: E402

from hrm_jax import cli  # noqa: E402


def test_livecodebench_oracle_cli(tmp_path, capsys):
  problems = lcb_fixtures.write(tmp_path / "problems.jsonl")
  out = tmp_path / "out"
  assert (
    cli.main(
      [
        "eval",
        "livecodebench",
        "--problems",
        str(problems),
        "--oracle",
        "--scenario",
        "codegeneration",
        "--out",
        str(out),
        "--workers",
        "2",
      ]
    )
    == 0
  )
  report = json.loads((out / "report.json").read_text())
  assert report["overall"]["pass@1"] == 1.0
  assert set(report) >= {
    "benchmark",
    "scenario",
    "overall",
    "by_difficulty",
    "by_platform",
    "error_categories",
    "sandbox",
    "wall_s",
  }
  assert (out / "livecodebench_by_difficulty.png").read_bytes()[:4] == b"\x89PNG"
  assert "| **overall** | 4 | 1.000 |" in (out / "report.md").read_text()
  assert len(json.loads((out / "results.json").read_text())["problems"]) == 4
  assert "sandbox isolation:" in capsys.readouterr().err


def test_livecodebench_generator_command_and_date_window(tmp_path):
  problems = lcb_fixtures.write(tmp_path / "problems.jsonl")
  reply = tmp_path / "reply.txt"
  reply.write_text("```python\nprint(7)\n```\n")
  out = tmp_path / "out"
  assert (
    cli.main(
      [
        "eval",
        "livecodebench",
        "--problems",
        str(problems),
        "--generator",
        f"cat > /dev/null; cat {shlex.quote(str(reply))}",
        "--scenario",
        "codegeneration",
        "--end-date",
        "2023-12-31",
        "--out",
        str(out),
      ]
    )
    == 0
  )
  report = json.loads((out / "report.json").read_text())
  assert report["overall"]["problems"] == 1 and report["overall"]["pass@1"] == 0.0  # prints 7 for all tests
  assert report["error_categories"]["wrong_answer"] == 1


def test_polyglot_oracle_cli(tmp_path):
  exercises = make_exercises(tmp_path / "ex", ("adder", "adder-two"))
  out = tmp_path / "out"
  assert (
    cli.main(
      [
        "eval",
        "polyglot",
        "--exercises",
        str(exercises),
        "--oracle",
        "--out",
        str(out),
        "--languages",
        "python",
        "--workers",
        "2",
      ]
    )
    == 0
  )
  report = json.loads((out / "report.json").read_text())
  assert report["overall"]["pass_rate_2"] == 100.0 and report["by_language"]["python"]["completed_tests"] == 2
  assert (out / "polyglot_by_language.png").exists()


def test_model_option_errors_clearly_without_sampler(tmp_path):
  problems = lcb_fixtures.write(tmp_path / "problems.jsonl")
  try:
    import hrm_jax.inference.sampler  # noqa: F401

    return
  except ImportError:
    pass
  try:
    cli.main(
      [
        "eval",
        "livecodebench",
        "--problems",
        str(problems),
        "--model",
        str(tmp_path),
        "--scenario",
        "codegeneration",
        "--out",
        str(tmp_path / "o"),
      ]
    )
  except SystemExit as error:
    assert "generator_from_workdir" in str(error)
  else:
    raise AssertionError("--model without the sampler must fail")
