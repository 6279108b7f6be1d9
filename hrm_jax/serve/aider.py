"""aider (the `aider-chat` package) as a client of our server, in its own virtual environment.

aider pins many packages that conflict with ours, so it never goes into the project's environment: `install()`
creates `~/.cache/hrm-jax/aider-venv` (or $HRM_JAX_AIDER_VENV) with `aider-chat==AIDER_VERSION`, and `run()`
calls its `aider` executable non-interactively against an OpenAI-compatible endpoint:

    python -m hrm_jax.serve.aider --install        # once (CI does it); about 40 s with a warm pip cache
    hrm-jax serve --workdir W --model-name hrm &
    aider --model openai/hrm --openai-api-base http://127.0.0.1:8000/v1 --openai-api-key none ...
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

AIDER_VERSION = "0.86.2"


def venv_dir() -> str:
  return os.environ.get("HRM_JAX_AIDER_VENV") or os.path.join(
    os.path.expanduser("~"), ".cache", "hrm-jax", "aider-venv"
  )


def executable() -> str | None:
  """The venv's `aider`, or None when it is not installed (at AIDER_VERSION)."""
  path = os.path.join(venv_dir(), "bin", "aider")
  marker = os.path.join(venv_dir(), "hrm-jax-aider-version")
  if os.path.exists(path) and os.path.exists(marker) and open(marker).read().strip() == AIDER_VERSION:
    return path
  return None


def install(quiet: bool = True) -> str:
  """Creates the venv and installs aider-chat (skipped when present). Returns the executable's path."""
  found = executable()
  if found:
    return found
  root = venv_dir()
  subprocess.run([sys.executable, "-m", "venv", root], check=True)
  pip = [os.path.join(root, "bin", "python"), "-m", "pip", "install", "--disable-pip-version-check"]
  subprocess.run(pip + (["-q"] if quiet else []) + [f"aider-chat=={AIDER_VERSION}"], check=True)
  with open(os.path.join(root, "hrm-jax-aider-version"), "w") as f:
    f.write(AIDER_VERSION + "\n")
  return os.path.join(root, "bin", "aider")


def run(
  base_url: str,
  model: str,
  cwd: str,
  message: str,
  files: list[str],
  *,
  edit_format: str = "whole",
  context: int = 2048,
  max_output: int = 256,
  stream: bool = True,
  timeout: float = 300,
  extra_args: list[str] = (),
) -> subprocess.CompletedProcess:
  """Runs aider once (one message, `--yes`, no git, no repo map, no network besides `base_url`) in `cwd`.

  The model's context and output limits are given to aider through a model-metadata file, as for any model
  litellm does not know."""
  exe = executable()
  if exe is None:
    raise FileNotFoundError(f"aider is not installed in {venv_dir()}: run `python -m hrm_jax.serve.aider --install`")
  metadata = os.path.join(cwd, ".aider.model.metadata.json")
  with open(metadata, "w") as f:
    json.dump(
      {
        f"openai/{model}": {
          "max_input_tokens": context,
          "max_output_tokens": max_output,
          "max_tokens": max_output,
          "input_cost_per_token": 0.0,
          "output_cost_per_token": 0.0,
          "litellm_provider": "openai",
          "mode": "chat",
        }
      },
      f,
    )
  cmd = [
    exe,
    "--model",
    f"openai/{model}",
    "--openai-api-base",
    base_url,
    "--openai-api-key",
    "none",
    "--model-metadata-file",
    metadata,
    "--edit-format",
    edit_format,
    "--no-git",
    "--yes",
    "--map-tokens",
    "0",
    "--no-check-update",
    "--no-analytics",
    "--no-pretty",
    "--no-fancy-input",
    "--no-show-model-warnings",
    "--no-auto-lint",
    "--no-auto-test",
    "--stream" if stream else "--no-stream",
    "--message",
    message,
    *extra_args,
    *files,
  ]
  env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", AIDER_ANALYTICS="false")
  return subprocess.run(
    cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
  )


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description="install aider-chat into its own virtual environment")
  parser.add_argument("--install", action="store_true", help="create the venv and install aider (if missing)")
  args = parser.parse_args(argv)
  if args.install:
    print(install(quiet=True))
    return 0
  print(executable() or "not installed")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
