"""Tiny training configs and an in-memory Grain copy task for trainer tests."""

import os
import sys

import grain
import ml_collections
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "configs"))
import common  # noqa: E402  (configs/common.py)


def fake_devices_env(devices: int, **extra) -> dict:
  """The environment for a subprocess with `devices` fake CPU devices (XLA reads the count once, at start): the
  session's environment (conftest.py: compilation cache, optimisation off) with the device count added to any
  XLA_FLAGS the caller set."""
  flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}".strip()
  return dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS=flags, **extra)


def tiny_train_config(num_steps=6) -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.model = common.code_model(
    vocab_size=16, seq_len=8, hidden_size=16, num_heads=2, expansion=2.0, H_layers=1, L_layers=1, halt_max_steps=2
  )
  config.data = ml_collections.ConfigDict({"seq_len": 8})
  config.optimizer = common.optimizer(learning_rate=1e-2, warmup_steps=2, lr_min_ratio=0.1, grad_clip_norm=1.0)
  config.train = common.train(
    batch_size=4, eval_batch_size=4, num_steps=num_steps, log_every=1, checkpoint_every=2, keep_checkpoints=2
  )
  config.mesh = common.mesh()
  return config


def _copy_examples(n, seq_len, vocab, seed):
  rng = np.random.default_rng(seed)
  out = []
  for _ in range(n):
    tokens = rng.integers(2, vocab, size=seq_len + 1).astype(np.int32)
    labels = tokens[1:].copy()
    labels[:2] = -100  # the first tokens are the "prompt"
    out.append(
      {
        "inputs": tokens[:-1],
        "labels": labels,
        "prompt_length": np.int32(3),
        "language_id": np.int32(4),
        "task_id": np.int32(0),
        "puzzle_identifiers": np.int32(0),
      }
    )
  return out


def copy_task_datasets(config):
  from hrm_jax.train.trainer import Datasets

  s, v, b = config.model.seq_len, config.model.vocab_size, config.train.batch_size

  def train():
    ds = grain.MapDataset.source(_copy_examples(64, s, v, 0)).shuffle(seed=0).repeat().batch(b)
    return iter(ds.to_iter_dataset())

  def evaluate():
    return iter(grain.MapDataset.source(_copy_examples(10, s, v, 1)).batch(config.train.eval_batch_size))

  return Datasets(train=train, eval=evaluate)
