"""Generation benchmark: time to first token, decode tokens/s with and without the KV caches, peak memory.

    python -m hrm_jax.bench.generate                                   # tiny_cpu and hrm_27m, random weights
    python -m hrm_jax.bench.generate --config configs/hrm_27m.py --prompt-len 512 --new-tokens 256

Random weights with the Q head at its initial bias (q_halt == q_continue), so every token runs the full
`--segments` budget: the worst case for ACT depth.
"""
from __future__ import annotations

import argparse
import resource
import time

import jax
import numpy as np


def bench(spec: str, prompt_len: int, new_tokens: int, segments: int | None, use_cache: bool, overrides) -> dict:
  from hrm_jax import config_loader
  from hrm_jax.inference import sampler
  from hrm_jax.models import hrm

  config = config_loader.load(spec, overrides)
  config.model.seq_len = max(config.model.seq_len, prompt_len + new_tokens)
  config.model.forward_dtype = "float32"
  cfg = hrm.HRMConfig.from_config(config.model)
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  sampling = sampler.SamplingConfig(max_new_tokens=new_tokens, stop_ids=(-1,), max_segments=segments)
  prompt = list(np.random.default_rng(0).integers(2, cfg.vocab_size, prompt_len))
  # time to first token: prefill only
  gen1 = sampler.Generator(model, variables, sampler.SamplingConfig(max_new_tokens=1, stop_ids=(-1,),
                                                                     max_segments=segments), use_cache=use_cache)
  gen1.generate([prompt])  # compile
  t0 = time.perf_counter()
  gen1.generate([prompt])
  ttft = time.perf_counter() - t0
  gen = sampler.Generator(model, variables, sampling, use_cache=use_cache)
  t0 = time.perf_counter()
  gen.generate([prompt])
  compile_and_run = time.perf_counter() - t0
  t0 = time.perf_counter()
  out = gen.generate([prompt])
  total = time.perf_counter() - t0
  return {"config": spec, "cache": use_cache, "segments": segments or cfg.halt_max_steps, "ttft_s": ttft,
          "decode_tok_s": (len(out[0]) - 1) / max(total - ttft, 1e-9), "problem_s": total,
          "first_call_s": compile_and_run,
          "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", action="append")
  parser.add_argument("--prompt-len", type=int, default=None)
  parser.add_argument("--new-tokens", type=int, default=None)
  parser.add_argument("--segments", type=int, default=None, help="ACT segments per token (default the model's)")
  parser.add_argument("--no-cache-too", action="store_true", help="also time generation without KV caches")
  parser.add_argument("overrides", nargs="*")
  args = parser.parse_args(argv)
  runs = [(c, args.prompt_len or 512, args.new_tokens or 256) for c in args.config] if args.config else [
      ("configs/tiny_cpu.py", args.prompt_len or 48, args.new_tokens or 32),
      ("configs/hrm_27m.py", args.prompt_len or 512, args.new_tokens or 256)]
  print(f"{'config':<24} {'KV cache':>8} {'segments':>8} {'prompt':>6} {'new':>5} {'TTFT s':>8} {'decode tok/s':>12} "
        f"{'problem s':>9} {'peak RSS GiB':>12}")
  for spec, p, n in runs:
    for cache in ([True, False] if args.no_cache_too or not args.config else [True]):
      if not cache and p + n > 256:
        n_nc = min(n, 32)  # the no-cache path reruns the whole sequence per token: measure fewer tokens
      else:
        n_nc = n
      r = bench(spec, p, n if cache else n_nc, args.segments, cache, args.overrides)
      print(f"{spec:<24} {str(cache):>8} {r['segments']:>8} {p:>6} {n if cache else n_nc:>5} {r['ttft_s']:>8.3f} "
            f"{r['decode_tok_s']:>12.1f} {r['problem_s']:>9.2f} {r['peak_rss_gib']:>12.2f}", flush=True)


if __name__ == "__main__":
  main()
