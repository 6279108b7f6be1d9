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
  parser.add_argument(
    "--executor",
    choices=("local", "ray", "swerex"),
    default=None,
    help="where rollout programs run (rl.execution.executor): this machine's sandbox pool (default), a Ray "
    "cluster, or a SWE-ReX runtime",
  )
  parser.add_argument(
    "--executor-address",
    default=None,
    help="rl.execution.address: the Ray cluster for ray.init ('auto', 'ray://host:10001'; default: a local Ray) "
    "or the swerex-remote server URL (http://host:8000, token in HRM_SWEREX_TOKEN)",
  )
  from hrm_jax.train import distributed

  distributed.add_arguments(parser)  # several processes (TPU pod slices: --distributed)
  parser.set_defaults(overrides=[])  # --config.a.b=value overrides (collected by hrm_jax/cli.py)


def run(args) -> int:
  from hrm_jax import config_loader
  from hrm_jax.rl import trainer
  from hrm_jax.train import distributed
  from hrm_jax.train import trainer as sft_trainer

  try:
    distributed.initialize(distributed.options_from(args))
  except ValueError as e:
    print(f"hrm-jax train-rl: {e}", file=sys.stderr)
    return 2
  try:
    config = config_loader.load(args.config, args.overrides)
    for flag, field in ((args.executor, "executor"), (args.executor_address, "address")):
      if flag is not None:
        config.rl.execution[field] = flag
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
    distributed.log(
      f"\nheld-out pass@1: step {first['step']} {first['pass@1']:.4f} -> step {last['step']} {last['pass@1']:.4f}"
    )
  distributed.log(f"Workdir: {os.path.abspath(workdir)} (checkpoints/, tensorboard/, config.json, rl_history.json)")
  return 0
