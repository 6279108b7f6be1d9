"""Generators: anything that maps prompts to replies, in one batched shape the harnesses call.

A generator is a callable `list[str] -> list[str]`. `as_batched` adapts a per-prompt callable
(`str -> str`); `command_generator` runs a shell command once per prompt (prompt on stdin, reply on stdout),
so any other system can be evaluated; `table_generator` answers from a prompt -> reply table (the oracle).
`model_generator` loads our model lazily from a workdir. The command is the user's own program, so it runs on
the host, not in the sandbox: only model outputs are untrusted.
"""
from __future__ import annotations

import inspect
import shlex
import subprocess
from typing import Callable, Mapping, Sequence

Generator = Callable[[list[str]], list[str]]


def as_batched(fn: Callable) -> Generator:
  """Wraps `fn` so it takes a list of prompts: a function annotated/declared for lists is used as is."""
  try:
    params = list(inspect.signature(fn).parameters.values())
    annotation = str(params[0].annotation) if params else ""
  except (TypeError, ValueError):
    annotation = ""
  if annotation.startswith(("list", "List", "typing.List", "Sequence", "typing.Sequence")):
    return fn

  def batched(prompts: list[str]) -> list[str]:
    return [fn(prompt) for prompt in prompts]
  return batched


def command_generator(command: str, timeout_s: float = 600.0) -> Generator:
  """Runs `command` through the shell once per prompt; the prompt goes to stdin, stdout is the reply."""
  def generate(prompts: list[str]) -> list[str]:
    replies = []
    for prompt in prompts:
      proc = subprocess.run(command, shell=True, input=prompt, capture_output=True, text=True, timeout=timeout_s)
      if proc.returncode != 0:
        raise RuntimeError(f"--generator command {shlex.quote(command)} exited {proc.returncode}: "
                           f"{proc.stderr[-2000:]}")
      replies.append(proc.stdout)
    return replies
  return generate


def table_generator(table: Mapping[str, str]) -> Generator:
  """Answers each prompt from `table` (prompt -> reply); an unknown prompt is an error."""
  def generate(prompts: list[str]) -> list[str]:
    missing = [p[:80] for p in prompts if p not in table]
    if missing:
      raise KeyError(f"oracle has no answer for prompt starting {missing[0]!r}")
    return [table[p] for p in prompts]
  return generate


def model_generator(workdir: str, **kwargs) -> Generator:
  """Our model from a training workdir (hrm_jax.inference.sampler.generator_from_workdir), imported lazily."""
  try:
    from hrm_jax.inference.sampler import generator_from_workdir  # pylint: disable=import-outside-toplevel
  except ImportError as error:
    raise SystemExit(f"--model needs hrm_jax.inference.sampler.generator_from_workdir, which is not available "
                     f"in this installation ({error}); use --generator CMD or --oracle instead") from error
  return generator_from_workdir(workdir, **kwargs)


def generate_all(generator: Generator, prompts: Sequence[str], batch_size: int = 16) -> list[str]:
  """Calls `generator` on batches of prompts and checks it returns one reply per prompt."""
  replies: list[str] = []
  for start in range(0, len(prompts), batch_size):
    batch = list(prompts[start:start + batch_size])
    out = generator(batch)
    if len(out) != len(batch):
      raise ValueError(f"generator returned {len(out)} replies for {len(batch)} prompts")
    replies.extend(str(r) for r in out)
  return replies
