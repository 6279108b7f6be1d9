"""Memory/speed options change nothing but memory and speed: gradient accumulation, remat policies and scan
over layers give the losses and updates of the plain step; bf16 compute keeps fp32 master weights."""

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from conftest import random_batch, tiny_causal_config

from hrm_jax.models import hrm, layers
from hrm_jax.train import optimizers
from hrm_jax.train import step as step_lib

OPT = ml_collections.ConfigDict(
  dict(
    name="adamw",
    learning_rate=1e-2,
    warmup_steps=1,
    lr_min_ratio=1.0,
    b1=0.9,
    b2=0.95,
    weight_decay=0.1,
    grad_clip_norm=0.0,
    puzzle_emb_lr=1e-2,
    puzzle_emb_weight_decay=0.1,
  )
)
BATCH = 8


def run_steps(cfg, params=None, microbatches=1, steps=2):
  """(per-step [loss, lm_loss, grad_norm], final params) for `steps` train steps on fixed batches."""
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  params = variables["params"] if params is None else params
  tx = optimizers.make_optimizer(OPT, 10)
  batches = [{k: np.asarray(v) for k, v in random_batch(cfg, BATCH, seed=s).items()} for s in range(steps)]
  state = step_lib.create_train_state(model, params, tx, batches[0])
  fn = jax.jit(lambda s, b: step_lib.train_step(model, tx, "softmax", BATCH, jax.random.key(3), s, b, microbatches))
  out = []
  for b in batches:
    state, m = fn(state, b)
    out.append([float(m["loss"]), float(m["lm_loss"]), float(m["grad_norm"])])
  return np.asarray(out), state.params


@pytest.fixture(scope="module")
def base():
  cfg = tiny_causal_config(H_layers=2, L_layers=2, halt_max_steps=3, halt_exploration_prob=0.5)
  return cfg, run_steps(cfg)


def test_gradient_accumulation_matches_one_pass(base):
  cfg, (losses, params) = base
  acc_losses, acc_params = run_steps(cfg, microbatches=4)
  np.testing.assert_allclose(acc_losses, losses, rtol=1e-5, atol=1e-6)
  jax.tree.map(
    lambda a, b: np.testing.assert_allclose(a, b, atol=1e-3), acc_params, params
  )  # Adam amplifies fp noise in ~0 gradients


@pytest.mark.parametrize("policy", ["full", "block_outputs"])
def test_remat_policies_match(base, policy):
  cfg, (losses, params) = base
  remat_losses, remat_params = run_steps(dataclasses.replace(cfg, remat_policy=policy))
  np.testing.assert_allclose(remat_losses, losses, rtol=1e-5, atol=1e-6)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-3), remat_params, params)


def test_scan_over_layers_matches_unrolled(base):
  cfg, (losses, _) = base
  scan_cfg = dataclasses.replace(cfg, scan_layers=True)
  _, unrolled = hrm.init_params(cfg, jax.random.key(0))
  stacked = layers.scan_layer_params(unrolled["params"])
  _, scan_vars = hrm.init_params(scan_cfg, jax.random.key(0))
  assert jax.tree.map(jnp.shape, stacked) == jax.tree.map(jnp.shape, scan_vars["params"])
  assert stacked["L_level"]["layers"]["mlp"]["down_proj"]["kernel"].shape[0] == 2
  scan_losses, _ = run_steps(scan_cfg, params=stacked)
  np.testing.assert_allclose(scan_losses, losses, rtol=1e-5, atol=1e-6)
  axes = hrm.logical_axes(scan_cfg)["params"]["L_level"]["layers"]["mlp"]["down_proj"]["kernel"]
  assert tuple(axes) == ("layers", "mlp", "embed")


def test_bf16_compute_keeps_fp32_master_weights(base):
  cfg, (losses, _) = base
  bf16_losses, bf16_params = run_steps(dataclasses.replace(cfg, forward_dtype="bfloat16"))
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(bf16_params))
  np.testing.assert_allclose(bf16_losses[:, :2], losses[:, :2], rtol=3e-2)


def test_microbatches_must_divide_the_batch(base):
  cfg, _ = base
  with pytest.raises(ValueError, match="microbatches=3 must divide"):
    run_steps(cfg, microbatches=3, steps=1)
