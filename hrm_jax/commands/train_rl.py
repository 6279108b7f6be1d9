"""`hrm-jax train-rl`: GSPO/GRPO reinforcement learning from execution feedback on a supervised checkpoint."""

from __future__ import annotations

import argparse
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--config", required=True, help="RL config file (path[:arg]); e.g. configs/gspo_tiny.py")
  parser.add_argument(
    "--init",
    default=None,
    help="supervised workdir whose newest checkpoint (and model config) the policy starts from; "
    "not needed to resume an RL workdir",
  )
  parser.add_argument("--init_step", type=int, default=None, help="checkpoint step of --init (default: newest)")
  parser.add_argument(
    "--workdir",
    default=None,
    help="checkpoints, TensorBoard logs, config and rl_history.json; rerun with the same "
    "workdir to resume (default: workdirs/<config name>)",
  )
  parser.set_defaults(overrides=[])  # --config.a.b=value overrides (collected by hrm_jax/cli.py)


def run(args) -> int:
  from hrm_jax import config_loader
  from hrm_jax.rl import trainer
  from hrm_jax.train import trainer as sft_trainer

  try:
    config = config_loader.load(args.config, args.overrides)
  except (FileNotFoundError, KeyError, TypeError, ValueError, AttributeError) as e:
    print(f"hrm-jax train-rl: config error: {e}", file=sys.stderr)
    return 2
  workdir = args.workdir or os.path.join("workdirs", os.path.splitext(os.path.basename(args.config.split(":")[0]))[0])
  try:
    summary = trainer.train_rl(config, workdir, init_workdir=args.init, init_step=args.init_step)
  except (sft_trainer.TrainingError, FileNotFoundError, ValueError) as e:
    print(f"hrm-jax train-rl: {e}", file=sys.stderr)
    return 1 if isinstance(e, sft_trainer.TrainingError) else 2
  evals = summary.get("evals", [])
  if evals:
    first, last = evals[0], evals[-1]
    print(f"\nheld-out pass@1: step {first['step']} {first['pass@1']:.4f} -> step {last['step']} {last['pass@1']:.4f}")
  print(f"Workdir: {os.path.abspath(workdir)} (checkpoints/, tensorboard/, config.json, rl_history.json)")
  return 0
