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
known accelerators below (dense bf16). CPUs have no entry: there the fp32 matmul rate is measured in the same run
(a large square product and the model's projection shapes) and the column gives model FLOP/s over it (marked *).

    python -m hrm_jax.bench.train_step --target-q      # + what the bootstrapped continue target costs
    /root/.cache/hrm-jax/torch-venv/bin/python -m hrm_jax.bench.train_step --config configs/hrm_27m.py:native \
        --torch                                         # + paired with the PyTorch peer (hrm_jax/bench/torch_peer.py)

`--target-q` times the step with and without the target (`no_ACT_continue`) beside one no-gradient segment, and
prints XLA's FLOP and byte counts of the compiled programs (load-independent). `--torch` runs our step and the
peer (the reference's architecture and training call in eager PyTorch, same weights: one segment's logits are
checked first) alternately on the same batches and prints the median of the per-pair time ratios.
"""

from __future__ import annotations

import argparse
import resource
import time
import types

import jax
import numpy as np

from hrm_jax.train import distributed

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


# The pairing with the PyTorch peer: the reference's native mode at the size the issue quotes (hidden 512, 4+4
# layers, 2x2 cycles, vocab 8192, batch 4 x 256, fp32).
PAIRED_SHAPE = "hidden 512, 4+4 layers, 2x2 cycles, vocab 8192, batch 4 x 256, fp32"
PAIRED_CONFIG = (
  "configs/hrm_27m.py:native",
  4,
  ["--config.model.vocab_size=8192", "--config.model.seq_len=256", "--config.model.forward_dtype=float32"],
)


def device_peak_tflops(device_kind: str) -> float | None:
  for name, peak in PEAK_BF16_TFLOPS:
    if name.lower() in device_kind.lower():
      return peak
  return None


def _build(spec: str, batch_size: int | None, overrides: list[str], mesh_spec: str | None = None):
  """The trainer's compiled step for a config: (cfg, config, mesh, model, compiled step, state, make_batch).

  `make_batch()` returns (host numpy batch, global device batch) of random tokens of the config's shapes."""
  from hrm_jax import config_loader
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

  if b % jax.process_count():
    raise ValueError(f"--batch-size {b} must divide by the {jax.process_count()} processes")
  rows = b // jax.process_count()  # this process's rows of the global batch (multi-host: `--distributed`)

  def make_batch():
    d = {k: np.asarray(v) for k, v in hrm.dummy_batch(cfg, rows).items()}
    d["inputs"] = rng.integers(2, cfg.vocab_size, (rows, cfg.seq_len)).astype(np.int32)
    d["labels"] = rng.integers(2, cfg.vocab_size, (rows, cfg.seq_len)).astype(np.int32)
    d["prompt_length"] = np.full((rows,), cfg.seq_len // 4, np.int32)
    with mesh:
      return d, sharding.global_batch(mesh, d)

  def init_state(key, x):
    _, variables = hrm.init_params(cfg, key)
    return step_lib.create_train_state(model, variables["params"], tx, x)

  _, first = make_batch()
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
  return types.SimpleNamespace(
    cfg=cfg,
    config=config,
    mesh=mesh,
    model=model,
    compiled=compiled,
    compile_s=compile_s,
    state=state,
    make_batch=make_batch,
    first=first,
    batch=b,
  )


def bench_config(
  spec: str, batch_size: int | None, steps: int, overrides: list[str], mesh_spec: str | None = None
) -> dict:
  from hrm_jax.bench import flops
  from hrm_jax.models import hrm

  run = _build(spec, batch_size, overrides, mesh_spec)
  cfg, compiled, mesh, b = run.cfg, run.compiled, run.mesh, run.batch
  memory = compiled.memory_analysis()
  step_mib = None
  if memory is not None:
    step_mib = (
      sum(getattr(memory, a, 0) or 0 for a in ("temp_size_in_bytes", "argument_size_in_bytes", "output_size_in_bytes"))
      / 2**20
    )
  state, m = compiled(run.state, run.first)
  jax.block_until_ready(m)
  batches = [run.make_batch()[1] for _ in range(steps)]
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
    "compile_s": run.compile_s,
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


def matmul_peak_gflops(dtype: str = "float32", seconds: float = 0.5) -> tuple[float, dict[str, float]]:
  """The matmul rate this machine reaches in this run: the best of a large square product and the model's own
  projection shapes (hrm_27m at 1024 tokens), each jitted and timed over repetitions of at least `seconds`.

  Returns (best GFLOP/s, {shape: GFLOP/s})."""
  import jax.numpy as jnp

  shapes = {
    "2048x2048x2048": (2048, 2048, 2048),
    "1024x512x3072": (1024, 512, 3072),
    "1024x1536x512": (1024, 1536, 512),
  }
  product = jax.jit(lambda a, b: a @ b)
  rates = {}
  for name, (m, k, n) in shapes.items():
    a = jnp.asarray(np.random.default_rng(0).standard_normal((m, k)), dtype)
    b = jnp.asarray(np.random.default_rng(1).standard_normal((k, n)), dtype)
    product(a, b).block_until_ready()
    best = float("inf")
    for _ in range(3):
      reps, t0 = 0, time.perf_counter()
      while time.perf_counter() - t0 < seconds / 3:
        product(a, b).block_until_ready()
        reps += 1
      best = min(best, (time.perf_counter() - t0) / reps)
    rates[name] = 2 * m * k * n / best / 1e9
  return max(rates.values()), rates


def target_q_cost(spec: str, batch_size: int | None, steps: int, overrides: list[str]) -> dict:
  """What the bootstrapped continue target costs: the step with and without it (`no_ACT_continue`) beside one
  no-gradient segment forward (inference precision = the config's forward dtype), paired repetitions."""
  from hrm_jax.models import hrm

  full = _build(spec, batch_size, overrides)
  bare = _build(spec, batch_size, overrides + ["--config.model.no_ACT_continue=True"])
  cfg, model = full.cfg, full.model
  params = {"params": jax.device_get(full.state.params)}  # the steps below donate the state
  carry0 = model.apply(params, full.batch, cfg.total_len, method=hrm.HRMCore.initial_state)
  segment = jax.jit(lambda p, zh, zl, x: hrm.forward_segment(model, p, zh, zl, x)[2])
  with full.mesh:
    jax.block_until_ready(segment(params, *carry0, full.first))
    counted = {name: _cost(c) for name, c in (("full", full.compiled), ("bare", bare.compiled))} | {
      "segment": _cost(segment.lower(params, *carry0, full.first).compile())
    }
  states = {"full": full.compiled(full.state, full.first)[0], "bare": bare.compiled(bare.state, bare.first)[0]}
  times: dict[str, list[float]] = {"full": [], "bare": [], "segment": []}
  for _ in range(steps):
    _, x = full.make_batch()
    for name, run in (("full", full), ("bare", bare)):
      t0 = time.perf_counter()
      states[name], m = run.compiled(states[name], x)
      jax.block_until_ready(m)
      times[name].append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    with full.mesh:
      jax.block_until_ready(segment(params, *carry0, x))
    times["segment"].append(time.perf_counter() - t0)
  med = {k: float(np.median(v)) for k, v in times.items()}
  return {
    "step_s": med["full"],
    "step_without_target_s": med["bare"],
    "target_s": med["full"] - med["bare"],
    "segment_forward_s": med["segment"],
    "target_share": (med["full"] - med["bare"]) / med["full"],
    "target_over_forward": (med["full"] - med["bare"]) / med["segment"],
    # XLA's own count of the compiled programs (independent of the machine's load)
    "target_flops_over_forward": (counted["full"][0] - counted["bare"][0]) / counted["segment"][0],
    "target_bytes_over_forward": (counted["full"][1] - counted["bare"][1]) / counted["segment"][1],
  }


def _cost(compiled) -> tuple[float, float]:
  """(FLOPs, bytes accessed) of a compiled program, as XLA's cost analysis counts them."""
  analysis = compiled.cost_analysis()
  analysis = analysis[0] if isinstance(analysis, list) else analysis
  return float(analysis.get("flops", 0.0)), float(analysis.get("bytes accessed", 0.0))


def paired_torch(spec: str, batch_size: int, steps: int, overrides: list[str]) -> dict:
  """Our step beside the PyTorch peer (hrm_jax/bench/torch_peer.py: the reference's architecture and training
  call, eager) on the same config, weights and batches; alternating repetitions, median of per-pair ratios."""
  import torch

  from hrm_jax.bench import torch_peer
  from hrm_jax.inference import native
  from hrm_jax.models import torch_import

  run = _build(spec, batch_size, overrides)
  cfg = run.cfg
  params = jax.device_get(run.state.params)
  inner = torch_peer.build(cfg, torch_import.reference_state_dict({"params": params}))
  host, _ = run.make_batch()
  ours = native.run_segment(run.model, {"params": params}, {k: host[k] for k in ("inputs", "puzzle_identifiers")})
  with torch.no_grad():
    x = inner.embed(torch.from_numpy(host["inputs"]), torch.from_numpy(host["puzzle_identifiers"]))
    z = torch.broadcast_to(inner.H_init, x.shape), torch.broadcast_to(inner.L_init, x.shape)
    theirs = inner.segment(z[0], z[1], x)[2].numpy()
  logit_diff = float(np.max(np.abs(theirs - ours["logits"])))
  trainer = torch_peer.Trainer(inner, run.batch)
  state, m = run.compiled(run.state, run.first)
  jax.block_until_ready(m)
  trainer.step(host)  # warm-up
  ours_s, theirs_s = [], []
  for _ in range(steps):
    host, x = run.make_batch()
    t0 = time.perf_counter()
    state, m = run.compiled(state, x)
    jax.block_until_ready(m)
    ours_s.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    trainer.step(host)
    theirs_s.append(time.perf_counter() - t0)
  ratios = np.asarray(theirs_s) / np.asarray(ours_s)
  return {
    "ours_s": float(np.median(ours_s)),
    "torch_s": float(np.median(theirs_s)),
    "ratio_median": float(np.median(ratios)),
    "ratio_min": float(ratios.min()),
    "ratio_max": float(ratios.max()),
    "logit_max_abs_diff": logit_diff,
    "torch": torch.__version__,
    "torch_threads": torch.get_num_threads(),
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
  parser.add_argument(
    "--torch",
    action="store_true",
    help="also pair our step with the PyTorch peer (bench/torch_peer.py) on the reference's native mode at "
    f"{PAIRED_SHAPE} (needs the [torch] extra)",
  )
  parser.add_argument(
    "--target-q", action="store_true", help="also measure the bootstrapped continue target's share of the step"
  )
  parser.add_argument("overrides", nargs="*", help="--config.a.b=value overrides (applied to every config)")
  distributed.add_arguments(parser)  # a pod slice (`launch/tpu.sh --bench`): every host runs this, process 0 prints
  args, extra = parser.parse_known_args(argv)
  distributed.initialize(distributed.options_from(args))
  log = distributed.log  # one table, from process 0
  overrides = list(args.overrides) + extra
  specs = args.config or ["configs/tiny_cpu.py", "configs/hrm_27m.py"]
  on_cpu = jax.devices()[0].platform == "cpu"
  matmul_peak = None
  if on_cpu and not args.peak_tflops:
    matmul_peak, rates = matmul_peak_gflops()
    log("fp32 matmul peak measured in this run: " + ", ".join(f"{k} {v:.0f}" for k, v in rates.items()) + " GFLOP/s")
  log(
    f"{'config':<22} {'params':>11} {'batch':>5} {'seq':>5} {'dtype':>8} {'mesh':>26} {'compile s':>9} "
    f"{'step s':>8} {'tokens/s':>10} {'GFLOP/tok':>9} {'TFLOP/s':>8} {'MFU':>6} {'MiB/dev':>8}"
  )
  for spec in specs:
    batch = args.batch_size if args.batch_size else (8 if "27m" in spec or "100m" in spec else None)
    r = bench_config(spec, batch, args.steps, overrides, args.mesh)
    peak = args.peak_tflops or r["device_peak_tflops"]
    if peak:
      mfu = f"{100 * r['tflops_per_s'] / (peak * r['devices']):.1f}%"
    elif matmul_peak and r["dtype"] == "float32":  # CPU: against the matmul rate measured above
      mfu = f"{100 * r['tflops_per_s'] * 1e3 / matmul_peak:.0f}%*"
    else:
      mfu = "n/a"
    mib = f"{r['step_mib_per_device']:.0f}" if r["step_mib_per_device"] is not None else "-"
    log(
      f"{spec:<22} {r['params']:>11,} {r['batch']:>5} {r['seq']:>5} {r['dtype']:>8} {r['mesh']:>26} "
      f"{r['compile_s']:>9.1f} {r['step_s']:>8.3f} {r['tokens_per_s']:>10,.0f} {r['gflops_per_token']:>9.3f} "
      f"{r['tflops_per_s']:>8.3f} {mfu:>6} {mib:>8}",
      flush=True,
    )
  if matmul_peak:
    log(f"*: model FLOP/s over the fp32 matmul peak measured in this run ({matmul_peak:.0f} GFLOP/s)")
  log(f"device: {jax.devices()[0].device_kind} x{jax.device_count()}")
  if args.target_q:
    for spec in specs:
      batch = args.batch_size if args.batch_size else (8 if "27m" in spec or "100m" in spec else None)
      t = target_q_cost(spec, batch, args.steps, overrides)
      log(
        f"{spec}: step {t['step_s']:.3f} s, without the continue target {t['step_without_target_s']:.3f} s -> "
        f"target {t['target_s']:.3f} s = {100 * t['target_share']:.0f}% of the step = "
        f"{t['target_over_forward']:.2f}x one no-gradient segment forward ({t['segment_forward_s']:.3f} s); "
        f"XLA's count: the target adds {t['target_flops_over_forward']:.3f}x the forward's FLOPs and "
        f"{t['target_bytes_over_forward']:.3f}x its bytes"
      )
  if args.torch:
    spec, batch, paired_overrides = PAIRED_CONFIG
    t = paired_torch(spec, batch, max(args.steps, 5), paired_overrides)
    log(
      f"paired with the PyTorch peer ({spec} {PAIRED_SHAPE}, torch {t['torch']} eager, {t['torch_threads']} threads; "
      f"one segment's logits agree to {t['logit_max_abs_diff']:.1e}): ours {t['ours_s']:.3f} s, torch "
      f"{t['torch_s']:.3f} s per step; torch/ours median {t['ratio_median']:.2f}x "
      f"(range {t['ratio_min']:.2f}-{t['ratio_max']:.2f})"
    )


if __name__ == "__main__":
  main()
