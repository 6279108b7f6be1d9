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
The train split is shuffled by seed (reshuffled each epoch when repeating); eval keeps record order.
Sharding takes every shard_count-th example starting at shard_index, before shuffling, so shards are
disjoint and together cover the split.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os

from absl import flags
import grain
import ml_collections
import numpy as np

from hrm_jax.data_pipelines import livecodebench
from hrm_jax.data_pipelines import procedural
from hrm_jax.tokenizer import LANGUAGES, TASKS, load_tokenizer

IGNORE_LABEL = -100
SOURCES = ("procedural", "livecodebench_sample")
SPLITS = ("train", "eval")
BUNDLED_LCB_SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "livecodebench_sample.jsonl")

_log = logging.getLogger(__name__)


def default_data_config() -> ml_collections.ConfigDict:
  """The data section of a training config (its fields are checked by `make_dataset`)."""
  c = ml_collections.ConfigDict()
  c.source = "procedural"            # one of SOURCES
  c.seq_len = 128                    # S: fixed length of inputs/labels; longer examples are dropped and counted
  c.tokenizer_path = ""              # "" = the shipped hrm_jax/tokenizer/code_bpe_8k.json
  c.seed = 0                         # content seed: which tasks exist (the shuffle seed is make_dataset's `seed`)
  # procedural source (data_pipelines/procedural.py)
  c.languages = ",".join(LANGUAGES)  # comma-separated subset of LANGUAGES
  c.families = ",".join(procedural.FAMILIES)
  c.min_ops = 1
  c.max_ops = 2
  c.max_constant = 9
  c.num_train = 20000                # procedural: number of train tasks materialised
  c.num_eval = 200                   # procedural: number of held-out tasks
  # livecodebench_sample source: the bundled JSONL (or another file in the same schema)
  c.lcb_path = ""                    # "" = data_pipelines/data/livecodebench_sample.jsonl
  c.lcb_eval_fraction = 0.25         # share of problems held out, chosen by a hash of question_id
  # Grain
  c.worker_count = 0                 # > 0: multiprocess workers (grain mp_prefetch)
  c.read_threads = 1                 # threads of to_iter_dataset's ReadOptions
  return c


def _split_list(value) -> tuple[str, ...]:
  if isinstance(value, (tuple, list)):
    return tuple(value)
  return tuple(v.strip() for v in str(value).split(",") if v.strip())


def _check_config(cfg: ml_collections.ConfigDict, split: str) -> None:
  if cfg.source not in SOURCES:
    raise ValueError(f"data.source: unknown source {cfg.source!r}; expected one of {SOURCES}")
  if split not in SPLITS:
    raise ValueError(f"split: unknown split {split!r}; expected one of {SPLITS}")
  if cfg.seq_len < 4:
    raise ValueError(f"data.seq_len must be >= 4, got {cfg.seq_len}")
  if not 0.0 < cfg.lcb_eval_fraction < 1.0:
    raise ValueError(f"data.lcb_eval_fraction must be in (0, 1), got {cfg.lcb_eval_fraction}")


def procedural_config(cfg: ml_collections.ConfigDict) -> procedural.ProceduralConfig:
  """The generator config named by the data config's procedural fields (errors name the field)."""
  return procedural.ProceduralConfig(
      languages=_split_list(cfg.languages), families=_split_list(cfg.families), min_ops=cfg.min_ops,
      max_ops=cfg.max_ops, max_constant=cfg.max_constant, num_eval=cfg.num_eval, seed=cfg.seed)


def load_records(data_config: ml_collections.ConfigDict, split: str) -> list[dict]:
  """The records of `split` (LiveCodeBench schema + `language`, `solution`, `task`), in a fixed order."""
  _check_config(data_config, split)
  if data_config.source == "procedural":
    pcfg = procedural_config(data_config)
    num = data_config.num_train if split == "train" else data_config.num_eval
    return procedural.generate(pcfg, split, num)
  path = data_config.lcb_path or BUNDLED_LCB_SAMPLE
  records = []
  for problem in livecodebench.read_jsonl(path):
    bucket = int(hashlib.sha256(problem.question_id.encode()).hexdigest()[:8], 16) / 16**8
    in_eval = bucket < data_config.lcb_eval_fraction
    if in_eval == (split == "eval"):
      records.append(livecodebench.to_training_record(problem))
  return records


def record_statement(record: dict) -> str:
  """The problem text shown to the model: the statement, then the starter code when there is one."""
  statement = record["question_content"]
  if record.get("starter_code"):
    statement = f"{statement}\n\n{record['starter_code']}"
  return statement


def encode_prompt(tokenizer, record: dict) -> list[int]:
  """`<|problem|> {statement} <|code|>` as ids: what a generator is given at evaluation time."""
  return [tokenizer.token_id("<|problem|>")] + tokenizer.encode(record_statement(record)) + [
      tokenizer.token_id("<|code|>")]


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
    return (f"data[{self.source}/{self.split}]: {self.records} records, kept {self.kept}, dropped "
            f"{self.dropped_too_long} longer than seq_len={self.seq_len} (max length {self.max_length_seen}, "
            f"mean {self.mean_length:.1f} tokens)")


@dataclasses.dataclass(frozen=True)
class Examples:
  """Tokenized examples of one split as flat arrays: tokens[offsets[i]:offsets[i+1]] is example i."""
  tokens: np.ndarray         # int32[total]
  offsets: np.ndarray        # int64[n + 1]
  prompt_length: np.ndarray  # int32[n]
  language_id: np.ndarray    # int32[n]
  task_id: np.ndarray        # int32[n]
  report: DatasetReport

  def __len__(self) -> int:
    return len(self.prompt_length)


def _config_key(cfg: ml_collections.ConfigDict, split: str) -> str:
  fields = {k: cfg[k] for k in sorted(cfg.keys()) if k not in ("worker_count", "read_threads")}
  return json.dumps([fields, split], sort_keys=True, default=str)


@functools.lru_cache(maxsize=16)
def _tokenize_split(config_key: str) -> Examples:
  fields, split = json.loads(config_key)
  cfg = ml_collections.ConfigDict(fields)
  tokenizer = load_tokenizer(cfg.tokenizer_path or None)
  records = load_records(cfg, split)
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
      source=cfg.source, split=split, records=len(records), kept=len(prompt_lengths),
      dropped_too_long=len(records) - len(prompt_lengths), seq_len=cfg.seq_len,
      max_length_seen=max(lengths, default=0), mean_length=float(np.mean(lengths)) if lengths else 0.0)
  (_log.warning if report.dropped_too_long else _log.info)(report.line())
  if not prompt_lengths:
    raise ValueError(f"{report.line()}: nothing left; raise data.seq_len or check the source")
  return Examples(
      tokens=np.concatenate(kept_tokens), offsets=np.asarray(offsets, np.int64),
      prompt_length=np.asarray(prompt_lengths, np.int32), language_id=np.asarray(language_ids, np.int32),
      task_id=np.asarray(task_ids, np.int32), report=report)


def load_examples(data_config: ml_collections.ConfigDict, split: str) -> Examples:
  """Tokenized examples of a split (cached per config); `.report` says what was dropped."""
  _check_config(data_config, split)
  return _tokenize_split(_config_key(data_config, split))


def dataset_report(data_config: ml_collections.ConfigDict, split: str) -> DatasetReport:
  return load_examples(data_config, split).report


def make_example(tokens: np.ndarray, prompt_length: int, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
  """(inputs int32[S], labels int32[S]) for one sequence of length <= S (see the module docstring)."""
  n = len(tokens)
  inputs = np.zeros(seq_len, np.int32)
  inputs[:n] = tokens
  labels = np.full(seq_len, IGNORE_LABEL, np.int32)
  # Position t predicts token t + 1; keep only targets inside the response (t + 1 >= prompt_length).
  start = max(prompt_length - 1, 0)
  labels[start:n - 1] = tokens[start + 1:n]
  return inputs, labels


@dataclasses.dataclass(frozen=True)
class _ToFixedLength:
  """Index -> fixed-length example dict (a picklable callable, so multiprocess workers can run it)."""
  examples: Examples
  seq_len: int

  def __call__(self, index: int) -> dict[str, np.ndarray]:
    ex = self.examples
    tokens = ex.tokens[ex.offsets[index]:ex.offsets[index + 1]]
    inputs, labels = make_example(tokens, int(ex.prompt_length[index]), self.seq_len)
    return {
        "inputs": inputs,
        "labels": labels,
        "prompt_length": ex.prompt_length[index],
        "language_id": ex.language_id[index],
        "task_id": ex.task_id[index],
        "puzzle_identifiers": np.int32(0),
    }


def make_dataset(data_config: ml_collections.ConfigDict, split: str, *, batch_size: int, seed: int,
                 shard_index: int = 0, shard_count: int = 1, repeat: bool) -> grain.IterDataset:
  """Batched examples of `split` (see the module docstring for the fields and layout).

  Args:
    data_config: `default_data_config()` or a config with the same fields.
    split: "train" (shuffled by `seed`, reshuffled each epoch) or "eval" (record order).
    batch_size: per-shard batch size B. With `repeat=True` every batch is full; with `repeat=False` the last
      batch may be smaller (nothing is dropped).
    seed: shuffle seed.
    shard_index, shard_count: this process's shard (e.g. jax.process_index(), jax.process_count()).
    repeat: repeat forever (training) or make one pass (evaluation).
  """
  if not 0 <= shard_index < shard_count:
    raise ValueError(f"shard_index must be in [0, shard_count={shard_count}), got {shard_index}")
  if batch_size < 1:
    raise ValueError(f"batch_size must be >= 1, got {batch_size}")
  examples = load_examples(data_config, split)
  if len(examples) < shard_count:
    raise ValueError(f"{examples.report.line()}: fewer examples than shard_count={shard_count}")
  ds = grain.MapDataset.range(len(examples))[shard_index::shard_count]
  if split == "train":
    ds = ds.shuffle(seed=seed)
  if repeat:
    ds = ds.repeat(None)
  ds = ds.map(_ToFixedLength(examples, data_config.seq_len))
  it_ds = ds.to_iter_dataset(grain.ReadOptions(num_threads=data_config.read_threads, prefetch_buffer_size=
                                               max(2 * batch_size, 16) if data_config.read_threads else 0))
  if data_config.worker_count > 0:
    # grain's workers read absl flags; outside absl.app.run nothing has parsed them (reference/deps.md #5).
    if not flags.FLAGS.is_parsed():
      flags.FLAGS.mark_as_parsed()
    # Workers take elements round-robin and the prefetcher interleaves them back in order, so batching
    # after it gives the same batches for any worker_count.
    it_ds = it_ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=data_config.worker_count))
  it_ds = it_ds.batch(batch_size, drop_remainder=False)
  return it_ds
