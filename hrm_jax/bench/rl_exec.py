"""Rollout execution off the learner: this machine's sandbox pool against a local Ray cluster of 2 workers.

    python -m hrm_jax.bench.rl_exec --init /tmp/sft [--groups 8,16] [--prompts 4] [--steps 3]

1. Throughput: `--prompts` procedural Python problems x G replies each (a fixed mix, in turn: the correct
   solution, a wrong one, one that crashes, one right on x == 0 only; every one a real sandboxed run, none a
   compile error scored on the host) scored by each executor after a warm-up; samples scored per second and
   the ratio Ray / local. Both run 2 programs at once (`workers=2`; Ray: `num_cpus=2`, one CPU per task).
2. RL steps: `train_rl` (configs/gspo_tiny.py, `--prompts` x G, 2 updates per batch, one batch generated ahead)
   for `--steps` steps from the policy of `--init` with each executor; the fraction of a step the learner
   spent waiting on execution (`execute_wait_s / step_s`), mean over the steps after the first (which
   compiles). Without `--init` a random tiny policy is used: its replies rarely compile, so few reach the
   sandbox and the fraction says little (the table says which policy ran).

The figures depend on the machine's load; the table prints the load average seen at the start.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "configs")


def _replies(record: dict) -> list[str]:
  from hrm_jax.data_pipelines import procedural

  correct = record["solution"]
  at_zero = procedural.eval_expr(correct.split("return ")[1].strip(), 0)
  return [
    correct,
    correct.replace("return ", "return 1000 + "),
    "def f(x):\n    return undefined_name\n",
    f"def f(x):\n    return {at_zero}\n",
  ]


def _items(prompts: int, group: int) -> list[tuple[dict, str]]:
  from hrm_jax.data_pipelines import procedural

  cfg = procedural.ProceduralConfig(languages=("python",), families=("arith",), num_eval=50, max_ops=2)
  records = procedural.generate(cfg, "eval", 7)[:prompts]
  items = []
  for record in records:
    mix = _replies(record)
    items += [(record, mix[j % len(mix)]) for j in range(group)]
  return items


def throughput(executor, items) -> tuple[float, float]:
  """(samples per second, seconds) of scoring `items`."""
  t0 = time.perf_counter()
  executor.map(items)
  seconds = time.perf_counter() - t0
  return len(items) / seconds, seconds


def _init_workdir(path: str) -> None:
  """A random tiny causal policy with the real vocabulary (when no --init is given)."""
  import jax
  import ml_collections

  sys.path.insert(0, CONFIGS)
  import common

  from hrm_jax.models import hrm
  from hrm_jax.train import checkpoint as checkpoint_lib
  from hrm_jax.train import trainer as sft_trainer

  config = ml_collections.ConfigDict()
  config.model = common.code_model(seq_len=96, hidden_size=32, num_heads=2, H_layers=1, L_layers=1, halt_max_steps=2)
  _, variables = hrm.init_params(hrm.HRMConfig.from_config(config.model), jax.random.key(0))
  os.makedirs(path, exist_ok=True)
  sft_trainer._save_config(path, config)
  ckpt = checkpoint_lib.Checkpointer(path, async_save=False)
  ckpt.save(1, {"params": variables["params"]}, None, force=True)
  ckpt.close()


def rl_steps(init: str, executor: str, group: int, prompts: int, steps: int, workdir: str) -> dict[str, float]:
  from hrm_jax import config_loader
  from hrm_jax.rl import trainer as rl_trainer

  config = config_loader.load(
    os.path.join(CONFIGS, "gspo_tiny.py"),
    [
      f"--config.rl.num_steps={steps}",
      f"--config.rl.prompts_per_batch={prompts}",
      f"--config.rl.rollout.group_size={group}",
      "--config.rl.num_minibatches=2",
      "--config.rl.eval_every=0",
      f"--config.rl.checkpoint_every={steps}",
      f"--config.rl.execution.executor={executor}",
    ],
  )
  summary = rl_trainer.train_rl(config, workdir, init_workdir=init)
  later = summary["history"][1:] or summary["history"]
  mean = lambda key: float(np.mean([h[key] for h in later]))
  return {
    k: mean(k) for k in ("generate_s", "execute_s", "execute_wait_s", "update_s", "step_s", "compile_rate", "pass_rate")
  }


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--init", default=None, help="supervised workdir of the policy for the RL steps")
  parser.add_argument("--groups", default="8,16", help="group sizes G")
  parser.add_argument("--prompts", type=int, default=4, help="prompts per rollout batch")
  parser.add_argument("--steps", type=int, default=3, help="RL steps per run (the first compiles)")
  parser.add_argument("--skip-rl", action="store_true", help="throughput only")
  args = parser.parse_args(argv)
  os.environ.setdefault("JAX_PLATFORMS", "cpu")
  os.environ.setdefault("RAY_AUTH_MODE", "disabled")
  import ray

  from hrm_jax.rl import execution, executors

  groups = [int(g) for g in args.groups.split(",")]
  load = os.getloadavg()[0]
  config = execution.ExecutionConfig(wall_s=20.0, workers=2)
  ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
  rows = []
  try:
    with executors.ThreadExecutor(config) as local, executors.RayExecutor(config) as remote:
      for ex in (local, remote):  # warm-up: sandbox caches, Ray worker processes
        ex.map(_items(1, 4))
      for g in groups:
        items = _items(args.prompts, g)
        local_rate, local_s = throughput(local, items)
        ray_rate, ray_s = throughput(remote, items)
        rows.append((g, len(items), local_rate, local_s, ray_rate, ray_s))
    print(f"\nRollout scoring throughput ({args.prompts} prompts x G; load average {load:.1f} at the start)\n")
    print("| G | samples | local pool (2 workers) samples/s | Ray, 2 workers samples/s | Ray / local |")
    print("|---|---|---|---|---|")
    for g, n, lr, ls, rr, rs in rows:
      print(f"| {g} | {n} | {lr:.2f} ({ls:.1f} s) | {rr:.2f} ({rs:.1f} s) | {rr / lr:.2f} |")
    sys.stdout.flush()
    if args.skip_rl:
      return 0
    with tempfile.TemporaryDirectory() as tmp:
      init = args.init
      policy = f"policy of {init}"
      if init is None:
        init = os.path.join(tmp, "random_policy")
        _init_workdir(init)
        policy = "a random tiny policy (few replies compile)"
      steps = []
      for g in groups:
        for name in ("local", "ray"):
          result = rl_steps(init, name, g, args.prompts, args.steps, os.path.join(tmp, f"{name}_g{g}"))
          steps.append((g, name, result))
          print(f"G={g} {name}: {result}", flush=True)
    print(f"\nRL steps ({args.prompts} prompts x G, {policy}; mean of steps 2..{args.steps})\n")
    print("| G | executor | step s | generate s | execute s | waiting on execution s | waiting / step | pass rate |")
    print("|---|---|---|---|---|---|---|---|")
    for g, name, r in steps:
      print(
        f"| {g} | {name} | {r['step_s']:.2f} | {r['generate_s']:.2f} | {r['execute_s']:.2f} | "
        f"{r['execute_wait_s']:.2f} | {r['execute_wait_s'] / r['step_s']:.2f} | {r['pass_rate']:.2f} |"
      )
  finally:
    ray.shutdown()
  return 0


if __name__ == "__main__":
  sys.exit(main())
