"""Optimizers: Adam-atan2 (the reference's), AdamW, sign-SGD for the puzzle table, and the LR schedules.

Adam-atan2 (hrm-spec.md 4.1; Everett et al. 2024, arXiv 2407.05872; the `adam-atan2` package the reference
uses): per element, with step t starting at 1,
    m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
    p <- p (1 - lr wd) - lr / (1 - b1^t) * atan2(m, sqrt(v) / sqrt(1 - b2^t))
The first-moment bias correction sits outside the atan2, and there is no epsilon. Weight decay applies to every
parameter the main optimizer sees (embeddings, heads, the Q bias), as in the reference.

The puzzle embedding table is trained as in the reference's sparse embedding (hrm-spec.md 1.4): its gradient is
the per-row sum over the batch (the scatter-add that `jnp.take`'s gradient produces), and only the rows that
received gradient are updated: w <- w (1 - lr wd) - lr sign(g).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import optax

from hrm_jax.models.hrm import FROZEN_PARAMS
from hrm_jax.train.config import OptimizerConfig


class ScaleByAdamAtan2State(NamedTuple):
  count: jax.Array
  mu: optax.Updates
  nu: optax.Updates


def scale_by_adam_atan2(b1: float = 0.9, b2: float = 0.95) -> optax.GradientTransformation:
  """The Adam-atan2 direction: atan2(m, sqrt(v)/sqrt(1-b2^t)) / (1-b1^t) (before the -lr scaling)."""

  def init_fn(params):
    zeros = jax.tree.map(lambda p: jnp.zeros_like(p, dtype=jnp.float32), params)
    return ScaleByAdamAtan2State(count=jnp.zeros([], jnp.int32), mu=zeros, nu=jax.tree.map(jnp.copy, zeros))

  def update_fn(updates, state, params=None):
    del params
    count = state.count + 1
    t = count.astype(jnp.float32)
    mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, updates)
    nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * jnp.square(g), state.nu, updates)
    c1 = 1 - b1**t
    c2 = jnp.sqrt(1 - b2**t)
    direction = jax.tree.map(lambda m, v: jnp.arctan2(m, jnp.sqrt(v) / c2) / c1, mu, nu)
    return direction, ScaleByAdamAtan2State(count=count, mu=mu, nu=nu)

  return optax.GradientTransformation(init_fn, update_fn)


def adam_atan2(learning_rate, b1: float = 0.9, b2: float = 0.95, weight_decay: float = 0.0):
  return optax.chain(
    scale_by_adam_atan2(b1, b2), optax.add_decayed_weights(weight_decay), optax.scale_by_learning_rate(learning_rate)
  )


def sign_sgd_touched_rows(learning_rate, weight_decay: float = 0.0) -> optax.GradientTransformation:
  """Sign-SGD with decoupled decay on the rows of a 2-D table that received gradient this step."""

  def init_fn(params):
    del params
    return optax.ScaleByScheduleState(count=jnp.zeros([], jnp.int32))

  def update_fn(updates, state, params):
    lr = learning_rate(state.count) if callable(learning_rate) else learning_rate

    def row_update(g, p):
      touched = jnp.any(g != 0, axis=-1, keepdims=True)
      return jnp.where(touched, -lr * (jnp.sign(g) + weight_decay * p), 0.0).astype(p.dtype)

    return jax.tree.map(row_update, updates, params), optax.ScaleByScheduleState(count=state.count + 1)

  return optax.GradientTransformation(init_fn, update_fn)


def reference_schedule(base_lr: float, warmup_steps: int, total_steps: int, min_ratio: float = 1.0):
  """hrm-spec.md 4.2: linear warm-up, then cosine to `min_ratio * base` (1.0 = constant).

  The reference increments its step counter before computing the rate, so update number n (from 1) uses
  lr(n); optax passes the number of previous updates, hence `count + 1`.
  """

  def schedule(count):
    t = count.astype(jnp.float32) + 1.0
    warm = base_lr * t / max(warmup_steps, 1)
    progress = jnp.clip((t - warmup_steps) / max(total_steps - warmup_steps, 1), 0.0, 1.0)
    cosine = base_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + jnp.cos(math.pi * progress)))
    return jnp.where(t < warmup_steps, warm, cosine)

  return schedule


def param_labels(params) -> dict:
  """'frozen' for H_init/L_init, 'puzzle' for the puzzle table, 'main' for everything else."""

  def label(path, _):
    top = getattr(path[0], "key", "")
    if top in FROZEN_PARAMS:
      return "frozen"
    if top == "puzzle_emb":
      return "puzzle"
    return "main"

  return jax.tree_util.tree_map_with_path(label, params)


def make_optimizer(
  config: ml_collections.ConfigDict | OptimizerConfig, total_steps: int
) -> optax.GradientTransformation:
  """Builds the optimizer from `config.optimizer` (fields: `hrm_jax.train.config.OptimizerConfig`)."""
  opt = config if isinstance(config, OptimizerConfig) else OptimizerConfig.from_config(config)
  schedule = reference_schedule(opt.learning_rate, opt.warmup_steps, total_steps, opt.lr_min_ratio)
  if opt.name == "adam_atan2":
    main = adam_atan2(schedule, opt.b1, opt.b2, opt.weight_decay)
  else:  # "adamw" (OptimizerConfig.validate admits no other name)
    main = optax.adamw(schedule, opt.b1, opt.b2, weight_decay=opt.weight_decay)
  if opt.grad_clip_norm and opt.grad_clip_norm > 0:
    main = optax.chain(optax.clip_by_global_norm(opt.grad_clip_norm), main)
  puzzle_schedule = reference_schedule(opt.puzzle_emb_lr, opt.warmup_steps, total_steps, opt.lr_min_ratio)
  puzzle = sign_sgd_touched_rows(puzzle_schedule, opt.puzzle_emb_weight_decay)
  return optax.multi_transform(
    {"main": main, "puzzle": puzzle, "frozen": optax.set_to_zero()}, lambda p: param_labels(p)
  )
