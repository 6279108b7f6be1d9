"""`hrm-jax params`: the parameter count of a config (as the reference counts: buffers excluded)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--config", required=True, help="config file (path[:arg])")
  parser.set_defaults(overrides=[])  # --config.a.b=value overrides (collected by hrm_jax/cli.py)


def run(args) -> int:
  import jax

  from hrm_jax import config_loader
  from hrm_jax.models import hrm

  config = config_loader.load(args.config, args.overrides)
  cfg = hrm.HRMConfig.from_config(config.model)
  shapes = jax.eval_shape(lambda: hrm.init_params(cfg, jax.random.key(0))[1])
  total = hrm.count_params(shapes)
  tree = shapes["params"]
  print(f"{args.config}: {total:,} parameters ({cfg.arch}, vocab {cfg.vocab_size}, hidden {cfg.hidden_size})")
  for name in sorted(tree):
    n = sum(int(x.size) for x in jax.tree.leaves(tree[name]))
    note = " (not counted: fixed buffer / sparse table)" if name in hrm.UNCOUNTED_PARAMS else ""
    print(f"  {name:<16} {n:>14,}{note}")
  return 0
