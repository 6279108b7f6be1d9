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
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
                    carry=hrm.initial_carry(model, batch), first_nonfinite_step=jnp.full((), -1, jnp.int32))


def train_step(model: hrm.HRMCore, tx: optax.GradientTransformation, loss_type: str, global_batch: int,
               rng: jax.Array, state: TrainState, batch) -> tuple[TrainState, dict]:
  """One ACT call + one optimizer update. The dropout/exploration key is derived from the step, so a
  resumed run draws exactly what an uninterrupted one would."""
  step_rng = jax.random.fold_in(rng, state.step)

  def loss_fn(params):
    carry, out = hrm.act_step(model, {"params": params}, state.carry, batch, step_rng, train=True)
    loss, metrics = losses.act_loss(out.logits, carry.data["labels"], out.q_halt_logits, out.q_continue_logits,
                                    out.target_q_continue, carry.halted, carry.steps, loss_type)
    return loss / global_batch, (carry, metrics)

  (loss, (carry, metrics)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  grad_norm = optax.global_norm(grads)
  finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  # A non-finite step changes nothing but the flag: the state stays the last good one.
  keep = lambda new, old: jax.tree.map(lambda n, o: jnp.where(finite, n, o), new, old)
  new_state = TrainState(
      step=state.step + 1, params=keep(params, state.params), opt_state=keep(opt_state, state.opt_state),
      carry=keep(carry, state.carry),
      first_nonfinite_step=jnp.where((state.first_nonfinite_step < 0) & ~finite, state.step,
                                     state.first_nonfinite_step))
  metrics = dict(metrics, loss=loss, grad_norm=grad_norm)
  return new_state, metrics


def eval_step(model: hrm.HRMCore, loss_type: str, params, batch, max_steps, dynamic_halting: bool) -> dict:
  """Whole ACT rollouts (one while_loop) and the reference's metrics, as sums over the batch."""
  out = hrm.act_evaluate(model, {"params": params}, batch, max_steps, dynamic_halting=dynamic_halting)
  halted = jnp.ones(out["steps"].shape, bool)
  _, metrics = losses.act_loss(out["logits"], batch["labels"], out["q_halt_logits"], out["q_continue_logits"],
                               None, halted, out["steps"], loss_type)
  metrics["sequences"] = jnp.asarray(out["steps"].shape[0], jnp.float32)
  return metrics
