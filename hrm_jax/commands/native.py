"""`hrm-jax native`: run a checkpoint's native mode on inputs from a .npy file (one segment or the ACT loop)."""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--workdir", required=True, help="a training workdir or an `import-torch` output")
  parser.add_argument("--inputs", required=True, help=".npy int array [batch, seq_len]")
  parser.add_argument("--puzzle-ids", default=None, help=".npy int array [batch] (default zeros)")
  parser.add_argument("--one-segment", action="store_true", help="run a single segment from H_init/L_init")
  parser.add_argument("--segments", type=int, default=None, help="ACT segment budget (default halt_max_steps)")
  parser.add_argument("--dynamic-halting", action="store_true", help="stop a sequence when q_halt > q_continue")
  parser.add_argument("--out", default=None, help="write the outputs to this .npz")


def run(args) -> int:
  from hrm_jax.inference import native

  try:
    inputs = np.load(args.inputs, allow_pickle=False)
    batch = {"inputs": inputs}
    model, params = native.load(args.workdir)
    if args.puzzle_ids:
      batch["puzzle_identifiers"] = np.load(args.puzzle_ids, allow_pickle=False)
    elif model.cfg.puzzle_emb_ndim > 0:
      print(
        f"hrm-jax native: no --puzzle-ids; every row uses puzzle identifier 0 (of {model.cfg.num_puzzle_identifiers})",
        file=sys.stderr,
      )
    if args.one_segment:
      out = native.run_segment(model, params, batch)
      out["predictions"] = np.argmax(out["logits"], -1)
    else:
      out = native.run_act(model, params, batch, args.segments, args.dynamic_halting)
  except (FileNotFoundError, ValueError) as e:
    print(f"hrm-jax native: {e}", file=sys.stderr)
    return 2
  for i, row in enumerate(out["predictions"]):
    steps = f" steps={int(out['steps'][i])}" if "steps" in out else ""
    print(
      f"[{i}]{steps} q_halt={float(out['q_halt_logits'][i]):.3f} "
      f"q_continue={float(out['q_continue_logits'][i]):.3f} prediction={' '.join(map(str, row.tolist()))}"
    )
  if args.out:
    tmp = args.out + ".tmp.npz"
    np.savez(tmp, **{k: np.asarray(v) for k, v in out.items()})
    os.replace(tmp, args.out)
  return 0
