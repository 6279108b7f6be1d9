"""Grain input pipeline: records -> tokenized, fixed-length, batched examples for the causal code model.

    from hrm_jax.data_pipelines import input_pipeline
    cfg = input_pipeline.default_data_config()
    ds = input_pipeline.make_dataset(cfg, "train", batch_size=32, seed=0, repeat=True)
    it = iter(ds); batch = next(it)              # dict of numpy arrays, leading dim = batch
    state = it.get_state(); ...; it.set_state(state)   # exact resumption

Token layout of one example (ids from `hrm_jax.tokenizer`):
    prompt   = <|problem|> {statement} <|code|>          (`encode_prompt`)
    response = {solution} <|eos|>
Batch fields, S = data_config.seq_len:
    inputs             int32[B, S]  prompt + response, right-padded with <|pad|> (0)
    labels             int32[B, S]  labels[t] = inputs[t + 1] where that next token is in the response,
                                    else -100 (prompt positions, the last token, padding)
    prompt_length      int32[B]     number of prompt tokens
    language_id        int32[B]     index in hrm_jax.tokenizer.LANGUAGES
    task_id            int32[B]     index in hrm_jax.tokenizer.TASKS
    puzzle_identifiers int32[B]     zeros (the reference HRM's puzzle-embedding slot)
Examples longer than S are dropped at load time, counted, and reported (logged and in `dataset_report`).

Sources (`data_config.source`, or several through `mixture` / `curriculum`): see SOURCES.
  mixture     "procedural=0.7,lcb_scenarios=0.3": train examples drawn from each source in these proportions
              (grain MapDataset.mix over per-source shuffled, repeated datasets); eval concatenates the
              sources' eval splits.
  curriculum  "0:procedural=1;400:procedural=0.3,lcb_scenarios=0.7": a schedule of mixtures over training
              steps; stage k starts at example index step_k * batch_size of this shard (exact without packing).
              `curriculum = "plan"` uses PLAN_CURRICULUM with `curriculum_total_steps`.
  length_buckets "32,64": each unpadded batch is cut to the smallest of these lengths (or seq_len) that
              holds its longest row, so a step compiles for a few shapes only.
  packing     True: train rows are packed with several examples (grain FirstFitPackIterDataset) and carry
              segment_ids int32[B, S] (1, 2, ... per example, 0 = padding), positions int32[B, S] (restarting at
              0 in each segment), language_ids / task_ids int32[B, S] per token and q_read int32[B, S] (1 at
              each example's last prompt token); labels never cross a segment. With `prefix_slots` p (the
              model's prefix length) each example starts with p conditioning slots, so the model trains on it as
              it would alone (hrm.HRMCore.embed; `hrm-jax train` with data.packing=True does this).
The train split is shuffled by seed (reshuffled each epoch when repeating); eval keeps record order.
Sharding takes every shard_count-th example starting at shard_index, before shuffling, so shards are
disjoint and together cover the split.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import hashlib
import json
import logging
import os
import sys

import grain
import ml_collections
import numpy as np
from absl import flags

from hrm_jax.data_pipelines import livecodebench, procedural, scenarios, tool_use
from hrm_jax.tokenizer import LANGUAGES, TASKS, load_tokenizer

IGNORE_LABEL = -100
SOURCES = ("procedural", "livecodebench_sample", "lcb_scenarios", "tool_use", "polyglot_edit", "code_corpus")
# The plan's four curriculum stages (basic syntax -> algorithms -> multi-file -> tool use) as fractions of
# curriculum_total_steps; stage 3's multi-file data is Polyglot editing (C++ .h + .cpp, Java packages, ...).
PLAN_CURRICULUM = (
  (0.0, "procedural=1"),
  (0.25, "procedural=0.4,lcb_scenarios=0.6"),
  (0.5, "procedural=0.1,lcb_scenarios=0.4,polyglot_edit=0.5"),
  (0.75, "procedural=0.1,lcb_scenarios=0.2,polyglot_edit=0.2,tool_use=0.5"),
)
SPLITS = ("train", "eval")
BUNDLED_LCB_SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "livecodebench_sample.jsonl")

_log = logging.getLogger(__name__)


def default_data_config() -> ml_collections.ConfigDict:
  """The data section of a training config (its fields are checked by `make_dataset`)."""
  c = ml_collections.ConfigDict()
  c.source = "procedural"  # one of SOURCES
  c.seq_len = 128  # S: fixed length of inputs/labels; longer examples are dropped and counted
  c.tokenizer_path = ""  # "" = the shipped hrm_jax/tokenizer/code_bpe_8k.json
  c.seed = 0  # content seed: which tasks exist (the shuffle seed is make_dataset's `seed`)
  # procedural source (data_pipelines/procedural.py)
  c.languages = ",".join(LANGUAGES)  # comma-separated subset of LANGUAGES
  c.families = ",".join(procedural.FAMILIES)
  c.min_ops = 1
  c.max_ops = 2
  c.max_constant = 9
  c.num_train = 20000  # procedural: number of train tasks materialised
  c.num_eval = 200  # procedural: number of held-out tasks
  c.procedural_eval_fraction = 0.1  # procedural: share of the task space held out (stratified: procedural.py)
  # livecodebench_sample source: the bundled JSONL (or another file in the same schema)
  c.lcb_path = ""  # "" = data_pipelines/data/livecodebench_sample.jsonl
  c.lcb_eval_fraction = 0.25  # share of problems held out, chosen by a hash of question_id
  c.lcb_cutoff = ""  # YYYY-MM-DD: train on problems released on/before it, evaluate on later ones
  c.lcb_scenarios = "codegen,self_repair,test_output_prediction,code_execution"  # lcb_scenarios source
  # tool_use source: our trajectory JSONL (data_pipelines/tool_use.py)
  c.tool_use_path = ""  # "" = data_pipelines/data/tool_use_sample.jsonl
  # polyglot_edit source: Aider Polyglot exercise trees -> SEARCH/REPLACE and whole-file edit targets
  c.polyglot_root = ""  # "" = data_pipelines/data/polyglot
  c.polyglot_eval_fraction = 0.25  # share of exercises held out, chosen by a hash of language/name
  # code_corpus source: source files chunked into "continue this file" examples (data_pipelines/code_corpus.py)
  c.code_corpus_dirs = ""  # comma-separated directories; "" = the toolchains' library sources
  c.code_corpus_max_files = 200  # per language
  c.code_corpus_chunk_chars = 1000
  # several sources
  c.mixture = ""  # "name=weight,...": overrides `source` for training when set
  c.curriculum = ""  # "step:mixture;step:mixture" or "plan"; overrides mixture when set
  c.curriculum_total_steps = 1000  # for curriculum = "plan"
  c.packing = False  # pack several train examples per row (adds segment_ids, positions)
  c.max_bad_records = 0  # malformed input records tolerated per source before aborting
  c.augment_copies = 0  # train: add this many augmented copies (renamed locals, reordered
  # definitions; data_pipelines/augment.py) of each LiveCodeBench or Polyglot
  # codegen/edit-whole record whose solution is a whole program
  c.length_buckets = ""  # e.g. "32,64": unpacked batches are cut to the smallest bucket (or
  # seq_len) that holds their longest row: a few fixed shapes, less padding
  # Grain
  c.worker_count = 0  # > 0: multiprocess workers (grain mp_prefetch)
  c.read_threads = 1  # threads of to_iter_dataset's ReadOptions
  return c


def _split_list(value) -> tuple[str, ...]:
  if isinstance(value, (tuple, list)):
    return tuple(value)
  return tuple(v.strip() for v in str(value).split(",") if v.strip())


def _check_source(name: str, field: str) -> None:
  if name not in SOURCES:
    raise ValueError(f"data.{field}: unknown source {name!r}; expected one of {SOURCES}")


def parse_mixture(text: str, field: str = "mixture") -> list[tuple[str, float]]:
  """ "a=0.7,b=0.3" -> [("a", 0.7), ("b", 0.3)]; errors name the config field."""
  out = []
  for part in text.split(","):
    if not part.strip():
      continue
    name, sep, weight = part.partition("=")
    try:
      w = float(weight) if sep else 1.0
    except ValueError as e:
      raise ValueError(f"data.{field}: bad weight in {part!r}") from e
    _check_source(name.strip(), field)
    if w < 0:
      raise ValueError(f"data.{field}: negative weight in {part!r}")
    if w > 0:
      out.append((name.strip(), w))
  if not out:
    raise ValueError(f"data.{field}: no source with a positive weight in {text!r}")
  return out


def parse_schedule(text: str, field: str, body: str = "mixture") -> list[tuple[int, str]]:
  """The curriculum grammar: "step:BODY;step:BODY" -> [(step, BODY text)], steps starting at 0 and increasing
  (errors name `field`). The data curriculum's bodies are mixtures; RL's (`data_pipelines/rl_prompts.py`)
  procedural difficulty ranges."""
  stages = []
  for part in text.split(";"):
    if not part.strip():
      continue
    step, sep, rest = part.partition(":")
    if not sep or not step.strip().isdigit():
      raise ValueError(f"{field}: expected 'step:{body}' parts, got {part!r}")
    stages.append((int(step), rest))
  steps = [s for s, _ in stages]
  if not stages or steps[0] != 0 or steps != sorted(set(steps)):
    raise ValueError(f"{field}: stages must start at step 0 and increase, got steps {steps}")
  return stages


def parse_curriculum(cfg: ml_collections.ConfigDict) -> list[tuple[int, list[tuple[str, float]]]]:
  """[(start_step, mixture)] sorted by step, starting at step 0 (the `curriculum` field)."""
  text = cfg.curriculum.strip()
  if text == "plan":
    text = ";".join(f"{int(round(f * cfg.curriculum_total_steps))}:{m}" for f, m in PLAN_CURRICULUM)
  return [(step, parse_mixture(m, "curriculum")) for step, m in parse_schedule(text, "data.curriculum")]


def train_sources(cfg: ml_collections.ConfigDict) -> list[str]:
  """Every source the train split draws from (the curriculum's, the mixture's, or `source`)."""
  if cfg.curriculum.strip():
    return sorted({name for _, m in parse_curriculum(cfg) for name, _ in m})
  if cfg.mixture.strip():
    return [name for name, _ in parse_mixture(cfg.mixture)]
  return [cfg.source]


def _check_config(cfg: ml_collections.ConfigDict, split: str) -> None:
  _check_source(cfg.source, "source")
  if split not in SPLITS:
    raise ValueError(f"split: unknown split {split!r}; expected one of {SPLITS}")
  if cfg.seq_len < 4:
    raise ValueError(f"data.seq_len must be >= 4, got {cfg.seq_len}")
  if not 0.0 < cfg.lcb_eval_fraction < 1.0:
    raise ValueError(f"data.lcb_eval_fraction must be in (0, 1), got {cfg.lcb_eval_fraction}")


def procedural_config(cfg: ml_collections.ConfigDict) -> procedural.ProceduralConfig:
  """The generator config named by the data config's procedural fields (errors name the field)."""
  return procedural.ProceduralConfig(
    languages=_split_list(cfg.languages),
    families=_split_list(cfg.families),
    min_ops=cfg.min_ops,
    max_ops=cfg.max_ops,
    max_constant=cfg.max_constant,
    num_eval=cfg.num_eval,
    eval_fraction=cfg.procedural_eval_fraction,
    seed=cfg.seed,
  )


def _lcb_problems(cfg: ml_collections.ConfigDict, split: str):
  """The LiveCodeBench problems of a split: by date when lcb_cutoff is set, else by a question_id hash."""
  path = cfg.lcb_path or BUNDLED_LCB_SAMPLE
  problems = livecodebench.read_jsonl(path, max_bad=cfg.max_bad_records)
  if cfg.lcb_cutoff:
    train, report = scenarios.filter_by_cutoff(problems, cfg.lcb_cutoff)
    _log.info(report.line())
    if split == "train":
      return train
    removed = set(report.removed)
    return [p for p in problems if p.question_id in removed]
  out = []
  for problem in problems:
    bucket = int(hashlib.sha256(problem.question_id.encode()).hexdigest()[:8], 16) / 16**8
    if (bucket < cfg.lcb_eval_fraction) == (split == "eval"):
      out.append(problem)
  return out


def load_source_records(data_config: ml_collections.ConfigDict, source: str, split: str) -> list[dict]:
  """The records of one source's split (LiveCodeBench schema + `language`, `solution`, `task`); train records
  of AUGMENTABLE_SOURCES gain `augment_copies` augmented variants."""
  records = _source_records(data_config, source, split)
  if split == "train" and data_config.augment_copies > 0 and source in AUGMENTABLE_SOURCES:
    records = records + augmented_copies(records, data_config.augment_copies, data_config.seed)
  return records


def _source_records(data_config: ml_collections.ConfigDict, source: str, split: str) -> list[dict]:
  _check_source(source, "source")
  if split not in SPLITS:
    raise ValueError(f"split: unknown split {split!r}; expected one of {SPLITS}")
  cfg = data_config
  if source == "procedural":
    pcfg = procedural_config(cfg)
    num = cfg.num_train if split == "train" else cfg.num_eval
    return procedural.generate(pcfg, split, num)
  if source == "livecodebench_sample":
    return [livecodebench.to_training_record(p) for p in _lcb_problems(cfg, split)]
  if source == "lcb_scenarios":
    return scenarios.scenario_records(_lcb_problems(cfg, split), _split_list(cfg.lcb_scenarios), seed=cfg.seed)
  if source == "code_corpus":
    from hrm_jax.data_pipelines import code_corpus

    report = code_corpus.CorpusReport()
    files = code_corpus.read_corpus(
      dirs=_split_list(cfg.code_corpus_dirs) or None,
      languages=_split_list(cfg.languages),
      max_files_per_language=cfg.code_corpus_max_files,
      report=report,
    )
    _log.info(report.line())
    held_out = [f for f in files if int(f.sha256[:8], 16) % 20 == 0]  # 5% of files, by content hash
    chosen = held_out if split == "eval" else [f for f in files if int(f.sha256[:8], 16) % 20 != 0]
    return [r for f in chosen for r in code_corpus.to_training_records(f, cfg.code_corpus_chunk_chars)]
  if source == "polyglot_edit":
    from hrm_jax.data_pipelines import polyglot  # imports the evaluation harness (sandbox) lazily

    exercises = polyglot.read_exercises(cfg.polyglot_root or polyglot.BUNDLED_ROOT, max_bad=cfg.max_bad_records)

    def is_eval(ex):
      key = f"{ex.language}/{ex.name}".encode()
      return int(hashlib.sha256(key).hexdigest()[:8], 16) / 16**8 < cfg.polyglot_eval_fraction

    return [r for ex in exercises if is_eval(ex) == (split == "eval") for r in polyglot.edit_records(ex)]
  trajectories = tool_use.read_jsonl(cfg.tool_use_path or tool_use.BUNDLED_SAMPLE, max_bad=cfg.max_bad_records)
  return [r for t in tool_use.split_trajectories(trajectories, split) for r in tool_use.to_training_records(t)]


AUGMENTABLE_SOURCES = ("livecodebench_sample", "lcb_scenarios")


def augmented_copies(records: list[dict], copies: int, seed: int) -> list[dict]:
  """`copies` augmented variants of each codegen record (only those whose program changes and still parses)."""
  from hrm_jax.data_pipelines import augment

  out = []
  for r in records:
    if r["task"] != "codegen":
      continue
    seen = {r["solution"]}
    for k in range(copies):
      code = augment.augment(r["language"], r["solution"], seed=seed * 1009 + k)
      if code not in seen:
        seen.add(code)
        out.append(dict(r, solution=code, question_id=f"{r['question_id']}/aug{k}"))
  return out


def load_records(data_config: ml_collections.ConfigDict, split: str) -> list[dict]:
  """The records of `split` of `data_config.source`, in a fixed order."""
  _check_config(data_config, split)
  return load_source_records(data_config, data_config.source, split)


def record_statement(record: dict) -> str:
  """The problem text shown to the model: the statement, then the starter code when there is one."""
  statement = record["question_content"]
  if record.get("starter_code"):
    statement = f"{statement}\n\n{record['starter_code']}"
  return statement


def encode_prompt(tokenizer, record: dict) -> list[int]:
  """`<|problem|> {statement} <|code|>` as ids: what a generator is given at evaluation time."""
  return (
    [tokenizer.token_id("<|problem|>")] + tokenizer.encode(record_statement(record)) + [tokenizer.token_id("<|code|>")]
  )


@dataclasses.dataclass(frozen=True)
class DatasetReport:
  """What loading one split kept and dropped (never silently)."""

  source: str
  split: str
  records: int
  kept: int
  dropped_too_long: int
  seq_len: int
  max_length_seen: int
  mean_length: float

  def line(self) -> str:
    return (
      f"data[{self.source}/{self.split}]: {self.records} records, kept {self.kept}, dropped "
      f"{self.dropped_too_long} longer than seq_len={self.seq_len} (max length {self.max_length_seen}, "
      f"mean {self.mean_length:.1f} tokens)"
    )


@dataclasses.dataclass(frozen=True)
class Examples:
  """Tokenized examples of one split as flat arrays: tokens[offsets[i]:offsets[i+1]] is example i."""

  tokens: np.ndarray  # int32[total]
  offsets: np.ndarray  # int64[n + 1]
  prompt_length: np.ndarray  # int32[n]
  language_id: np.ndarray  # int32[n]
  task_id: np.ndarray  # int32[n]
  report: DatasetReport

  def __len__(self) -> int:
    return len(self.prompt_length)


def _config_key(cfg: ml_collections.ConfigDict, source: str, split: str) -> str:
  fields = {
    k: cfg[k]
    for k in sorted(cfg.keys())
    if k not in ("worker_count", "read_threads", "mixture", "curriculum", "curriculum_total_steps", "packing")
  }
  return json.dumps([fields, source, split], sort_keys=True, default=str)


@functools.lru_cache(maxsize=32)
def _tokenize_split(config_key: str) -> Examples:
  fields, source, split = json.loads(config_key)
  cfg = ml_collections.ConfigDict(fields)
  tokenizer = load_tokenizer(cfg.tokenizer_path or None)
  records = load_source_records(cfg, source, split)
  problem_id, code_id, eos_id = tokenizer.token_id("<|problem|>"), tokenizer.token_id("<|code|>"), tokenizer.eos_id
  statements = tokenizer.encode_batch([record_statement(r) for r in records])
  solutions = tokenizer.encode_batch([r["solution"] for r in records])
  kept_tokens, offsets, prompt_lengths, language_ids, task_ids, lengths = [], [0], [], [], [], []
  for record, stmt, sol in zip(records, statements, solutions):
    seq = [problem_id] + stmt + [code_id] + sol + [eos_id]
    lengths.append(len(seq))
    if len(seq) > cfg.seq_len:
      continue
    kept_tokens.append(np.asarray(seq, np.int32))
    offsets.append(offsets[-1] + len(seq))
    prompt_lengths.append(len(stmt) + 2)
    language_ids.append(LANGUAGES.index(record["language"]))
    task_ids.append(TASKS.index(record["task"]))
  report = DatasetReport(
    source=source,
    split=split,
    records=len(records),
    kept=len(prompt_lengths),
    dropped_too_long=len(records) - len(prompt_lengths),
    seq_len=cfg.seq_len,
    max_length_seen=max(lengths, default=0),
    mean_length=float(np.mean(lengths)) if lengths else 0.0,
  )
  (_log.warning if report.dropped_too_long else _log.info)(report.line())
  if not prompt_lengths:
    raise ValueError(f"{report.line()}: nothing left; raise data.seq_len or check the source")
  return Examples(
    tokens=np.concatenate(kept_tokens),
    offsets=np.asarray(offsets, np.int64),
    prompt_length=np.asarray(prompt_lengths, np.int32),
    language_id=np.asarray(language_ids, np.int32),
    task_id=np.asarray(task_ids, np.int32),
    report=report,
  )


def load_examples(data_config: ml_collections.ConfigDict, split: str, source: str | None = None) -> Examples:
  """Tokenized examples of one source's split (cached per config); `.report` says what was dropped."""
  _check_config(data_config, split)
  return _tokenize_split(_config_key(data_config, source or data_config.source, split))


def dataset_report(data_config: ml_collections.ConfigDict, split: str, source: str | None = None) -> DatasetReport:
  return load_examples(data_config, split, source).report


def make_example(tokens: np.ndarray, prompt_length: int, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
  """(inputs int32[S], labels int32[S]) for one sequence of length <= S (see the module docstring)."""
  n = len(tokens)
  inputs = np.zeros(seq_len, np.int32)
  inputs[:n] = tokens
  labels = np.full(seq_len, IGNORE_LABEL, np.int32)
  # Position t predicts token t + 1; keep only targets inside the response (t + 1 >= prompt_length).
  start = max(prompt_length - 1, 0)
  labels[start : n - 1] = tokens[start + 1 : n]
  return inputs, labels


@dataclasses.dataclass(frozen=True)
class _ToFixedLength:
  """Index -> fixed-length example dict (a picklable callable, so multiprocess workers can run it)."""

  examples: Examples
  seq_len: int

  def __call__(self, index: int) -> dict[str, np.ndarray]:
    ex = self.examples
    tokens = ex.tokens[ex.offsets[index] : ex.offsets[index + 1]]
    inputs, labels = make_example(tokens, int(ex.prompt_length[index]), self.seq_len)
    return {
      "inputs": inputs,
      "labels": labels,
      "prompt_length": ex.prompt_length[index],
      "language_id": ex.language_id[index],
      "task_id": ex.task_id[index],
      "puzzle_identifiers": np.int32(0),
    }


@dataclasses.dataclass(frozen=True)
class _ToVariableLength:
  """Index -> one unpadded example for packing: every field is per token, length prefix_slots + n.

  The first `prefix_slots` positions are the example's own conditioning slots (the model puts its language and
  task embeddings there: `hrm.HRMCore.embed`), so a packed example sees what it would see alone in a row;
  `q_read` marks the example's last prompt token, where the model's Q head reads it."""

  examples: Examples
  prefix_slots: int = 0

  def __call__(self, index: int) -> dict[str, np.ndarray]:
    ex = self.examples
    tokens = ex.tokens[ex.offsets[index] : ex.offsets[index + 1]]
    n, p = len(tokens), self.prefix_slots
    prompt_length = int(ex.prompt_length[index])
    _, labels = make_example(tokens, prompt_length, n)
    q_read = np.zeros(p + n, np.int32)
    q_read[p + max(prompt_length, 1) - 1] = 1
    return {
      "inputs": np.concatenate([np.zeros(p, np.int32), np.asarray(tokens, np.int32)]),
      "labels": np.concatenate([np.full(p, IGNORE_LABEL, np.int32), labels]),
      "language_ids": np.full(p + n, ex.language_id[index], np.int32),
      "task_ids": np.full(p + n, ex.task_id[index], np.int32),
      "q_read": q_read,
    }


class _StagedMapDataset(grain.MapDataset):
  """Index i comes from the stage whose start index is the largest <= i (each stage an infinite dataset)."""

  def __init__(self, stages: list[tuple[int, grain.MapDataset]]):
    super().__init__([ds for _, ds in stages])
    self._starts = [start for start, _ in stages]
    self._stages = [ds for _, ds in stages]

  def __len__(self) -> int:
    return sys.maxsize

  def __str__(self) -> str:
    return f"StagedMapDataset(starts={self._starts})"

  def __getitem__(self, index):
    if isinstance(index, slice):
      return self.slice(index)
    k = bisect.bisect_right(self._starts, index) - 1
    return self._stages[k][index - self._starts[k]]


def _rename_packed(element: dict) -> dict:
  return {
    "inputs": element["inputs"],
    "labels": element["labels"],
    "segment_ids": element["inputs_segment_ids"].astype(np.int32),
    "positions": element["inputs_positions"].astype(np.int32),
    "language_ids": element["language_ids"],
    "task_ids": element["task_ids"],
    "q_read": element["q_read"],
  }


def parse_buckets(cfg: ml_collections.ConfigDict) -> tuple[int, ...]:
  """The sorted batch lengths allowed: length_buckets plus seq_len (errors name the field)."""
  try:
    buckets = sorted({int(b) for b in _split_list(cfg.length_buckets)} | {cfg.seq_len})
  except ValueError as e:
    raise ValueError(f"data.length_buckets must be comma-separated integers, got {cfg.length_buckets!r}") from e
  if buckets[0] < 2 or buckets[-1] != cfg.seq_len:
    raise ValueError(f"data.length_buckets must lie in [2, seq_len={cfg.seq_len}], got {cfg.length_buckets!r}")
  return tuple(buckets)


@dataclasses.dataclass(frozen=True)
class _CutToBucket:
  """Cuts a padded batch's [B, S] fields to the smallest bucket that holds its longest row."""

  buckets: tuple[int, ...]

  def __call__(self, batch: dict) -> dict:
    used = batch["inputs"] != 0
    longest = int(used.shape[1] - np.argmax(used[:, ::-1], axis=1).min()) if used.any() else 1
    length = next(b for b in self.buckets if b >= longest)
    return {k: (v[:, :length] if v.ndim == 2 else v) for k, v in batch.items()}


def make_dataset(
  data_config: ml_collections.ConfigDict,
  split: str,
  *,
  batch_size: int,
  seed: int,
  shard_index: int = 0,
  shard_count: int = 1,
  repeat: bool,
  prefix_slots: int = 0,
) -> grain.IterDataset:
  """Batched examples of `split` (see the module docstring for the fields and layout).

  Args:
    data_config: `default_data_config()` or a config with the same fields.
    split: "train" (shuffled by `seed`, reshuffled each epoch) or "eval" (record order).
    batch_size: per-shard batch size B. With `repeat=True` every batch is full; with `repeat=False` the last
      batch may be smaller (nothing is dropped).
    seed: shuffle seed.
    shard_index, shard_count: this process's shard (e.g. jax.process_index(), jax.process_count()).
    repeat: repeat forever (training) or make one pass (evaluation). Mixtures and curricula need repeat=True.
    prefix_slots: with packing, conditioning slots put before each packed example (the model's prefix_len;
      the trainer passes it). Examples longer than seq_len - prefix_slots are cut by the packer.
  """
  _check_config(data_config, split)
  if not 0 <= shard_index < shard_count:
    raise ValueError(f"shard_index must be in [0, shard_count={shard_count}), got {shard_index}")
  if batch_size < 1:
    raise ValueError(f"batch_size must be >= 1, got {batch_size}")
  cfg = data_config
  packing = bool(cfg.packing) and split == "train"
  multi = split == "train" and (cfg.curriculum.strip() or cfg.mixture.strip())
  if multi and not repeat:
    raise ValueError("data.mixture / data.curriculum need repeat=True (they draw from repeated sources)")
  names = (
    train_sources(cfg)
    if split == "train"
    else ([n for n, _ in parse_mixture(cfg.mixture)] if cfg.mixture.strip() else [cfg.source])
  )

  def source_dataset(name: str, offset: int) -> grain.MapDataset:
    examples = load_examples(cfg, split, name)
    if len(examples) < shard_count:
      raise ValueError(f"{examples.report.line()}: fewer examples than shard_count={shard_count}")
    ds = grain.MapDataset.range(len(examples))[shard_index::shard_count]
    if split == "train":
      ds = ds.shuffle(seed=(seed + 1_000_003 * offset) % 2**32)
    if repeat:
      ds = ds.repeat(None)
    return ds.map(_ToVariableLength(examples, prefix_slots) if packing else _ToFixedLength(examples, cfg.seq_len))

  per_source = {name: source_dataset(name, i) for i, name in enumerate(names)}

  def mixed(mixture: list[tuple[str, float]]) -> grain.MapDataset:
    if len(mixture) == 1:
      return per_source[mixture[0][0]]
    return grain.MapDataset.mix([per_source[n] for n, _ in mixture], [w for _, w in mixture])

  if split == "train" and cfg.curriculum.strip():
    ds = _StagedMapDataset([(step * batch_size, mixed(m)) for step, m in parse_curriculum(cfg)])
  elif split == "train" and cfg.mixture.strip():
    ds = mixed(parse_mixture(cfg.mixture))
  elif len(names) > 1:
    ds = grain.MapDataset.concatenate([per_source[n] for n in names])
  else:
    ds = per_source[names[0]]
  it_ds = ds.to_iter_dataset(
    grain.ReadOptions(
      num_threads=cfg.read_threads, prefetch_buffer_size=max(2 * batch_size, 16) if cfg.read_threads else 0
    )
  )
  if cfg.worker_count > 0:
    # Grain's worker pool reads absl flags, which only an application may parse (absl.app.run, or `hrm-jax`,
    # whose entry point does): library code does not mutate that global state (reference/deps.md #5).
    if not flags.FLAGS.is_parsed():
      raise ValueError(
        f"config.data.worker_count={cfg.worker_count} starts Grain worker processes, which read absl flags, and "
        "nothing has parsed them: run under absl.app.run, or call absl.flags.FLAGS.mark_as_parsed() once at "
        "the start of the program or notebook (the hrm-jax command does)"
      )
    # Workers take elements round-robin and the prefetcher interleaves them back in order, so batching
    # after it gives the same batches for any worker_count.
    it_ds = it_ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=cfg.worker_count))
  if packing:
    s_len = cfg.seq_len
    it_ds = grain.experimental.FirstFitPackIterDataset(
      it_ds,
      length_struct={"inputs": s_len, "labels": s_len, "language_ids": s_len, "task_ids": s_len, "q_read": s_len},
      num_packing_bins=batch_size,
      shuffle_bins=False,
      padding_struct={"inputs": 0, "labels": IGNORE_LABEL, "language_ids": 0, "task_ids": 0, "q_read": 0},
    )
    it_ds = it_ds.map(_rename_packed)
  it_ds = it_ds.batch(batch_size, drop_remainder=False)
  if cfg.length_buckets.strip() and not packing:
    it_ds = it_ds.map(_CutToBucket(parse_buckets(cfg)))
  return it_ds
