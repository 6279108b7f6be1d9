"""A synthetic in-memory Grain dataset (`config.data.source = "copy_task"`) for tests, benchmarks and sweeps.

Each example is a random token sequence whose labels are the inputs shifted by one (next-token copy), with the
first two labels masked as a prompt. Needs nothing on disk, so a training process started from a config file
(preemption tests, the sweep test, multi-host tests) runs anywhere. Fields: `num_train`, `num_eval` (0: no
evaluation), `seed`.
"""

from __future__ import annotations

import grain
import ml_collections
import numpy as np


def copy_task_config(**overrides) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict(dict(source="copy_task", num_train=64, num_eval=16, seed=0))
  c.update(overrides)
  return c


def examples(n: int, seq_len: int, vocab_size: int, seed: int) -> list[dict[str, np.ndarray]]:
  """n examples with `inputs`/`labels` int32 [seq_len] and the conditioning scalars."""
  rng = np.random.default_rng(seed)
  out = []
  for _ in range(n):
    tokens = rng.integers(2, vocab_size, size=seq_len + 1).astype(np.int32)
    labels = tokens[1:].copy()
    labels[:2] = -100
    out.append(
      {
        "inputs": tokens[:-1],
        "labels": labels,
        "prompt_length": np.int32(3),
        "language_id": np.int32(0),
        "task_id": np.int32(0),
        "puzzle_identifiers": np.int32(0),
      }
    )
  return out


def make_dataset(
  data: ml_collections.ConfigDict,
  model: ml_collections.ConfigDict,
  split: str,
  global_batch_size: int,
  seed: int,
  shard_index: int,
  shard_count: int,
  repeat: bool,
):
  """Batches of this process's `global_batch_size / shard_count` rows: train shuffled and repeated (a
  checkpointable iterator), eval finite. Process i takes rows [i * b, (i + 1) * b) of each global batch, so
  the global batch (and its row order) is the same for any number of processes."""
  if split == "train":
    n, split_seed = data.num_train, data.seed
  else:
    n, split_seed = data.num_eval, data.seed + 1
  if global_batch_size % shard_count:
    raise ValueError(f"batch size {global_batch_size} does not divide into {shard_count} processes")
  local = global_batch_size // shard_count
  ds = grain.MapDataset.source(examples(n, model.seq_len, model.vocab_size, split_seed))
  if split == "train":
    ds = ds.shuffle(seed=seed)
  if repeat:
    ds = ds.repeat()
  ds = ds.batch(global_batch_size, drop_remainder=repeat)
  ds = ds.map(lambda b: {k: v[shard_index * local : (shard_index + 1) * local] for k, v in b.items()})
  return ds.to_iter_dataset()
