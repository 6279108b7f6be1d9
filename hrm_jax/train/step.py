"""The jitted train and eval steps (pure functions of the train state and a batch)."""

from __future__ import annotations

from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from hrm_jax import losses
from hrm_jax.models import hrm


@flax.struct.dataclass
class TrainState:
  """Everything a training run carries from step to step (and checkpoints).

  step: int32 scalar; params: the model's "params" collection; opt_state: the optax state;
  carry: the ACT carry (slots keep their example and latent state across steps, as the reference does);
  first_nonfinite_step: -1, or the first step whose loss or gradient was not finite (its update was skipped).
  """

  step: jax.Array
  params: Any
  opt_state: Any
  carry: hrm.ACTCarry
  first_nonfinite_step: jax.Array


def create_train_state(model: hrm.HRMCore, params, tx: optax.GradientTransformation, batch) -> TrainState:
  return TrainState(
    step=jnp.zeros((), jnp.int32),
    params=params,
    opt_state=tx.init(params),
    carry=hrm.initial_carry(model, batch),
    first_nonfinite_step=jnp.full((), -1, jnp.int32),
  )


@flax.struct.dataclass
class GuardedUpdate:
  """An optimizer update that took effect only if `finite` (scalar bool): else params/opt_state are the old ones."""

  params: Any
  opt_state: Any
  finite: jax.Array
  grad_norm: jax.Array


def keep_if_finite(finite: jax.Array, new: Any, old: Any) -> Any:
  """`new` where `finite`, else `old` (leaf by leaf, inside jit)."""
  return jax.tree.map(lambda n, o: jnp.where(finite, n, o), new, old)


def guarded_update(
  tx: optax.GradientTransformation, params: Any, opt_state: Any, grads: Any, loss: jax.Array
) -> GuardedUpdate:
  """One optimizer update that a non-finite loss or gradient norm turns into a no-op (supervised and RL steps).

  The trainer reads `finite` (SFT: the first such step is kept in the state) and stops with the step named;
  the state stays the last good one, so a checkpoint never holds the NaN.
  """
  grad_norm = optax.global_norm(grads)
  finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
  updates, new_opt_state = tx.update(grads, opt_state, params)
  new_params = optax.apply_updates(params, updates)
  return GuardedUpdate(
    params=keep_if_finite(finite, new_params, params),
    opt_state=keep_if_finite(finite, new_opt_state, opt_state),
    finite=finite,
    grad_norm=grad_norm,
  )


def _to_microbatches(x: jax.Array, k: int) -> jax.Array:
  """[batch, ...] -> [k, batch / k, ...], microbatch j = rows j, j + k, ... (each device's rows stay local)."""
  return x.reshape((x.shape[0] // k, k) + x.shape[1:]).swapaxes(0, 1)


def _from_microbatches(x: jax.Array) -> jax.Array:
  return x.swapaxes(0, 1).reshape((x.shape[0] * x.shape[1],) + x.shape[2:])


def act_call_loss(model: hrm.HRMCore, loss_type: str, params, carry: hrm.ACTCarry, batch, rng, *, train: bool = True):
  """One ACT call and its loss: what the reference's `ACTLossHead` computes per call (the train step's loss).

  params: the "params" collection; rng: one key or one key per row (exploration, `hrm.act_step`).
  Returns (loss summed over the batch, (new carry, metrics sums, `hrm.ACTOutputs`)); the train step divides the
  loss by the global batch (the reference's pretrain.py scales it the same way before `backward`).
  """
  carry, out = hrm.act_step(model, {"params": params}, carry, batch, rng, train=train)
  q_terms = (out.q_halt_logits, out.q_continue_logits, out.target_q_continue, carry.halted, carry.steps, loss_type)
  labels = carry.data["labels"]
  if hrm.is_packed(carry.data):  # several sequences per row: per-sequence loss and Q targets
    loss, metrics = losses.packed_act_loss(
      out.logits, labels, carry.data["segment_ids"], carry.data["q_read"], *q_terms
    )
  else:
    loss, metrics = losses.act_loss(out.logits, labels, *q_terms)
  return loss, (carry, metrics, out)


def train_step(
  model: hrm.HRMCore,
  tx: optax.GradientTransformation,
  loss_type: str,
  global_batch: int,
  rng: jax.Array,
  state: TrainState,
  batch,
  microbatches: int = 1,
) -> tuple[TrainState, dict]:
  """One ACT call + one optimizer update.

  The exploration keys are derived from the step and the row (one key per batch row), so a resumed run draws
  exactly what an uninterrupted one would, and `microbatches` > 1 (gradient accumulation: the batch and the
  carry split into that many parts, gradients summed under a `lax.scan`) gives the same update as one pass.
  """
  step_rng = jax.random.fold_in(rng, state.step)
  rows = batch["inputs"].shape[0]
  row_keys = jax.random.split(step_rng, rows)

  def loss_fn(params, carry, data, keys):
    loss, (carry, metrics, _) = act_call_loss(model, loss_type, params, carry, data, keys)
    return loss / global_batch, (carry, metrics)  # packed: per row (the ACT unit), summed over its sequences

  grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
  if microbatches == 1:
    (loss, (carry, metrics)), grads = grad_fn(state.params, state.carry, batch, row_keys)
  else:
    if rows % microbatches:
      raise ValueError(f"config.train.microbatches={microbatches} must divide the batch ({rows} rows)")
    parts = jax.tree.map(lambda x: _to_microbatches(x, microbatches), (state.carry, dict(batch), row_keys))
    first = jax.tree.map(lambda x: x[0], parts)
    shapes = jax.eval_shape(lambda: grad_fn(state.params, *first))
    (loss_shape, (_, metric_shapes)), grad_shapes = shapes
    zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), (loss_shape, metric_shapes, grad_shapes))

    def accumulate(totals, part):
      (l, (c, m)), g = grad_fn(state.params, *part)
      return jax.tree.map(jnp.add, totals, (l, m, g)), c

    (loss, metrics, grads), carries = jax.lax.scan(accumulate, zeros, parts)
    carry = jax.tree.map(_from_microbatches, carries)
  update = guarded_update(tx, state.params, state.opt_state, grads, loss)
  finite = update.finite
  new_state = TrainState(
    step=state.step + 1,
    params=update.params,
    opt_state=update.opt_state,
    carry=keep_if_finite(finite, carry, state.carry),
    first_nonfinite_step=jnp.where((state.first_nonfinite_step < 0) & ~finite, state.step, state.first_nonfinite_step),
  )
  metrics = dict(metrics, loss=loss, grad_norm=update.grad_norm)
  return new_state, metrics


def eval_step(model: hrm.HRMCore, loss_type: str, params, batch, max_steps, dynamic_halting: bool) -> dict:
  """Whole ACT rollouts (one while_loop) and the reference's metrics, as sums over the batch."""
  out = hrm.act_evaluate(model, {"params": params}, batch, max_steps, dynamic_halting=dynamic_halting)
  halted = jnp.ones(out["steps"].shape, bool)
  _, metrics = losses.act_loss(
    out["logits"],
    batch["labels"],
    out["q_halt_logits"],
    out["q_continue_logits"],
    None,
    halted,
    out["steps"],
    loss_type,
  )
  metrics["sequences"] = jnp.asarray(out["steps"].shape[0], jnp.float32)
  return metrics
