"""`hrm-jax serve`: an OpenAI-compatible API over a trained causal model (docs/serving.md).

    engine.py  continuous batching over the sampler (requests decode together, one KV-cache row each)
    chat.py    the chat template (OpenAI messages -> our role tokens) and reply parsing (tool calls)
    api.py     the FastAPI routes, validation and OpenAI's response and error shapes
"""
from __future__ import annotations


def load(workdir: str, *, model_name: str | None = None, max_batch: int = 8, max_context: int | None = None,
         segments: int | None = None, default_max_tokens: int = 1024, warmup: bool = True,
         log_path: str | None = None):
  """(FastAPI app, Server) for a training workdir, its engine started (loaded as `hrm-jax generate` loads)."""
  import os

  from hrm_jax.serve.api import Server, create_app
  from hrm_jax.serve.engine import Engine
  from hrm_jax.tokenizer import load_tokenizer
  from hrm_jax.train import checkpoint

  model, params, _ = checkpoint.load_for_inference(workdir)
  tok = load_tokenizer()
  engine = Engine(model, params, eos_id=tok.eos_id, decode=tok.decode, max_batch=max_batch,
                  max_context=max_context, segments=segments)
  if warmup:
    engine.warmup(bucket_limit=512)
  engine.start()
  name = model_name or os.path.basename(os.path.normpath(os.path.abspath(workdir)))
  server = Server(engine, tok, name, default_max_tokens=default_max_tokens, log_path=log_path)
  return create_app(server), server
