"""HRM vs TRM vs the pre-norm Transformer: matched parameters and training FLOPs, held-out pass@1 by execution.

    python -m hrm_jax.bench.arch_compare                          # default size (~2.5 h on 2 CPU cores)
    python -m hrm_jax.bench.arch_compare --size small             # ~10-15 min
    python -m hrm_jax.bench.arch_compare --size small --arms hrm,transformer --seeds 0
    launch/arch_compare_gpu.sh                                    # the large size on one GPU

The sweep (launch/arch_compare_sweep.py) gives every architecture the same blocks, embeddings and heads (matched
parameters, counted by `hrm.count_params` and printed) and the FLOP budget of the reference HRM's training run:
an arm trains round(budget / F) steps, where F is `flops.train_flops_per_token` (analytic: matmuls and attention of
one training call's forward segment, the ACT target-Q forward where the arm has one, and the backward through the
applications that carry gradients, 2x their forward) times the tokens of a step (batch x seq_len, padding
included: what the step computes). Each (arm, seed) trains with `hrm_jax.train.trainer.train_and_evaluate` in
WORKDIR/<arm>_s<seed> (resumable), then generates greedily for held-out tasks of graded difficulty:

  * procedural tasks in all six languages with 1..eval.max_ops operations (training sees 1..data.max_ops): the
    held-out split by content hash (procedural.split_of), `per_cell` tasks per (language, number of operations),
    checked against the run's training records (a leak raises LeakError before anything runs);
  * the bundled LiveCodeBench-format problems of the held-out split whose prompt leaves room for the answer;

at every test-time segment budget b of eval.budgets, in two modes: `act` (the Q head halts, at most b segments:
`halt_max_steps` raised to b at inference) and `forced` (exactly b segments, the reference HRM's evaluation rule).
Every reply runs in the sandbox (`hrm_jax.rl.execution`: the task's tests, all six toolchains); identical
(task, reply) pairs run once. Results go to OUT (default hrm_jax/bench/results/arch_compare/<size>/):
runs/<arm>_s<seed>.json (per task: language, difficulty, pass, compile, ACT depth per budget and mode; timings,
parameter and FLOP counts), summary.json (the aggregates) and table.md: pass@1 per difficulty and language at the
training budget, pass@1 vs segment budget, the ACT depth the Q head picks vs difficulty, and wall times.
colabs/arch_compare.ipynb plots them.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import difflib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Sequence

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_SWEEP = os.path.join(REPO, "launch", "arch_compare_sweep.py")
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "arch_compare")
LCB_TIER = "lcb"


class LeakError(RuntimeError):
  """A held-out task is also a training task (by content or id): the comparison refuses to run."""


# ------------------------------------------------------------------------------------------------------------
# The sweep file


def load_sweep(path: str, size: str) -> dict:
  """`get_sweep(size)` of a sweep file (launch/sweep.py's format plus `arms`, `reference`, `eval`)."""
  if not os.path.exists(path):
    raise SystemExit(f"arch_compare: --sweep {path}: no such file")
  spec = importlib.util.spec_from_file_location("_hrm_jax_arch_sweep", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  try:
    sweep = module.get_sweep(size)
  except ValueError as e:
    raise SystemExit(f"arch_compare: --size: {e}") from None
  for key in ("config", "fixed", "arms", "reference", "eval"):
    if key not in sweep:
      raise SystemExit(f"arch_compare: {path}: get_sweep() has no {key!r}")
  return sweep


def _overrides(values: dict) -> list[str]:
  return [f"--config.{k}={v!r}" if isinstance(v, str) else f"--config.{k}={v}" for k, v in values.items()]


def arm_config(sweep: dict, arm: str, seed: int, num_steps: int | None = None):
  """The arm's training config (base config + fixed + the arm's overrides + seed [+ steps])."""
  from hrm_jax import config_loader

  values = {**sweep["fixed"], **sweep["arms"][arm], "train.seed": seed}
  if num_steps is not None:
    values["train.num_steps"] = num_steps
  path = sweep["config"]
  if not os.path.isabs(path) and not os.path.exists(path):
    path = os.path.join(REPO, path)
  return config_loader.load(path, _overrides(values))


def arm_costs(sweep: dict, arms: Sequence[str]) -> dict[str, dict]:
  """Per arm: parameters, training FLOPs per token, steps (matched to the reference's FLOP budget), FLOPs."""
  import jax

  from hrm_jax.bench import flops
  from hrm_jax.models import hrm
  from hrm_jax.train import trainer

  ref = arm_config(sweep, sweep["reference"], 0)
  tokens_per_step = ref.train.batch_size * ref.model.seq_len
  budget = flops.train_flops_per_token(trainer.model_config(ref)) * tokens_per_step * ref.train.num_steps
  out = {}
  for arm in arms:
    cfg = trainer.model_config(arm_config(sweep, arm, 0))
    per_token = flops.train_flops_per_token(cfg)
    steps = max(1, int(round(budget / (per_token * tokens_per_step))))
    abstract = jax.eval_shape(lambda cfg=cfg: hrm.init_params(cfg, jax.random.key(0))[1])
    out[arm] = {
      "params": hrm.count_params(abstract),
      "train_flops_per_token": per_token,
      "segment_forward_flops_per_token": flops.segment_forward_flops(cfg, cfg.total_len / 2),
      "num_steps": steps,
      "train_flops": per_token * tokens_per_step * steps,
      "halt_max_steps": cfg.halt_max_steps,
    }
  return out


# ------------------------------------------------------------------------------------------------------------
# Held-out tasks


def heldout_tasks(config, max_ops: int, per_cell: int, lcb: int, max_new_tokens: int, tokenizer) -> list[dict]:
  """Procedural held-out tasks (`per_cell` per language and number of operations 1..max_ops, same families as
  training) and up to `lcb` held-out LiveCodeBench-format problems whose prompt fits seq_len - max_new_tokens.
  Each task gets `tier` ("1op", "2op", ... or "lcb")."""
  from hrm_jax.data_pipelines import input_pipeline, procedural

  data = config.data
  room = config.model.seq_len - max_new_tokens
  tasks = []
  base = input_pipeline.procedural_config(data)
  for ops in range(1, max_ops + 1):
    pcfg = dataclasses.replace(base, min_ops=ops, max_ops=ops)
    stream = procedural.ProceduralTasks(pcfg, "eval")
    need = {lang: per_cell for lang in pcfg.languages}
    seen = set()
    for index in range(400 * per_cell * len(need)):  # a few dozen 1-op tasks exist per language: take what is
      if not any(need.values()):
        break
      record = stream[index]
      key = procedural.content_key(record)
      if key in seen or not need[record["language"]]:
        continue
      if len(input_pipeline.encode_prompt(tokenizer, record)) > room:
        continue
      seen.add(key)
      need[record["language"]] -= 1
      record = dict(record, question_id=f"proc-eval-{pcfg.seed}-{ops}op-{index}", tier=f"{ops}op")
      tasks.append(record)
  if lcb > 0:
    kept = 0
    for record in input_pipeline.load_source_records(data, "livecodebench_sample", "eval"):
      if kept < lcb and len(input_pipeline.encode_prompt(tokenizer, record)) <= room:
        tasks.append(dict(record, tier=LCB_TIER))
        kept += 1
  return tasks


def training_records(config) -> list[dict]:
  """Every record the run's train split draws from (all sources of its mixture or curriculum)."""
  from hrm_jax.data_pipelines import input_pipeline

  return [
    r
    for s in input_pipeline.train_sources(config.data)
    for r in input_pipeline.load_source_records(config.data, s, "train")
  ]


def check_no_leak(train: Sequence[dict], heldout: Sequence[dict]) -> None:
  """Raises LeakError when a held-out task equals a training record (same language, statement and solution
  target, or the same question_id)."""

  def key(r):
    return (r["language"], r["task"], r["question_content"].strip())

  train_keys = {key(r): r["question_id"] for r in train}
  train_ids = {r["question_id"] for r in train}
  for r in heldout:
    if key(r) in train_keys:
      raise LeakError(f"held-out task {r['question_id']} is training record {train_keys[key(r)]} (same statement)")
    if r["question_id"] in train_ids:
      raise LeakError(f"held-out task id {r['question_id']} is also a training record's id")


# ------------------------------------------------------------------------------------------------------------
# Generation and scoring


class Scorer:
  """Runs (task, reply) pairs in the sandbox once each: a cache keyed by question_id and reply text."""

  def __init__(self, workers: int):
    from hrm_jax.rl import execution

    self.exec_config = execution.ExecutionConfig(workers=workers)
    self.cache: dict[tuple[str, str], tuple[bool, bool, str]] = {}
    self.runs = 0
    self.seconds = 0.0

  def score(self, tasks: Sequence[dict], replies: Sequence[str]) -> list[tuple[bool, bool, str]]:
    from hrm_jax.rl import execution, rewards

    todo = {}
    for task, reply in zip(tasks, replies):
      key = (task["question_id"], reply)
      if key not in self.cache and key not in todo:
        todo[key] = (task, reply)
    if todo:
      t0 = time.perf_counter()
      outcomes = execution.execute_many(list(todo.values()), self.exec_config)
      self.seconds += time.perf_counter() - t0
      self.runs += len(todo)
      for key, o in zip(todo, outcomes):
        self.cache[key] = (o.status == rewards.STATUS_PASSED, bool(o.compiled), o.status)
    return [self.cache[(t["question_id"], r)] for t, r in zip(tasks, replies)]


class Generators:
  """One `sampler.Generator` per (model config, budget, mode, max_new_tokens), reused across seeds (the params
  are an argument of the compiled function: one compilation per shape)."""

  def __init__(self, tokenizer, chunk: int = 64):
    self.tokenizer = tokenizer
    self.chunk = chunk
    self._gens = {}

  def run(self, model, params, tasks, budget: int, mode: str, max_new_tokens: int, temperature=0.0, seed=0):
    """Replies (greedy at temperature 0) and ACT depths of `tasks` at `budget` segments (`act`: the Q head may
    halt earlier)."""
    from hrm_jax.data_pipelines import input_pipeline, rl_prompts
    from hrm_jax.inference import sampler

    key = (model.cfg, budget, mode, max_new_tokens, temperature)
    gen = self._gens.get(key)
    if gen is None:
      sampling = sampler.SamplingConfig(
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        stop_ids=(self.tokenizer.eos_id,),
        max_segments=budget,
        dynamic_halting=mode == "act",
      )
      gen = self._gens[key] = sampler.Generator(model, {"params": params}, sampling)
    gen.params = {"params": params}
    prompts = [input_pipeline.encode_prompt(self.tokenizer, t) for t in tasks]
    langs, task_ids = rl_prompts.record_ids(tasks)
    replies, depths = [], []
    for s in range(0, len(tasks), self.chunk):
      e = s + self.chunk
      tokens, lengths, depth, _ = gen.generate_arrays(prompts[s:e], langs[s:e], task_ids[s:e], seed=seed + s)
      tokens, lengths, depth = (np.asarray(a) for a in (tokens, lengths, depth))
      for row, n in zip(tokens, lengths):
        ids = [int(t) for t in row[:n]]
        if ids and ids[-1] == self.tokenizer.eos_id:
          ids = ids[:-1]
        replies.append(self.tokenizer.decode(ids))
      depths += [int(d) for d in depth]
    return replies, depths


def settings(budgets: Sequence[int]) -> list[tuple[str, int]]:
  """(mode, budget) pairs evaluated: `act` at every budget, `forced` where it differs (b > 1)."""
  return [("act", b) for b in budgets] + [("forced", b) for b in budgets if b > 1]


def evaluate_run(model, params, tasks, ev: dict, generators: Generators, scorer: Scorer) -> dict:
  """Per task and (mode, budget): pass, compile, status, ACT depth. Returns {"tasks": [...], "timing": {...}}."""
  from hrm_jax.data_pipelines import input_pipeline

  procedural = [t for t in tasks if t["tier"] != LCB_TIER]
  lcb = [t for t in tasks if t["tier"] == LCB_TIER]
  results = {t["question_id"]: {} for t in tasks}
  gen_s = 0.0
  exec_before = scorer.seconds
  for mode, budget in settings(ev["budgets"]):
    for group, new_tokens in ((procedural, ev["max_new_tokens"]), (lcb, ev.get("lcb_max_new_tokens", 0))):
      if not group:
        continue
      if not new_tokens:  # LiveCodeBench problems: all the room the longest prompt leaves
        new_tokens = model.cfg.seq_len - max(len(input_pipeline.encode_prompt(generators.tokenizer, t)) for t in group)
      t0 = time.perf_counter()
      replies, depths = generators.run(model, params, group, budget, mode, new_tokens)
      gen_s += time.perf_counter() - t0
      for task, reply, depth, (passed, compiled, status) in zip(group, replies, depths, scorer.score(group, replies)):
        results[task["question_id"]][f"{mode}{budget}"] = {
          "pass": passed,
          "compile": compiled,
          "status": status,
          "depth": depth,
          "reply": reply if len(reply) < 400 else reply[:400],
        }
  rows = [
    {
      "id": t["question_id"],
      "language": t["language"],
      "tier": t["tier"],
      "solution": t["solution"] if t["tier"] != LCB_TIER else "",
      "results": results[t["question_id"]],
    }
    for t in tasks
  ]
  return {"tasks": rows, "timing": {"generate_s": gen_s, "execute_s": scorer.seconds - exec_before}}


# ------------------------------------------------------------------------------------------------------------
# Aggregation


def _mean_std(values):
  values = [v for v in values if v is not None]
  if not values:
    return None
  return {"mean": float(np.mean(values)), "std": float(np.std(values)), "n": len(values)}


def summarize(runs: dict[str, dict], costs: dict[str, dict], meta: dict) -> dict:
  """Aggregates over seeds: per arm, pass@1 by tier and language at the training budget, pass@1 per (mode,
  budget), mean ACT depth by tier (act mode at the largest budget), timings."""
  by_arm = collections.defaultdict(list)
  for _, run in sorted(runs.items()):
    by_arm[run["arm"]].append(run)
  out = {"meta": meta, "arms": {}}
  for arm, arm_runs in by_arm.items():
    train_budget = costs[arm]["halt_max_steps"]
    home = f"act{train_budget}" if train_budget in meta["budgets"] else f"act{min(meta['budgets'])}"
    biggest = f"act{max(meta['budgets'])}"

    def rate(run, setting, pick=lambda t: True):
      vals = [t["results"][setting]["pass"] for t in run["tasks"] if pick(t) and setting in t["results"]]
      return float(np.mean(vals)) if vals else None

    def similarity(run, setting, pick):  # a graded proxy where pass@1 is 0: the reply against the reference
      vals = [
        difflib.SequenceMatcher(None, t["results"][setting]["reply"].strip(), t["solution"].strip()).ratio()
        for t in run["tasks"]
        if pick(t) and setting in t["results"] and t["solution"]
      ]
      return float(np.mean(vals)) if vals else None

    def depth(run, setting, pick):
      vals = [t["results"][setting]["depth"] for t in run["tasks"] if pick(t) and setting in t["results"]]
      return float(np.mean(vals)) if vals else None

    tiers = sorted({t["tier"] for r in arm_runs for t in r["tasks"]}, key=lambda s: (s == LCB_TIER, s))
    langs = sorted({t["language"] for r in arm_runs for t in r["tasks"] if t["tier"] != LCB_TIER})
    setting_names = [f"{m}{b}" for m, b in settings(meta["budgets"])]
    entry = {
      **costs[arm],
      "seeds": [r["seed"] for r in arm_runs],
      "home_setting": home,
      "pass@1": _mean_std([rate(r, home) for r in arm_runs]),
      "pass@1_procedural": _mean_std([rate(r, home, lambda t: t["tier"] != LCB_TIER) for r in arm_runs]),
      "by_tier": {
        tier: _mean_std([rate(r, home, lambda t, x=tier: t["tier"] == x) for r in arm_runs]) for tier in tiers
      },
      "by_language": {
        lang: _mean_std(
          [rate(r, home, lambda t, x=lang: t["language"] == x and t["tier"] != LCB_TIER) for r in arm_runs]
        )
        for lang in langs
      },
      "by_setting": {
        s: _mean_std([rate(r, s, lambda t: t["tier"] != LCB_TIER) for r in arm_runs]) for s in setting_names
      },
      "similarity_by_tier": {
        tier: _mean_std([similarity(r, home, lambda t, x=tier: t["tier"] == x) for r in arm_runs]) for tier in tiers
      },
      "depth_by_tier": {
        tier: _mean_std([depth(r, biggest, lambda t, x=tier: t["tier"] == x) for r in arm_runs]) for tier in tiers
      },
      "depth_setting": biggest,
      "train_s": _mean_std([r["timing"]["train_s"] for r in arm_runs]),
      "generate_s": _mean_std([r["timing"]["generate_s"] for r in arm_runs]),
      "execute_s": _mean_std([r["timing"]["execute_s"] for r in arm_runs]),
      "final_train": {
        k: _mean_std([r["final_train"].get(k) for r in arm_runs]) for k in ("loss", "accuracy", "exact_accuracy")
      },
    }
    out["arms"][arm] = entry
  return out


def _fmt(stat, digits: int = 2) -> str:
  if not stat:
    return "-"
  if stat["n"] == 1:
    return f"{stat['mean']:.{digits}f}"
  return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def table(summary: dict) -> str:
  """The Markdown tables of a summary (docs/experiments.md quotes them)."""
  meta, arms = summary["meta"], summary["arms"]
  names = list(arms)
  first = arms[names[0]] if names else {}
  tiers = list(first.get("by_tier", {}))
  langs = list(first.get("by_language", {}))
  lines = [
    f"Size `{meta['size']}`; seeds {meta['seeds']}; {meta['tasks']} held-out tasks ({meta['tasks_by_tier']}); "
    f"training on {meta['train_ops']} operations; {meta['load']} when the tables were written.",
    "",
    "| arm | params | train GFLOPs/token | steps | train PFLOPs | train s | generate s | execute s | pass@1 (all) |",
    "|---|---|---|---|---|---|---|---|---|",
  ]
  for arm in names:
    a = arms[arm]
    lines.append(
      f"| {arm} | {a['params']:,} | {a['train_flops_per_token'] / 1e9:.4f} | {a['num_steps']} | "
      f"{a['train_flops'] / 1e15:.3f} | {_fmt(a['train_s'], 0)} | {_fmt(a['generate_s'], 0)} | "
      f"{_fmt(a['execute_s'], 0)} | {_fmt(a['pass@1'])} |"
    )

  def add_table(title: str, columns: list, value) -> None:
    """One row per arm, one column per key; `value(arm_record, key)` is the cell's number (or None)."""
    nonlocal lines
    lines += ["", title, "", "| arm | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += [f"| {arm} | " + " | ".join(_fmt(value(arms[arm], c)) for c in columns) + " |" for arm in names]

  add_table(
    "pass@1 per difficulty (greedy, at the training segment budget, mean ± std over seeds):",
    tiers,
    lambda a, t: a["by_tier"].get(t),
  )
  add_table("pass@1 per language (procedural tasks, all difficulties):", langs, lambda a, x: a["by_language"].get(x))
  add_table(
    "pass@1 vs test-time segment budget (procedural tasks; `act` b: the Q head halts within b segments, `forced` b: "
    "exactly b segments):",
    list(first.get("by_setting", {})),
    lambda a, s: a["by_setting"].get(s),
  )
  add_table(
    "Reply vs reference solution, character similarity (difflib ratio; a graded proxy where pass@1 is 0, not a "
    "score: a reply can pass without matching the reference):",
    tiers,
    lambda a, t: a.get("similarity_by_tier", {}).get(t),
  )
  add_table(
    f"Mean ACT depth the Q head picks per difficulty (`{first.get('depth_setting', '')}`):",
    tiers,
    lambda a, t: a["depth_by_tier"].get(t),
  )
  return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------------
# The command


def _load_runs(out: str) -> dict[str, dict]:
  runs = {}
  folder = os.path.join(out, "runs")
  if os.path.isdir(folder):
    for name in sorted(os.listdir(folder)):
      if name.endswith(".json"):
        with open(os.path.join(folder, name)) as f:
          runs[name[:-5]] = json.load(f)
  return runs


def _write_json(path: str, data) -> None:
  with open(path + ".tmp", "w") as f:
    json.dump(data, f, indent=1)
  os.replace(path + ".tmp", path)


def _machine_load() -> str:
  try:
    load1, load5, _ = os.getloadavg()
  except OSError:
    return "load unknown"
  return f"load average {load1:.1f} / {load5:.1f} (1 / 5 min) on {os.cpu_count()} CPUs"


def checkpoint_params(workdir: str):
  """(model, the "params" collection, config) of a workdir's newest checkpoint."""
  from hrm_jax.train import checkpoint

  model, params, config = checkpoint.load_for_inference(workdir)
  return model, params["params"], config


def train_run(config, workdir: str) -> tuple[object, dict, dict, float]:
  """Trains (or resumes, or reuses a finished workdir); returns (model, params, final train metrics, seconds)."""
  from hrm_jax.train import checkpoint, trainer

  ckpt = checkpoint.Checkpointer(workdir, read_only=True) if os.path.isdir(workdir) else None
  done = ckpt is not None and ckpt.latest_step() == config.train.num_steps
  if ckpt is not None:
    ckpt.close()
  t0 = time.perf_counter()
  if not done:
    summary = trainer.train_and_evaluate(config, workdir)
    if "stopped_at" in summary:
      raise SystemExit(f"arch_compare: training in {workdir} stopped at step {summary['stopped_at']}")
  seconds = time.perf_counter() - t0
  model, params, _ = checkpoint_params(workdir)
  final = {}
  path = os.path.join(workdir, trainer.METRICS_FILE)
  if os.path.exists(path):
    with open(path) as f:
      lines = [json.loads(x) for x in f if x.strip()]
    final = lines[-1] if lines else {}
  if os.path.exists(os.path.join(workdir, trainer.EVAL_FILE)):
    with open(os.path.join(workdir, trainer.EVAL_FILE)) as f:
      final.update({f"eval/{k}": v for k, v in json.load(f).items()})
  return model, params, final, seconds


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--size", default="default", help="tiny | small | default | large (launch/arch_compare_sweep.py)")
  parser.add_argument("--sweep", default=DEFAULT_SWEEP, help="the sweep file")
  parser.add_argument("--arms", default="hrm,transformer,trm", help="comma-separated arms of the sweep")
  parser.add_argument("--seeds", default=None, help="comma-separated seeds (default: the size's)")
  parser.add_argument("--workdir", default=None, help="training workdirs (default /tmp/arch_compare/<size>)")
  parser.add_argument("--out", default=None, help="results folder (default hrm_jax/bench/results/arch_compare/<size>)")
  args = parser.parse_args(argv)

  sweep = load_sweep(args.sweep, args.size)
  arms = [a.strip() for a in args.arms.split(",") if a.strip()]
  unknown = [a for a in arms if a not in sweep["arms"]]
  if unknown:
    raise SystemExit(f"arch_compare: --arms: unknown arm(s) {unknown}; the sweep has {sorted(sweep['arms'])}")
  seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else list(sweep["axes"]["train.seed"])
  workdir = args.workdir or os.path.join("/tmp", "arch_compare", args.size)
  out = args.out or os.path.join(RESULTS, args.size)
  os.makedirs(os.path.join(out, "runs"), exist_ok=True)
  ev = sweep["eval"]

  from hrm_jax.tokenizer import load_tokenizer

  tokenizer = load_tokenizer()
  costs = arm_costs(sweep, arms)
  for arm, c in costs.items():
    print(
      f"{arm}: {c['params']:,} parameters, {c['train_flops_per_token'] / 1e6:.1f} MFLOPs/token per training call, "
      f"{c['num_steps']} steps = {c['train_flops'] / 1e12:.2f} TFLOPs",
      flush=True,
    )
  reference_config = arm_config(sweep, sweep["reference"], seeds[0])
  tasks = heldout_tasks(
    reference_config, ev["max_ops"], ev["per_cell"], ev.get("lcb", 0), ev["max_new_tokens"], tokenizer
  )
  by_tier = dict(sorted(collections.Counter(t["tier"] for t in tasks).items()))
  print(f"held-out: {len(tasks)} tasks {by_tier}", flush=True)
  generators = Generators(tokenizer)
  scorer = Scorer(ev.get("workers", 2))
  checked = set()
  for seed in seeds:
    for arm in arms:
      name = f"{arm}_s{seed}"
      path = os.path.join(out, "runs", name + ".json")
      if os.path.exists(path):
        print(f"{name}: done earlier ({path})", flush=True)
        continue
      config = arm_config(sweep, arm, seed, costs[arm]["num_steps"])
      data_key = config.data.to_json()
      if data_key not in checked:  # the training data is the arms' shared `fixed` data: check it once
        check_no_leak(training_records(config), tasks)
        checked.add(data_key)
      print(f"== {name}: {costs[arm]['num_steps']} steps in {os.path.join(workdir, name)}", flush=True)
      model, params, final, train_s = train_run(config, os.path.join(workdir, name))
      result = evaluate_run(model, params, tasks, ev, generators, scorer)
      result.update(arm=arm, seed=seed, final_train=final, costs=costs[arm])
      result["timing"]["train_s"] = train_s
      result["load"] = _machine_load()
      _write_json(path, result)
      home = f"act{costs[arm]['halt_max_steps']}"
      passed = [t["results"][home]["pass"] for t in result["tasks"] if home in t["results"]]
      print(
        f"{name}: pass@1 {np.mean(passed):.3f} ({home}); train {train_s:.0f}s, generate "
        f"{result['timing']['generate_s']:.0f}s, execute {result['timing']['execute_s']:.0f}s",
        flush=True,
      )
  runs = _load_runs(out)  # this invocation's and earlier ones' (e.g. other --arms)
  all_costs = {**{r["arm"]: r["costs"] for r in runs.values()}, **costs}
  meta = {
    "size": args.size,
    "seeds": sorted({r["seed"] for r in runs.values()}),
    "budgets": list(ev["budgets"]),
    "tasks": len(tasks),
    "tasks_by_tier": by_tier,
    "train_ops": f"{reference_config.data.min_ops}-{reference_config.data.max_ops}",
    "load": _machine_load(),
    "run_loads": {k: v["load"] for k, v in sorted(runs.items()) if "load" in v},
    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
  }
  summary = summarize(runs, all_costs, meta)
  _write_json(os.path.join(out, "summary.json"), summary)
  text = table(summary)
  with open(os.path.join(out, "table.md"), "w") as f:
    f.write(text + "\n")
  print(text, flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
