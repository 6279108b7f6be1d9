"""Quantization quality: the same tiny training run in fp32, int8 QAT, int4 QAT, and int8/int4 PTQ, side by side.

    python -m hrm_jax.bench.quant_quality                 # ~10 min on a 2-core CPU
    python -m hrm_jax.bench.quant_quality --steps 100     # quicker, noisier
    python -m hrm_jax.bench.quant_quality --rows fp32,levers   # the int4 levers, one by one (below)

Task (synthetic, fixed seed): reverse a prompt of `--digits` digits; the model reads `d_1 .. d_n <sep>` and must
write `d_n .. d_1 <eos>` (labels on the answer only). Every run uses the same seed, data order, steps and
optimizer; the model is a causal HRM (tiny_cpu's shape, smaller). Rows:
  fp32          trained and evaluated in fp32
  int8/int4 QAT trained with AQT (weights and activations quantized in the forward pass), evaluated the same way
  int8/int4 PTQ the fp32 run's parameters evaluated through the AQT model (weights and activations), no training
  int8/int4 weight-only PTQ  the fp32 parameters rounded to integers per channel (hrm_jax.quant.freeze, all
                matrices including embedding and LM head), float activations: what the int8 TFLite/StableHLO
                exports of an fp32 model compute
The int4 levers (`--rows levers`), each a named option, added one at a time; QAT runs that start from the fp32
run's parameters are trainer runs with `config.train.init_from` = the fp32 run's workdir (a fresh optimizer and
their own learning-rate schedule: `--finetune-lr`, warm-up 10 steps, cosine to 10%), as `hrm-jax train` runs them:
  fp32 continued         the control: the fp32 run trained `--finetune-steps` more steps the same way, unquantized
  int4 QAT from fp32     QAT started from the trained fp32 parameters instead of from scratch (`--finetune-steps`)
  int4g<G>               + per-group scales: one scale per `--group-size` entries of each projection's input axis
                         (recipe "int4g16": AQT sub-channel tiling of the contraction axis, `quant.recipe`)
  w4a8g<G>               + int8 activations (int4 weights)
  longer                 + `--long-finetune-steps` of fine-tuning instead of `--finetune-steps`
  served as integers     that run frozen (`quant.freeze`) and multiplied as integers (`layers.int_matmul`): the
                         block projections only (what QAT trained), then every matrix (what the export stores)
and the same recipes as PTQ (the fp32 parameters through the recipe's AQT model, no training). `--rows single`: each
recipe alone trained from scratch like the fp32 run (same init, schedule and steps, through the same step), and
the fp32 run continued `--long-finetune-steps` (the longer fine-tuning's control).
Eval metrics are the trainer's (full ACT rollouts, reference metrics): LM loss per sequence, token accuracy,
exact match.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import sys
import tempfile
import time

import grain
import ml_collections
import numpy as np

SEP, EOS, DIGIT0 = 2, 1, 3


def reverse_examples(n: int, digits: int, seed: int) -> list[dict]:
  rng = np.random.default_rng(seed)
  seq_len = 2 * digits + 2
  out = []
  for _ in range(n):
    d = rng.integers(0, 10, digits) + DIGIT0
    tokens = np.concatenate([d, [SEP], d[::-1], [EOS]]).astype(np.int32)
    inputs = np.zeros(seq_len, np.int32)
    inputs[: len(tokens) - 1] = tokens[:-1]
    labels = np.full(seq_len, -100, np.int32)
    labels[digits : digits + digits + 1] = tokens[digits + 1 :]  # position i predicts token i + 1 (answer only)
    out.append(
      {
        "inputs": inputs,
        "labels": labels,
        "prompt_length": np.int32(digits + 1),
        "language_id": np.int32(4),
        "task_id": np.int32(0),
        "puzzle_identifiers": np.int32(0),
      }
    )
  return out


def make_config(steps: int, digits: int, quant: str) -> ml_collections.ConfigDict:
  sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "configs"))
  import common  # configs/common.py

  config = ml_collections.ConfigDict()
  seq_len = 2 * digits + 2
  config.model = common.code_model(
    vocab_size=16,
    seq_len=seq_len,
    hidden_size=64,
    num_heads=4,
    expansion=2.0,
    H_layers=1,
    L_layers=1,
    H_cycles=2,
    L_cycles=2,
    halt_max_steps=2,
    halt_exploration_prob=0.1,
    quant=quant,
  )
  config.data = ml_collections.ConfigDict({"seq_len": seq_len})
  config.optimizer = common.optimizer(
    learning_rate=3e-3, warmup_steps=20, weight_decay=0.1, grad_clip_norm=1.0, lr_min_ratio=0.1
  )
  config.train = common.train(
    batch_size=32,
    eval_batch_size=64,
    num_steps=steps,
    log_every=max(steps // 4, 1),
    checkpoint_every=steps,
    keep_checkpoints=1,
    dynamic_halting=False,
  )
  return config


def datasets(config, digits: int):
  from hrm_jax.train.trainer import Datasets

  train_examples = reverse_examples(4096, digits, seed=0)
  eval_examples = reverse_examples(256, digits, seed=1)

  def train():
    ds = grain.MapDataset.source(train_examples).shuffle(seed=0).repeat().batch(config.train.batch_size)
    return iter(ds.to_iter_dataset())

  def evaluate():
    return iter(grain.MapDataset.source(eval_examples).batch(config.train.eval_batch_size))

  return Datasets(train=train, eval=evaluate)


ROW_GROUPS = ("fp32", "qat", "ptq", "levers", "single")


def finetune(config, ds, recipe: str, steps: int, learning_rate: float, workdir: str, init_from: str = "", warmup=10):
  """A trainer run of `steps` steps at `config.model.quant=recipe` from the parameters of the run in `init_from`
  (`config.train.init_from`: e.g. the trained fp32 run's workdir; "" = the config's own initialisation) with a
  fresh optimizer and schedule (warm-up, cosine to 10%); returns (params, eval metrics)."""
  from hrm_jax.train import trainer

  config = ml_collections.ConfigDict(config.to_dict())
  config.model.quant = recipe
  config.optimizer.learning_rate = learning_rate
  config.optimizer.warmup_steps = min(warmup, steps)
  config.train.num_steps = steps
  config.train.log_every = max(steps // 4, 1)
  config.train.checkpoint_every = steps
  config.train.init_from = init_from
  try:
    summary = trainer.train_and_evaluate(config, workdir, ds)
  except trainer.TrainingError as e:
    raise RuntimeError(f"QAT fine-tuning diverged ({e}): lower --finetune-lr") from None
  return summary["params"], summary["eval"]


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=400)
  parser.add_argument("--digits", type=int, default=6)
  parser.add_argument(
    "--rows", default="fp32,qat,ptq", help=f"comma-separated groups of rows out of {ROW_GROUPS} (fp32 always runs)"
  )
  parser.add_argument("--group-size", type=int, default=16, help="int4 lever: entries per scale (hidden 64)")
  parser.add_argument("--finetune-steps", type=int, default=100, help="int4 levers: QAT steps from fp32")
  parser.add_argument("--long-finetune-steps", type=int, default=400, help="int4 levers: the longer fine-tuning")
  parser.add_argument("--finetune-lr", type=float, default=1e-3, help="int4 levers: peak learning rate")
  args = parser.parse_args(argv)
  groups = {g.strip() for g in args.rows.split(",") if g.strip()}
  if not groups <= set(ROW_GROUPS):
    parser.error(f"--rows {args.rows!r}: expected groups out of {ROW_GROUPS}")
  root = tempfile.TemporaryDirectory()  # the runs' workdirs; the fp32 one is the fine-tunings' init_from
  try:
    rows = _rows(args, groups, root.name)
  finally:
    root.cleanup()
  _print_table(args, rows)


def _rows(args, groups: set[str], root: str) -> list[tuple[str, dict, float]]:
  from hrm_jax import quant
  from hrm_jax.models import hrm
  from hrm_jax.train import trainer

  rows = []
  trained = {}
  for mode in ("none", "int8", "int4") if "qat" in groups else ("none",):
    config = make_config(args.steps, args.digits, mode)
    t0 = time.perf_counter()
    summary = trainer.train_and_evaluate(config, os.path.join(root, mode), datasets(config, args.digits))
    trained[mode] = (config, summary["params"])
    name = "fp32" if mode == "none" else f"{mode} QAT"
    rows.append((name, summary["eval"], time.perf_counter() - t0))

  config, params = trained["none"]
  ds = datasets(config, args.digits)
  fp32_workdir = os.path.join(root, "none")
  runs = itertools.count()  # one fresh workdir per fine-tuning

  def tune(recipe, steps, lr, init_from=fp32_workdir, warmup=10):
    return finetune(config, ds, recipe, steps, lr, os.path.join(root, f"run{next(runs)}"), init_from, warmup)

  float_model = hrm.HRMCore(hrm.HRMConfig.from_config(config.model))
  for bits in ("int8", "int4") if "ptq" in groups else ():
    t0 = time.perf_counter()
    aqt_model = hrm.HRMCore(float_model.cfg, dot_general_cls=quant.dot_general_cls(bits))
    rows.append(
      (f"{bits} PTQ (AQT w+a)", trainer.evaluate(aqt_model, params, ds.eval(), config), time.perf_counter() - t0)
    )
    t0 = time.perf_counter()
    rows.append(
      (
        f"{bits} PTQ weight-only",
        trainer.evaluate(float_model, quant.fake_quantize(params, bits), ds.eval(), config),
        time.perf_counter() - t0,
      )
    )

  if "levers" in groups:
    g = args.group_size
    ladder = (
      (f"int4 QAT from fp32, {args.finetune_steps} st", "int4", args.finetune_steps),
      (f"int4g{g} QAT from fp32", f"int4g{g}", args.finetune_steps),
      (f"w4a8g{g} QAT from fp32", f"w4a8g{g}", args.finetune_steps),
      (f"w4a8g{g} QAT fp32, {args.long_finetune_steps} st", f"w4a8g{g}", args.long_finetune_steps),
    )
    for name in ("int4", f"int4g{g}", "w4a8", f"w4a8g{g}"):
      t0 = time.perf_counter()
      model = hrm.HRMCore(float_model.cfg, dot_general_cls=quant.dot_general_cls(name))
      rows.append(
        (f"{name} PTQ (AQT w+a)", trainer.evaluate(model, params, ds.eval(), config), time.perf_counter() - t0)
      )
    t0 = time.perf_counter()
    ev = trainer.evaluate(float_model, quant.fake_quantize(params, f"int4g{g}"), ds.eval(), config)
    rows.append((f"int4g{g} PTQ weight-only", ev, time.perf_counter() - t0))
    t0 = time.perf_counter()  # the control: fp32 trained the same extra steps, nothing quantized
    _, ev = tune("none", args.finetune_steps, args.finetune_lr)
    rows.append((f"fp32 continued, {args.finetune_steps} st", ev, time.perf_counter() - t0))
    for name, recipe_name, steps in ladder:
      t0 = time.perf_counter()
      tuned, ev = tune(recipe_name, steps, args.finetune_lr)
      rows.append((name, ev, time.perf_counter() - t0))
      print(f"{name}: eval LM loss {ev['lm_loss']:.4f}", flush=True)
    # The last run served: integer weights multiplied as integers (quant.freeze + layers.int_matmul), the blocks
    # only (what QAT trained: equals the QAT model) and every matrix (what `hrm-jax export --quantize` stores:
    # also the embedding and the LM head, which QAT left float).
    served = hrm.HRMCore(dataclasses.replace(float_model.cfg, quant=recipe_name))
    for scope in ("blocks", "all"):
      t0 = time.perf_counter()
      ev = trainer.evaluate(served, quant.freeze(tuned, recipe_name, scope), ds.eval(), config)
      rows.append((f"  served as integers ({scope})", ev, time.perf_counter() - t0))

  if "single" in groups:  # each lever alone, from scratch: the fp32 run's init, schedule and steps, as the trainer
    t0 = time.perf_counter()  # the longer fine-tuning's control
    _, ev = tune("none", args.long_finetune_steps, args.finetune_lr)
    rows.append((f"fp32 continued, {args.long_finetune_steps} st", ev, time.perf_counter() - t0))
    print(f"{rows[-1][0]}: eval LM loss {ev['lm_loss']:.4f}", flush=True)
    g = args.group_size
    opt = config.optimizer
    for name in ("int4", f"int4g{g}", "w4a8"):
      t0 = time.perf_counter()
      _, ev = tune(name, args.steps, opt.learning_rate, init_from="", warmup=opt.warmup_steps)
      rows.append((f"{name} QAT from scratch, {args.steps} st", ev, time.perf_counter() - t0))
      print(f"{rows[-1][0]}: eval LM loss {ev['lm_loss']:.4f}", flush=True)
  return rows


def _print_table(args, rows) -> None:
  base = rows[0][1]["lm_loss"]
  print(f"\nreverse-{args.digits} task, {args.steps} steps, batch 32, seed 0 (eval: 256 held-out sequences)")
  print(
    f"| {'run':<30} | {'eval LM loss':>12} | {'rel. to fp32':>12} | {'token acc':>9} | {'exact match':>11} | {'time s':>7} |"
  )
  print("|" + "-" * 32 + "|" + "-" * 14 + "|" + "-" * 14 + "|" + "-" * 11 + "|" + "-" * 13 + "|" + "-" * 9 + "|")
  for name, ev, seconds in rows:
    rel = (ev["lm_loss"] - base) / base
    print(
      f"| {name:<30} | {ev['lm_loss']:>12.4f} | {rel:>+11.1%} | {ev['accuracy']:>9.4f} | "
      f"{ev['exact_accuracy']:>11.4f} | {seconds:>7.1f} |"
    )


if __name__ == "__main__":
  main()
