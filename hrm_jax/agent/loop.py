"""The agent loop: policy -> tool call -> observation -> ... -> final answer, within step, token and wall budgets.

A policy maps the episode so far to its next action, as text in our trajectory layout (data_pipelines/tool_use.py):
`<|tool_call|>{"tool": NAME, "args": {...}}` or `<|answer|>TEXT`. Policies:
  * `ModelPolicy`: our model through the sampler (prompt `<|problem|>{task + history}<|code|>`, task tool_use:
    exactly the layout the `tool_use` training source teaches);
  * `EndpointPolicy`: any OpenAI-compatible server (ours, vLLM, a hosted API) through chat completions with
    the tools as functions; tool calls come back as `tool_calls`, a plain reply is the answer;
  * `ScriptedPolicy`: a fixed list of actions (replaying a recorded trajectory, the SWE oracle, tests).
Observations are truncated to `Budgets.observation_chars` (head and tail kept) before the policy sees them.
Each episode is a trajectory in the tool-use JSONL schema plus a `meta` object (policy, budgets, stop reason,
tokens, wall time); `write_episode` appends finished episodes (with an answer) to the main file, which the
`tool_use` data source reads as training data, and unfinished ones to `<file>.unfinished.jsonl`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

from hrm_jax.agent.sessions import Session
from hrm_jax.agent.tools import Toolbox, openai_tools
from hrm_jax.data_pipelines import tool_use

TOOL_CALL, ANSWER = "<|tool_call|>", "<|answer|>"


@dataclasses.dataclass(frozen=True)
class Budgets:
  max_steps: int = 20  # tool calls
  max_tokens: int = 20_000  # tokens the policy generates, all steps together
  wall_s: float = 600.0
  observation_chars: int = 4000  # an observation longer than this keeps its head and tail


@dataclasses.dataclass
class Action:
  """A parsed policy reply: a tool call, an answer, or an unparseable reply (`error`)."""

  tool: str | None = None
  args: dict | None = None
  answer: str | None = None
  error: str | None = None
  tokens: int = 0  # tokens the policy generated for it


class Policy(Protocol):
  name: str

  def __call__(self, task: str, files: Sequence[str], steps: Sequence[tool_use.Step]) -> Action: ...


def parse_action(text: str) -> Action:
  """`<|tool_call|>{json}` -> a call; `<|answer|>text` (or text without a marker) -> the answer."""
  text = text.strip()
  if text.startswith(TOOL_CALL):
    body = text[len(TOOL_CALL) :].strip()
    try:
      call, _ = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError as error:
      return Action(error=f"the tool call is not JSON: {error}")
    if not isinstance(call, dict) or not isinstance(call.get("tool"), str) or not isinstance(call.get("args"), dict):
      return Action(error='a tool call is {"tool": NAME, "args": {...}}')
    return Action(tool=call["tool"], args=call["args"])
  if text.startswith(ANSWER):
    text = text[len(ANSWER) :]
  return Action(answer=text.strip())


def truncate(text: str, limit: int) -> str:
  if len(text) <= limit:
    return text
  head, tail = limit * 2 // 3, limit // 3
  return f"{text[:head]}\n[... {len(text) - head - tail} characters cut ...]\n{text[-tail:]}"


def render_history(task: str, files: Sequence[str], steps: Sequence[tool_use.Step]) -> str:
  """The statement our model sees (the `tool_use` source's layout: `tool_use.render_history`)."""
  trajectory = tool_use.Trajectory("episode", "python", task, {f: "" for f in files}, tuple(steps), "-")
  return tool_use.render_history(trajectory, len(steps))


class ScriptedPolicy:
  """Replays fixed actions (texts in the trajectory layout, or Action objects); answers "done" after them."""

  def __init__(self, actions: Sequence[str | Action], name: str = "scripted"):
    self.actions, self.name = list(actions), name

  def __call__(self, task, files, steps) -> Action:
    if len(steps) < len(self.actions):
      action = self.actions[len(steps)]
      return action if isinstance(action, Action) else parse_action(action)
    return Action(answer="done")


class ModelPolicy:
  """Our model (a training workdir) through the sampler's Generator, task `tool_use`."""

  def __init__(self, workdir: str, max_new_tokens: int = 256, temperature: float = 0.0, language: str = "python"):
    from hrm_jax.inference import sampler  # pylint: disable=import-outside-toplevel
    from hrm_jax.tokenizer import LANGUAGES, TASKS, load_tokenizer  # pylint: disable=import-outside-toplevel
    from hrm_jax.train import checkpoint  # pylint: disable=import-outside-toplevel

    model, params, _ = checkpoint.load_for_inference(workdir)
    self.tok = load_tokenizer()
    self.seq_len = model.cfg.seq_len
    self.new_tokens = min(max_new_tokens, self.seq_len // 2)
    stops = (self.tok.eos_id, self.tok.token_id("<|tool_result|>"), self.tok.token_id("<|problem|>"))
    self.gen = sampler.Generator(
      model, params, sampler.SamplingConfig(max_new_tokens=self.new_tokens, temperature=temperature, stop_ids=stops)
    )
    self.ids = (LANGUAGES.index(language), TASKS.index("tool_use"))
    self.name = f"model:{os.path.basename(os.path.normpath(workdir))}"

  def __call__(self, task, files, steps) -> Action:
    body = self.tok.encode(render_history(task, files, steps))
    room = self.seq_len - self.new_tokens - 2
    if len(body) > room:  # keep the task's start and the latest history
      body = body[: room // 3] + body[-(room - room // 3) :]
    prompt = [self.tok.token_id("<|problem|>")] + body + [self.tok.token_id("<|code|>")]
    ids = self.gen.generate([prompt], [self.ids[0]], [self.ids[1]])[0]
    action = parse_action(self.tok.decode(ids))
    action.tokens = len(ids)
    return action


class EndpointPolicy:
  """An OpenAI-compatible chat endpoint with our tools as functions."""

  def __init__(
    self,
    base_url: str,
    model: str,
    max_tokens: int = 512,
    temperature: float = 0.0,
    api_key: str | None = None,
    timeout_s: float = 600.0,
  ):
    import httpx  # pylint: disable=import-outside-toplevel  (the `serve` extra)

    root = base_url.rstrip("/")
    root = root if root.endswith("/v1") else root + "/v1"
    self.client = httpx.Client(
      base_url=root,
      timeout=timeout_s,
      headers={"Authorization": f"Bearer {api_key or os.environ.get('OPENAI_API_KEY', 'none')}"},
    )
    self.model, self.max_tokens, self.temperature = model, max_tokens, temperature
    self.name = f"endpoint:{model}"

  def messages(self, task, files, steps) -> list[dict]:
    system = "You solve the task with the tools, one call at a time, then reply with the final answer as plain text."
    user = task + ("\n\nFiles: " + ", ".join(sorted(files)) if files else "")
    out = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    for i, step in enumerate(steps):
      call_id = f"call_{i}"
      out.append(
        {
          "role": "assistant",
          "content": None,
          "tool_calls": [
            {
              "id": call_id,
              "type": "function",
              "function": {"name": step.call.tool, "arguments": json.dumps(step.call.args)},
            }
          ],
        }
      )
      out.append({"role": "tool", "tool_call_id": call_id, "content": step.output})
    return out

  def __call__(self, task, files, steps) -> Action:
    r = self.client.post(
      "/chat/completions",
      json={
        "model": self.model,
        "messages": self.messages(task, files, steps),
        "tools": openai_tools(),
        "max_tokens": self.max_tokens,
        "temperature": self.temperature,
      },
    )
    if r.status_code != 200:
      return Action(error=f"the endpoint answered {r.status_code}: {r.text[:500]}")
    body = r.json()
    tokens = int((body.get("usage") or {}).get("completion_tokens", 0))
    message = body["choices"][0]["message"]
    calls = message.get("tool_calls") or []
    if calls:
      fn = calls[0]["function"]
      try:
        args = json.loads(fn.get("arguments") or "{}")
      except json.JSONDecodeError as error:
        return Action(error=f"tool call arguments are not JSON: {error}", tokens=tokens)
      return Action(tool=fn.get("name"), args=args, tokens=tokens)
    action = parse_action(message.get("content") or "")
    action.tokens = tokens
    return action


@dataclasses.dataclass
class Episode:
  trajectory: dict  # the tool-use JSONL schema (+ "meta")
  finished: bool
  stop_reason: str  # answer | max_steps | max_tokens | wall_s | policy_error | bad_action


def run_episode(
  policy: Policy,
  session: Session,
  task: str,
  *,
  language: str = "python",
  files: dict[str, str] | None = None,
  budgets: Budgets = Budgets(),
  episode_id: str | None = None,
  test_command: str | None = None,
  progress: Callable[[str], None] | None = None,
) -> Episode:
  """Runs one episode in `session` (which already holds `files`, if any: they are recorded as the workspace)."""
  toolbox = Toolbox(session, language=language, test_command=test_command)
  steps: list[tool_use.Step] = []
  start, tokens, answer, reason = time.monotonic(), 0, "", "max_steps"
  names = sorted(files or {})
  while True:
    if len(steps) >= budgets.max_steps:
      reason = "max_steps"
      break
    if time.monotonic() - start > budgets.wall_s:
      reason = "wall_s"
      break
    if tokens >= budgets.max_tokens:
      reason = "max_tokens"
      break
    try:
      action = policy(task, names, steps)
    except Exception as error:  # the policy's own failure (a server down): the episode ends, the run goes on
      reason, answer = "policy_error", ""
      if progress:
        progress(f"policy failed: {type(error).__name__}: {error}")
      break
    tokens += action.tokens
    if action.answer is not None:
      answer, reason = action.answer, "answer"
      break
    if action.error is None and action.tool not in tool_use.TOOLS:
      action.error = f"unknown tool {action.tool!r}"
    if action.error is not None:  # a reply that is no action of the schema ends the episode (not recordable)
      reason = "bad_action"
      if progress:
        progress(f"bad action: {action.error}")
      break
    obs = toolbox.call(action.tool, action.args)
    output = truncate(obs.output, budgets.observation_chars)
    steps.append(tool_use.Step(tool_use.ToolCall(action.tool, dict(action.args)), output, obs.exit_code))
    if progress:
      progress(f"step {len(steps)}: {action.tool} -> exit {obs.exit_code}")
  wall = time.monotonic() - start
  trajectory = {
    "id": episode_id or f"ep_{uuid.uuid4().hex[:12]}",
    "language": language,
    "task": task,
    "files": dict(files or {}),
    "steps": [
      {"call": {"tool": s.call.tool, "args": s.call.args}, "result": {"output": s.output, "exit_code": s.exit_code}}
      for s in steps
    ],
    "answer": answer,
    "meta": {
      "policy": policy.name,
      "session": session.name,
      "stop_reason": reason,
      "tokens": tokens,
      "wall_s": round(wall, 3),
      "budgets": dataclasses.asdict(budgets),
    },
  }
  return Episode(trajectory, finished=reason == "answer" and bool(answer.strip()) and bool(steps), stop_reason=reason)


def write_episode(path: str, episode: Episode) -> str:
  """Appends the episode: finished ones (valid trajectories) to `path`, others to `path`.unfinished.jsonl."""
  target = path if episode.finished else path.removesuffix(".jsonl") + ".unfinished.jsonl"
  if episode.finished:
    tool_use.parse_trajectory(episode.trajectory)  # never write training data the reader would refuse
  os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
  with open(target, "a", encoding="utf-8") as f:
    f.write(json.dumps(episode.trajectory, ensure_ascii=False) + "\n")
  return target
