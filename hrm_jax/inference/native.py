"""The native (reference) mode from Python, for the HRM and the TRM (`arch="hrm"` / `"trm"`): one segment, the
ACT loop, one ACT call with its loss (the reference's `ACTLossHead` per call) and one training call's gradients.

    from hrm_jax.inference import native
    model, params = native.load("workdir")                 # e.g. made by `hrm-jax import-torch`
    out = native.run_segment(model, params, batch)         # one segment from H_init/L_init (or carry=...)
    out = native.run_act(model, params, batch, max_steps=16, dynamic_halting=False)
    carry = native.initial_carry(model, batch)             # every slot halted: the first call takes the batch
    call = native.act_call(model, params, carry, batch)    # new carry, loss, metrics, outputs
    grads = native.train_call(model, params, carry, batch) # loss and d(loss / batch) / d(each parameter)

`batch` holds `inputs` int [batch, seq_len] and `puzzle_identifiers` int [batch] as in the reference's data
(`labels` too for the loss). Compare against the reference one segment or one call at a time (the 16-segment
rollout is chaotic, hrm-spec.md 5.4). The loss and gradients are the train step's (`hrm_jax.train.step.
act_call_loss`, over `hrm_jax.losses`), not a copy: what the trainer optimizes is what is compared.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from hrm_jax.models import hrm


def load(workdir: str, step: int | None = None):
  from hrm_jax.train import checkpoint

  model, params, _ = checkpoint.load_for_inference(workdir, step)
  return model, params


def _full_batch(cfg: hrm.HRMConfig, batch: dict) -> dict:
  inputs = np.asarray(batch["inputs"], np.int32)
  if inputs.ndim != 2 or inputs.shape[1] != cfg.seq_len:
    raise ValueError(f"inputs must be int [batch, {cfg.seq_len}] for this model, got shape {inputs.shape}")
  out = {k: np.asarray(v, np.int32) for k, v in hrm.dummy_batch(cfg, inputs.shape[0]).items()}
  out.update({k: np.asarray(v, np.int32) for k, v in batch.items()})
  return out


@functools.partial(jax.jit, static_argnums=0)
def _segment(model, params, z_H, z_L, batch):
  (z_H, z_L), logits, (q_halt, q_cont) = hrm.forward_segment(model, params, z_H, z_L, batch)
  return {
    "z_H": z_H,
    "z_L": z_L,
    "logits": logits.astype(jnp.float32),
    "q_halt_logits": q_halt,
    "q_continue_logits": q_cont,
  }


def run_segment(model: hrm.HRMCore, params, batch: dict, carry: tuple | None = None) -> dict[str, np.ndarray]:
  """One segment. carry: (z_H, z_L) each [batch, prefix+seq_len, hidden]; default H_init/L_init."""
  batch = _full_batch(model.cfg, batch)
  if carry is None:
    carry = model.apply(params, batch["inputs"].shape[0], model.cfg.total_len, method=hrm.HRMCore.initial_state)
  return jax.device_get(_segment(model, params, jnp.asarray(carry[0]), jnp.asarray(carry[1]), batch))


@functools.partial(jax.jit, static_argnums=(0, 4))
def _act(model, params, batch, max_steps, dynamic_halting):
  return hrm.act_evaluate(model, params, batch, max_steps, dynamic_halting=dynamic_halting)


def run_act(
  model: hrm.HRMCore, params, batch: dict, max_steps: int | None = None, dynamic_halting: bool = False
) -> dict[str, np.ndarray]:
  """The ACT loop as the reference evaluates (all `max_steps` segments) or with dynamic halting."""
  batch = _full_batch(model.cfg, batch)
  out = _act(model, params, batch, max_steps or model.cfg.halt_max_steps, dynamic_halting)
  out = jax.device_get(out)
  out["predictions"] = np.argmax(out["logits"], axis=-1)
  return out


def initial_carry(model: hrm.HRMCore, batch: dict) -> hrm.ACTCarry:
  """The ACT carry before the first call (the reference's `initial_carry`): every slot halted, so the first
  `act_call` resets it to H_init/L_init and takes `batch`. Fields z_H, z_L [batch, prefix+seq_len, hidden],
  steps int32 [batch], halted bool [batch], data (the batch each slot works on)."""
  return hrm.initial_carry(model, _full_batch(model.cfg, batch))


def _rng(rng):
  return jax.random.key(0) if rng is None else rng


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _act_call(model, loss_type, train, params, carry, batch, rng):
  from hrm_jax.train import step

  loss, (carry, metrics, out) = step.act_call_loss(model, loss_type, params, carry, batch, rng, train=train)
  return carry, loss, metrics, out


def _outputs(out: hrm.ACTOutputs) -> dict[str, np.ndarray]:
  outputs = {
    "logits": np.asarray(out.logits, np.float32),
    "q_halt_logits": np.asarray(out.q_halt_logits),
    "q_continue_logits": np.asarray(out.q_continue_logits),
    "predictions": np.argmax(np.asarray(out.logits), axis=-1),
  }
  if out.target_q_continue is not None:
    outputs["target_q_continue"] = np.asarray(out.target_q_continue)
  return outputs


def act_call(
  model: hrm.HRMCore,
  params,
  carry: hrm.ACTCarry,
  batch: dict,
  rng=None,
  *,
  train: bool = True,
  loss_type: str = "stablemax",
) -> dict:
  """One ACT call from `carry` with the loss head: what the reference's `ACTLossHead.forward` returns per call.

  Halted slots reset and take `batch`'s rows, every slot runs one segment, halting is decided (training: the Q
  head with exploration; `train=False`: only at halt_max_steps, as the reference's eval mode), then the loss.
  Set the config's `halt_exploration_prob=0` to compare with a reference whose random draws differ from ours.

  Args:
    params: the model's variables ({"params": ...}); carry: `initial_carry` or a previous call's `carry`;
    batch: `inputs`, `labels` int [batch, seq_len] and the conditioning; rng: exploration key (default key 0).
  Returns:
    dict: `carry` (the new `hrm.ACTCarry`), `loss` (summed over the batch, as ACTLossHead returns it),
    `metrics` (sums: lm_loss, q_halt_loss, q_continue_loss unless `no_ACT_continue`, count, accuracy,
    exact_accuracy, q_halt_accuracy, steps), `outputs` (logits fp32 [batch, seq, vocab], q_halt_logits,
    q_continue_logits fp32 [batch], target_q_continue when computed, predictions) and `all_halted`.
  """
  batch = _full_batch(model.cfg, batch)
  new_carry, loss, metrics, out = _act_call(model, loss_type, train, params["params"], carry, batch, _rng(rng))
  return {
    "carry": new_carry,
    "loss": float(loss),
    "metrics": {k: float(v) for k, v in metrics.items()},
    "outputs": _outputs(out),
    "all_halted": bool(np.all(np.asarray(new_carry.halted))),
  }


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _train_call(model, loss_type, global_batch, params, carry, batch, rng):
  from hrm_jax.train import step

  def scaled(p):
    loss, aux = step.act_call_loss(model, loss_type, p, carry, batch, rng)
    return loss / global_batch, (loss, aux)

  (_, (loss, (new_carry, metrics, _))), grads = jax.value_and_grad(scaled, has_aux=True)(params)
  return loss, metrics, grads, new_carry


def train_call(
  model: hrm.HRMCore,
  params,
  carry: hrm.ACTCarry,
  batch: dict,
  rng=None,
  *,
  loss_type: str = "stablemax",
  global_batch: int | None = None,
) -> dict:
  """One training call's loss and per-parameter gradients (the train step's loss, before the optimizer).

  The gradient is of loss / global_batch (default: this batch's rows), as the train step differentiates it and
  as the reference's pretrain.py scales the loss before `backward`. Gradients flow only where the model's
  schedule lets them: the last `graded_applications` applications of the segment (HRM: the one-step gradient;
  TRM: the whole last H cycle), never into the carry.

  Returns:
    dict: `loss` (summed over the batch), `metrics` (as `act_call`), `grads` (a NumPy tree shaped like
    params["params"]; zeros for H_init/L_init, which reach the loss only through the stop-gradient carry) and
    `carry` (the new carry).
  """
  batch = _full_batch(model.cfg, batch)
  n = global_batch or batch["inputs"].shape[0]
  loss, metrics, grads, new_carry = _train_call(model, loss_type, n, params["params"], carry, batch, _rng(rng))
  return {
    "loss": float(loss),
    "metrics": {k: float(v) for k, v in metrics.items()},
    "grads": jax.device_get(grads),
    "carry": new_carry,
  }
