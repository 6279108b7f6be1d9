"""GSPO against GRPO from one supervised checkpoint: held-out pass@1 before and after, over several seeds.

    python -m hrm_jax.bench.rl_demo --init /tmp/sft --out /tmp/rl_demo
    python -m hrm_jax.bench.rl_demo --init /tmp/sft --out /tmp/rl_demo --seeds 0,1,2 --objectives gspo,grpo \\
        --config configs/gspo_tiny.py --config.rl.num_steps=24

For every (objective, seed) it runs `hrm-jax train-rl` in `OUT/<objective>_s<seed>` (a finished run is reused,
so an interrupted demo continues), then scores the initial policy and every final policy on ALL held-out problems
of the data config (disjoint from the RL prompts): greedy pass@1, and sampled pass@1 = the mean pass of
`--samples` draws per problem at the rollout temperature (a lower-variance estimate). Writes `OUT/summary.json`,
`OUT/curves.png` (training reward and periodic held-out pass@1 per step, one line per run) and prints a Markdown
table with the per-seed gains and their mean.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np


def heldout_scores(
  model,
  params,
  records,
  prompts,
  tokenizer,
  exec_config,
  max_new_tokens: int,
  temperature: float,
  samples: int,
  seed: int = 1234,
) -> dict[str, float]:
  """Greedy pass@1, sampled pass@1 (`samples` draws at `temperature`) and compile rate on held-out problems,
  overall and per procedural difficulty (`..._1op`, `..._2op`, ...)."""
  from hrm_jax.rl import trainer as rl_trainer

  out = {}
  for name, temp, reps in (("greedy", 0.0, 1), ("sampled", temperature, samples)):
    recs, passed, compiled = rl_trainer.run_problems(
      model, params, records, prompts, tokenizer, exec_config, max_new_tokens, temp, reps, seed
    )
    out[f"{name}_pass@1"] = float(passed.mean())
    ops = np.asarray([int(r.get("num_ops", 0)) for r in recs])
    for n in sorted(set(ops.tolist())):  # by procedural difficulty
      out[f"{name}_pass@1_{n}op"] = float(passed[ops == n].mean())
    out[f"{name}_compile_rate"] = float(compiled.mean())
  out["problems"] = len(records)
  return out


def plot(runs: dict[str, dict], init: dict, path: str) -> None:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  colors = {"gspo": "tab:blue", "gspo_token": "tab:green", "grpo": "tab:orange"}
  fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
  for name, run in sorted(runs.items()):
    objective = name.rsplit("_s", 1)[0]
    color = colors.get(objective, None)
    hist = run["history"]
    steps = [h["step"] for h in hist]
    label = name if name.endswith("_s0") else None
    axes[0].plot(steps, [h["reward_mean"] for h in hist], color=color, alpha=0.7, label=objective if label else None)
    axes[1].plot(steps, [h["pass_rate"] for h in hist], color=color, alpha=0.7)
    ev = run["evals"]
    axes[2].plot([e["step"] for e in ev], [e["pass@1"] for e in ev], "o-", color=color, alpha=0.7)
  axes[0].set_title("training reward (mean over the rollout batch)")
  axes[1].set_title("training pass rate (sampled)")
  axes[2].set_title("held-out greedy pass@1 (periodic eval)")
  axes[2].axhline(init["greedy_pass@1"], color="gray", ls="--", lw=1, label="init (all held-out)")
  for ax in axes:
    ax.set_xlabel("RL step")
    ax.grid(alpha=0.3)
  axes[0].legend()
  axes[2].legend()
  fig.tight_layout()
  fig.savefig(path, dpi=110)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--init", required=True, help="supervised workdir (the starting policy)")
  parser.add_argument("--init_step", type=int, default=None, help="its checkpoint step (default: latest)")
  parser.add_argument("--out", required=True, help="output folder (RL workdirs, summary.json, curves.png)")
  parser.add_argument("--config", default=os.path.join("configs", "gspo_tiny.py"))
  parser.add_argument("--seeds", default="0,1,2")
  parser.add_argument("--objectives", default="gspo,grpo")
  parser.add_argument("--samples", type=int, default=4, help="sampled draws per held-out problem")
  args, overrides = parser.parse_known_args(argv)

  from hrm_jax import config_loader
  from hrm_jax.data_pipelines import rl_prompts
  from hrm_jax.rl import execution
  from hrm_jax.rl import trainer as rl_trainer
  from hrm_jax.tokenizer import load_tokenizer
  from hrm_jax.train import checkpoint
  from hrm_jax.train import trainer as sft_trainer

  seeds = [int(s) for s in args.seeds.split(",")]
  objectives = [o.strip() for o in args.objectives.split(",")]
  os.makedirs(args.out, exist_ok=True)
  base = config_loader.load(args.config, overrides)
  model, init_params, _ = checkpoint.load_for_inference(args.init, args.init_step)
  base.model = sft_trainer.load_config(args.init).model
  tokenizer = load_tokenizer()
  rc = rl_trainer.rollout_config(base)
  source = rl_prompts.PromptSource(base, tokenizer, model.cfg.seq_len - rc.max_new_tokens)
  records, prompts = source.eval_problems(10**9)
  exec_config = execution.ExecutionConfig.from_mapping(base.rl.execution.to_dict())

  def score(params) -> dict:
    return heldout_scores(
      model, params, records, prompts, tokenizer, exec_config, rc.max_new_tokens, rc.temperature, args.samples
    )

  summary_path = os.path.join(args.out, "summary.json")
  summary = {"init": None, "runs": {}}
  if os.path.exists(summary_path):
    with open(summary_path) as f:
      summary = json.load(f)
  if summary.get("init") is None:
    t0 = time.perf_counter()
    summary["init"] = score(init_params["params"])
    print(f"init policy: {summary['init']} ({time.perf_counter() - t0:.0f}s)", flush=True)

  def save() -> None:
    with open(summary_path + ".tmp", "w") as f:
      json.dump(summary, f, indent=1)
    os.replace(summary_path + ".tmp", summary_path)

  save()
  for seed in seeds:
    for objective in objectives:
      name = f"{objective}_s{seed}"
      if name in summary["runs"] and "final" in summary["runs"][name]:
        print(f"{name}: done earlier", flush=True)
        continue
      config = config_loader.load(
        args.config, overrides + [f"--config.rl.seed={seed}", f"--config.rl.objective.name={objective}"]
      )
      workdir = os.path.join(args.out, name)
      t0 = time.perf_counter()
      print(f"== {name}: hrm-jax train-rl --config {args.config} --init {args.init} --workdir {workdir}", flush=True)
      result = rl_trainer.train_rl(config, workdir, init_workdir=args.init, init_step=args.init_step)
      run_s = time.perf_counter() - t0
      final = score(result["params"])
      summary["runs"][name] = {"history": result["history"], "evals": result["evals"], "final": final, "run_s": run_s}
      print(f"{name}: {run_s:.0f}s, held-out {final}", flush=True)
      save()

  init = summary["init"]
  by_ops = sorted(k for k in init if k.startswith("greedy_pass@1_"))  # per procedural difficulty
  lines = [
    f"Held-out: {init['problems']} problems; greedy pass@1 and sampled pass@1 ({args.samples} draws at "
    f"T={rc.temperature}). Init: greedy {init['greedy_pass@1']:.3f}, sampled {init['sampled_pass@1']:.3f}"
    + "".join(f", greedy {k[len('greedy_pass@1_') :]} {init[k]:.3f}" for k in by_ops)
    + ".",
    "",
    "| objective | seed | greedy pass@1 | gain | sampled pass@1 | gain | "
    + "".join(f"greedy {k[len('greedy_pass@1_') :]} | " for k in by_ops)
    + "final train reward | run s |",
    "|---" * (8 + len(by_ops)) + "|",
  ]
  for objective in objectives:
    gains_g, gains_s = [], []
    for seed in seeds:
      run = summary["runs"].get(f"{objective}_s{seed}")
      if run is None:
        continue
      f = run["final"]
      dg, ds = f["greedy_pass@1"] - init["greedy_pass@1"], f["sampled_pass@1"] - init["sampled_pass@1"]
      gains_g.append(dg)
      gains_s.append(ds)
      last = np.mean([h["reward_mean"] for h in run["history"][-3:]])
      lines.append(
        f"| {objective} | {seed} | {f['greedy_pass@1']:.3f} | {dg:+.3f} | {f['sampled_pass@1']:.3f} | "
        f"{ds:+.3f} | "
        + "".join(f"{f.get(k, float('nan')):.3f} | " for k in by_ops)
        + f"{last:.3f} | {run['run_s']:.0f} |"
      )
    if gains_g:
      lines.append(
        f"| **{objective} mean** | {len(gains_g)} seeds | | **{np.mean(gains_g):+.3f}** "
        f"(min {np.min(gains_g):+.3f}) | | **{np.mean(gains_s):+.3f}** (min {np.min(gains_s):+.3f}) | "
        + "| " * len(by_ops)
        + "| |"
      )
  table = "\n".join(lines)
  print(table, flush=True)
  with open(os.path.join(args.out, "table.md"), "w") as f:
    f.write(table + "\n")
  if summary["runs"]:
    plot(summary["runs"], init, os.path.join(args.out, "curves.png"))
    print(f"Wrote {os.path.join(args.out, 'curves.png')}, {summary_path}", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
