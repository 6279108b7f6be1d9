"""mini-swe-agent (a maintained public scaffold, `mini-swe-agent` on PyPI) driving our model in our sandbox.

mini-swe-agent runs in its own virtual environment (`install()`: ~/.cache/hrm-jax/mini-swe-agent-venv or
$HRM_JAX_MINI_VENV), with its default configuration (`config/default.yaml`: one bash command per step, as a
tool call) and its `LitellmModel` pointed at an OpenAI-compatible server (ours: `hrm-jax serve`). Its
commands go to one of our sessions served over HTTP (`hrm_jax/agent/remote.py`), so they run in the
project's sandbox (or a SWE-ReX session) like our own agent's, never on the host. The driver is
`mini_swe_agent_driver.py` (it imports only minisweagent and the standard library).

What differs from our agent (hrm_jax/agent/loop.py): mini-swe-agent has one tool, `bash`, and its own prompt
(our model was not trained on it); its trajectory is mini-swe-agent's JSON, not our tool-use schema; it ends on
`echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT`, a step limit, or three replies in a row without a command.

    python -m hrm_jax.agent.mini_swe_agent --install
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys

MINI_VERSION = "2.4.6"
DRIVER = pathlib.Path(__file__).with_name("mini_swe_agent_driver.py")


def venv_dir() -> str:
  return os.environ.get("HRM_JAX_MINI_VENV") or os.path.join(
    os.path.expanduser("~"), ".cache", "hrm-jax", "mini-swe-agent-venv"
  )


def python() -> str | None:
  """The venv's interpreter, or None when mini-swe-agent is not installed (at MINI_VERSION)."""
  exe = os.path.join(venv_dir(), "bin", "python")
  marker = os.path.join(venv_dir(), "hrm-jax-mini-version")
  if os.path.exists(exe) and os.path.exists(marker) and open(marker).read().strip() == MINI_VERSION:
    return exe
  return None


def install() -> str:
  found = python()
  if found:
    return found
  root = venv_dir()
  subprocess.run([sys.executable, "-m", "venv", root], check=True)
  subprocess.run(
    [
      os.path.join(root, "bin", "python"),
      "-m",
      "pip",
      "install",
      "-q",
      "--disable-pip-version-check",
      f"mini-swe-agent=={MINI_VERSION}",
    ],
    check=True,
  )
  with open(os.path.join(root, "hrm-jax-mini-version"), "w") as f:
    f.write(MINI_VERSION + "\n")
  return os.path.join(root, "bin", "python")


def _driver(args: list[str], timeout: float) -> dict:
  exe = python()
  if exe is None:
    raise FileNotFoundError(
      f"mini-swe-agent is not installed in {venv_dir()}: run `python -m hrm_jax.agent.mini_swe_agent --install`"
    )
  env = dict(
    os.environ,
    LITELLM_LOCAL_MODEL_COST_MAP="True",
    MSWEA_COST_TRACKING="ignore_errors",
    MSWEA_SILENT_STARTUP="1",
    MSWEA_CONFIGURED="true",
  )
  proc = subprocess.run(
    [exe, str(DRIVER), *args], capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL
  )
  lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
  if proc.returncode != 0 or not lines:
    raise RuntimeError(f"mini-swe-agent exited {proc.returncode}: {proc.stderr[-3000:]}")
  return json.loads(lines[-1])


def run(
  session,
  api_base: str,
  model: str,
  task: str,
  out: str,
  *,
  step_limit: int = 4,
  max_tokens: int = 64,
  timeout: float = 600.0,
) -> dict:
  """One mini-swe-agent episode on `task` in `session`; its trajectory goes to `out`. Returns the driver's
  summary (exit_status, submission, messages, api_calls) and `commands` (those that ran in the session)."""
  from hrm_jax.agent import remote  # pylint: disable=import-outside-toplevel
  from hrm_jax.serve import ServerThread  # pylint: disable=import-outside-toplevel

  app = remote.create_app(session)
  with ServerThread(app) as srv:
    result = _driver(
      [
        "--api-base",
        api_base,
        "--model",
        model,
        "--env-url",
        srv.url,
        "--task",
        task,
        "--out",
        out,
        "--step-limit",
        str(step_limit),
        "--max-tokens",
        str(max_tokens),
      ],
      timeout,
    )
  return dict(result, commands=list(app.state.calls))


def selfcheck(session, timeout: float = 120.0) -> dict:
  """Runs `echo` through mini-swe-agent's side of the environment (no model): proves the bridge."""
  from hrm_jax.agent import remote  # pylint: disable=import-outside-toplevel
  from hrm_jax.serve import ServerThread  # pylint: disable=import-outside-toplevel

  with ServerThread(remote.create_app(session)) as srv:
    return _driver(["--api-base", "-", "--model", "-", "--env-url", srv.url, "--out", "-", "--selfcheck"], timeout)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description="install mini-swe-agent into its own virtual environment")
  parser.add_argument("--install", action="store_true")
  args = parser.parse_args(argv)
  print(install() if args.install else (python() or "not installed"))
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
