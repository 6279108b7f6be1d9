"""`hrm-jax` command line: one sub-command per job.

Each sub-command lives in its own module and is imported only when it runs, so `hrm-jax --help` is fast
and a sub-command's heavy dependencies (TensorFlow, toolchains) are paid for only by the job that uses them.
A sub-command module exposes `add_arguments(parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# name -> (module, one-line help). Keep sorted by name.
COMMANDS: dict[str, tuple[str, str]] = {
  "data": ("hrm_jax.commands.data", "inspect or benchmark the data pipelines of a config"),
  "eval": ("hrm_jax.commands.eval", "score a model, a command or the oracle on Polyglot / LiveCodeBench"),
  "export": ("hrm_jax.commands.export", "export a trained model to StableHLO or TFLite (optionally int8)"),
  "generate": ("hrm_jax.commands.generate", "generate code from a trained causal model"),
  "import-torch": ("hrm_jax.commands.import_torch", "convert a reference (PyTorch) HRM checkpoint"),
  "native": ("hrm_jax.commands.native", "run a checkpoint's native mode (one segment or the ACT loop)"),
  "orchestrate": ("hrm_jax.agent.orchestrate", "many worker agents on Ray: split a task, run, retry, merge edits"),
  "params": ("hrm_jax.commands.params", "print the parameter count of a config"),
  "serve": ("hrm_jax.commands.serve", "an OpenAI-compatible API server over a trained causal model"),
  "setup-toolchains": (
    "hrm_jax.commands.setup_toolchains",
    "fetch what the six languages' tests need offline (jars, npm, crates, apt)",
  ),
  "train": ("hrm_jax.commands.train", "supervised training (and evaluation) from a config"),
  "train-rl": ("hrm_jax.commands.train_rl", "GSPO/GRPO reinforcement learning from execution feedback"),
}


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog="hrm-jax", description=__doc__.splitlines()[0])
  subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
  for name, (module, help_text) in sorted(COMMANDS.items()):
    sub = subparsers.add_parser(name, help=help_text, description=help_text)
    sub.set_defaults(_module=module)
    # Parsers are filled lazily in main() for the chosen command only.
  return parser


# Start-up noise nobody asked for (TensorFlow's oneDNN banner with the C++ absl "before InitializeLog" warning
# it triggers, TF info logs, gRPC chatter): silenced unless the user set these variables. Errors still print.
# TensorFlow only writes summaries and converts TFLite models here (no TF numerics run), so its oneDNN custom
# ops are off: in TF 2.21 the banner ignores TF_CPP_MIN_LOG_LEVEL and only this turns it off.
QUIET_ENV = {
  "TF_CPP_MIN_LOG_LEVEL": "2",
  "TF_ENABLE_ONEDNN_OPTS": "0",
  "GRPC_VERBOSITY": "ERROR",
  "GLOG_minloglevel": "2",
}


def main(argv: list[str] | None = None) -> int:
  argv = list(sys.argv[1:] if argv is None else argv)
  for key, value in QUIET_ENV.items():
    os.environ.setdefault(key, value)
  # The application owns absl's flags: mark them parsed so that libraries reading them (Grain's worker pool)
  # see the defaults. (absl is imported by the jobs anyway; this costs a few milliseconds.)
  from absl import flags

  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()
  parser = build_parser()
  if not argv or argv[0] in ("-h", "--help"):
    parser.print_help()
    return 0
  name = argv[0]
  if name not in COMMANDS:
    parser.error(f"unknown command {name!r}; choose from: {', '.join(sorted(COMMANDS))}")
  module = importlib.import_module(COMMANDS[name][0])
  sub = argparse.ArgumentParser(prog=f"hrm-jax {name}", description=COMMANDS[name][1], allow_abbrev=False)
  module.add_arguments(sub)
  args, extra = sub.parse_known_args(argv[1:])
  # `--config.a.b=value` overrides go to the commands that take a config (they declare `overrides`).
  if hasattr(args, "overrides"):
    args.overrides = list(args.overrides or []) + extra
  elif extra:
    sub.error(f"unrecognized arguments: {' '.join(extra)}")
  return int(module.run(args) or 0)


if __name__ == "__main__":
  sys.exit(main())
