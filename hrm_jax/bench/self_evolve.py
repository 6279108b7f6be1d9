"""Self-evolution: the model's own sandbox-verified solutions added to its training data, in rounds.

    python -m hrm_jax.bench.self_evolve                       # 2 rounds at tiny_cpu's size (Python arith)
    python -m hrm_jax.bench.self_evolve --rounds 3 --config configs/tiny_cpu.py --config.train.num_steps=200

The plan's "Research Integration & Breakthrough Analysis", item 2 "Self-Evolving Agents for Benchmark
Improvement" (shared/000_4b955efa8931a50e.txt, around line 414: agents that improve themselves from their own
evaluated attempts), made concrete for code generation (issue 15, section 3) as expert iteration:

  round 0   train on the base data (procedural tasks of data.min_ops..data.max_ops operations) and score greedy
            pass@1 on the held-out tasks (1..--eval-max-ops operations, bench.arch_compare.heldout_tasks).
  round r   the round r-1 model samples --samples replies (temperature --temperature) for each task of the
            self-play pool: procedural TRAIN-split tasks of 1..--pool-max-ops operations that are not in the base
            data (their reference solutions are never read). Every reply runs in the sandbox against the task's
            tests; a passing reply becomes a training record (statement + the model's code). De-duplication: one
            new record per (task, normalised code) over all rounds, none equal to a solution already trained on.
            Held-out check: a new record whose task is a held-out task (same language, task type and statement,
            or the same id) raises LeakError: the run stops rather than train on an eval task. The round-r model
            is trained from scratch with the same steps and seed on the base data plus every verified record
            so far, then scored like round 0: the rounds differ only in the data they add (a round that added
            nothing keeps the previous model, which the same data and seed would reproduce).

Writes OUT/summary.json (per round: pass@1 overall and per difficulty, records added, pool pass rate) and
OUT/table.md (default OUT: hrm_jax/bench/results/arch_compare/self_evolve/).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time

import numpy as np

from hrm_jax.bench import arch_compare

OUT = os.path.join(arch_compare.RESULTS, "self_evolve")


def normalise_code(code: str) -> str:
  """Code compared for de-duplication: trailing spaces and blank lines dropped."""
  return "\n".join(line.rstrip() for line in code.strip().splitlines() if line.strip())


def task_key(record: dict) -> tuple[str, str, str]:
  return (record["language"], record["task"], record["question_content"].strip())


def check_not_heldout(new: list[dict], heldout: list[dict]) -> None:
  """Raises arch_compare.LeakError when a record to be trained on is a held-out task."""
  keys = {task_key(r): r["question_id"] for r in heldout}
  ids = {r["question_id"] for r in heldout}
  for r in new:
    if task_key(r) in keys:
      raise arch_compare.LeakError(
        f"self-evolution would train on held-out task {keys[task_key(r)]} (record {r['question_id']}): stopping"
      )
    if r["question_id"] in ids or r.get("source_id") in ids:
      raise arch_compare.LeakError(f"self-evolution record {r['question_id']} has a held-out task's id: stopping")


def self_play_pool(config, base: list[dict], heldout: list[dict], size: int, max_ops: int) -> list[dict]:
  """Up to `size` procedural train-split tasks of 1..max_ops operations that are neither base data nor held out."""
  import dataclasses

  from hrm_jax.data_pipelines import input_pipeline, procedural

  pcfg = dataclasses.replace(input_pipeline.procedural_config(config.data), min_ops=1, max_ops=max_ops)
  stream = procedural.ProceduralTasks(pcfg, "train")
  taken = {task_key(r) for r in base} | {task_key(r) for r in heldout}
  pool = []
  for index in range(50 * size + 1000):
    if len(pool) >= size:
      break
    record = stream[index]
    if task_key(record) in taken:
      continue
    taken.add(task_key(record))
    pool.append(dict(record, question_id=f"selfplay-{pcfg.seed}-{index}", solution=""))
  return pool


def verified_records(pool, replies, outcomes, round_index, seen_code, trained_solutions) -> list[dict]:
  """New training records from passing replies, de-duplicated (see the module doc)."""
  out = []
  for task, reply, (passed, _, _) in zip(pool, replies, outcomes):
    if not passed:
      continue
    code = normalise_code(reply)
    key = (task_key(task), code)
    if key in seen_code or (task_key(task), code) in trained_solutions:
      continue
    seen_code.add(key)
    out.append(
      dict(
        task,
        solution=reply if reply.endswith("\n") else reply + "\n",
        question_id=f"self-r{round_index}-{task['question_id']}",
        source_id=task["question_id"],
      )
    )
  return out


class RecordsDataset:
  """Training batches from a list of records in the pipeline's layout (`input_pipeline.encode_prompt`, then the
  solution and <|eos|>; `input_pipeline.make_example`), shuffled and repeated by Grain (checkpointable)."""

  def __init__(self, records, tokenizer, seq_len: int, batch_size: int, seed: int):
    from hrm_jax.data_pipelines import input_pipeline
    from hrm_jax.tokenizer import LANGUAGES, TASKS

    self.examples, self.dropped = [], 0
    for r in records:
      prompt = input_pipeline.encode_prompt(tokenizer, r)
      seq = np.asarray(prompt + tokenizer.encode(r["solution"]) + [tokenizer.eos_id], np.int32)
      if len(seq) > seq_len:
        self.dropped += 1
        continue
      inputs, labels = input_pipeline.make_example(seq, len(prompt), seq_len)
      self.examples.append(
        {
          "inputs": inputs,
          "labels": labels,
          "prompt_length": np.int32(len(prompt)),
          "language_id": np.int32(LANGUAGES.index(r["language"])),
          "task_id": np.int32(TASKS.index(r["task"])),
          "puzzle_identifiers": np.int32(0),
        }
      )
    if not self.examples:
      raise ValueError(f"no record fits seq_len={seq_len}")
    self.batch_size, self.seed = batch_size, seed

  def __call__(self):
    import grain

    ds = grain.MapDataset.source(self.examples).shuffle(seed=self.seed).repeat(None)
    return iter(ds.to_iter_dataset().batch(self.batch_size, drop_remainder=True))


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default=os.path.join(arch_compare.REPO, "configs", "tiny_cpu.py"))
  parser.add_argument("--rounds", type=int, default=2, help="self-evolution rounds after round 0")
  parser.add_argument("--pool", type=int, default=96, help="self-play tasks per round")
  parser.add_argument("--pool-max-ops", type=int, default=3, help="operations of the self-play tasks: 1..N")
  parser.add_argument("--samples", type=int, default=4, help="sampled replies per self-play task")
  parser.add_argument("--temperature", type=float, default=0.7)
  parser.add_argument("--eval-max-ops", type=int, default=3, help="held-out tasks of 1..N operations")
  parser.add_argument("--eval-per-cell", type=int, default=16, help="held-out tasks per (language, operations)")
  parser.add_argument("--max-new-tokens", type=int, default=32)
  parser.add_argument("--workers", type=int, default=2, help="sandboxes at once")
  parser.add_argument("--workdir", default="/tmp/self_evolve", help="training workdirs (round<r>)")
  parser.add_argument("--out", default=OUT)
  args, overrides = parser.parse_known_args(argv)
  if args.rounds < 0 or args.samples < 1 or args.pool < 1:
    raise SystemExit("self_evolve: --rounds must be >= 0, --samples and --pool >= 1")

  from hrm_jax import config_loader
  from hrm_jax.data_pipelines import input_pipeline
  from hrm_jax.tokenizer import load_tokenizer
  from hrm_jax.train import trainer

  config = config_loader.load(args.config, overrides)
  if config.data.mixture.strip() or config.data.curriculum.strip() or config.data.source != "procedural":
    raise SystemExit("self_evolve: the base data must be config.data.source=procedural (no mixture or curriculum)")
  tokenizer = load_tokenizer()
  base = input_pipeline.load_records(config.data, "train")
  heldout = arch_compare.heldout_tasks(config, args.eval_max_ops, args.eval_per_cell, 0, args.max_new_tokens, tokenizer)
  arch_compare.check_no_leak(base, heldout)
  pool = self_play_pool(config, base, heldout, args.pool, args.pool_max_ops)
  check_not_heldout(pool, heldout)
  print(f"base {len(base)} records; held-out {len(heldout)} tasks; self-play pool {len(pool)} tasks", flush=True)
  os.makedirs(args.out, exist_ok=True)
  generators = arch_compare.Generators(tokenizer)
  scorer = arch_compare.Scorer(args.workers)
  home = config.model.halt_max_steps
  trained_solutions = {(task_key(r), normalise_code(r["solution"])) for r in base}
  seen_code: set = set()
  added: list[dict] = []
  rounds = []
  trained_on = None  # the number of self-verified records the current model was trained with
  for r in range(args.rounds + 1):
    t0 = time.perf_counter()
    records = base + added
    check_not_heldout(added, heldout)  # again, on exactly what this round trains on
    data = RecordsDataset(records, tokenizer, config.model.seq_len, config.train.batch_size, config.train.seed)
    if trained_on != len(added):  # a round that added nothing keeps its model: same data and seed, same model
      workdir = os.path.join(args.workdir, f"round{r}")
      trainer.train_and_evaluate(config, workdir, datasets=trainer.Datasets(train=data))
      model, params, _ = arch_compare.checkpoint_params(workdir)
      trained_on = len(added)
    train_s = time.perf_counter() - t0
    replies, depths = generators.run(model, params, heldout, home, "act", args.max_new_tokens)
    outcomes = scorer.score(heldout, replies)
    passed = np.asarray([o[0] for o in outcomes], np.float32)
    by_tier = collections.defaultdict(list)
    for task, p in zip(heldout, passed):
      by_tier[task["tier"]].append(float(p))
    entry = {
      "round": r,
      "train_records": len(records),
      "self_records": len(added),
      "dropped_too_long": data.dropped,
      "pass@1": float(passed.mean()),
      "pass@1_by_tier": {k: float(np.mean(v)) for k, v in sorted(by_tier.items())},
      "train_s": train_s,
    }
    if r < args.rounds:  # self-play: sample, verify, add
      t1 = time.perf_counter()
      rows = [t for t in pool for _ in range(args.samples)]
      replies, _ = generators.run(
        model, params, rows, home, "act", args.max_new_tokens, temperature=args.temperature, seed=1000 * (r + 1)
      )
      outcomes = scorer.score(rows, replies)
      new = verified_records(rows, replies, outcomes, r + 1, seen_code, trained_solutions)
      check_not_heldout(new, heldout)
      solved = {t["question_id"] for t, o in zip(rows, outcomes) if o[0]}
      entry.update(
        pool_sample_pass_rate=float(np.mean([o[0] for o in outcomes])),
        pool_tasks_solved=len(solved),
        new_records=len(new),
        new_by_ops=dict(sorted(collections.Counter(int(t["num_ops"]) for t in new).items())),
        self_play_s=time.perf_counter() - t1,
      )
      added += new
    rounds.append(entry)
    print(json.dumps(entry), flush=True)
    summary = {
      "config": args.config,
      "overrides": overrides,
      "args": {k: v for k, v in vars(args).items() if k not in ("workdir", "out")},
      "heldout_tasks": len(heldout),
      "pool_tasks": len(pool),
      "rounds": rounds,
      "load": arch_compare._machine_load(),
      "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    arch_compare._write_json(os.path.join(args.out, "summary.json"), summary)
  lines = [
    "| round | train records | self-verified records | held-out pass@1 | "
    + " | ".join(rounds[0]["pass@1_by_tier"])
    + " | pool sample pass rate | pool tasks solved | new records |",
    "|---" * (7 + len(rounds[0]["pass@1_by_tier"])) + "|",
  ]
  for e in rounds:
    lines.append(
      f"| {e['round']} | {e['train_records']} | {e['self_records']} | {e['pass@1']:.3f} | "
      + " | ".join(f"{v:.3f}" for v in e["pass@1_by_tier"].values())
      + f" | {e.get('pool_sample_pass_rate', float('nan')):.3f} | {e.get('pool_tasks_solved', '-')} | "
      f"{e.get('new_records', '-')} |"
    )
  text = "\n".join(lines)
  with open(os.path.join(args.out, "table.md"), "w") as f:
    f.write(text + "\n")
  print(text, flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
