"""Whole-problem generation on the CPU for JAX fp32 / JAX int8 / TFLite fp32 / TFLite int8 (issue 6's measure).

    python -m hrm_jax.bench.export_generate                          # hrm_27m, random weights, 512 + 256 tokens
    python -m hrm_jax.bench.export_generate --segments 1 --new-tokens 64

Random weights (the Q head at its initial bias never halts, so every token runs the full `--segments` budget).
Each backend runs in its own process, so its peak RSS is its own (parameters are written once to .npz files by
the parent; the TFLite files are converted by the parent too):
  jax fp32 / jax int8   `sampler` prefill over the bucket-padded prompt + one compiled while_loop over new tokens;
                        int8 = integer weights (hrm_jax.quant.freeze, all matrices) dequantized inside the jit
  tflite fp32 / int8    decode.tflite driven by hrm_jax/export/litert_runner.py (no JAX in that process): the
                        prompt fed one token at a time, then the decode loop
TTFT = prompt in -> first new token; decode tok/s over the remaining tokens; problem = TTFT + decode. Compile
and conversion time are excluded (printed separately).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

BACKENDS = ("jax_fp32", "jax_int8", "tflite_fp32", "tflite_int8")


def peak_rss_gib() -> float:
  """This process's peak resident set (VmHWM). Not getrusage's ru_maxrss: Linux carries that across fork+exec,
  so a child started by a big parent would report the parent's peak."""
  with open("/proc/self/status") as f:
    for line in f:
      if line.startswith("VmHWM:"):
        return int(line.split()[1]) / 2**20
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _flatten(tree, prefix=""):
  out = {}
  for k, v in tree.items():
    if isinstance(v, dict):
      out.update(_flatten(v, f"{prefix}{k}/"))
    else:
      out[prefix + k] = np.asarray(v)
  return out


def _unflatten(flat):
  tree: dict = {}
  for path, v in flat.items():
    node = tree
    *parents, leaf = path.split("/")
    for p in parents:
      node = node.setdefault(p, {})
    node[leaf] = v
  return tree


def _model_cfg(args):
  import dataclasses
  from hrm_jax import config_loader
  from hrm_jax.models import hrm
  try:
    model_config = config_loader.load(args.config, []).model
  except ImportError as e:  # config files build config.data from hrm_jax.data_pipelines.input_pipeline
    if os.path.basename(args.config) != "hrm_27m.py":
      raise
    print(f"note: {args.config} did not load ({e}); using its model fields from configs/common.py", file=sys.stderr)
    sys.path.insert(0, os.path.dirname(os.path.abspath(args.config)))
    import common  # configs/common.py: hrm_27m's code model is code_model(seq_len=512, halt_max_steps=4)
    model_config = common.code_model(seq_len=512, halt_max_steps=4)
  cfg = hrm.HRMConfig.from_config(model_config)
  return dataclasses.replace(cfg, seq_len=max(cfg.seq_len, args.prompt_len + args.new_tokens),
                             forward_dtype="float32", halt_max_steps=args.segments or cfg.halt_max_steps)


def _prompt(args, vocab):
  return [int(t) for t in np.random.default_rng(0).integers(16, vocab, args.prompt_len)]


def child_jax(args) -> dict:
  import jax
  from hrm_jax import quant
  from hrm_jax.inference import sampler
  from hrm_jax.models import hrm
  cfg = _model_cfg(args)
  model = hrm.HRMCore(cfg)
  with np.load(os.path.join(args.dir, f"{args.child.split('_')[1]}.npz")) as f:
    stored = jax.tree.map(jax.numpy.asarray, _unflatten(dict(f)))
  prompt = _prompt(args, cfg.vocab_size)

  def make(n):
    sampling = sampler.SamplingConfig(max_new_tokens=n, stop_ids=(-1,), max_segments=cfg.halt_max_steps,
                                      dynamic_halting=True)
    fn = jax.jit(lambda s, b, r: sampler._generate(model, sampling, {"params": quant.dequantize(s)}, b, r))
    gen = sampler.Generator(model, None, sampling)
    batch = gen.make_batch([prompt], [4], [0])
    return lambda: jax.block_until_ready(fn(stored, batch, jax.random.key(0)))

  first, whole = make(1), make(args.new_tokens)
  t0 = time.perf_counter(); first(); whole(); compile_s = time.perf_counter() - t0
  t0 = time.perf_counter(); first(); ttft = time.perf_counter() - t0
  t0 = time.perf_counter(); tokens, lengths, depth, _ = whole(); total = time.perf_counter() - t0
  return {"ttft_s": ttft, "problem_s": total, "decode_tok_s": (int(lengths[0]) - 1) / max(total - ttft, 1e-9),
          "new_tokens": int(lengths[0]), "compile_s": compile_s}


def child_tflite(args) -> dict:
  from hrm_jax.export import litert_runner  # no JAX: asserted below
  model_dir = os.path.join(args.dir, args.child)
  step = litert_runner.load_step(model_dir, num_threads=os.cpu_count())
  prompt = _prompt(args, int(step.manifest["model"]["vocab_size"]))
  t0 = time.perf_counter()
  it = litert_runner.generate_ids(step, prompt, args.new_tokens, stop_ids=(-1,), language_id=4, task_id=0)
  first = next(it)
  ttft = time.perf_counter() - t0
  rest = list(it)
  total = time.perf_counter() - t0
  assert not any(m == "jax" or m.startswith("jax.") for m in sys.modules), "the TFLite path imported JAX"
  return {"ttft_s": ttft, "problem_s": total, "decode_tok_s": len(rest) / max(total - ttft, 1e-9),
          "new_tokens": 1 + len(rest), "compile_s": 0.0}


def prepare(args) -> dict:
  """Random parameters -> fp32.npz / int8.npz, and the two .tflite decode steps. Returns setup timings."""
  import jax
  from hrm_jax import quant
  from hrm_jax.export import tflite
  from hrm_jax.models import hrm
  cfg = _model_cfg(args)
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  params = jax.tree.map(np.asarray, variables["params"])
  print(f"{cfg.arch}: {hrm.count_params(variables):,} parameters, seq_len {cfg.seq_len}, "
        f"{cfg.halt_max_steps} segments", flush=True)
  np.savez(os.path.join(args.dir, "fp32.npz"), **_flatten(params))
  np.savez(os.path.join(args.dir, "int8.npz"), **_flatten(quant.freeze(params, "int8")))
  info = {}
  for q in ("fp32", "int8"):
    if f"tflite_{q}" not in args.backends:
      continue
    existing = os.path.join(args.dir, f"tflite_{q}", "decode.tflite")
    if args.reuse and os.path.exists(existing):
      info[q] = (0.0, os.path.getsize(existing))
      continue
    t0 = time.perf_counter()
    manifest = tflite.export_model(model, variables, os.path.join(args.dir, f"tflite_{q}"),
                                   quantize="none" if q == "fp32" else "int8", functions=["decode"])
    info[q] = (time.perf_counter() - t0, manifest["files"]["decode"]["bytes"])
    print(f"converted tflite {q}: {info[q][0]:.0f}s, {info[q][1] / 2**20:.1f} MiB", flush=True)
  return info


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="configs/hrm_27m.py")
  parser.add_argument("--prompt-len", type=int, default=512)
  parser.add_argument("--new-tokens", type=int, default=256)
  parser.add_argument("--segments", type=int, default=None, help="ACT segments per token (default the config's)")
  parser.add_argument("--backends", default=",".join(BACKENDS))
  parser.add_argument("--dir", default=None, help="work directory (default: a temporary one)")
  parser.add_argument("--reuse", action="store_true", help="keep .tflite files already in --dir")
  parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  if args.child:
    result = child_tflite(args) if args.child.startswith("tflite") else child_jax(args)
    result["peak_rss_gib"] = peak_rss_gib()
    print(json.dumps(result))
    return
  args.backends = args.backends.split(",")
  with tempfile.TemporaryDirectory() as tmp:
    args.dir = args.dir or tmp
    os.makedirs(args.dir, exist_ok=True)
    sizes = prepare(args)
    print(f"| backend     | file MiB | TTFT s | decode tok/s | problem s | peak RSS GiB |")
    print(f"|-------------|----------|--------|--------------|-----------|--------------|")
    for backend in args.backends:
      cmd = [sys.executable, "-m", "hrm_jax.bench.export_generate", "--child", backend, "--dir", args.dir,
             "--config", args.config, "--prompt-len", str(args.prompt_len), "--new-tokens", str(args.new_tokens)]
      if args.segments:
        cmd += ["--segments", str(args.segments)]
      proc = subprocess.run(cmd, capture_output=True, text=True)
      if proc.returncode:
        print(f"| {backend:<11} | failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr else proc.returncode}")
        continue
      r = json.loads(proc.stdout.strip().splitlines()[-1])
      q = backend.split("_")[1]
      size = (sizes[q][1] if backend.startswith("tflite") else
              os.path.getsize(os.path.join(args.dir, f"{q}.npz"))) / 2**20
      print(f"| {backend:<11} | {size:>8.1f} | {r['ttft_s']:>6.2f} | {r['decode_tok_s']:>12.1f} | "
            f"{r['problem_s']:>9.2f} | {r['peak_rss_gib']:>12.2f} |", flush=True)


if __name__ == "__main__":
  main()
