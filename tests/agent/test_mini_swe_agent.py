"""mini-swe-agent (its own venv) drives our server and acts in our sandbox through the session bridge."""

# ruff: noqa: F811  (pytest fixtures imported from serve_fixtures are redefined as arguments)
import json
import os
import sys

import pytest

from hrm_jax.agent import mini_swe_agent
from hrm_jax.agent.sessions import SandboxSession

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "serve"))
from serve_fixtures import served_2k  # noqa: E402,F401

pytestmark = [
  pytest.mark.slow,
  pytest.mark.skipif(
    mini_swe_agent.python() is None,
    reason="mini-swe-agent is not installed: python -m hrm_jax.agent.mini_swe_agent --install",
  ),
]


def test_mini_swe_agent_environment_runs_in_our_sandbox():
  session = SandboxSession(files={"a.txt": "x\n"})
  try:
    out = mini_swe_agent.selfcheck(session)
  finally:
    session.close()
  assert out["returncode"] == 0 and out["output"].startswith("mini-swe-agent-here\n")
  assert "/hrm_jax_sbx_" in out["output"]  # the sandbox's scratch directory, not this process's


def test_mini_swe_agent_drives_our_server(served_2k, tmp_path):
  url, server = served_2k
  session = SandboxSession(files={"hello.py": "print('hi')\n"})
  out = str(tmp_path / "trajectory.json")
  try:
    result = mini_swe_agent.run(
      session, url + "/v1", "tiny2k", "Make hello.py print hello.", out, step_limit=2, max_tokens=12
    )
  finally:
    session.close()
  # an untrained model sends no bash call: mini-swe-agent reports it per its protocol and stops
  assert result["exit_status"] in ("RepeatedFormatError", "LimitsExceeded", "Submitted")
  assert 1 <= result["api_calls"] <= 2
  trajectory = json.load(open(out))
  assert trajectory["info"]["exit_status"] == result["exit_status"]
  requests = [json.loads(line)["request"] for line in open(server.log_path)]
  mini = [r for r in requests if any(t["function"]["name"] == "bash" for t in r.get("tools") or [])]
  assert len(mini) == result["api_calls"] and "Make hello.py print hello." in json.dumps(mini[0]["messages"])
  assert len(result["commands"]) <= result["api_calls"]  # whatever it ran, it ran in the session
