"""`hrm-jax import-torch`: convert a reference HRM or TRM checkpoint (.pt / .safetensors / .npz) into a workdir."""

from __future__ import annotations

import argparse
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--checkpoint", required=True, help="reference state_dict: .pt, .safetensors or .npz")
  parser.add_argument(
    "--config", required=True, help="config describing the architecture, e.g. configs/hrm_27m.py:native"
  )
  parser.add_argument("--workdir", required=True, help="output workdir (config.json + checkpoints/)")
  parser.set_defaults(overrides=[])  # --config.a.b=value overrides (collected by hrm_jax/cli.py)


# What a state_dict cannot tell: the model's behaviour fields. Shapes (vocabulary, hidden size, heads, layers,
# expansion, puzzle embeddings, sequence length of learned positions) are checked against the checkpoint; these
# come from the config alone, so the import prints them (override with --config.model.NAME=VALUE).
NOT_IN_CHECKPOINT = (
  "H_cycles",
  "L_cycles",
  "halt_max_steps",
  "halt_exploration_prob",
  "no_ACT_continue",
  "puzzle_emb_len",
  "pos_encodings",
  "rope_theta",
  "rms_norm_eps",
  "attention",
  "q_position",
  "forward_dtype",
)


def unchecked_fields(config) -> str:
  """`name=value` of every model field the checkpoint cannot determine, for the import's report."""
  return ", ".join(f"{k}={config.model[k]!r}" for k in NOT_IN_CHECKPOINT if k in config.model)


def import_checkpoint(checkpoint: str, config, workdir: str) -> int:
  """Converts and writes; returns the number of parameters written."""
  from hrm_jax.models import hrm, torch_import
  from hrm_jax.train import checkpoint as checkpoint_lib
  from hrm_jax.train import trainer

  cfg = hrm.HRMConfig.from_config(config.model)
  params = torch_import.convert_state_dict(torch_import.read_state_dict(checkpoint), cfg)
  os.makedirs(workdir, exist_ok=True)
  ckpt = checkpoint_lib.Checkpointer(workdir, async_save=False)
  if ckpt.all_steps():
    ckpt.close()
    raise FileExistsError(f"{workdir} already holds checkpoints; choose an empty --workdir")
  ckpt.save(0, {"params": params["params"]}, None, force=True)
  ckpt.close()
  trainer._save_config(workdir, config)
  return hrm.count_params(params)


def run(args) -> int:
  from hrm_jax import config_loader

  try:
    config = config_loader.load(args.config, args.overrides)
    n = import_checkpoint(args.checkpoint, config, args.workdir)
  except (FileNotFoundError, FileExistsError, KeyError, ValueError, ImportError) as e:
    print(f"hrm-jax import-torch: {e}", file=sys.stderr)
    return 2
  print(
    f"Imported {n:,} parameters from {args.checkpoint} into {os.path.abspath(args.workdir)} "
    f"(every shape checked against {args.config})"
  )
  print(
    f"Not determined by the checkpoint, taken from {args.config} (check them against the run that made it; "
    f"override with --config.model.NAME=VALUE): {unchecked_fields(config)}"
  )
  print(f"Run it: hrm-jax native --workdir {args.workdir} --inputs INPUTS.npy")
  return 0
