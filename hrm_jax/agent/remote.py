"""A session behind HTTP, so agents in other processes (and other virtual environments) act in our sessions.

`create_app(session)` serves one session (sandbox or SWE-ReX): POST /execute {"command", "timeout"} runs the
command with `Session.run` and answers {"output", "returncode"}. It listens on loopback only (the caller
chooses the port); commands still run only inside the session, never in this server's process.
Used to run mini-swe-agent in our sandbox (`hrm_jax/agent/mini_swe_agent.py`).
"""

from __future__ import annotations

import threading

from hrm_jax.agent.sessions import Session


def create_app(session: Session):
  from fastapi import FastAPI  # pylint: disable=import-outside-toplevel  (the `serve` extra)
  from fastapi.responses import JSONResponse  # pylint: disable=import-outside-toplevel

  app = FastAPI(title="hrm-jax session")
  lock = threading.Lock()  # one command at a time: a session is one shell
  app.state.calls = []

  @app.post("/execute")
  def execute(body: dict):
    command, timeout = body.get("command"), body.get("timeout", 60)
    if not isinstance(command, str) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600:
      return JSONResponse(status_code=400, content={"error": "expected {command: string, timeout: 1..3600}"})
    with lock:
      obs = session.run(command, float(timeout))
      app.state.calls.append({"command": command, "returncode": obs.exit_code})
    return {"output": obs.output, "returncode": obs.exit_code}

  return app
