"""The Tiny Recursive Model (arch="trm"): a reference-format state_dict recomputed from the formulas, the
gradient through the last H cycle, halting by q_halt > 0, KV-cache decoding, and the native API's ACT call and
training call for both architectures."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import random_batch, tiny_causal_config, tiny_config

from hrm_jax import losses
from hrm_jax.inference import native, sampler
from hrm_jax.models import hrm, torch_import
from hrm_jax.models.layers import swiglu_width

# Shared by the tests below (one compilation each): 2 H cycles x 2 L cycles of one 1-layer network, a 3-token
# puzzle prefix of which the puzzle embedding (40 values) fills 1.25 tokens, TRM's halting rule.
TRM = dict(arch="trm", H_layers=0, L_layers=1, puzzle_emb_len=3, puzzle_emb_ndim=40, no_ACT_continue=True)


def trm_config(**overrides):
  return tiny_config(**dict(TRM, halt_exploration_prob=0.0, **overrides))


def trm_state_dict(cfg, seed=0, prefix="_orig_mod.model.inner."):
  """Random weights under the reference TRM's key names and [out, in] shapes (trm.py: one `L_level`)."""
  rng = np.random.default_rng(seed)
  d, v, inter = cfg.hidden_size, cfg.vocab_size, swiglu_width(cfg.hidden_size, cfg.expansion)
  sd = {
    "H_init": rng.normal(size=d),
    "L_init": rng.normal(size=d),
    "embed_tokens.embedding_weight": rng.normal(size=(v, d)),
    "lm_head.weight": rng.normal(size=(v, d)) / np.sqrt(d),
    "q_head.weight": rng.normal(size=(2, d)) / np.sqrt(d),
    "q_head.bias": np.array([-0.5, 0.5]),
    "puzzle_emb.weights": rng.normal(size=(cfg.num_puzzle_identifiers, cfg.puzzle_emb_ndim)),
  }
  for i in range(cfg.L_layers):
    sd[f"L_level.layers.{i}.self_attn.qkv_proj.weight"] = rng.normal(size=(3 * d, d)) / np.sqrt(d)
    sd[f"L_level.layers.{i}.self_attn.o_proj.weight"] = rng.normal(size=(d, d)) / np.sqrt(d)
    sd[f"L_level.layers.{i}.mlp.gate_up_proj.weight"] = rng.normal(size=(2 * inter, d)) / np.sqrt(d)
    sd[f"L_level.layers.{i}.mlp.down_proj.weight"] = rng.normal(size=(d, inter)) / np.sqrt(inter)
  return {prefix + k: val.astype(np.float32) for k, val in sd.items()}


def numpy_trm_segment(cfg, sd, batch, z_H, z_L):
  """One TRM segment (trm.py `TinyRecursiveReasoningModel_ACTV1_Inner.forward`) in float64 NumPy from the raw
  [out, in] weights: per H cycle, L_cycles times z_L <- net(z_L + z_H + x), then z_H <- net(z_H + z_L); LM
  head past the puzzle prefix, Q head at position 0."""

  def rms(x):
    return x / np.sqrt(np.mean(x * x, -1, keepdims=True) + 1e-5)

  def rope(x, pos):
    dh = x.shape[-1]
    inv = 1.0 / 10000.0 ** (np.arange(0, dh, 2) / dh)
    ang = pos[:, None] * np.concatenate([inv, inv])[None]
    rot = np.concatenate([-x[..., dh // 2 :], x[..., : dh // 2]], -1)
    return x * np.cos(ang)[None, :, None] + rot * np.sin(ang)[None, :, None]

  def net(h, injection):
    h = h + injection
    for i in range(cfg.L_layers):
      w = lambda name: sd[f"L_level.layers.{i}.{name}.weight"].astype(np.float64)  # noqa: E731
      b, t, d = h.shape
      qkv = (h @ w("self_attn.qkv_proj").T).reshape(b, t, 3, cfg.num_heads, d // cfg.num_heads)
      pos = np.arange(t, dtype=np.float64)
      q, k, v = rope(qkv[:, :, 0], pos), rope(qkv[:, :, 1], pos), qkv[:, :, 2]
      s = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(d // cfg.num_heads)
      p = np.exp(s - s.max(-1, keepdims=True))
      p /= p.sum(-1, keepdims=True)
      h = rms(h + np.einsum("bhqk,bkhd->bqhd", p, v).reshape(b, t, d) @ w("self_attn.o_proj").T)
      g, u = np.split(h @ w("mlp.gate_up_proj").T, 2, -1)
      h = rms(h + (g / (1 + np.exp(-g)) * u) @ w("mlp.down_proj").T)
    return h

  d, plen = cfg.hidden_size, cfg.puzzle_len
  e = sd["embed_tokens.embedding_weight"][batch["inputs"]]
  pz = sd["puzzle_emb.weights"][batch["puzzle_identifiers"]]
  pz = np.pad(pz, ((0, 0), (0, plen * d - pz.shape[-1]))).reshape(-1, plen, d)
  x = np.sqrt(d) * np.concatenate([pz, e], 1).astype(np.float64)
  for _ in range(cfg.H_cycles):
    for _ in range(cfg.L_cycles):
      z_L = net(z_L, z_H + x)
    z_H = net(z_H, z_L)
  logits = z_H[:, plen:] @ sd["lm_head.weight"].T
  q = z_H[:, 0] @ sd["q_head.weight"].T + sd["q_head.bias"]
  return z_H, z_L, logits, q


@pytest.mark.parametrize("prefix", ["_orig_mod.model.inner.", "model.inner."])
def test_reference_trm_state_dict_imports_and_round_trips(prefix):
  cfg = trm_config()
  sd = trm_state_dict(cfg, prefix=prefix)
  params = torch_import.convert_state_dict(sd, cfg)["params"]
  assert "H_level" not in params
  np.testing.assert_array_equal(
    params["L_level"]["layers_0"]["mlp"]["gate_up_proj"]["kernel"],
    sd[prefix + "L_level.layers.0.mlp.gate_up_proj.weight"].T,
  )
  back = torch_import.reference_state_dict({"params": params}, prefix=prefix)
  assert set(back) == set(sd)
  for k in sd:
    np.testing.assert_array_equal(back[k], sd[k])
  # An HRM checkpoint (an H_level) does not load as a TRM, and the error names the key and the arch.
  hrm_sd = dict(sd, **{prefix + "H_level.layers.0.self_attn.o_proj.weight": np.zeros((32, 32), np.float32)})
  with pytest.raises(KeyError, match=r"H_level.layers.0.self_attn.o_proj.weight.*arch='trm'"):
    torch_import.convert_state_dict(hrm_sd, cfg)


def test_imported_trm_computes_the_reference_segment_from_the_formulas():
  """Our segment on imported weights equals a float64 NumPy re-derivation of TRM's forward, from H_init/L_init
  and again from that segment's carry (so the carry and the puzzle-prefix layout are the reference's)."""
  cfg = trm_config()
  sd = trm_state_dict(cfg, seed=3, prefix="")
  params = torch_import.convert_state_dict(sd, cfg)
  model = hrm.HRMCore(cfg)
  batch = {k: np.asarray(v) for k, v in random_batch(cfg, 2).items()}
  shape = (2, cfg.total_len, cfg.hidden_size)
  z_H, z_L = np.broadcast_to(sd["H_init"], shape), np.broadcast_to(sd["L_init"], shape)
  carry = None
  for _ in range(2):
    out = native.run_segment(model, params, batch, carry=carry)
    z_H, z_L, logits, q = numpy_trm_segment(cfg, sd, batch, z_H, z_L)
    np.testing.assert_allclose(out["logits"], logits, atol=3e-4, rtol=1e-4)
    np.testing.assert_allclose(out["q_halt_logits"], q[:, 0], atol=3e-4, rtol=1e-4)
    np.testing.assert_allclose(out["q_continue_logits"], q[:, 1], atol=3e-4, rtol=1e-4)
    np.testing.assert_allclose(out["z_L"], z_L, atol=3e-4, rtol=1e-4)
    carry = (out["z_H"], out["z_L"])


def test_trm_gradient_is_full_backprop_through_the_last_H_cycle():
  """`native.train_call`'s parameter gradients equal jax.grad of a hand-written TRM segment (H_cycles - 1
  cycles without gradient, then one cycle with it, the reference's `torch.no_grad()` split) under
  `losses.act_loss`: a gradient through any earlier cycle, or a missing one in the last, would differ."""
  cfg = trm_config()
  assert cfg.graded_applications == cfg.L_cycles + 1
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  variables["params"]["puzzle_emb"] = jax.random.normal(jax.random.key(1), variables["params"]["puzzle_emb"].shape)
  batch = random_batch(cfg, 2)
  z0 = model.apply(variables, 2, cfg.total_len, method=hrm.HRMCore.initial_state)
  carry = native.initial_carry(model, batch)
  got = native.train_call(model, variables, carry, batch)

  def by_hand(p):
    sg = jax.lax.stop_gradient
    v = {"params": p}
    x = model.apply(v, batch, method=hrm.HRMCore.embed)
    ctx = hrm.attention_context(cfg, batch, 0, x.shape[1])
    net = lambda vv, z, inj: model.apply(vv, z, inj, ctx, method=hrm.HRMCore.apply_L)[0]  # noqa: E731
    zh, zl = z0
    for cycle in range(cfg.H_cycles):
      vv, xx = (v, x) if cycle == cfg.H_cycles - 1 else (sg(v), sg(x))
      if cycle == cfg.H_cycles - 1:
        zh, zl = sg(zh), sg(zl)
      for _ in range(cfg.L_cycles):
        zl = net(vv, zl, zh + xx)
      zh = net(vv, zh, zl)
    logits, (q_halt, q_cont) = hrm.heads(model, v, zh, batch)
    steps = jnp.ones((2,), jnp.int32)
    halted = (q_halt > 0) | (cfg.halt_max_steps <= 1)
    loss, _ = losses.act_loss(logits, batch["labels"], q_halt, q_cont, None, halted, steps)
    return loss / 2

  want = jax.jit(jax.grad(by_hand))(variables["params"])
  for path, leaf in jax.tree_util.tree_flatten_with_path(want)[0]:
    ours = got["grads"]
    for key in path:
      ours = ours[key.key]
    np.testing.assert_allclose(ours, leaf, atol=1e-5, rtol=1e-4, err_msg=jax.tree_util.keystr(path))
  assert float(np.abs(got["grads"]["L_level"]["layers_0"]["self_attn"]["qkv_proj"]["kernel"]).max()) > 0
  np.testing.assert_allclose(got["loss"] / 2, float(jax.jit(by_hand)(variables["params"])), rtol=1e-5)


def test_act_call_halts_by_q_halt_alone_with_no_ACT_continue():
  """TRM's rule: q_halt > 0 halts even when q_continue is larger (the HRM rule would go on), and there is no
  target-Q pass (no continue target, no continue loss)."""
  cfg = trm_config()
  sd = trm_state_dict(cfg, seed=4)
  sd["_orig_mod.model.inner.q_head.weight"][:] = 0.0
  sd["_orig_mod.model.inner.q_head.bias"][:] = [1.0, 5.0]  # q_halt > 0 but q_halt < q_continue
  params = torch_import.convert_state_dict(sd, cfg)
  batch = {k: np.asarray(v) for k, v in random_batch(cfg, 3).items()}
  model = hrm.HRMCore(cfg)
  call = native.act_call(model, params, native.initial_carry(model, batch), batch)
  assert call["all_halted"] and "target_q_continue" not in call["outputs"]
  assert "q_continue_loss" not in call["metrics"] and call["metrics"]["count"] > 0
  np.testing.assert_array_equal(call["outputs"]["q_halt_logits"], 1.0)
  np.testing.assert_allclose(call["loss"], call["metrics"]["lm_loss"] + 0.5 * call["metrics"]["q_halt_loss"], rtol=1e-6)


def test_native_act_call_and_train_call_agree_and_continue_from_the_carry():
  """The HRM through the same public calls (TRM's are above): two ACT calls from a carry, with the continue
  target; the training call's loss is the ACT call's, its gradient reaches the heads and the blocks, and its new
  carry is the ACT call's."""
  cfg = tiny_config(halt_exploration_prob=0.0, H_cycles=1, L_cycles=1)
  model, variables = hrm.init_params(cfg, jax.random.key(2))
  batch = {k: np.asarray(v) for k, v in random_batch(cfg, 2).items()}
  first = native.act_call(model, variables, native.initial_carry(model, batch), batch)
  assert not first["all_halted"] and "target_q_continue" in first["outputs"]  # q_halt == q_continue at init
  second = native.act_call(model, variables, first["carry"], batch)
  trained = native.train_call(model, variables, first["carry"], batch)
  np.testing.assert_allclose(trained["loss"], second["loss"], rtol=1e-5)
  np.testing.assert_allclose(trained["carry"].z_H, second["carry"].z_H, atol=1e-6)
  np.testing.assert_array_equal(second["carry"].steps, [2, 2])
  assert set(second["metrics"]) >= {"lm_loss", "q_halt_loss", "q_continue_loss", "count", "exact_accuracy"}
  for name in ("lm_head", "q_head", "L_level"):
    assert max(float(np.abs(g).max()) for g in jax.tree.leaves(trained["grads"][name])) > 0, name
  np.testing.assert_array_equal(trained["grads"]["H_init"], 0.0)


def test_trm_kv_cache_decoding_matches_the_full_forward():
  """Causal TRM (with reverse learning on, so its positionwise feedback is decoded too) generates the same
  tokens and depths with KV caches as with whole-sequence forwards."""
  cfg = tiny_causal_config(
    arch="trm",
    H_layers=0,
    H_cycles=1,
    L_cycles=1,
    seq_len=12,
    halt_max_steps=2,
    no_ACT_continue=True,
    reverse_learning=True,
  )
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  variables["params"]["q_head"]["kernel"] = jax.random.normal(jax.random.key(5), (cfg.hidden_size, 2)) * 2.0
  p = variables["params"]["reverse_proj"]
  variables["params"]["reverse_proj"] = 0.3 * jax.random.normal(jax.random.key(6), p.shape)
  prompts = [[3, 4, 5], [6, 7, 8, 9, 10]]
  sampling = sampler.SamplingConfig(max_new_tokens=4, stop_ids=(-1,))
  cached = sampler.Generator(model, variables, sampling).generate_arrays(prompts, [0, 1], [3, 4])
  full = sampler.Generator(model, variables, sampling, use_cache=False).generate_arrays(prompts, [0, 1], [3, 4])
  np.testing.assert_array_equal(cached[0], full[0])
  np.testing.assert_array_equal(cached[2], full[2])
  # The caches: one buffer pair per (segment, application, layer of the one network).
  caches = sampler.init_caches(cfg, 1, 2, 8)
  assert len(caches[0]) == len(cfg.schedule) and all(len(app) == cfg.L_layers for app in caches[0])


def test_generation_benchmark_counts_the_trm_network_for_every_application():
  """bench/generate.py's bandwidth limit counts the blocks each application runs: the TRM's one network for its
  z_L and z_H updates alike (H_layers is unused, 0 here), so a decode step reads what an HRM whose H and L
  stacks are both as deep as that network reads."""
  from hrm_jax.bench.generate import decode_bytes_per_token

  trm = trm_config(L_layers=2)
  as_hrm = dataclasses.replace(trm, arch="hrm", H_layers=2, no_ACT_continue=False)
  for depth, kv_len in ((1, 0), (2, 16)):
    assert decode_bytes_per_token(trm, 4, depth, kv_len) == decode_bytes_per_token(as_hrm, 4, depth, kv_len)
  assert decode_bytes_per_token(trm, 4, 1, 0) > decode_bytes_per_token(dataclasses.replace(as_hrm, H_layers=0), 4, 1, 0)
