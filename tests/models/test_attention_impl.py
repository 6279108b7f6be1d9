"""`layers.attend`: jax.nn.dot_product_attention (the XLA implementation here; cuDNN's flash attention takes
the same arguments on GPUs) equals the einsum path on causal, prefix-LM and packed masks, and a model built
with it computes the same segment."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hrm_jax.models import hrm, layers


def _qkv(b=2, s=12, h=2, d=8, seed=0):
  keys = jax.random.split(jax.random.key(seed), 3)
  return tuple(jax.random.normal(k, (b, s, h, d), jnp.float32) for k in keys)


def _masks(b=2, s=12):
  i = np.arange(s)
  causal = np.broadcast_to(i[None, :] <= i[:, None], (b, 1, s, s))
  prompt = np.array([4, 7])[:, None, None, None]
  prefix_lm = causal | ((i[None, None, None, :] < prompt) & (i[None, None, :, None] < prompt))
  seg = np.array([[1] * 5 + [2] * 4 + [0] * 3, [1] * 3 + [2] * 3 + [3] * 6])
  packed = causal & (seg[:, None, :, None] == seg[:, None, None, :])
  return {"none": None, "causal": causal, "prefix_lm": prefix_lm, "packed": packed}


@pytest.mark.parametrize("mask_name", ["none", "causal", "prefix_lm", "packed"])
@pytest.mark.parametrize("impl", ["xla", "auto"])
def test_dot_product_attention_equals_einsum(mask_name, impl):
  q, k, v = _qkv()
  mask = _masks()[mask_name]
  mask = None if mask is None else jnp.asarray(mask)
  want = layers.attend(q, k, v, mask, "einsum")
  got = jax.jit(lambda q, k, v: layers.attend(q, k, v, mask, impl))(q, k, v)
  np.testing.assert_allclose(got, want, atol=2e-5, rtol=2e-5)


def test_model_segment_is_the_same_with_either_implementation():
  import dataclasses

  cfg = hrm.HRMConfig(
    vocab_size=64,
    seq_len=16,
    hidden_size=32,
    num_heads=2,
    expansion=2.0,
    H_layers=1,
    L_layers=1,
    attention="causal",
    task_conditioning=True,
    q_position="last_prompt",
  )
  model, params = hrm.init_params(cfg, jax.random.key(0))
  batch = hrm.dummy_batch(cfg, 2)
  batch["inputs"] = jnp.arange(32, dtype=jnp.int32).reshape(2, 16) % 64
  z = model.apply(params, 2, cfg.total_len, method=hrm.HRMCore.initial_state)
  _, logits, _ = hrm.forward_segment(model, params, *z, batch)
  fused = hrm.HRMCore(dataclasses.replace(cfg, attention_impl="auto"))
  _, logits_fused, _ = hrm.forward_segment(fused, params, *z, batch)
  np.testing.assert_allclose(logits_fused, logits, atol=1e-4, rtol=1e-4)
  with pytest.raises(ValueError, match="attention_impl"):
    hrm.HRMConfig(attention_impl="flash").validate()
