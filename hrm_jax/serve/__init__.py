"""`hrm-jax serve`: an OpenAI-compatible API over a trained causal model (docs/serving.md).

engine.py  continuous batching over the sampler (requests decode together, one KV-cache row each)
chat.py    the chat template (OpenAI messages -> our role tokens) and reply parsing (tool calls)
api.py     the FastAPI routes, validation and OpenAI's response and error shapes
"""

from __future__ import annotations

import socket
import threading
import time


def load(
  workdir: str,
  *,
  model_name: str | None = None,
  max_batch: int = 8,
  max_context: int | None = None,
  segments: int | None = None,
  default_max_tokens: int = 1024,
  warmup: bool = True,
  log_path: str | None = None,
):
  """(FastAPI app, Server) for a training workdir, its engine started (loaded as `hrm-jax generate` loads)."""
  import os

  from hrm_jax.serve.api import Server, create_app
  from hrm_jax.serve.engine import Engine
  from hrm_jax.tokenizer import load_tokenizer
  from hrm_jax.train import checkpoint

  model, params, _ = checkpoint.load_for_inference(workdir)
  tok = load_tokenizer()
  engine = Engine(
    model, params, eos_id=tok.eos_id, decode=tok.decode, max_batch=max_batch, max_context=max_context, segments=segments
  )
  if warmup:
    engine.warmup(bucket_limit=512)
  engine.start()
  name = model_name or os.path.basename(os.path.normpath(os.path.abspath(workdir)))
  server = Server(engine, tok, name, default_max_tokens=default_max_tokens, log_path=log_path)
  return create_app(server), server


class ServerThread:
  """uvicorn serving an app on a free loopback port in a background thread (tests, benchmarks, the session
  server of hrm_jax/agent/remote.py)."""

  def __init__(self, app):
    import uvicorn

    with socket.socket() as s:
      s.bind(("127.0.0.1", 0))
      self.port = s.getsockname()[1]
    self.url = f"http://127.0.0.1:{self.port}"
    self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
    self.thread = threading.Thread(target=self.server.run, daemon=True)

  def __enter__(self):
    self.thread.start()
    deadline = time.time() + 30
    while not self.server.started:
      if time.time() > deadline or not self.thread.is_alive():
        raise RuntimeError("the test server did not start")
      time.sleep(0.02)
    return self

  def __exit__(self, *exc):
    self.server.should_exit = True
    self.thread.join(timeout=10)
