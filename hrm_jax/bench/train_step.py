"""Train-step benchmark: compile time, step time, tokens/s, model FLOPs/token, MFU and memory.

    python -m hrm_jax.bench.train_step                       # tiny_cpu and hrm_27m with their batch sizes capped
    python -m hrm_jax.bench.train_step --config configs/hrm_27m.py --batch-size 8 --steps 5
    XLA_FLAGS=--xla_force_host_platform_device_count=8 python -m hrm_jax.bench.train_step \
        --config configs/hrm_27m.py --batch-size 8 --mesh fsdp=8

Batches are random tokens of the config's shapes (the data pipeline is benchmarked separately), so the figure
is the compiled step alone: the same sharded, donated step the trainer runs (hrm_jax/train/sharding.py), on the
mesh given by --mesh (default: the config's, all devices data-parallel). MFU is model FLOPs (hrm_jax/bench/
flops.py: every module application of the segment, the ACT target pass, the backward of the graded
applications) per second over the peak of all devices: the peak comes from --peak-tflops or from the table of
known accelerators below (dense bf16); CPUs have no entry, so MFU is n/a there.
"""

from __future__ import annotations

import argparse
import resource
import time

import jax
import numpy as np

# Dense bf16 peak TFLOP/s per device (vendor data sheets; matched as substrings of `device_kind`, first wins).
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
  ("H200", 989.0),  # NVIDIA H200 SXM
  ("H100 PCIe", 756.0),  # NVIDIA H100 PCIe
  ("H100", 989.0),  # NVIDIA H100 SXM (HBM3)
  ("GH200", 989.0),
  ("B200", 2250.0),
  ("A100", 312.0),
  ("L40S", 362.0),
  ("L4", 121.0),
  ("A10G", 70.0),
  ("A10", 125.0),
  ("V100", 125.0),  # fp16 tensor cores (no bf16)
  ("TPU v6", 918.0),  # Trillium (v6e)
  ("TPU v5 lite", 197.0),  # v5e
  ("TPU v5e", 197.0),
  ("TPU v5p", 459.0),
  ("TPU v5", 459.0),
  ("TPU v4", 275.0),
  ("TPU v3", 123.0),
  ("TPU v2", 45.0),
)


def device_peak_tflops(device_kind: str) -> float | None:
  for name, peak in PEAK_BF16_TFLOPS:
    if name.lower() in device_kind.lower():
      return peak
  return None


def bench_config(
  spec: str, batch_size: int | None, steps: int, overrides: list[str], mesh_spec: str | None = None
) -> dict:
  from hrm_jax import config_loader
  from hrm_jax.bench import flops
  from hrm_jax.models import hrm
  from hrm_jax.train import optimizers, sharding
  from hrm_jax.train import step as step_lib

  config = config_loader.load(spec, overrides)
  cfg = hrm.HRMConfig.from_config(config.model)
  b = batch_size or config.train.batch_size
  mesh_config = config.get("mesh") or sharding.mesh_config()
  if mesh_spec:
    mesh_config = sharding.mesh_config(
      **{**{"data": 1, "fsdp": 1, "tensor": 1}, **{k: int(v) for k, v in (p.split("=") for p in mesh_spec.split(","))}}
    )
  mesh = sharding.create_mesh(mesh_config)
  model = hrm.HRMCore(cfg)
  tx = optimizers.make_optimizer(config.optimizer, 1000)
  microbatches = config.train.microbatches
  rng = np.random.default_rng(0)

  def batch():
    d = {k: np.asarray(v) for k, v in hrm.dummy_batch(cfg, b).items()}
    d["inputs"] = rng.integers(2, cfg.vocab_size, (b, cfg.seq_len)).astype(np.int32)
    d["labels"] = rng.integers(2, cfg.vocab_size, (b, cfg.seq_len)).astype(np.int32)
    d["prompt_length"] = np.full((b,), cfg.seq_len // 4, np.int32)
    with mesh:
      return sharding.global_batch(mesh, d)

  def init_state(key, x):
    _, variables = hrm.init_params(cfg, key)
    return step_lib.create_train_state(model, variables["params"], tx, x)

  first = batch()
  abstract = jax.eval_shape(init_state, jax.random.key(0), first)
  state_sharding = sharding.state_shardings(abstract, hrm.logical_axes(cfg), mesh)
  replicated = jax.sharding.NamedSharding(mesh.mesh, jax.sharding.PartitionSpec())
  with mesh:
    state = jax.jit(init_state, out_shardings=state_sharding)(jax.random.key(0), first)
    fn = jax.jit(
      lambda s, x: step_lib.train_step(model, tx, config.train.loss_type, b, jax.random.key(1), s, x, microbatches),
      in_shardings=(state_sharding, jax.tree.map(lambda x: x.sharding, first)),
      out_shardings=(state_sharding, replicated),
      donate_argnums=(0,),
    )
    t0 = time.perf_counter()
    compiled = fn.lower(state, first).compile()
  compile_s = time.perf_counter() - t0
  memory = compiled.memory_analysis()
  step_mib = None
  if memory is not None:
    step_mib = (
      sum(getattr(memory, a, 0) or 0 for a in ("temp_size_in_bytes", "argument_size_in_bytes", "output_size_in_bytes"))
      / 2**20
    )
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
  kind = jax.devices()[0].device_kind
  peak = device_peak_tflops(kind)
  return {
    "config": spec,
    "params": hrm.count_params({"params": state.params}),
    "batch": b,
    "seq": cfg.seq_len,
    "dtype": cfg.forward_dtype,
    "mesh": mesh.describe(),
    "compile_s": compile_s,
    "step_s": dt,
    "tokens_per_s": tokens / dt,
    "gflops_per_token": fpt / 1e9,
    "tflops_per_s": fpt * tokens / dt / 1e12,
    "step_mib_per_device": step_mib,
    "devices": mesh.mesh.size,
    "device_peak_tflops": peak,
    "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    "device": kind,
  }


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", action="append", help="config file(s); default tiny_cpu and hrm_27m")
  parser.add_argument("--batch-size", type=int, default=None)
  parser.add_argument("--steps", type=int, default=5)
  parser.add_argument("--mesh", default=None, help="mesh sizes, e.g. data=8 or data=2,fsdp=2,tensor=2")
  parser.add_argument(
    "--peak-tflops", type=float, default=0.0, help="per-device peak for MFU (default: the table of known accelerators)"
  )
  parser.add_argument("overrides", nargs="*", help="--config.a.b=value overrides (applied to every config)")
  args, extra = parser.parse_known_args(argv)
  overrides = list(args.overrides) + extra
  specs = args.config or ["configs/tiny_cpu.py", "configs/hrm_27m.py"]
  print(
    f"{'config':<22} {'params':>11} {'batch':>5} {'seq':>5} {'dtype':>8} {'mesh':>26} {'compile s':>9} "
    f"{'step s':>8} {'tokens/s':>10} {'GFLOP/tok':>9} {'TFLOP/s':>8} {'MFU':>6} {'MiB/dev':>8}"
  )
  for spec in specs:
    batch = args.batch_size if args.batch_size else (8 if "27m" in spec or "100m" in spec else None)
    r = bench_config(spec, batch, args.steps, overrides, args.mesh)
    peak = args.peak_tflops or r["device_peak_tflops"]
    mfu = f"{100 * r['tflops_per_s'] / (peak * r['devices']):.1f}%" if peak else "n/a"
    mib = f"{r['step_mib_per_device']:.0f}" if r["step_mib_per_device"] is not None else "-"
    print(
      f"{spec:<22} {r['params']:>11,} {r['batch']:>5} {r['seq']:>5} {r['dtype']:>8} {r['mesh']:>26} "
      f"{r['compile_s']:>9.1f} {r['step_s']:>8.3f} {r['tokens_per_s']:>10,.0f} {r['gflops_per_token']:>9.3f} "
      f"{r['tflops_per_s']:>8.3f} {mfu:>6} {mib:>8}",
      flush=True,
    )
  print(f"device: {jax.devices()[0].device_kind} x{jax.device_count()}")


if __name__ == "__main__":
  main()
