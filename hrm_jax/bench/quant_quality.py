"""Quantization quality: the same tiny training run in fp32, int8 QAT, int4 QAT, and int8/int4 PTQ, side by side.

    python -m hrm_jax.bench.quant_quality                 # ~10 min on a 2-core CPU
    python -m hrm_jax.bench.quant_quality --steps 100     # quicker, noisier

Task (synthetic, fixed seed): reverse a prompt of `--digits` digits; the model reads `d_1 .. d_n <sep>` and must
write `d_n .. d_1 <eos>` (labels on the answer only). Every run uses the same seed, data order, steps and
optimizer; the model is a causal HRM (tiny_cpu's shape, smaller). Rows:
  fp32          trained and evaluated in fp32
  int8/int4 QAT trained with AQT (weights and activations quantized in the forward pass), evaluated the same way
  int8/int4 PTQ the fp32 run's parameters evaluated through the AQT model (weights and activations), no training
  int8/int4 weight-only PTQ  the fp32 parameters rounded to integers per channel (hrm_jax.quant.freeze, all
                matrices including embedding and LM head), float activations: what the int8 TFLite/StableHLO
                exports of an fp32 model compute
Eval metrics are the trainer's (full ACT rollouts, reference metrics): LM loss per sequence, token accuracy,
exact match.
"""

from __future__ import annotations

import argparse
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


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=400)
  parser.add_argument("--digits", type=int, default=6)
  args = parser.parse_args(argv)

  from hrm_jax import quant
  from hrm_jax.models import hrm
  from hrm_jax.train import trainer

  rows = []
  trained = {}
  for mode in ("none", "int8", "int4"):
    config = make_config(args.steps, args.digits, mode)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
      summary = trainer.train_and_evaluate(config, workdir, datasets(config, args.digits))
    trained[mode] = (config, summary["params"])
    name = "fp32" if mode == "none" else f"{mode} QAT"
    rows.append((name, summary["eval"], time.perf_counter() - t0))

  config, params = trained["none"]
  ds = datasets(config, args.digits)
  float_model = hrm.HRMCore(hrm.HRMConfig.from_config(config.model))
  for bits in ("int8", "int4"):
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

  base = rows[0][1]["lm_loss"]
  print(f"\nreverse-{args.digits} task, {args.steps} steps, batch 32, seed 0 (eval: 256 held-out sequences)")
  print(
    f"| {'run':<22} | {'eval LM loss':>12} | {'rel. to fp32':>12} | {'token acc':>9} | {'exact match':>11} | {'time s':>7} |"
  )
  print("|" + "-" * 24 + "|" + "-" * 14 + "|" + "-" * 14 + "|" + "-" * 11 + "|" + "-" * 13 + "|" + "-" * 9 + "|")
  for name, ev, seconds in rows:
    rel = (ev["lm_loss"] - base) / base
    print(
      f"| {name:<22} | {ev['lm_loss']:>12.4f} | {rel:>+11.1%} | {ev['accuracy']:>9.4f} | "
      f"{ev['exact_accuracy']:>11.4f} | {seconds:>7.1f} |"
    )


if __name__ == "__main__":
  main()
