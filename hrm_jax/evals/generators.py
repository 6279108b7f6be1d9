"""Generators: anything that maps prompts to replies, in one batched shape the harnesses call.

A generator is a callable `list[str] -> list[str]`. `as_batched` adapts a per-prompt callable
(`str -> str`); `command_generator` runs a shell command once per prompt (prompt on stdin, reply on stdout),
so any other system can be evaluated; `table_generator` answers from a prompt -> reply table (the oracle).
`model_generator` loads our model lazily from a workdir; `endpoint_generator` asks any OpenAI-compatible server
(`hrm-jax serve`, vLLM, a hosted API) through /v1/chat/completions. The command is the user's own program, so it runs on
the host, not in the sandbox: only model outputs are untrusted.
"""

from __future__ import annotations

import inspect
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence

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
        raise RuntimeError(
          f"--generator command {shlex.quote(command)} exited {proc.returncode}: {proc.stderr[-2000:]}"
        )
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
  """Our model from a training workdir (hrm_jax.inference.sampler.generator_from_workdir), imported lazily.

  The returned generator has a `context_overflow` check (see `context_overflow`): the sampler wraps a prompt
  as `<|problem|> prompt <|code|>` and needs room for `min(max_new_tokens, seq_len - 1)` new tokens within
  the model's `seq_len`, so a longer prompt cannot be answered whole."""
  try:
    from hrm_jax.inference.sampler import generator_from_workdir  # pylint: disable=import-outside-toplevel
  except ImportError as error:
    raise SystemExit(
      f"--model needs hrm_jax.inference.sampler.generator_from_workdir, which is not available "
      f"in this installation ({error}); use --generator CMD or --oracle instead"
    ) from error
  from hrm_jax.tokenizer import load_tokenizer  # pylint: disable=import-outside-toplevel
  from hrm_jax.train import trainer  # pylint: disable=import-outside-toplevel

  generate = generator_from_workdir(workdir, **kwargs)
  seq_len = int(trainer.load_config(workdir).model.seq_len)
  new_tokens = min(int(kwargs.get("max_new_tokens", 256)), seq_len - 1)
  tokenizer = load_tokenizer()

  def check(prompt: str) -> str | None:
    tokens = len(tokenizer.encode(prompt)) + 2  # + <|problem|> and <|code|>
    if tokens + new_tokens <= seq_len:
      return None
    return (
      f"prompt of {tokens} tokens + max_new_tokens={new_tokens} exceeds the model's context "
      f"(config.model.seq_len={seq_len})"
    )

  generate.context_overflow = check
  return generate


def endpoint_generator(
  base_url: str,
  model: str,
  *,
  max_tokens: int | None = 1024,
  temperature: float = 0.0,
  api_key: str | None = None,
  concurrency: int = 8,
  timeout_s: float = 600.0,
  retries: int = 2,
) -> Generator:
  """Replies from an OpenAI-compatible server: one chat request per prompt (a single user message), up to
  `concurrency` in flight at once (so a batching server, ours included, decodes them together).

  base_url: the API root, e.g. http://127.0.0.1:8000/v1 (a URL without /v1 gets it appended). A request the
  server refuses for its context length gets an empty reply (a warning says so; the harness scores it as a
  miss); any other refusal, or a server that cannot be reached after `retries` more tries, raises RuntimeError
  with the server's message."""
  import concurrent.futures  # pylint: disable=import-outside-toplevel
  import os  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  import time  # pylint: disable=import-outside-toplevel

  import httpx  # pylint: disable=import-outside-toplevel  (the `serve` extra)

  root = base_url.rstrip("/")
  if not root.endswith("/v1"):
    root += "/v1"
  key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "none")
  client = httpx.Client(base_url=root, timeout=timeout_s, headers={"Authorization": f"Bearer {key}"})

  def one(prompt: str) -> str:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "temperature": temperature}
    if max_tokens is not None:
      body["max_tokens"] = max_tokens
    for attempt in range(retries + 1):
      try:
        r = client.post("/chat/completions", json=body)
      except httpx.TransportError as e:
        if attempt == retries:
          raise RuntimeError(f"--endpoint {root}: {type(e).__name__}: {e}") from e
        time.sleep(1.0 + attempt)
        continue
      if r.status_code >= 500 and attempt < retries:
        time.sleep(1.0 + attempt)
        continue
      if r.status_code != 200:
        try:
          error = r.json().get("error") or {}
        except ValueError:
          error = {"message": r.text[:500]}
        error = error if isinstance(error, dict) else {"message": str(error)}
        if r.status_code == 400 and (
          error.get("code") == "context_length_exceeded" or "context length" in str(error.get("message", ""))
        ):
          print(f"--endpoint: prompt refused, empty reply: {error.get('message')}", file=sys.stderr)
          return ""
        raise RuntimeError(f"--endpoint {root} answered {r.status_code}: {error.get('message')}")
      choice = r.json()["choices"][0]
      return choice["message"].get("content") or ""
    raise AssertionError("unreachable")

  def generate(prompts: list[str]) -> list[str]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(prompts)))) as pool:
      return list(pool.map(one, prompts))

  return generate


def context_overflow(generator: Generator | None, prompt: str) -> str | None:
  """Why `prompt` does not fit the generator's context (None when it fits, or when the generator cannot say:
  commands and callables without a `context_overflow` attribute are assumed to take any prompt)."""
  check = getattr(generator, "context_overflow", None)
  return check(prompt) if check is not None else None


def generate_within_context(
  generator: Generator, prompts: Sequence[str], batch_size: int = 16
) -> tuple[list[str | None], list[str]]:
  """Replies for the prompts that fit the generator's context, None for the others (never sent); also the
  reasons, one per prompt that did not fit."""
  reasons = [context_overflow(generator, p) for p in prompts]
  fitting = [p for p, r in zip(prompts, reasons) if r is None]
  replies = iter(generate_all(generator, fitting, batch_size) if fitting else [])
  return [next(replies) if r is None else None for r in reasons], [r for r in reasons if r is not None]


def generate_all(generator: Generator, prompts: Sequence[str], batch_size: int = 16) -> list[str]:
  """Calls `generator` on batches of prompts and checks it returns one reply per prompt."""
  replies: list[str] = []
  for start in range(0, len(prompts), batch_size):
    batch = list(prompts[start : start + batch_size])
    out = generator(batch)
    if len(out) != len(batch):
      raise ValueError(f"generator returned {len(out)} replies for {len(batch)} prompts")
    replies.extend(str(r) for r in out)
  return replies
