"""The tool-use agent environment: sessions keep state, tools run in them, episodes become trajectories."""

import pytest

from hrm_jax.agent import loop
from hrm_jax.agent.sessions import SandboxSession
from hrm_jax.agent.tools import Toolbox, openai_tools
from hrm_jax.data_pipelines import tool_use


@pytest.fixture
def session():
  s = SandboxSession(files={"a.txt": "hello\n"})
  yield s
  s.close()


def test_sandbox_session_keeps_files_directory_and_exports(session):
  assert session.run("cat a.txt; mkdir sub && cd sub && export GREETING=hi && echo x > b.txt").exit_code == 0
  obs = session.run("pwd; echo $GREETING; cat b.txt; cat ../a.txt")
  lines = obs.output.splitlines()
  assert lines[0].endswith("/sub") and lines[1:] == ["hi", "x", "hello"]
  assert session.read_file("sub/b.txt") == "x\n"
  assert session.run("exit 7").exit_code == 7
  assert session.run("pwd").output.strip().endswith("/sub")  # state survives an explicit exit


def test_sandbox_session_refuses_escapes_and_drops_special_files(session):
  session.run("ln -s /etc/passwd pw; mkfifo fifo; ln -s a.txt inside; echo ok")
  for bad in ("../x", "/etc/passwd", "pw", "inside"):
    with pytest.raises((ValueError, FileNotFoundError)):
      session.read_file(bad)
  listing = session.run("ls").output.split()
  assert "fifo" not in listing and "pw" not in listing and "inside" in listing
  with pytest.raises(ValueError):
    session.write_file("../escape.txt", "x")
  slow = session.run("sleep 30", timeout_s=1)
  assert slow.exit_code != 0 and "timeout" in slow.output


def test_tools_in_a_session(session):
  tools = Toolbox(session)
  assert tools.call("python", {"code": "print(6 * 7)"}).output == "42\n"
  assert tools.call("write_file", {"path": "calc.py", "content": "def f(x):\n    return x - 1\n"}).exit_code == 0
  edit = tools.call(
    "edit",
    {"blocks": "calc.py\n```\n<<<<<<< SEARCH\n    return x - 1\n=======\n    return x + 1\n>>>>>>> REPLACE\n```\n"},
  )
  assert edit.exit_code == 0 and tools.call("read_file", {"path": "calc.py"}).output.endswith("x + 1\n")
  miss = tools.call("edit", {"blocks": "calc.py\n```\n<<<<<<< SEARCH\nnot there\n=======\nx\n>>>>>>> REPLACE\n```\n"})
  assert miss.exit_code == 1 and "SearchReplaceNoExactMatch" in miss.output
  tools.call(
    "write_file", {"path": "test_calc.py", "content": "from calc import f\n\ndef test_f():\n    assert f(1) == 2\n"}
  )
  assert tools.call("test", {"target": "test_calc.py"}).exit_code == 0
  session.run("git init -q && git add -A && git -c user.name=a -c user.email=a@b commit -qm init")
  tools.call("write_file", {"path": "calc.py", "content": "def f(x):\n    return x + 2\n"})
  diff = tools.call("git", {"command": "diff"})
  assert "-    return x + 1" in diff.output and "+    return x + 2" in diff.output
  assert tools.call("test", {"target": "test_calc.py"}).exit_code != 0
  assert tools.call("git", {"command": "checkout -- calc.py"}).exit_code == 0
  assert tools.call("git", {"command": "status --short"}).output == ""
  assert tools.call("git", {"command": "push origin"}).exit_code == 2  # not an allowed git command
  pdb = tools.call("debug", {"program": "calc.py", "commands": "break 2\ncontinue\np 'stopped'"})
  assert pdb.exit_code == 0
  offline = tools.call("package", {"manager": "pip", "command": "install no-such-package-hrm"})
  assert offline.exit_code != 0 and "No matching distribution" in offline.output
  assert tools.call("package", {"manager": "apt", "command": "install x"}).exit_code == 2
  assert tools.call("teleport", {}).output.startswith("error: unknown tool")
  assert tools.call("shell", {"cmd": "ls"}).output.startswith("error: shell takes")
  assert {t["function"]["name"] for t in openai_tools()} == set(tool_use.TOOLS)


def test_scripted_episodes_reproduce_recorded_trajectories(tmp_path):
  recorded = tool_use.read_jsonl(tool_use.BUNDLED_SAMPLE)[:5]
  out = str(tmp_path / "episodes.jsonl")
  for t in recorded:
    session = SandboxSession(files=t.files)
    try:
      policy = loop.ScriptedPolicy([f"<|tool_call|>{s.call.render()}" for s in t.steps] + [f"<|answer|>{t.answer}"])
      episode = loop.run_episode(policy, session, t.task, language=t.language, files=t.files, episode_id=t.id)
    finally:
      session.close()
    assert episode.finished and episode.stop_reason == "answer"
    for step, want in zip(episode.trajectory["steps"], t.steps):
      assert step["result"]["exit_code"] == want.exit_code
      if want.exit_code == 0:
        assert step["result"]["output"] == want.output
    loop.write_episode(out, episode)
  # the episodes are training data: the reader takes them, the tool_use source makes records of them
  episodes = tool_use.read_jsonl(out)
  assert [e.id for e in episodes] == [t.id for t in recorded]
  assert tool_use.to_training_records(episodes[0])[0]["task"] == "tool_use"


def test_budgets_and_truncation(session, tmp_path):
  endless = loop.ScriptedPolicy(['<|tool_call|>{"tool": "shell", "args": {"command": "seq 1 5000"}}'] * 10)
  episode = loop.run_episode(endless, session, "count", budgets=loop.Budgets(max_steps=2, observation_chars=200))
  assert episode.stop_reason == "max_steps" and not episode.finished and len(episode.trajectory["steps"]) == 2
  output = episode.trajectory["steps"][0]["result"]["output"]
  assert len(output) < 260 and "characters cut" in output and output.startswith("1\n2\n")
  assert loop.write_episode(str(tmp_path / "e.jsonl"), episode).endswith("e.unfinished.jsonl")
  bad = loop.run_episode(loop.ScriptedPolicy(["<|tool_call|>{oops"]), session, "x")
  assert bad.stop_reason == "bad_action"
  assert loop.parse_action('<|tool_call|>{"tool": "git", "args": {"command": "log"}} trailing').tool == "git"
  assert loop.parse_action("<|answer|> 42 ").answer == "42"
