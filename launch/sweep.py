"""Runs a sweep of `hrm-jax train` jobs and prints one table of their final metrics.

    python launch/sweep.py SWEEP_FILE --workdir DIR [--parallel N] [--print-only] [--csv FILE]

A sweep file is Python defining `get_sweep()` that returns a dict:
    {"config": "configs/tiny_cpu.py",                        # the base config (path[:arg])
     "axes": {"model.hidden_size": [64, 128],                # override paths and the values to try
              "optimizer.learning_rate": [1e-3, 3e-3]},
     "mode": "grid",                                         # grid (every combination) | random
     "num_samples": 4, "seed": 0,                            # random: how many combinations, which draw
     "fixed": {"train.num_steps": 200},                      # overrides shared by every run (optional)
     "metrics": ["loss", "accuracy", "eval/exact_accuracy"]} # table columns (optional)
Each run is named from its values (`hidden_size=64,learning_rate=0.001`) and trains in DIR/<name>; a rerun of
the sweep resumes unfinished runs from their workdirs. Runs go one at a time or N at a time (--parallel N);
--print-only prints the commands (one line each) for a cluster scheduler instead. Final metrics come from each
run's `metrics.jsonl` (last logged train step) and `eval.json` (the final evaluation), gathered into one
Markdown table (and CSV with --csv).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import itertools
import json
import os
import random
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

DEFAULT_METRICS = ("loss", "lm_loss", "accuracy", "exact_accuracy")


def load_sweep(path: str) -> dict:
  spec = importlib.util.spec_from_file_location("_hrm_jax_sweep", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  if not hasattr(module, "get_sweep"):
    raise SystemExit(f"sweep.py: {path} defines no get_sweep()")
  sweep = module.get_sweep()
  for key in ("config", "axes"):
    if key not in sweep:
      raise SystemExit(f"sweep.py: {path}: get_sweep() has no {key!r}")
  if sweep.get("mode", "grid") not in ("grid", "random"):
    raise SystemExit(f"sweep.py: {path}: mode must be 'grid' or 'random', got {sweep['mode']!r}")
  return sweep


def combinations(sweep: dict) -> list[dict[str, object]]:
  """The override sets of the runs, in a stable order."""
  names = list(sweep["axes"])
  grid = [dict(zip(names, values)) for values in itertools.product(*(sweep["axes"][n] for n in names))]
  if sweep.get("mode", "grid") == "random":
    rng = random.Random(sweep.get("seed", 0))
    grid = rng.sample(grid, min(int(sweep.get("num_samples", len(grid))), len(grid)))
  return grid


def run_name(values: dict[str, object]) -> str:
  return ",".join(f"{k.split('.')[-1]}={v}" for k, v in values.items())


def command(sweep: dict, values: dict[str, object], workdir: str) -> list[str]:
  overrides = {**sweep.get("fixed", {}), **values}
  return [
    os.path.join(os.path.dirname(sys.executable), "hrm-jax"),
    "train",
    "--config",
    sweep["config"],
    "--workdir",
    workdir,
  ] + [f"--config.{k}={v!r}" if isinstance(v, str) else f"--config.{k}={v}" for k, v in overrides.items()]


def final_metrics(workdir: str) -> dict[str, float]:
  out: dict[str, float] = {}
  path = os.path.join(workdir, "metrics.jsonl")
  if os.path.exists(path):
    with open(path) as f:
      lines = [line for line in f if line.strip()]
    if lines:
      out.update(json.loads(lines[-1]))
  path = os.path.join(workdir, "eval.json")
  if os.path.exists(path):
    with open(path) as f:
      out.update({f"eval/{k}": v for k, v in json.load(f).items()})
  return out


def run_one(cmd: list[str], workdir: str) -> tuple[int, float]:
  os.makedirs(workdir, exist_ok=True)
  t0 = time.time()
  with open(os.path.join(workdir, "sweep.log"), "a") as log:
    code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
  return code, time.time() - t0


def table(rows: list[dict], columns: list[str]) -> str:
  def fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)

  lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
  lines += ["| " + " | ".join(fmt(r.get(c, "-")) for c in columns) + " |" for r in rows]
  return "\n".join(lines)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("sweep", help="sweep file (Python with get_sweep())")
  parser.add_argument("--workdir", required=True, help="parent directory of the runs' workdirs")
  parser.add_argument("--parallel", type=int, default=1, help="runs at a time")
  parser.add_argument("--print-only", action="store_true", help="print the commands instead of running them")
  parser.add_argument("--csv", default=None, help="also write the table as CSV to this file")
  args = parser.parse_args(argv)

  sweep = load_sweep(args.sweep)
  runs = [(run_name(v), v) for v in combinations(sweep)]
  jobs = [(name, values, os.path.join(args.workdir, name)) for name, values in runs]
  if args.print_only:
    for _, values, workdir in jobs:
      print(shlex.join(command(sweep, values, workdir)))
    return 0

  with ThreadPoolExecutor(max_workers=max(args.parallel, 1)) as pool:
    results = list(pool.map(lambda job: run_one(command(sweep, job[1], job[2]), job[2]), jobs))

  metrics = list(sweep.get("metrics", DEFAULT_METRICS))
  axes = list(sweep["axes"])
  rows = []
  for (name, values, workdir), (code, seconds) in zip(jobs, results):
    row = {"run": name, **values, "status": "ok" if code == 0 else f"exit {code}", "time_s": round(seconds, 1)}
    final = final_metrics(workdir)
    row["step"] = final.get("step", "-")
    row.update({m: final[m] for m in metrics if m in final})
    rows.append(row)
  columns = ["run", *axes, "status", "step", *metrics, "time_s"]
  print(table(rows, columns))
  if args.csv:
    with open(args.csv, "w", newline="") as f:
      writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
      writer.writeheader()
      writer.writerows(rows)
  return 0 if all(code == 0 for code, _ in results) else 1


if __name__ == "__main__":
  sys.exit(main())
