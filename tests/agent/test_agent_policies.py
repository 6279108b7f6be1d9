"""Policies against real backends: our server as an OpenAI endpoint, and a SWE-ReX bash session (local)."""

# ruff: noqa: F811  (pytest fixtures imported from serve_fixtures are redefined as arguments)
import json
import os
import sys

import pytest

from hrm_jax.agent import loop
from hrm_jax.agent.sessions import SandboxSession

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "serve"))
from serve_fixtures import served, tiny_workdir  # noqa: E402,F401


def test_endpoint_policy_drives_an_episode_through_our_server(served, tmp_path):
  url, server = served
  policy = loop.EndpointPolicy(url, "tiny", max_tokens=8, temperature=0.0)
  session = SandboxSession(files={"notes.txt": "a\nb\n"})
  try:
    episode = loop.run_episode(
      policy,
      session,
      "How many lines does notes.txt have?",
      files={"notes.txt": "a\nb\n"},
      budgets=loop.Budgets(max_steps=2, max_tokens=64),
    )
  finally:
    session.close()
  # an untrained model answers with text (or a malformed call): either way the loop ends cleanly and says why
  assert episode.stop_reason in ("answer", "bad_action", "max_steps", "max_tokens")
  assert episode.trajectory["meta"]["policy"] == "endpoint:tiny" and episode.trajectory["meta"]["tokens"] > 0
  request = [json.loads(l) for l in open(server.log_path)][-1]["request"]
  assert {t["function"]["name"] for t in request["tools"]} >= {"shell", "edit", "git", "test"}
  assert request["messages"][1]["content"].startswith("How many lines")
  path = loop.write_episode(str(tmp_path / "episodes.jsonl"), episode)
  assert json.loads(open(path).readline())["id"] == episode.trajectory["id"]


def test_endpoint_policy_messages_carry_the_history():
  from hrm_jax.data_pipelines import tool_use

  policy = loop.EndpointPolicy("http://127.0.0.1:9", "m")
  steps = [tool_use.Step(tool_use.ToolCall("shell", {"command": "ls"}), "a.txt\n", 0)]
  messages = policy.messages("task", ["a.txt"], steps)
  assert messages[2]["tool_calls"][0]["function"] == {"name": "shell", "arguments": '{"command": "ls"}'}
  assert messages[3] == {"role": "tool", "tool_call_id": "call_0", "content": "a.txt\n"}
  from hrm_jax.serve import chat

  text, _ = chat.render_chat(messages)
  assert '<|tool_call|>{"tool": "shell", "args": {"command": "ls"}}<|tool_result|>a.txt\n' in text


@pytest.mark.slow
def test_swerex_session_keeps_shell_state():
  pytest.importorskip("swerex")
  from hrm_jax.agent.sessions import SweRexSession

  # The "local" deployment runs on this host (no isolation): only these fixed, trusted commands run in it.
  session = SweRexSession("local", files={"a.txt": "hello\n"})
  try:
    assert session.run("cat a.txt").output.strip() == "hello"
    session.run("mkdir -p sub && cd sub && export GREETING=hi")
    obs = session.run("pwd; echo $GREETING")
    assert obs.output.split() == [session.workspace + "/sub", "hi"] and obs.exit_code == 0
    assert session.run("false").exit_code == 1
    session.write_file("sub/b.txt", "x\n")
    assert session.read_file("sub/b.txt") == "x\n"
  finally:
    session.close()


def test_model_policy_runs_our_model_in_the_tool_use_layout(tiny_workdir):
  policy = loop.ModelPolicy(tiny_workdir, max_new_tokens=6)
  session = SandboxSession()
  try:
    episode = loop.run_episode(policy, session, "Print 42.", budgets=loop.Budgets(max_steps=2))
  finally:
    session.close()
  # untrained: its reply is no well-formed call, so it reads as an answer or a bad call; tokens are counted
  assert episode.stop_reason in ("answer", "bad_action", "max_steps")
  assert 0 < episode.trajectory["meta"]["tokens"] <= 12 and episode.trajectory["meta"]["policy"].startswith("model:")
  assert loop.render_history("Print 42.", ["a.py"], []) == "Print 42.\nFiles: a.py"
