"""`hrm-jax data inspect | bench`: look at the data a config trains on, and measure the pipeline's speed.

    hrm-jax data inspect --config configs/tiny_cpu.py [--split train] [--num 3] [--config.data.seq_len=256]
    hrm-jax data bench   --config configs/tiny_cpu.py [--batches 200] [--workers 0,2]

Without --config the data section is `input_pipeline.default_data_config()`; a config file's `data` field is
used when it has one. `inspect` prints each source's load report (kept / dropped records), a few decoded
examples and the mixture's statistics over some batches; `bench` prints examples/s and tokens/s.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("action", choices=("inspect", "bench"))
  parser.add_argument("--config", default=None, help="config file (path[:arg]); its `data` field is used")
  parser.add_argument("--split", default="train", choices=("train", "eval"))
  parser.add_argument("--num", type=int, default=3, help="inspect: decoded examples to print")
  parser.add_argument("--batches", type=int, default=100, help="batches to read (statistics / timing)")
  parser.add_argument("--batch_size", type=int, default=32)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--workers", default="0,2", help="bench: comma-separated worker counts to time")
  parser.add_argument(
    "--cutoff",
    default=None,
    metavar="YYYY-MM-DD",
    help="temporal filter: train on LiveCodeBench problems released on/before this date "
    "(same as --config.data.lcb_cutoff); inspect prints what it removed",
  )
  parser.set_defaults(overrides=[])  # --config.data.x=value overrides (collected by hrm_jax/cli.py)


def _data_config(args):
  from hrm_jax.data_pipelines import input_pipeline

  if args.config is None:
    if args.overrides:
      raise ValueError("--config.* overrides need --config")
    return input_pipeline.default_data_config()
  from hrm_jax import config_loader

  config = config_loader.load(args.config, args.overrides)
  return config.data if "data" in config else config


def _with_cutoff(cfg, cutoff):
  if cutoff:
    from hrm_jax.data_pipelines import scenarios

    scenarios.filter_by_cutoff([], cutoff)  # validates the date format
    cfg.lcb_cutoff = cutoff
  return cfg


def _inspect(cfg, args) -> None:
  import numpy as np

  from hrm_jax.data_pipelines import input_pipeline as ip
  from hrm_jax.tokenizer import LANGUAGES, TASKS, load_tokenizer

  tok = load_tokenizer(cfg.tokenizer_path or None)
  sources = ip.train_sources(cfg) if args.split == "train" else [cfg.source]
  print(
    f"split={args.split} seq_len={cfg.seq_len} packing={cfg.packing} sources={','.join(sources)}"
    + (f" mixture={cfg.mixture}" if cfg.mixture else "")
    + (f" curriculum={cfg.curriculum}" if cfg.curriculum else "")
  )
  for name in sources:
    print("  " + ip.dataset_report(cfg, args.split, name).line())
  if cfg.lcb_cutoff and any(n in ("livecodebench_sample", "lcb_scenarios") for n in sources):
    from hrm_jax.data_pipelines import livecodebench, scenarios

    problems = livecodebench.read_jsonl(cfg.lcb_path or ip.BUNDLED_LCB_SAMPLE, max_bad=cfg.max_bad_records)
    print("  " + scenarios.filter_by_cutoff(problems, cfg.lcb_cutoff)[1].line())
  it = iter(ip.make_dataset(cfg, args.split, batch_size=args.batch_size, seed=args.seed, repeat=args.split == "train"))
  first = next(it)
  for row in range(min(args.num, first["inputs"].shape[0])):
    inputs = first["inputs"][row]
    n = int(np.nonzero(inputs)[0].max()) + 1 if inputs.any() else 0
    if "prompt_length" in first:
      p = int(first["prompt_length"][row])
      lang, task = LANGUAGES[first["language_id"][row]], TASKS[first["task_id"][row]]
      print(f"--- example {row} ({lang}, {task}, {n} tokens, prompt {p}) ---")
      print(tok.decode(inputs[:p]))
      print(">>> response (trained on):")
      print(tok.decode(inputs[p:n]))
    else:
      segments = int(first["segment_ids"][row].max())
      print(f"--- packed row {row}: {segments} segments, {int((first['segment_ids'][row] > 0).sum())} tokens ---")
      print(tok.decode(inputs[:n]))
  tasks, languages, tokens, target_tokens, rows = collections.Counter(), collections.Counter(), 0, 0, 0
  batch = first
  for i in range(args.batches):
    if i:
      try:
        batch = next(it)
      except StopIteration:
        break
    rows += batch["inputs"].shape[0]
    tokens += int((batch["inputs"] != 0).sum())
    target_tokens += int((batch["labels"] != -100).sum())
    if "task_id" in batch:
      tasks.update(TASKS[t] for t in batch["task_id"])
      languages.update(LANGUAGES[l] for l in batch["language_id"])
    else:
      seg = batch["segment_ids"] > 0
      tasks.update(TASKS[t] for t in batch["task_ids"][seg])
      languages.update(LANGUAGES[l] for l in batch["language_ids"][seg])
  unit = "examples" if "task_id" in batch else "tokens"
  print(
    f"=== statistics over {rows} rows: {tokens / rows:.1f} tokens/row ({tokens / (rows * cfg.seq_len):.0%} of "
    f"seq_len), {target_tokens / rows:.1f} target tokens/row"
  )
  for title, counter in (("task", tasks), ("language", languages)):
    total = sum(counter.values())
    print(f"  by {title} ({unit}): " + ", ".join(f"{k} {v / total:.1%}" for k, v in counter.most_common()))


def bench_pipeline(cfg, *, batch_size: int, batches: int, workers: int, seed: int = 0) -> dict:
  """Reads `batches` train batches after one warm-up batch; returns the measured rates."""
  from hrm_jax.data_pipelines import input_pipeline as ip

  cfg = cfg.copy_and_resolve_references()
  cfg.worker_count = workers
  start = time.perf_counter()
  it = iter(ip.make_dataset(cfg, "train", batch_size=batch_size, seed=seed, repeat=True))
  next(it)
  first = time.perf_counter() - start
  rows = tokens = 0
  start = time.perf_counter()
  for _ in range(batches):
    b = next(it)
    rows += b["inputs"].shape[0]
    tokens += int((b["inputs"] != 0).sum())
  seconds = time.perf_counter() - start
  if hasattr(it, "close"):
    it.close()
  return {
    "workers": workers,
    "first_batch_s": first,
    "examples_per_s": rows / seconds,
    "tokens_per_s": tokens / seconds,
    "slots_per_s": rows * cfg.seq_len / seconds,
  }


def _bench(cfg, args) -> None:
  from hrm_jax.data_pipelines import input_pipeline as ip

  for name in ip.train_sources(cfg):
    ip.dataset_report(cfg, "train", name)  # tokenize once, outside the timed region
  print(
    f"sources={','.join(ip.train_sources(cfg))} seq_len={cfg.seq_len} batch_size={args.batch_size} "
    f"batches={args.batches} packing={cfg.packing}"
  )
  print(f"{'workers':>7} {'first batch s':>13} {'examples/s':>11} {'tokens/s':>11} {'slots/s':>11}")
  for workers in [int(w) for w in args.workers.split(",") if w.strip()]:
    r = bench_pipeline(cfg, batch_size=args.batch_size, batches=args.batches, workers=workers, seed=args.seed)
    print(
      f"{r['workers']:>7} {r['first_batch_s']:>13.2f} {r['examples_per_s']:>11.0f} {r['tokens_per_s']:>11.0f} "
      f"{r['slots_per_s']:>11.0f}"
    )
  print("tokens/s counts non-pad tokens; slots/s counts batch_size x seq_len positions (what a train step consumes).")


def run(args) -> int:
  if args.action == "bench" and args.workers.strip() and any(int(w) > 0 for w in args.workers.split(",") if w.strip()):
    from absl import flags

    if not flags.FLAGS.is_parsed():
      flags.FLAGS.mark_as_parsed()
  try:
    cfg = _with_cutoff(_data_config(args), args.cutoff)
  except (FileNotFoundError, KeyError, TypeError, ValueError, AttributeError) as e:
    print(f"hrm-jax data: config error: {e}", file=sys.stderr)
    return 2
  from hrm_jax.data_pipelines.livecodebench import RecordError

  try:
    if args.action == "inspect":
      _inspect(cfg, args)
    else:
      _bench(cfg, args)
  except RecordError as e:  # a malformed LiveCodeBench record: `path:line: reason`, no traceback
    print(e, file=sys.stderr)
    return 2
  return 0
