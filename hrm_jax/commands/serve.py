"""`hrm-jax serve`: an OpenAI-compatible HTTP API over a trained causal model (docs/serving.md)."""

from __future__ import annotations

import argparse
import sys
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--workdir", required=True, help="training workdir (config.json + checkpoints/)")
  parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
  parser.add_argument("--port", type=int, default=8000)
  parser.add_argument("--model-name", default=None, help="the id clients ask for (default: the workdir's name)")
  parser.add_argument("--max-batch", type=int, default=8, help="requests decoded together (KV-cache rows)")
  parser.add_argument(
    "--max-context",
    type=int,
    default=None,
    help="prompt + completion tokens per request (default and limit: the model's seq_len)",
  )
  parser.add_argument(
    "--default-max-tokens",
    type=int,
    default=1024,
    help="completion tokens when a request gives no max_tokens (capped by the context)",
  )
  parser.add_argument(
    "--log-requests", default=None, metavar="FILE", help="append every request and its replies to this JSONL file"
  )
  parser.add_argument("--segments", type=int, default=None, help="ACT segment budget (default: the model's)")


def run(args) -> int:
  for flag, value in (
    ("--max-batch", args.max_batch),
    ("--default-max-tokens", args.default_max_tokens),
    ("--max-context", args.max_context),
    ("--segments", args.segments),
  ):
    if value is not None and value < 1:
      print(f"hrm-jax serve: {flag} must be >= 1, got {value}", file=sys.stderr)
      return 2
  if not 0 < args.port < 65536:
    print(f"hrm-jax serve: --port must be in 1..65535, got {args.port}", file=sys.stderr)
    return 2
  import uvicorn

  from hrm_jax import serve

  t0 = time.perf_counter()
  try:
    app, server = serve.load(
      args.workdir,
      model_name=args.model_name,
      max_batch=args.max_batch,
      max_context=args.max_context,
      segments=args.segments,
      default_max_tokens=args.default_max_tokens,
      log_path=args.log_requests,
    )
  except (FileNotFoundError, ValueError) as e:
    print(f"hrm-jax serve: {e}", file=sys.stderr)
    return 2
  print(
    f"hrm-jax serve: model '{server.model_name}' ready in {time.perf_counter() - t0:.1f}s "
    f"(batch {args.max_batch}, context {server.engine.max_context} tokens); "
    f"OpenAI API at http://{args.host}:{args.port}/v1",
    file=sys.stderr,
    flush=True,
  )
  try:
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
  finally:
    server.engine.stop()
  return 0
