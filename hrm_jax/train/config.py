"""The supervised trainer's settings (`config.train`), declared once; imports no JAX.

`configs/common.py` starts config files' `train` sections from these defaults; the trainer reads them through
`TrainConfig.from_config`, which names any unknown, wrongly typed or out-of-range field before anything is
compiled (a `log_every=0` must not surface as a ZeroDivisionError after minutes of compiling).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from hrm_jax import config_fields

LOSS_TYPES = ("stablemax", "softmax")
METRIC_WRITERS = ("auto", "tensorboard", "clu")  # config.train.metric_writer (hrm_jax/train/metrics.py)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  seed: int = 0
  batch_size: int = 768  # global batch (split over processes and devices)
  eval_batch_size: int = 64
  num_steps: int = 100_000
  log_every: int = 100  # steps between metric lines (console, TensorBoard, metrics.jsonl)
  eval_every: int = 0  # steps between held-out evaluations during training (0: only at the end)
  checkpoint_every: int = 1000
  keep_checkpoints: int = 3
  loss_type: str = "stablemax"  # stablemax (the reference's) | softmax
  dynamic_halting: bool = False  # evaluation halts by the Q head (True) or runs halt_max_steps (False)
  eval_halt_max_steps: int = 0  # ACT budget at evaluation (0: config.model.halt_max_steps)
  sample_prompts: int = 2  # generations shown at the end of the main job
  sample_max_new_tokens: int = 64
  generation_eval_size: int = 32  # held-out prompts greedily generated for "generation exact"
  microbatches: int = 1  # gradient accumulation: the batch in this many parts, one update
  # A workdir (or its checkpoints/ or checkpoints/<step> directory) whose parameters start this run: step 0, a
  # fresh optimizer and schedule, e.g. QAT (config.model.quant) from a trained fp32 run. Ignored when the run's own
  # workdir has a checkpoint: resuming wins. "" = a random initialisation.
  init_from: str = ""
  # TensorBoard events: "auto" (no TensorFlow for a local workdir), "tensorboard" or "clu" (hrm_jax/train/metrics.py)
  metric_writer: str = "auto"

  @classmethod
  def from_config(cls, config: Mapping[str, Any]) -> TrainConfig:
    return config_fields.from_mapping(cls, config, "train")

  def validate(self) -> None:
    for name in (
      "batch_size",
      "eval_batch_size",
      "num_steps",
      "log_every",
      "checkpoint_every",
      "keep_checkpoints",
      "sample_max_new_tokens",
      "generation_eval_size",
      "microbatches",
    ):
      value = getattr(self, name)
      config_fields.require(value >= 1, "train", name, value, "must be >= 1")
    for name in ("eval_every", "eval_halt_max_steps", "sample_prompts"):
      value = getattr(self, name)
      config_fields.require(value >= 0, "train", name, value, "must be >= 0 (0 turns it off)")
    config_fields.require(
      self.loss_type in LOSS_TYPES, "train", "loss_type", self.loss_type, f"expected one of {LOSS_TYPES}"
    )
    config_fields.require(
      self.metric_writer in METRIC_WRITERS,
      "train",
      "metric_writer",
      self.metric_writer,
      f"expected one of {METRIC_WRITERS}",
    )
    config_fields.require(
      self.batch_size % self.microbatches == 0,
      "train",
      "microbatches",
      self.microbatches,
      f"must divide config.train.batch_size={self.batch_size}",
    )


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
  """`config.optimizer`: the reference's optimizer (Adam-atan2, b=(0.9, 0.95), wd 0.1, warm-up then constant)."""

  name: str = "adam_atan2"  # adam_atan2 (the reference's) | adamw
  learning_rate: float = 1e-4
  warmup_steps: int = 2000
  lr_min_ratio: float = 1.0  # cosine decay to this fraction of the peak (1.0: constant after warm-up)
  b1: float = 0.9
  b2: float = 0.95
  weight_decay: float = 0.1
  grad_clip_norm: float = 0.0  # 0: no clipping
  puzzle_emb_lr: float = 1e-2  # sign-SGD of the puzzle embedding rows (native mode)
  puzzle_emb_weight_decay: float = 0.1

  @classmethod
  def from_config(cls, config: Mapping[str, Any]) -> OptimizerConfig:
    return config_fields.from_mapping(cls, config, "optimizer")

  def validate(self) -> None:
    config_fields.require(
      self.name in ("adam_atan2", "adamw"), "optimizer", "name", self.name, "expected 'adam_atan2' or 'adamw'"
    )
    config_fields.require(self.warmup_steps >= 0, "optimizer", "warmup_steps", self.warmup_steps, "must be >= 0")
    config_fields.require(self.learning_rate > 0, "optimizer", "learning_rate", self.learning_rate, "must be > 0")
    config_fields.require(
      0.0 <= self.lr_min_ratio <= 1.0, "optimizer", "lr_min_ratio", self.lr_min_ratio, "must be in [0, 1]"
    )
