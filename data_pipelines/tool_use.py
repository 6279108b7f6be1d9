"""Tool-use trajectories: our JSONL schema, a validating reader, and training records.

One JSON object per line:
    {
      "id": "tu_001",                         unique
      "language": "python",                   one of hrm_jax.tokenizer.LANGUAGES (the task's main language)
      "task": "How many ...?",                what the user asked
      "files": {"data.txt": "..."},           the workspace before the first call (may be empty)
      "steps": [                              alternating tool calls and their results, in order
        {"call": {"tool": "python", "args": {"code": "print(1)"}}, "result": {"output": "1\n", "exit_code": 0}},
        ...
      ],
      "answer": "..."                         the final answer
    }
Tools: `python` (args: code; runs `python3 -c code` in the workspace), `shell` (args: command; `bash -c`),
`read_file` (args: path), `write_file` (args: path, content); the agent adds `edit` (blocks), `git` (command),
`package` (manager, command), `test` (target), `debug` (program, commands): hrm_jax/agent/tools.py.
Results hold the real output and exit code
(the bundled sample was recorded by executing every call: `tool_use_sample_build.py`).

Training records, one per model action: the prompt is the task plus the history so far, rendered as
    {task}<|tool_call|>{call JSON}<|tool_result|>{output}<|tool_call|>...
and the solution is the next action: `<|tool_call|>{call JSON}` or, after the last step, `<|answer|>{answer}`.
Tool outputs are therefore only ever in prompts (never trained on as targets).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Iterator

from hrm_jax.data_pipelines import jsonl
from hrm_jax.tokenizer import LANGUAGES

TOOLS = {
  "python": ("code",),
  "shell": ("command",),
  "read_file": ("path",),
  "write_file": ("path", "content"),
  # the agent's other tools (hrm_jax/agent/tools.py runs them all)
  "edit": ("blocks",),
  "git": ("command",),
  "package": ("manager", "command"),
  "test": ("target",),
  "debug": ("program", "commands"),
}
BUNDLED_SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "tool_use_sample.jsonl")
EVAL_FRACTION = 0.2


class TrajectoryError(ValueError):
  """A malformed trajectory; the message names the file, line and field."""


@dataclasses.dataclass(frozen=True)
class ToolCall:
  tool: str
  args: dict

  def render(self) -> str:
    return json.dumps({"tool": self.tool, "args": self.args}, ensure_ascii=False)


@dataclasses.dataclass(frozen=True)
class Step:
  call: ToolCall
  output: str
  exit_code: int


@dataclasses.dataclass(frozen=True)
class Trajectory:
  id: str
  language: str
  task: str
  files: dict
  steps: tuple[Step, ...]
  answer: str


def parse_trajectory(obj) -> Trajectory:
  """Validates one decoded object; raises TrajectoryError naming the field."""
  if not isinstance(obj, dict):
    raise TrajectoryError(f"expected a JSON object, got {type(obj).__name__}")
  for field, kind in (("id", str), ("language", str), ("task", str), ("steps", list), ("answer", str)):
    if not isinstance(obj.get(field), kind):
      raise TrajectoryError(f"field {field} must be a {kind.__name__}")
  if obj["language"] not in LANGUAGES:
    raise TrajectoryError(f"field language must be one of {LANGUAGES}, got {obj['language']!r}")
  files = obj.get("files", {})
  if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
    raise TrajectoryError("field files must map paths to strings")
  if not obj["steps"]:
    raise TrajectoryError("field steps must hold at least one tool call")
  steps = []
  for i, step in enumerate(obj["steps"]):
    where = f"steps[{i}]"
    if not isinstance(step, dict) or not isinstance(step.get("call"), dict) or not isinstance(step.get("result"), dict):
      raise TrajectoryError(f"{where}: expected {{call: {{tool, args}}, result: {{output, exit_code}}}}")
    tool, args = step["call"].get("tool"), step["call"].get("args")
    if tool not in TOOLS:
      raise TrajectoryError(f"{where}.call.tool must be one of {sorted(TOOLS)}, got {tool!r}")
    if (
      not isinstance(args, dict)
      or sorted(args) != sorted(TOOLS[tool])
      or not all(isinstance(v, str) for v in args.values())
    ):
      raise TrajectoryError(f"{where}.call.args for {tool} must be strings {list(TOOLS[tool])}, got {args!r}")
    output, code = step["result"].get("output"), step["result"].get("exit_code")
    if not isinstance(output, str) or not isinstance(code, int) or isinstance(code, bool):
      raise TrajectoryError(f"{where}.result needs output (string) and exit_code (integer)")
    steps.append(Step(ToolCall(tool, dict(args)), output, code))
  if not obj["answer"].strip():
    raise TrajectoryError("field answer must be non-empty")
  return Trajectory(obj["id"], obj["language"], obj["task"], dict(files), tuple(steps), obj["answer"])


def iter_jsonl(path: str) -> Iterator[tuple[int, Trajectory | TrajectoryError]]:
  """(line number, trajectory or the TrajectoryError naming `path:line`) per non-blank line (one line at a
  time: a line that is not UTF-8 or not JSON is a bad record, counted against max_bad)."""
  for lineno, obj in jsonl.iter_json_lines(path):
    if isinstance(obj, jsonl.JsonLineError):
      yield lineno, TrajectoryError(str(obj))
      continue
    try:
      yield lineno, parse_trajectory(obj)
    except TrajectoryError as e:
      yield lineno, TrajectoryError(f"{path}:{lineno}: {e}")


def read_jsonl(path: str, max_bad: int = 0) -> list[Trajectory]:
  """All trajectories of a file; more than `max_bad` malformed lines raise TrajectoryError listing them."""
  good, bad = [], []
  for _, item in iter_jsonl(path):
    (bad if isinstance(item, TrajectoryError) else good).append(item)
  if len(bad) > max_bad:
    raise TrajectoryError(
      f"{path}: {len(bad)} malformed trajectories (threshold {max_bad}):\n  " + "\n  ".join(str(e) for e in bad[:10])
    )
  for error in bad:
    logging.getLogger(__name__).warning("skipped (within max_bad=%d): %s", max_bad, error)
  ids = [t.id for t in good]
  if len(ids) != len(set(ids)):
    raise TrajectoryError(f"{path}: duplicate trajectory ids")
  return good


def split_trajectories(trajectories: list[Trajectory], split: str) -> list[Trajectory]:
  """Train/eval by a hash of the id (EVAL_FRACTION held out)."""

  def is_eval(t):
    return int(hashlib.sha256(t.id.encode()).hexdigest()[:8], 16) / 16**8 < EVAL_FRACTION

  return [t for t in trajectories if is_eval(t) == (split == "eval")]


def render_history(trajectory: Trajectory, upto: int) -> str:
  """The task, the workspace file names, and the first `upto` steps (calls with their results)."""
  parts = [trajectory.task]
  if trajectory.files:
    parts.append("\nFiles: " + ", ".join(sorted(trajectory.files)))
  for step in trajectory.steps[:upto]:
    parts.append(f"<|tool_call|>{step.call.render()}<|tool_result|>{step.output}")
  return "".join(parts)


def to_training_records(trajectory: Trajectory) -> list[dict]:
  """One record per action: len(steps) tool calls, then the answer."""
  records = []
  n = len(trajectory.steps)
  for k in range(n + 1):
    target = f"<|tool_call|>{trajectory.steps[k].call.render()}" if k < n else f"<|answer|>{trajectory.answer}"
    records.append(
      {
        "question_title": trajectory.id,
        "question_content": render_history(trajectory, k),
        "platform": "tool_use",
        "question_id": f"{trajectory.id}/{k}",
        "contest_id": "tool_use",
        "contest_date": "2026-01-01T00:00:00",
        "starter_code": "",
        "difficulty": "easy",
        "public_test_cases": "[]",
        "private_test_cases": "[]",
        "metadata": "{}",
        "language": trajectory.language,
        "solution": target,
        "task": "tool_use",
      }
    )
  return records
