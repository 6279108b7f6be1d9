"""The native (reference) mode from Python: one segment from a given carry, or the whole ACT loop.

    from hrm_jax.inference import native
    model, params = native.load("workdir")                 # e.g. made by `hrm-jax import-torch`
    out = native.run_segment(model, params, batch)         # one segment from H_init/L_init (or carry=...)
    out = native.run_act(model, params, batch, max_steps=16, dynamic_halting=False)

`batch` holds `inputs` int [batch, seq_len] and `puzzle_identifiers` int [batch] as in the reference's data.
Compare against the reference one segment at a time (the 16-segment rollout is chaotic, hrm-spec.md 5.4).
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
