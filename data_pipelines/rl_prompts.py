"""Prompts for reinforcement learning: problems with executable tests, drawn per RL step by the curriculum.

    source = rl_prompts.PromptSource(config, tokenizer, room=seq_len - max_new_tokens)
    records, prompts, indices = source.train_batch(step, num=8, seed=0)   # a function of (seed, step) only
    record = source.record(step, indices[0])                              # a rollout row's problem, again
    records, prompts = source.eval_problems(100)                          # held out, every source in turn

Two schedules over RL steps, both in the one curriculum grammar of the data pipeline ("step:BODY;step:BODY",
`input_pipeline.parse_schedule`; steps read as RL steps):
  * `data.curriculum` (or `data.mixture`, or `data.source`) decides from which source each prompt comes, with
    the stage's weights: the supervised pipeline's parser. RL needs executable tests, so the sources may be
    RL_SOURCES only; others are refused with an error naming the field.
  * `rl.curriculum` restricts procedural prompts to a difficulty: bodies are `min_ops=A,max_ops=B` (either may
    be left out: the data config's value), e.g. "0:max_ops=1;8:max_ops=2".
The problems are generated once with the data config's knobs, so each source's held-out split stays disjoint
from every stage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import ml_collections
import numpy as np

from hrm_jax.data_pipelines import input_pipeline

# Sources whose records carry executable tests (`hrm_jax.rl.execution`), in the order of their index code.
RL_SOURCES = ("procedural", "livecodebench_sample")
_INDEX_STRIDE = 1 << 32  # a rollout row's record index: source code * stride + index in that source's problems
DIFFICULTY_KEYS = ("min_ops", "max_ops")


@dataclasses.dataclass(frozen=True)
class DifficultyStage:
  """From RL step `start_step` on, procedural problems have `num_ops` in [min_ops, max_ops]."""

  start_step: int
  min_ops: int
  max_ops: int


def parse_difficulty(text: str, data: ml_collections.ConfigDict) -> list[DifficultyStage]:
  """`rl.curriculum` ("step:min_ops=A,max_ops=B;...") -> stages; "" = one stage with the data config's range."""
  default = {"min_ops": int(data.min_ops), "max_ops": int(data.max_ops)}
  if not str(text).strip():
    return [DifficultyStage(0, default["min_ops"], default["max_ops"])]
  stages = []
  for start, body in input_pipeline.parse_schedule(str(text), "rl.curriculum", body="min_ops=A,max_ops=B"):
    values = dict(default)
    for item in (p.strip() for p in body.split(",") if p.strip()):
      key, sep, value = item.partition("=")
      if not sep or key.strip() not in DIFFICULTY_KEYS or not value.strip().isdigit():
        raise ValueError(f"rl.curriculum: stage {start}: expected min_ops=A and/or max_ops=B, got {item!r}")
      values[key.strip()] = int(value)
    if not 1 <= values["min_ops"] <= values["max_ops"]:
      raise ValueError(f"rl.curriculum: stage {start} needs 1 <= min_ops <= max_ops, got {values}")
    stages.append(DifficultyStage(start, values["min_ops"], values["max_ops"]))
  return stages


def source_schedule(data: ml_collections.ConfigDict) -> list[tuple[int, list[tuple[str, float]]]]:
  """[(start RL step, [(source, weight)])] from `data.curriculum`, else `data.mixture`, else `data.source`;
  every source must be one of RL_SOURCES."""
  if str(data.get("curriculum", "")).strip():
    schedule, field = input_pipeline.parse_curriculum(data), "data.curriculum"
  elif str(data.get("mixture", "")).strip():
    schedule, field = [(0, input_pipeline.parse_mixture(data.mixture))], "data.mixture"
  else:
    schedule, field = [(0, [(str(data.source), 1.0)])], "data.source"
  for _, mixture in schedule:
    for name, _ in mixture:
      if name not in RL_SOURCES:
        raise ValueError(
          f"{field} names source {name!r}, which has no executable tests for RL rewards; RL prompts "
          f"can come from {list(RL_SOURCES)}"
        )
  return schedule


def record_ids(records: Sequence[dict]) -> tuple[list[int], list[int]]:
  """(language ids, task ids) of records, as the model's conditioning reads them."""
  from hrm_jax.tokenizer import LANGUAGES, TASKS

  return [LANGUAGES.index(r["language"]) for r in records], [TASKS.index(r["task"]) for r in records]


class PromptSource:
  """Problems for rollouts (per curriculum stage) and for held-out evaluation, with their encoded prompts.

  Args:
    config: a config with `data` (the data pipeline's fields) and `rl.curriculum`.
    tokenizer: the code tokenizer.
    room: the longest prompt that leaves max_new_tokens in seq_len; longer prompts are dropped.
  """

  def __init__(self, config: ml_collections.ConfigDict, tokenizer, room: int):
    self.data = config.data
    self.tokenizer = tokenizer
    self.room = room
    self.stages = parse_difficulty(config.rl.get("curriculum", ""), config.data)
    self.schedule = source_schedule(config.data)
    self._cache: dict[tuple[str, str, int, int], tuple[list[dict], list[list[int]]]] = {}

  def _load(self, split: str, min_ops: int, max_ops: int, source: str = "procedural"):
    """`source`'s problems of the split (generated with the data config's knobs, so train and eval stay
    disjoint); procedural ones only when `num_ops` lies in [min_ops, max_ops]; prompts that leave no room are
    dropped."""
    key = (split, source, min_ops, max_ops)
    if key not in self._cache:
      data = ml_collections.ConfigDict(self.data.to_dict())
      data.source = source
      data.curriculum = ""
      data.mixture = ""
      records, prompts = [], []
      for record in input_pipeline.load_records(data, split):
        if not min_ops <= int(record.get("num_ops", min_ops)) <= max_ops:
          continue
        prompt = input_pipeline.encode_prompt(self.tokenizer, record)
        if len(prompt) <= self.room:
          records.append(record)
          prompts.append(prompt)
      if not records:
        raise ValueError(
          f"no {source} {split} problem (procedural: with {min_ops}..{max_ops} ops) fits "
          "config.model.seq_len with rl.rollout.max_new_tokens (check rl.curriculum and config.data)"
        )
      self._cache[key] = (records, prompts)
    return self._cache[key]

  def stage(self, step: int) -> DifficultyStage:
    return [s for s in self.stages if s.start_step <= step][-1]

  def mixture(self, step: int) -> list[tuple[str, float]]:
    """The data curriculum's (source, weight) mixture at RL step `step`."""
    return [m for start, m in self.schedule if start <= step][-1]

  def record(self, step: int, index: int) -> dict:
    """The problem of a rollout row drawn at step `step` (`index` as `train_batch` returned it)."""
    stage = self.stage(step)
    source = RL_SOURCES[int(index) // _INDEX_STRIDE]
    return self._load("train", stage.min_ops, stage.max_ops, source)[0][int(index) % _INDEX_STRIDE]

  def train_batch(self, step: int, num: int, seed: int):
    """(records, prompts, indices) of step `step`'s problems: a function of (seed, step) only. Each prompt's
    source is drawn with the data curriculum's weights at this step, then a problem of that source."""
    stage = self.stage(step)
    mixture = self.mixture(step)
    rng = np.random.default_rng([seed, step])
    if len(mixture) == 1:
      picks = np.zeros((num,), np.int64)
    else:
      weights = np.asarray([w for _, w in mixture], np.float64)
      picks = rng.choice(len(mixture), size=num, p=weights / weights.sum())
    indices = np.zeros((num,), np.int64)
    out_records, out_prompts = [None] * num, [None] * num
    for j, (source, _) in enumerate(mixture):
      slots = np.flatnonzero(picks == j)
      if not len(slots):
        continue
      records, prompts = self._load("train", stage.min_ops, stage.max_ops, source)
      chosen = rng.choice(len(records), size=len(slots), replace=len(records) < len(slots))
      for slot, i in zip(slots, chosen):
        out_records[slot], out_prompts[slot] = records[i], prompts[i]
        indices[slot] = RL_SOURCES.index(source) * _INDEX_STRIDE + int(i)
    return out_records, out_prompts, indices

  def eval_problems(self, num: int):
    """Up to `num` held-out problems (all difficulties), taken in turn from each source of the schedule."""
    sources = list(dict.fromkeys(name for _, m in self.schedule for name, _ in m))
    lists = [self._load("eval", int(self.data.min_ops), int(self.data.max_ops), s) for s in sources]
    records, prompts = [], []
    for i in range(max(len(r) for r, _ in lists)):
      for recs, prs in lists:
        if i < len(recs) and len(records) < num:
          records.append(recs[i])
          prompts.append(prs[i])
    return records, prompts
