"""Generation benchmark: every backend against this machine's limits, measured in the same run.

    python -m hrm_jax.bench.generate                       # hrm_27m code shape, 512 + 256 tokens, 1 and 4 segments
    python -m hrm_jax.bench.generate --segments 1 --backends jax_fp32,jax_int8 --new-tokens 64
    python -m hrm_jax.bench.generate --compile-only        # compile times of training and generation, 27m/100m

Random weights; the Q head is set to never halt, so every token runs the full `--segments` budget (the ACT depth
a trained model's Q head would pick is at most that). Each backend runs in its own process (its peak RSS is its
own; parameters and .tflite files are written once by the parent):
  jax_fp32 / jax_int8     `sampler.Generator`: prefill over the bucket-padded prompt + one compiled while_loop
                          over new tokens; int8 = every matrix stored and multiplied as int8 (`quant.freeze`,
                          `layers.int_matmul`), activations quantized per row
  tflite_fp32 / _int8     model.tflite (prefill + decode signatures, caches owned by the runner) driven by
                          `export/litert_runner.py` (no JAX in that process); int8 = dynamic-range weights
  gpt2_peer               Hugging Face `GPT2LMHeadModel` (n_embd 512, 8 layers, 8 heads, vocab 8192, random init,
                          static KV cache, torch eager, greedy), when torch and transformers are installed

Limits, measured first in the same run: the copy bandwidth (a 512 MiB fp32 array read and written) and the
read bandwidth (summed), the fp32 and int8 matmul peaks (2048^2 products). Ratios:
  decode  = seconds per token / (bytes a token must read / read bandwidth): 1.0 is the limit. Bytes: every
            weight of the applications run (depth x schedule) plus the LM head, at the stored width, and the
            filled part of every K/V cache read (mean over the decode);
  prefill = model FLOPs of the prompt's segments / (TTFT x the fp32 matmul peak); int8 rows also against the int8
            peak (int8 matmuls may exceed the fp32 one).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

BACKENDS = ("jax_fp32", "jax_int8", "tflite_fp32", "tflite_int8", "gpt2_peer")


def peak_rss_gib() -> float:
  """This process's peak resident set (VmHWM). Not getrusage's ru_maxrss: Linux carries that across fork+exec,
  so a child started by a big parent would report the parent's peak."""
  with open("/proc/self/status") as f:
    for line in f:
      if line.startswith("VmHWM:"):
        return int(line.split()[1]) / 2**20
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _timed(fn, repeats: int = 3) -> float:
  """Best of `repeats` wall times of fn() (after one warm-up call)."""
  fn()
  best = float("inf")
  for _ in range(repeats):
    t0 = time.perf_counter()
    fn()
    best = min(best, time.perf_counter() - t0)
  return best


def measure_limits() -> dict:
  """Copy and read bandwidth (bytes/s) and fp32 / int8 matmul peaks (FLOP/s, 2 per multiply-add) of this CPU."""
  import jax
  import jax.numpy as jnp

  big = jnp.ones((128 * 2**20,), jnp.float32)  # 512 MiB: far beyond any cache
  copy = jax.jit(lambda a: a + 1.0)
  read = jax.jit(jnp.sum)
  n = 2048
  a32 = jnp.ones((n, n), jnp.float32)
  a8 = jnp.ones((n, n), jnp.int8)
  mm32 = jax.jit(lambda a, b: a @ b)
  mm8 = jax.jit(lambda a, b: jax.lax.dot_general(a, b, (((1,), (0,)), ((), ())), preferred_element_type=jnp.int32))
  block = lambda f, *a: lambda: jax.block_until_ready(f(*a))
  return {
    "copy_bytes_s": 2 * big.nbytes / _timed(block(copy, big)),
    "read_bytes_s": big.nbytes / _timed(block(read, big)),
    "matmul_fp32_flops": 2 * n**3 / _timed(block(mm32, a32, a32)),
    "matmul_int8_ops": 2 * n**3 / _timed(block(mm8, a8, a8)),
  }


# ---------------------------------------------------------------------------------------------------------------
# The model, its cost model and the parameter files.


def model_config(args, segments: int):
  from hrm_jax import config_loader
  from hrm_jax.models import hrm

  model_config = config_loader.load(args.config, []).model
  cfg = hrm.HRMConfig.from_config(model_config)
  return dataclasses.replace(
    cfg,
    seq_len=max(cfg.seq_len, args.prompt_len + args.new_tokens),
    forward_dtype="float32",
    halt_max_steps=segments,
    scan_layers=False,
  )


def bucket_for(args, cfg) -> int:
  from hrm_jax.inference import sampler

  return sampler.pick_bucket(args.prompt_len, sampler.length_buckets(cfg.seq_len))


def decode_bytes_per_token(cfg, width: float, depth: int, kv_len: float) -> float:
  """Bytes one decode step must read: the weights of `depth` segments' applications and the LM head at `width`
  bytes per weight, and `kv_len` positions of every K and V cache those applications attend to (fp32)."""
  from hrm_jax.models.layers import swiglu_width

  d, inter = cfg.hidden_size, swiglu_width(cfg.hidden_size, cfg.expansion)
  block = d * 3 * d + d * d + d * 2 * inter + inter * d
  blocks = sum(cfg.application_layers) * depth  # HRM: L and H stacks; TRM: its one network; transformer: 1 stack
  weights = (blocks * block + d * cfg.vocab_size) * width
  caches = blocks * 2 * kv_len * d * 4
  return float(weights + caches)


def prefill_flops(cfg, bucket: int, depth: int) -> float:
  from hrm_jax.bench import flops

  tokens = cfg.prefix_len + bucket
  return depth * tokens * flops.segment_forward_flops(cfg, tokens / 2)


def never_halting(params: dict) -> dict:
  """The Q head biased to continue: every token runs the whole segment budget."""
  params = dict(params)
  params["q_head"] = {"kernel": np.zeros_like(params["q_head"]["kernel"]), "bias": np.asarray([-5.0, 5.0], np.float32)}
  return params


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


def prepare(args, segments: int, workdir: str) -> dict:
  """fp32.npz / int8.npz parameters and the .tflite files for `segments`; returns file sizes and times."""
  import jax

  from hrm_jax import quant
  from hrm_jax.models import hrm

  cfg = model_config(args, segments)
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  params = never_halting(jax.tree.map(np.asarray, variables["params"]))
  info = {"params": hrm.count_params(variables)}
  np.savez(os.path.join(workdir, "fp32.npz"), **_flatten(params))
  np.savez(os.path.join(workdir, "int8.npz"), **_flatten(quant.freeze(params, "int8")))
  info["fp32_mib"] = os.path.getsize(os.path.join(workdir, "fp32.npz")) / 2**20
  info["int8_mib"] = os.path.getsize(os.path.join(workdir, "int8.npz")) / 2**20
  for q in ("fp32", "int8"):
    if f"tflite_{q}" not in args.backends:
      continue
    from hrm_jax.export import tflite

    t0 = time.perf_counter()
    manifest = tflite.export_model(
      model,
      {"params": params},
      os.path.join(workdir, f"tflite_{q}"),
      quantize="none" if q == "fp32" else "int8",
      functions=["model"],
      buckets=(bucket_for(args, cfg),),
    )
    info[f"tflite_{q}_mib"] = manifest["files"]["model"]["bytes"] / 2**20
    info[f"tflite_{q}_convert_s"] = time.perf_counter() - t0
    print(
      f"  converted tflite {q}: {info[f'tflite_{q}_convert_s']:.0f} s, {info[f'tflite_{q}_mib']:.1f} MiB", flush=True
    )
  return info


# ---------------------------------------------------------------------------------------------------------------
# One backend, in a child process.


def _prompt(args, vocab: int, seed: int = 0) -> list[int]:
  return [int(t) for t in np.random.default_rng(seed).integers(16, vocab, args.prompt_len)]


def child_jax(args) -> dict:
  import jax

  from hrm_jax.inference import sampler
  from hrm_jax.models import hrm

  cfg = model_config(args, args.segments_one)
  model = hrm.HRMCore(cfg)
  with np.load(os.path.join(args.dir, f"{args.child.split('_')[1]}.npz")) as f:
    params = {"params": jax.tree.map(jax.numpy.asarray, _unflatten(dict(f)))}

  def generator(new_tokens):
    sampling = sampler.SamplingConfig(max_new_tokens=new_tokens, stop_ids=(-1,))
    return sampler.Generator(model, params, sampling)

  result = {}
  batches = [int(b) for b in args.batches.split(",")] if args.batches else [1]
  for b in batches:
    prompts = [_prompt(args, cfg.vocab_size, seed) for seed in range(b)]
    new_tokens = args.new_tokens if b == 1 else args.batch_new_tokens
    first, whole = generator(1), generator(new_tokens)
    run = lambda g: jax.block_until_ready(g.generate_arrays(prompts, [4] * b, [0] * b))
    t0 = time.perf_counter()
    run(first)
    run(whole)
    compile_s = time.perf_counter() - t0
    ttft = _timed(lambda: run(first), 2)
    total = _timed(lambda: run(whole), 1 if b > 1 else 2)
    decode_s = max(total - ttft, 1e-9)
    result[f"b{b}"] = {
      "ttft_s": ttft,
      "problem_s": total,
      "decode_tok_s": b * (new_tokens - 1) / decode_s,
      "s_per_token": decode_s / (new_tokens - 1),
      "compile_s": compile_s,
      "peak_rss_gib": peak_rss_gib(),
    }  # high-water mark so far: batch 1 runs first
  return result


def child_tflite(args) -> dict:
  from hrm_jax.export import litert_runner  # no JAX: asserted below

  model = litert_runner.Model(os.path.join(args.dir, args.child), num_threads=os.cpu_count())
  prompt = _prompt(args, int(model.manifest["model"]["vocab_size"]))

  def run(n):
    t0 = time.perf_counter()
    it = litert_runner.generate_ids(model, prompt, n, stop_ids=(-1,), language_id=4, task_id=0)
    next(it)
    ttft = time.perf_counter() - t0
    rest = list(it)
    return ttft, time.perf_counter() - t0, len(rest)

  run(2)  # warm-up (allocation, XNNPACK packing)
  ttft, total, rest = run(args.new_tokens)
  assert not any(m == "jax" or m.startswith("jax.") for m in sys.modules), "the TFLite path imported JAX"
  decode_s = max(total - ttft, 1e-9)
  return {
    "b1": {
      "ttft_s": ttft,
      "problem_s": total,
      "decode_tok_s": rest / decode_s,
      "s_per_token": decode_s / max(rest, 1),
      "compile_s": 0.0,
    }
  }


def child_gpt2(args) -> dict:
  import torch
  from transformers import GPT2Config, GPT2LMHeadModel

  torch.manual_seed(0)
  config = GPT2Config(
    vocab_size=8192, n_embd=512, n_layer=8, n_head=8, n_positions=args.prompt_len + args.new_tokens + 8
  )
  model = GPT2LMHeadModel(config).eval()
  params = sum(p.numel() for p in model.parameters())
  ids = torch.tensor([_prompt(args, 8192)])

  def run(n):
    with torch.inference_mode():
      return model.generate(
        ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=n,
        min_new_tokens=n,
        do_sample=False,
        cache_implementation="static",
        pad_token_id=0,
      )

  run(2)
  ttft = _timed(lambda: run(1), 2)
  total = _timed(lambda: run(args.new_tokens), 1)
  decode_s = max(total - ttft, 1e-9)
  return {
    "b1": {
      "ttft_s": ttft,
      "problem_s": total,
      "decode_tok_s": (args.new_tokens - 1) / decode_s,
      "s_per_token": decode_s / (args.new_tokens - 1),
      "compile_s": 0.0,
    },
    "params": params,
  }


# ---------------------------------------------------------------------------------------------------------------
# Compile times.


def compile_times(configs: list[str], segments: int, batch: int) -> list[dict]:
  """Seconds to compile one training step's gradient (act_step + loss) and generation (prefill + decode loop),
  from abstract shapes (nothing allocated)."""
  import jax
  import jax.numpy as jnp

  from hrm_jax import config_loader, losses
  from hrm_jax.inference import sampler
  from hrm_jax.models import hrm

  rows = []
  for spec in configs:
    cfg = hrm.HRMConfig.from_config(config_loader.load(spec, []).model)
    cfg = dataclasses.replace(cfg, forward_dtype="float32", halt_max_steps=segments)
    model = hrm.HRMCore(cfg)
    params = jax.eval_shape(lambda: hrm.init_params(cfg, jax.random.key(0))[1])
    batch_spec = jax.eval_shape(lambda: hrm.dummy_batch(cfg, batch))

    def train_loss(p, b):
      carry = hrm.initial_carry(model, b)
      _, out = hrm.act_step(model, p, carry, b, jax.random.key(0))
      return jnp.mean(losses.softmax_cross_entropy(out.logits, b["labels"]))

    t0 = time.perf_counter()
    jax.jit(jax.grad(train_loss)).lower(params, batch_spec).compile()
    train_s = time.perf_counter() - t0
    serve_cfg = dataclasses.replace(cfg, scan_layers=False)
    serve_model = hrm.HRMCore(serve_cfg)
    sampling = sampler.SamplingConfig(max_new_tokens=16, stop_ids=(-1,))
    gen_batch = {
      k: jax.ShapeDtypeStruct((1,) + v.shape[1:] if k != "inputs" else (1, 64), v.dtype)
      for k, v in batch_spec.items()
      if k != "labels"
    }
    t0 = time.perf_counter()
    jax.jit(lambda p, b: sampler._generate(serve_model, sampling, p, b, jax.random.key(0))).lower(
      params, gen_batch
    ).compile()
    gen_s = time.perf_counter() - t0
    rows.append(
      {
        "config": spec,
        "params": hrm.count_params(params),
        "train_compile_s": train_s,
        "generate_compile_s": gen_s,
        "segments": segments,
      }
    )
    print(
      f"| {spec:<22} | {rows[-1]['params'] / 1e6:>6.1f}M | {segments:>8} | {train_s:>15.1f} | {gen_s:>18.1f} |",
      flush=True,
    )
  return rows


# ---------------------------------------------------------------------------------------------------------------


def run_child(args, backend: str, segments: int, workdir: str) -> dict:
  cmd = [
    sys.executable,
    "-m",
    "hrm_jax.bench.generate",
    "--child",
    backend,
    "--dir",
    workdir,
    "--config",
    args.config,
    "--prompt-len",
    str(args.prompt_len),
    "--new-tokens",
    str(args.new_tokens),
    "--segments-one",
    str(segments),
    "--batch-new-tokens",
    str(args.batch_new_tokens),
  ]
  batches = args.batches if backend.startswith("jax") and segments == args.segments_list[0] else "1"
  cmd += ["--batches", batches]
  proc = subprocess.run(cmd, capture_output=True, text=True)
  if proc.returncode:
    tail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
    return {"error": tail}
  return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="configs/hrm_27m.py")
  parser.add_argument("--prompt-len", type=int, default=512)
  parser.add_argument("--new-tokens", type=int, default=256)
  parser.add_argument("--segments", default="1,4", help="comma-separated ACT segment budgets")
  parser.add_argument("--backends", default=",".join(BACKENDS))
  parser.add_argument("--batches", default="1,8,32", help="JAX decode batch sizes (at the smallest budget)")
  parser.add_argument("--batch-new-tokens", type=int, default=64, help="new tokens per row at batch > 1")
  parser.add_argument("--compile-configs", default="configs/hrm_27m.py,configs/hrm_100m.py")
  parser.add_argument("--compile-only", action="store_true")
  parser.add_argument("--no-compile", action="store_true", help="skip the compile-time table")
  parser.add_argument("--json", default=None, help="also write every figure to this file")
  parser.add_argument("--dir", default=None, help=argparse.SUPPRESS)
  parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
  parser.add_argument("--segments-one", type=int, default=1, help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  if args.child:
    fn = {"tflite": child_tflite, "gpt2": child_gpt2}.get(args.child.split("_")[0], child_jax)
    result = fn(args)
    result["peak_rss_gib"] = peak_rss_gib()
    print(json.dumps(result))
    return
  args.backends = args.backends.split(",")
  args.segments_list = [int(s) for s in args.segments.split(",")]
  report = {"argv": sys.argv[1:], "date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count()}
  if not args.compile_only:
    limits = measure_limits()
    report["limits"] = limits
    print(
      f"limits on this machine ({os.cpu_count()} CPUs): copy {limits['copy_bytes_s'] / 1e9:.1f} GB/s "
      f"(read + write), read {limits['read_bytes_s'] / 1e9:.1f} GB/s, matmul fp32 "
      f"{limits['matmul_fp32_flops'] / 1e9:.0f} GFLOP/s, int8 {limits['matmul_int8_ops'] / 1e9:.0f} GOP/s",
      flush=True,
    )
    print(
      f"{args.config}: prompt {args.prompt_len} + {args.new_tokens} new tokens, greedy, every token at the "
      "full segment budget"
    )
    header = (
      "| backend | segments | batch | TTFT s | prefill FLOPs / peak | decode tok/s | s/token / limit | "
      "problem s | peak RSS GiB | file MiB |"
    )
    rows = []
    for segments in args.segments_list:
      with tempfile.TemporaryDirectory() as workdir:
        print(f"segments {segments}: preparing", flush=True)
        info = prepare(args, segments, workdir)
        cfg = model_config(args, segments)
        bucket = bucket_for(args, cfg)
        kv_mean = cfg.prefix_len + args.prompt_len + args.new_tokens / 2
        if segments == args.segments_list[0]:
          print(f"{info['params']:,} parameters\n{header}\n|" + "---|" * 10, flush=True)
        for backend in args.backends:
          if backend == "gpt2_peer" and segments != args.segments_list[0]:
            continue
          r = run_child(args, backend, segments, workdir)
          if "error" in r:
            print(f"| {backend} | {segments} | | failed: {r['error']} |", flush=True)
            rows.append({"backend": backend, "segments": segments, "error": r["error"]})
            continue
          width = 1.0 if backend.endswith("int8") else 4.0
          for key, m in sorted(((k, v) for k, v in r.items() if k.startswith("b")), key=lambda kv: int(kv[0][1:])):
            b = int(key[1:])
            if backend == "gpt2_peer":
              prefill_ratio = limit_ratio = float("nan")
              prefill_text = "-"
              size = r["params"] * 4 / 2**20
            else:
              work = b * prefill_flops(cfg, bucket, segments) / m["ttft_s"]
              prefill_ratio = work / limits["matmul_fp32_flops"]
              prefill_text = f"{prefill_ratio:.0%} of fp32"
              if backend.endswith("int8"):
                prefill_text += f", {work / limits['matmul_int8_ops']:.0%} of int8"
              # at batch b, one step reads the weights once and b rows of caches
              limit_s = (
                decode_bytes_per_token(cfg, width, segments, 0)
                + b
                * (
                  decode_bytes_per_token(cfg, width, segments, kv_mean)
                  - decode_bytes_per_token(cfg, width, segments, 0)
                )
              ) / limits["read_bytes_s"]
              limit_ratio = m["s_per_token"] / limit_s
              size = info.get(f"{backend}_mib", info.get(f"{backend.split('_')[1]}_mib"))
            rss = m.get("peak_rss_gib", r["peak_rss_gib"])
            row = dict(
              backend=backend,
              segments=segments,
              batch=b,
              prefill_of_fp32_peak=prefill_ratio,
              time_over_limit=limit_ratio,
              file_mib=size,
              **dict(m, peak_rss_gib=rss),
            )
            rows.append(row)
            print(
              f"| {backend} | {segments} | {b} | {m['ttft_s']:.2f} | {prefill_text} | "
              f"{m['decode_tok_s']:.1f} | {limit_ratio:.2f}x | {m['problem_s']:.2f} | "
              f"{rss:.2f} | {size:.1f} |",
              flush=True,
            )
    report["rows"] = rows
  if not args.no_compile:
    print(
      "compile times (abstract shapes, batch 1, 4 segments):\n| config | params | segments | train step s | "
      "generate (4 seg) s |\n|---|---|---|---|---|",
      flush=True,
    )
    report["compile"] = compile_times(args.compile_configs.split(","), 4, 1)
  if args.json:
    with open(args.json, "w") as f:
      json.dump(report, f, indent=2)


if __name__ == "__main__":
  main()
