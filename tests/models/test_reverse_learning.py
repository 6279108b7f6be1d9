"""Reverse-order learning (`reverse_learning`): the low level's prediction error signal fed into every H update.
Off is the faithful model; on starts identical (zero-init projection) and learns through the graded H update."""

import jax
import jax.numpy as jnp
import numpy as np
from conftest import random_batch, tiny_config

from hrm_jax.models import hrm


def _with_random_projection(variables, seed=7):
  p = variables["params"]["reverse_proj"]
  variables["params"]["reverse_proj"] = 0.3 * jax.random.normal(jax.random.key(seed), p.shape, p.dtype)
  return variables


def test_feedback_is_the_documented_signal():
  """reverse_feedback = [p_top * sqrt(d) * E[argmax p], H(p) / log V] @ reverse_proj, p = softmax(lm_head(z_L))."""
  cfg = tiny_config(reverse_learning=True)
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  variables = _with_random_projection(variables)
  z_L = jax.random.normal(jax.random.key(1), (2, 5, cfg.hidden_size))
  got = np.asarray(model.apply(variables, z_L, method=hrm.HRMCore.reverse_feedback))
  p = variables["params"]
  logits = np.asarray(z_L, np.float64) @ np.asarray(p["lm_head"]["kernel"], np.float64)
  probs = np.exp(logits - logits.max(-1, keepdims=True))
  probs /= probs.sum(-1, keepdims=True)
  top = probs.argmax(-1)
  guess = np.asarray(p["embed_tokens"]["embedding"])[top] * (probs.max(-1, keepdims=True) * np.sqrt(cfg.hidden_size))
  entropy = -(probs * np.log(probs)).sum(-1, keepdims=True) / np.log(cfg.vocab_size)
  want = np.concatenate([guess, entropy], -1) @ np.asarray(p["reverse_proj"], np.float64)
  np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)


def test_off_is_faithful_on_starts_equal_then_differs_and_learns():
  """HRM (TRM with the flag on: tests/models/test_trm.py's decoding test)."""
  off_cfg, on_cfg = tiny_config(H_cycles=1, L_cycles=1), tiny_config(H_cycles=1, L_cycles=1, reverse_learning=True)
  off, off_vars = hrm.init_params(off_cfg, jax.random.key(0))
  on, on_vars = hrm.init_params(on_cfg, jax.random.key(0))
  assert "reverse_proj" not in off_vars["params"]
  assert on_vars["params"]["reverse_proj"].shape == (on_cfg.hidden_size + 1, on_cfg.hidden_size)
  assert hrm.count_params(on_vars) - hrm.count_params(off_vars) == (on_cfg.hidden_size + 1) * on_cfg.hidden_size
  batch = random_batch(on_cfg, 2)
  z0 = off.apply(off_vars, 2, off_cfg.total_len, method=hrm.HRMCore.initial_state)
  shared = {k: v for k, v in on_vars["params"].items() if k != "reverse_proj"}
  for a, b in zip(jax.tree.leaves(shared), jax.tree.leaves(off_vars["params"])):
    np.testing.assert_array_equal(a, b)  # the same initial weights apart from the projection

  def run(model, variables):
    (z_H, z_L), logits, q = hrm.forward_segment(model, variables, *z0, batch)
    return logits.astype(jnp.float32), z_H

  base_logits, base_zh = jax.jit(lambda v: run(off, v))(off_vars)
  on_run = jax.jit(lambda v: run(on, v))
  logits, z_H = on_run(on_vars)
  # Zero projection: the faithful model's values (up to XLA fusing the extra zero term differently).
  np.testing.assert_allclose(logits, base_logits, atol=1e-5)
  np.testing.assert_allclose(z_H, base_zh, atol=1e-5)
  moved = on_run(_with_random_projection(on_vars))[0]
  assert not np.allclose(moved, base_logits, atol=1e-3)

  def loss(v):
    return jnp.sum(run(on, v)[0] ** 2)

  grads = jax.jit(jax.grad(loss))(on_vars)["params"]
  assert float(jnp.abs(grads["reverse_proj"]).max()) > 0  # the graded H update's feedback reaches the loss
