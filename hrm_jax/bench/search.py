"""Search at inference, at equal budget: pass@1 of `sample`, `repair` and `mcts` with the same number of model
calls, and pass rate vs the ACT segment budget.

    python -m hrm_jax.bench.search --workdir W [--num 40] [--budget 4] [--temperature 0.7] [--segments 1,2,4,8]
        [--sets procedural,lcb] [--workers 2] [--out FILE.json]

Problems: `procedural`, the held-out split of configs/gspo_tiny.py's data (Python `arith` tasks, 1-2 operations:
the tasks the README's held-out pass@1 uses; the model sees the statement as in training), and `lcb`, the bundled
LiveCodeBench sample (data_pipelines/data/livecodebench_sample.jsonl) with LiveCodeBench's prompts: a prompt
longer than the model's context is not sent (counted in `overflowed`). Each problem's public tests choose the
answer of a search; the answer is graded on every test (LiveCodeBench's grader, in the sandbox): pass@1 is the
share of problems whose answer passes. `greedy` (temperature 0, one call) is the reference. `calls` is the mean
number of model calls a strategy spent (at most --budget: repair and mcts stop at the first attempt that passes
the public tests). Segment budget: greedy pass@1 with `max_segments` = k at inference, the Q head free to halt
earlier (ACT) or every segment run (fixed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from hrm_jax.agent import search


def procedural_problems(num: int) -> list:
  from hrm_jax import config_loader  # pylint: disable=import-outside-toplevel
  from hrm_jax.data_pipelines import input_pipeline  # pylint: disable=import-outside-toplevel
  from hrm_jax.evals import livecodebench  # pylint: disable=import-outside-toplevel

  config = config_loader.load("configs/gspo_tiny.py")
  records = input_pipeline.load_records(config.data, "eval")[:num]
  return [
    livecodebench.problem_from_record(dict(r, question_id=r["question_id"] or f"heldout_{i}"))
    for i, r in enumerate(records)
  ]


def lcb_problems(num: int) -> list:
  from hrm_jax.data_pipelines import input_pipeline  # pylint: disable=import-outside-toplevel
  from hrm_jax.evals import livecodebench  # pylint: disable=import-outside-toplevel

  return livecodebench.load_problems(input_pipeline.BUNDLED_LCB_SAMPLE)[:num]


def evaluate(tasks, generator, config: search.SearchConfig) -> dict:
  passed, calls, overflowed, start = 0, [], 0, time.monotonic()
  for task in tasks:
    result = search.search(task, generator, config)
    calls.append(result.calls)
    overflowed += result.overflowed > 0 and result.answer is None
    passed += result.answer is not None and task.grade(result.answer.code).passed
  return {
    "pass@1": passed / len(tasks),
    "passed": passed,
    "problems": len(tasks),
    "calls": statistics.fmean(calls),
    "overflowed": overflowed,
    "wall_s": time.monotonic() - start,
  }


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", required=True, help="a trained causal model (the README's main job)")
  parser.add_argument("--num", type=int, default=40, help="problems per set")
  parser.add_argument("--budget", type=int, default=4, help="model calls per problem")
  parser.add_argument("--temperature", type=float, default=0.7)
  parser.add_argument("--max-new-tokens", type=int, default=24, help="room for a repair prompt in a 96-token context")
  parser.add_argument("--segments", default="1,2,4,8", help="ACT segment budgets at inference")
  parser.add_argument("--sets", default="procedural,lcb")
  parser.add_argument("--workers", type=int, default=2, help="sandboxed test runs at once")
  parser.add_argument("--out", default=None)
  args = parser.parse_args(argv)
  say = lambda line: print(line, file=sys.stderr, flush=True)
  rows, curve = [], []
  sampler_gen = search.ModelSearchGenerator(
    args.workdir, max_new_tokens=args.max_new_tokens, temperature=args.temperature
  )
  greedy_gen = search.ModelSearchGenerator(args.workdir, max_new_tokens=args.max_new_tokens, temperature=0.0)
  for name in [s for s in args.sets.split(",") if s]:
    if name == "procedural":
      tasks = [search.CodeProblem(p, "statement", workers=args.workers) for p in procedural_problems(args.num)]
    elif name == "lcb":
      tasks = [search.CodeProblem(p, "lcb", workers=args.workers) for p in lcb_problems(args.num)]
    else:
      parser.error(f"--sets: unknown set {name!r} (procedural, lcb)")
    runs = [("greedy", greedy_gen, search.SearchConfig("sample", 1))]
    runs += [(s, sampler_gen, search.SearchConfig(s, args.budget)) for s in search.STRATEGIES]
    for label, generator, config in runs:
      row = {"set": name, "strategy": label, "budget": config.budget, **evaluate(tasks, generator, config)}
      rows.append(row)
      say(
        f"{name:10s} {label:7s} budget {config.budget}: pass@1 {row['pass@1']:.3f} ({row['passed']}/{row['problems']}) calls {row['calls']:.2f} overflowed {row['overflowed']} ({row['wall_s']:.0f}s)"
      )
    if name == "procedural":
      for k in [int(x) for x in args.segments.split(",") if x]:
        for halting in (True, False):
          gen = search.ModelSearchGenerator(
            args.workdir, max_new_tokens=args.max_new_tokens, temperature=0.0, max_segments=k, dynamic_halting=halting
          )
          row = {
            "set": name,
            "segments": k,
            "halting": "ACT" if halting else "fixed",
            **evaluate(tasks, gen, search.SearchConfig("sample", 1)),
          }
          curve.append(row)
          say(
            f"{name:10s} segments {k} {row['halting']:5s}: pass@1 {row['pass@1']:.3f} ({row['passed']}/{row['problems']})"
          )
  lines = [
    "| set | strategy | budget (model calls) | calls used (mean) | pass@1 | passed | prompts not sent |",
    "|---|---|---:|---:|---:|---:|---:|",
  ]
  lines += [
    f"| {r['set']} | {r['strategy']} | {r['budget']} | {r['calls']:.2f} | {r['pass@1']:.3f} | {r['passed']}/{r['problems']} | {r['overflowed']} |"
    for r in rows
  ]
  if curve:
    lines += ["", "| segment budget | halting | greedy pass@1 | passed |", "|---:|---|---:|---:|"]
    lines += [
      f"| {r['segments']} | {r['halting']} | {r['pass@1']:.3f} | {r['passed']}/{r['problems']} |" for r in curve
    ]
  print("\n".join(lines))
  if args.out:
    with open(args.out, "w") as f:
      json.dump({"strategies": rows, "segments": curve, "args": vars(args)}, f, indent=1)
  return 0


if __name__ == "__main__":
  sys.exit(main())
