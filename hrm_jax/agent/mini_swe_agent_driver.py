"""Runs mini-swe-agent (in ITS virtual environment: this file imports only minisweagent and the standard
library) against an OpenAI-compatible model server, acting in an hrm-jax session served over HTTP
(`hrm_jax/agent/remote.py`). Started by `hrm_jax/agent/mini_swe_agent.py`; prints one JSON line.

    python mini_swe_agent_driver.py --api-base URL/v1 --model NAME --env-url URL --task TEXT --out traj.json
        [--step-limit N] [--max-tokens N] [--selfcheck]
"""

import argparse
import json
import pathlib
import platform
import urllib.request

import yaml
from minisweagent.agents.default import DefaultAgent
from minisweagent.config import builtin_config_dir
from minisweagent.exceptions import Submitted
from minisweagent.models import get_model


class HrmSessionEnvironment:
  """mini-swe-agent's environment interface (execute / get_template_vars / serialize) over an hrm-jax session."""

  def __init__(self, url, timeout=60):
    self.url, self.timeout = url.rstrip("/"), timeout

  def execute(self, action, cwd="", *, timeout=None):
    command = action.get("command", "") if isinstance(action, dict) else str(action)
    body = json.dumps({"command": command, "timeout": timeout or self.timeout}).encode()
    request = urllib.request.Request(self.url + "/execute", data=body, headers={"Content-Type": "application/json"})
    try:
      with urllib.request.urlopen(request, timeout=(timeout or self.timeout) + 60) as response:
        result = json.loads(response.read())
      output = {"output": result["output"], "returncode": result["returncode"], "exception_info": ""}
    except Exception as e:  # noqa: BLE001  (reported to the agent, as LocalEnvironment does)
      output = {"output": "", "returncode": -1, "exception_info": f"An error occurred while executing the command: {e}"}
    lines = output["output"].lstrip().splitlines(keepends=True)
    if lines and lines[0].strip() == "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT" and output["returncode"] == 0:
      submission = "".join(lines[1:])
      raise Submitted(
        {"role": "exit", "content": submission, "extra": {"exit_status": "Submitted", "submission": submission}}
      )
    return output

  def get_template_vars(self, **kwargs):
    return {**platform.uname()._asdict(), "cwd": "", **kwargs}

  def serialize(self):
    return {
      "info": {"config": {"environment": {"url": self.url}, "environment_type": f"{__name__}.{type(self).__name__}"}}
    }


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--api-base", required=True)
  parser.add_argument("--model", required=True)
  parser.add_argument("--env-url", required=True)
  parser.add_argument("--task", default="")
  parser.add_argument("--out", required=True)
  parser.add_argument("--step-limit", type=int, default=4)
  parser.add_argument("--max-tokens", type=int, default=64)
  parser.add_argument("--selfcheck", action="store_true", help="run `echo` through the environment and stop")
  args = parser.parse_args()
  env = HrmSessionEnvironment(args.env_url)
  if args.selfcheck:
    print(json.dumps(env.execute({"command": "echo mini-swe-agent-here && pwd"})))
    return
  config = yaml.safe_load((pathlib.Path(builtin_config_dir) / "default.yaml").read_text())
  model_config = dict(
    config.get("model", {}),
    cost_tracking="ignore_errors",
    model_kwargs={"api_base": args.api_base, "api_key": "none", "max_tokens": args.max_tokens, "temperature": 0.0},
  )
  model = get_model(f"openai/{args.model}", model_config)
  agent_config = dict(config["agent"], step_limit=args.step_limit, cost_limit=0.0, output_path=pathlib.Path(args.out))
  agent = DefaultAgent(model, env, **agent_config)
  result = agent.run(args.task)
  print(
    json.dumps(
      {
        "exit_status": result.get("exit_status", ""),
        "submission": result.get("submission", ""),
        "messages": len(agent.messages),
        "api_calls": agent.n_calls,
      }
    )
  )


if __name__ == "__main__":
  main()
