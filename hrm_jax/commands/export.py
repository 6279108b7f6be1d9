"""`hrm-jax export`: a trained workdir -> a self-contained StableHLO bundle or TFLite files (+ tokenizer)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys


def quantization(value: str) -> str:
  """`--quantize`: none or a recipe of hrm_jax.quant (int8, int4, w4a8g16, ...); argparse names the flag."""
  if value == "none":
    return value
  from hrm_jax import quant  # the recipe grammar (imports no JAX)

  try:
    quant.recipe(value)
  except ValueError:
    raise argparse.ArgumentTypeError(f"{value!r}: expected none, {quant.GRAMMAR}") from None
  return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--workdir", required=True, help="training workdir (config.json + checkpoints/)")
  parser.add_argument("--format", required=True, choices=("stablehlo", "tflite"))
  parser.add_argument(
    "--quantize",
    default="none",
    type=quantization,
    help="store weights as integers: a quantization recipe, e.g. int8, int4 or w4a8g16 (a QAT model: its own "
    "config.model.quant); tflite: none or int8",
  )
  parser.add_argument("--out", required=True, help="output directory")
  parser.add_argument("--segments", type=int, default=None, help="ACT segment budget (default halt_max_steps)")
  parser.add_argument(
    "--buckets", default=None, help="comma-separated prefill prompt buckets (default: powers of two up to seq_len)"
  )
  parser.add_argument("--step", type=int, default=None, help="checkpoint step (default: the newest)")


def load_model(workdir: str, step: int | None = None):
  """(model, params) of a workdir with an fp32 forward pass (exports run on CPUs)."""
  from hrm_jax.models import hrm
  from hrm_jax.train import checkpoint

  model, params, _ = checkpoint.load_for_inference(workdir, step)
  if model.cfg.forward_dtype != "float32":
    model = hrm.HRMCore(dataclasses.replace(model.cfg, forward_dtype="float32"), dot_general_cls=model.dot_general_cls)
  return model, params


def run(args) -> int:
  from hrm_jax.tokenizer import DEFAULT_VOCAB_FILE, load_tokenizer

  try:
    model, params = load_model(args.workdir, args.step)
  except FileNotFoundError as e:
    print(f"hrm-jax export: {e}", file=sys.stderr)
    return 2
  tok = load_tokenizer()
  try:
    buckets = [int(b) for b in args.buckets.split(",")] if args.buckets else None
  except ValueError:
    print(f"hrm-jax export: --buckets {args.buckets!r}: expected comma-separated integers", file=sys.stderr)
    return 2
  if buckets and (min(buckets) < 1 or max(buckets) > model.cfg.seq_len):
    print(
      f"hrm-jax export: --buckets {args.buckets!r}: each bucket must be in 1..seq_len={model.cfg.seq_len}",
      file=sys.stderr,
    )
    return 2
  if args.format == "stablehlo":
    from hrm_jax.export import serving, stablehlo

    manifest = stablehlo.export_model(
      serving.serve(model, params, args.quantize),
      args.out,
      segments=args.segments,
      buckets=buckets,
      tokenizer_file=DEFAULT_VOCAB_FILE,
    )
    names = sorted(manifest["functions"])
  else:
    if args.quantize not in ("none", "int8"):
      print(
        f"hrm-jax export: --quantize {args.quantize}: --format tflite supports --quantize none or int8 (TFLite's "
        "dynamic-range int8 kernels); export this recipe with --format stablehlo",
        file=sys.stderr,
      )
      return 2
    from hrm_jax.export import tflite

    manifest = tflite.export_model(
      model,
      params,
      args.out,
      quantize=args.quantize,
      segments=args.segments,
      buckets=buckets,
      tokenizer_file=DEFAULT_VOCAB_FILE,
      special_ids={"eos": tok.eos_id, "problem": tok.token_id("<|problem|>"), "code": tok.token_id("<|code|>")},
    )
    names = sorted(manifest["files"])
  for name in sorted(os.listdir(args.out)):
    print(f"{os.path.join(args.out, name)}  {os.path.getsize(os.path.join(args.out, name)):,} bytes")
  print(f"exported {', '.join(names)} ({args.format}, quantize={args.quantize})")
  return 0
