"""Train-step benchmark: compile time, steps/s, tokens/s, model FLOPs/token, MFU and peak memory.

    python -m hrm_jax.bench.train_step                       # tiny_cpu and hrm_27m with their batch sizes capped
    python -m hrm_jax.bench.train_step --config configs/hrm_27m.py --batch-size 8 --steps 5 --peak-tflops 989

Batches are random tokens of the config's shapes (the data pipeline is benchmarked separately), so the figure
is the compiled step alone. MFU needs the device's peak (--peak-tflops); without it only FLOP/s is printed.
"""
from __future__ import annotations

import argparse
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np


def bench_config(spec: str, batch_size: int | None, steps: int, overrides: list[str]) -> dict:
  from hrm_jax import config_loader
  from hrm_jax.bench import flops
  from hrm_jax.models import hrm
  from hrm_jax.train import optimizers, step as step_lib

  config = config_loader.load(spec, overrides)
  cfg = hrm.HRMConfig.from_config(config.model)
  b = batch_size or config.train.batch_size
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  tx = optimizers.make_optimizer(config.optimizer, 1000)
  rng = np.random.default_rng(0)

  def batch():
    d = {k: np.asarray(v) for k, v in hrm.dummy_batch(cfg, b).items()}
    d["inputs"] = rng.integers(2, cfg.vocab_size, (b, cfg.seq_len)).astype(np.int32)
    d["labels"] = rng.integers(2, cfg.vocab_size, (b, cfg.seq_len)).astype(np.int32)
    d["prompt_length"] = np.full((b,), cfg.seq_len // 4, np.int32)
    return d

  first = batch()
  state = step_lib.create_train_state(model, variables["params"], tx, first)
  fn = jax.jit(lambda s, x: step_lib.train_step(model, tx, config.train.loss_type, b, jax.random.key(1), s, x),
               donate_argnums=(0,))
  t0 = time.perf_counter()
  compiled = fn.lower(state, first).compile()
  compile_s = time.perf_counter() - t0
  state, m = compiled(state, first)
  jax.block_until_ready(m)
  batches = [batch() for _ in range(steps)]
  t0 = time.perf_counter()
  for x in batches:
    state, m = compiled(state, x)
  jax.block_until_ready(m)
  dt = (time.perf_counter() - t0) / steps
  tokens = b * cfg.seq_len
  fpt = flops.train_flops_per_token(cfg)
  return {"config": spec, "params": hrm.count_params(variables), "batch": b, "seq": cfg.seq_len,
          "compile_s": compile_s, "step_s": dt, "steps_per_s": 1 / dt, "tokens_per_s": tokens / dt,
          "gflops_per_token": fpt / 1e9, "tflops_per_s": fpt * tokens / dt / 1e12,
          "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
          "device": jax.devices()[0].device_kind}


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", action="append", help="config file(s); default tiny_cpu and hrm_27m")
  parser.add_argument("--batch-size", type=int, default=None)
  parser.add_argument("--steps", type=int, default=5)
  parser.add_argument("--peak-tflops", type=float, default=0.0, help="device peak for MFU")
  parser.add_argument("overrides", nargs="*", help="--config.a.b=value overrides (applied to every config)")
  args = parser.parse_args(argv)
  specs = args.config or ["configs/tiny_cpu.py", "configs/hrm_27m.py"]
  print(f"{'config':<28} {'params':>11} {'batch':>5} {'seq':>5} {'compile s':>9} {'step s':>8} {'steps/s':>8} "
        f"{'tokens/s':>10} {'GFLOP/tok':>9} {'TFLOP/s':>8} {'MFU':>6} {'peak RSS GiB':>12}")
  for spec in specs:
    batch = args.batch_size if args.batch_size else (8 if "27m" in spec or "100m" in spec else None)
    r = bench_config(spec, batch, args.steps, args.overrides)
    mfu = f"{100 * r['tflops_per_s'] / args.peak_tflops:.1f}%" if args.peak_tflops else "n/a"
    print(f"{spec:<28} {r['params']:>11,} {r['batch']:>5} {r['seq']:>5} {r['compile_s']:>9.1f} {r['step_s']:>8.3f} "
          f"{r['steps_per_s']:>8.2f} {r['tokens_per_s']:>10,.0f} {r['gflops_per_token']:>9.3f} "
          f"{r['tflops_per_s']:>8.3f} {mfu:>6} {r['peak_rss_gib']:>12.2f}", flush=True)
  print(f"device: {jax.devices()[0].device_kind} x{jax.device_count()}")


if __name__ == "__main__":
  main()
