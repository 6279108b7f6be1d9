"""The HRM: shapes, the one-step gradient, causal masking, KV-cache decoding and ACT."""

import dataclasses

import chex
import flax.linen
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import random_batch, tiny_causal_config, tiny_config

from hrm_jax.inference import sampler
from hrm_jax.models import hrm, layers


def _set_q_bias(params, halt, cont):
  params = jax.tree.map(lambda x: x, params)
  params["params"]["q_head"]["bias"] = jnp.asarray([halt, cont], jnp.float32)
  return params


def test_layer_shapes_and_dtypes():
  assert layers.swiglu_width(512, 4) == 1536  # the reference's 27M config
  x = jnp.ones((2, 5, 32), jnp.bfloat16)
  cos, sin = layers.rope_tables(jnp.broadcast_to(jnp.arange(5), (2, 5)), 8, 10000.0)
  chex.assert_shape((cos, sin), (2, 5, 8))
  block = layers.Block(32, 4, 2.0, dtype=jnp.bfloat16)
  variables = flax.linen.meta.unbox(block.init(jax.random.key(0), x, cos, sin, None))  # drop the logical axis boxes
  y, cache = block.apply(variables, x, cos, sin, None)
  chex.assert_shape(y, (2, 5, 32))
  assert y.dtype == jnp.bfloat16 and cache is None
  assert variables["params"]["self_attn"]["qkv_proj"]["kernel"].dtype == jnp.float32
  chex.assert_shape(variables["params"]["self_attn"]["qkv_proj"]["kernel"], (32, 96))
  chex.assert_shape(variables["params"]["mlp"]["gate_up_proj"]["kernel"], (32, 2 * layers.swiglu_width(32, 2.0)))
  # Post-norm blocks leave every vector with RMS 1 (weightless RMSNorm, spec 1.5).
  rms = jnp.sqrt(jnp.mean(jnp.square(y.astype(jnp.float32)), -1))
  np.testing.assert_allclose(rms, 1.0, atol=2e-2)


def test_rope_is_neox_rotate_half():
  x = jnp.arange(8, dtype=jnp.float32).reshape(1, 1, 1, 8)
  cos, sin = layers.rope_tables(jnp.array([[3]]), 8, 10000.0)
  got = layers.apply_rope(x, cos, sin)
  inv = 1.0 / 10000.0 ** (np.arange(0, 8, 2) / 8)
  ang = 3 * np.concatenate([inv, inv])
  xx = np.arange(8.0)
  rot = np.concatenate([-xx[4:], xx[:4]])
  np.testing.assert_allclose(got.reshape(-1), xx * np.cos(ang) + rot * np.sin(ang), rtol=1e-6)


def test_init_matches_reference_rules(tiny):
  model, variables = hrm.init_params(tiny, jax.random.key(0))
  p = variables["params"]
  np.testing.assert_array_equal(p["q_head"]["kernel"], 0.0)
  np.testing.assert_array_equal(p["q_head"]["bias"], -5.0)
  np.testing.assert_array_equal(p["puzzle_emb"], 0.0)
  assert not np.allclose(
    p["H_level"]["layers_0"]["mlp"]["down_proj"]["kernel"], p["L_level"]["layers_0"]["mlp"]["down_proj"]["kernel"]
  )
  big = hrm.HRMConfig(hidden_size=512, num_heads=8)
  _, v = hrm.init_params(big, jax.random.key(1))
  w = np.asarray(v["params"]["H_level"]["layers_0"]["self_attn"]["qkv_proj"]["kernel"])
  assert abs(w.std() * np.sqrt(512) - 1.0) < 0.02  # true (post-truncation) std 1/sqrt(fan_in)
  assert abs(np.asarray(v["params"]["H_init"]).std() - 1.0) < 0.15


def test_reference_parameter_count():
  cfg = hrm.HRMConfig(vocab_size=11, seq_len=81, puzzle_emb_ndim=512)
  shapes = jax.eval_shape(lambda: hrm.init_params(cfg, jax.random.key(0))[1])
  assert hrm.count_params(shapes) == 27_275_266  # hrm-spec.md 1.9 (Sudoku vocabulary)
  transformer = hrm.HRMConfig(vocab_size=11, seq_len=81, puzzle_emb_ndim=512, arch="transformer")
  shapes = jax.eval_shape(lambda: hrm.init_params(transformer, jax.random.key(0))[1])
  assert hrm.count_params(shapes) == 27_275_266  # the baseline is parameter-matched


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_segment_shapes_and_dtypes(dtype):
  cfg = tiny_config(forward_dtype=dtype)
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  batch = random_batch(cfg, 3)
  z_H, z_L = model.apply(variables, 3, cfg.total_len, method=hrm.HRMCore.initial_state)
  (z_H, z_L), logits, (q_halt, q_cont) = jax.jit(lambda v, a, b, x: hrm.forward_segment(model, v, a, b, x))(
    variables, z_H, z_L, batch
  )
  chex.assert_shape((z_H, z_L), (3, cfg.total_len, cfg.hidden_size))
  chex.assert_shape(logits, (3, cfg.seq_len, cfg.vocab_size))
  chex.assert_shape((q_halt, q_cont), (3,))
  assert z_H.dtype == jnp.dtype(dtype) and logits.dtype == jnp.dtype(dtype)
  assert q_halt.dtype == jnp.float32


@pytest.mark.parametrize("grad_steps", [1, 2, 3, 6])
def test_gradient_reaches_exactly_the_last_k_applications(grad_steps):
  cfg = tiny_config(grad_steps=grad_steps)
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  batch = random_batch(cfg, 2)
  z_H, z_L = model.apply(variables, 2, cfg.total_len, method=hrm.HRMCore.initial_state)
  n = len(cfg.schedule)  # 2 x (2 L + 1 H) = 6 applications

  def loss(probes, z_H, z_L):
    _, logits, _ = hrm.forward_segment(model, variables, z_H, z_L, batch, probes=probes)
    return jnp.sum(logits.astype(jnp.float32) ** 2)

  probes = jnp.zeros((n, 2, cfg.total_len, cfg.hidden_size))
  g_probes, g_zH, g_zL = jax.grad(loss, argnums=(0, 1, 2))(probes, z_H, z_L)
  per_app = np.asarray(jnp.abs(g_probes).reshape(n, -1).max(-1))
  k = min(grad_steps, n)
  np.testing.assert_array_equal(per_app[: n - k], 0.0)  # the no-grad prefix: exactly zero
  # The last application is H; the logits read z_H, so it always gets gradient. Earlier L applications in the
  # graded window reach the loss through the H application that reads them.
  assert np.all(per_app[n - k :][np.asarray(cfg.schedule[n - k :]) == hrm.H_KIND] > 0)
  assert per_app[-1] > 0
  if k >= 2:
    assert per_app[n - 2] > 0
  # The carry enters through stop_gradient: no gradient flows into earlier segments.
  assert float(jnp.abs(g_zH).max()) == 0.0 and float(jnp.abs(g_zL).max()) == 0.0


def test_parameter_gradient_is_the_reference_one_step_gradient(tiny):
  """With grad_steps=2, parameter gradients equal those of a hand-written 1-step segment (spec 1.7)."""
  model, variables = hrm.init_params(tiny, jax.random.key(0))
  batch = random_batch(tiny, 2)
  z0 = model.apply(variables, 2, tiny.total_len, method=hrm.HRMCore.initial_state)

  def ours(v):
    _, logits, _ = hrm.forward_segment(model, v, *z0, batch)
    return jnp.sum(logits**2)

  def by_hand(v):
    sg = jax.lax.stop_gradient
    x = model.apply(v, batch, method=hrm.HRMCore.embed)
    ctx = hrm.attention_context(tiny, batch, 0, x.shape[1])
    f_L = lambda vv, zl, inj: model.apply(vv, zl, inj, ctx, method=hrm.HRMCore.apply_L)[0]
    f_H = lambda vv, zh, inj: model.apply(vv, zh, inj, ctx, method=hrm.HRMCore.apply_H)[0]
    zh, zl = z0
    for i in range(tiny.H_cycles):
      for j in range(tiny.L_cycles):
        if not (i == tiny.H_cycles - 1 and j == tiny.L_cycles - 1):
          zl = f_L(sg(v), zl, zh + sg(x))
      if i != tiny.H_cycles - 1:
        zh = f_H(sg(v), zh, zl)
    zh, zl = sg(zh), sg(zl)
    zl = f_L(v, zl, zh + x)
    zh = f_H(v, zh, zl)
    return jnp.sum(model.apply(v, zh[:, tiny.prefix_len :], method=hrm.HRMCore.lm_logits) ** 2)

  g1, g2 = jax.grad(ours)(variables), jax.grad(by_hand)(variables)
  chex.assert_trees_all_close(g1, g2, atol=1e-4, rtol=1e-4)
  np.testing.assert_allclose(ours(variables), by_hand(variables), rtol=1e-6)


def test_causal_mode_future_tokens_do_not_change_earlier_logits():
  cfg = tiny_causal_config()
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  batch = random_batch(cfg, 2)
  z = model.apply(variables, 2, cfg.total_len, method=hrm.HRMCore.initial_state)
  run = jax.jit(lambda b: hrm.forward_segment(model, variables, *z, b)[1])
  base = run(batch)
  t = 7
  changed = dict(batch, inputs=batch["inputs"].at[:, t].set((batch["inputs"][:, t] + 5) % cfg.vocab_size))
  after = run(changed)
  np.testing.assert_array_equal(base[:, :t], after[:, :t])
  assert not np.allclose(base[:, t:], after[:, t:])


def test_prefix_lm_sees_the_whole_prompt_but_no_answer():
  cfg = tiny_causal_config(attention="prefix_lm")
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  batch = random_batch(cfg, 2, prompt_length=6)
  z = model.apply(variables, 2, cfg.total_len, method=hrm.HRMCore.initial_state)
  run = jax.jit(lambda b: hrm.forward_segment(model, variables, *z, b)[1])
  base = run(batch)
  in_prompt = dict(batch, inputs=batch["inputs"].at[:, 5].set((batch["inputs"][:, 5] + 3) % cfg.vocab_size))
  assert not np.allclose(run(in_prompt)[:, 0], base[:, 0])  # position 0 sees prompt position 5
  in_answer = dict(batch, inputs=batch["inputs"].at[:, 9].set((batch["inputs"][:, 9] + 3) % cfg.vocab_size))
  np.testing.assert_array_equal(run(in_answer)[:, :9], base[:, :9])


@pytest.mark.parametrize("attention", ["causal", "bidirectional"])
def test_packed_segments_do_not_attend_to_each_other(attention):
  cfg = tiny_causal_config(attention=attention)
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  emb = variables["params"]["language_emb"]  # zeros at init: make the languages differ
  variables["params"]["language_emb"] = jax.random.normal(jax.random.key(1), emb.shape, emb.dtype)
  batch = random_batch(cfg, 1)
  # Two packed sequences (each starting with its 2 conditioning slots), positions restarting at 0.
  seg = jnp.asarray([[1] * 5 + [2] * 7])
  packed = {
    "inputs": batch["inputs"],
    "labels": batch["labels"],
    "segment_ids": seg,
    "positions": jnp.asarray([list(range(5)) + list(range(7))]),
    "language_ids": jnp.where(seg == 1, 1, 3),
    "task_ids": jnp.where(seg == 1, 0, 2),
    "q_read": jnp.asarray([[0, 0, 1, 0, 0] + [0, 0, 0, 1, 0, 0, 0]]),
  }
  z = model.apply(variables, 1, cfg.total_len, method=hrm.HRMCore.initial_state)
  run = jax.jit(lambda b: hrm.forward_segment(model, variables, *z, b)[1])
  base = run(packed)
  changed = dict(packed, inputs=packed["inputs"].at[:, 8].set((packed["inputs"][:, 8] + 1) % cfg.vocab_size))
  np.testing.assert_array_equal(run(changed)[:, :5], base[:, :5])  # the other sequence is untouched
  assert not np.allclose(run(changed)[:, 5:], base[:, 5:])
  relabelled = dict(packed, language_ids=jnp.where(seg == 1, 1, 4))  # the second sequence's conditioning
  np.testing.assert_array_equal(run(relabelled)[:, :5], base[:, :5])
  assert not np.allclose(run(relabelled)[:, 5:], base[:, 5:])


@pytest.mark.parametrize("arch", ["hrm", "transformer"])
def test_kv_cache_decoding_matches_the_full_forward(arch):
  cfg = tiny_causal_config(seq_len=24, arch=arch, halt_max_steps=3 if arch == "hrm" else 1)
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  # A random Q head, so sequences halt at different depths.
  variables["params"]["q_head"]["kernel"] = jax.random.normal(jax.random.key(5), (cfg.hidden_size, 2)) * 2.0
  prompts = [[3, 4, 5], [6, 7, 8, 9, 10, 11, 12], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]
  sampling = sampler.SamplingConfig(max_new_tokens=8, stop_ids=(-1,))
  cached = sampler.Generator(model, variables, sampling).generate_arrays(prompts, [0, 1, 2], [3, 4, 5])
  full = sampler.Generator(model, variables, sampling, use_cache=False).generate_arrays(prompts, [0, 1, 2], [3, 4, 5])
  np.testing.assert_array_equal(cached[0], full[0])
  np.testing.assert_array_equal(cached[2], full[2])
  np.testing.assert_allclose(cached[3], full[3], rtol=1e-5, atol=1e-5)


def test_causal_act_depth_is_chosen_at_the_last_prompt_token():
  cfg = tiny_causal_config(halt_max_steps=3)
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  prompts = [[3, 4, 5], [6, 7, 8, 9]]
  sampling = sampler.SamplingConfig(max_new_tokens=3, stop_ids=(-1,))
  halting = _set_q_bias(variables, 5.0, -5.0)  # q_halt > q_continue after the first segment
  gen = sampler.Generator(model, halting, sampling)
  assert list(gen.generate_arrays(prompts)[2]) == [1, 1]
  gen.params = _set_q_bias(variables, -5.0, 5.0)  # never halts: the budget decides (same program, new parameters)
  assert list(gen.generate_arrays(prompts)[2]) == [3, 3] and gen.compilations == 1
  fixed = sampler.SamplingConfig(max_new_tokens=3, stop_ids=(-1,), dynamic_halting=False, max_segments=2)
  forced = sampler.Generator(model, halting, fixed).generate_arrays(prompts)
  assert list(forced[2]) == [2, 2]
  # forced depth compiles only the budget's token loop; it decodes what the cache-free path decodes
  full = sampler.Generator(model, halting, fixed, use_cache=False).generate_arrays(prompts)
  np.testing.assert_array_equal(forced[0], full[0])
  np.testing.assert_allclose(forced[3], full[3], rtol=1e-5, atol=1e-5)


def test_scan_layers_model_generates_like_the_unrolled_one():
  cfg = tiny_causal_config(seq_len=24, H_layers=2, L_layers=2)
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  scanned = hrm.HRMCore(dataclasses.replace(cfg, scan_layers=True))
  scanned_vars = {"params": layers.scan_layer_params(variables["params"])}
  sampling = sampler.SamplingConfig(max_new_tokens=6, stop_ids=(-1,))
  want = sampler.Generator(model, variables, sampling).generate([[3, 4, 5]], [1], [0])
  assert sampler.Generator(scanned, scanned_vars, sampling).generate([[3, 4, 5]], [1], [0]) == want


def test_generation_compiles_once_per_bucket():
  cfg = tiny_causal_config(seq_len=40)
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  gen = sampler.Generator(model, variables, sampler.SamplingConfig(max_new_tokens=4), buckets=(16, 40))
  for prompt in ([1, 2, 3], [4, 5, 6, 7, 8], [1] * 15, [2] * 20, [3] * 30):
    gen.generate([prompt])
  assert gen.compilations == 2
  assert gen._fn._cache_size() == 2


class TestACT:
  def setup_method(self):
    self.cfg = tiny_config(halt_max_steps=3, halt_exploration_prob=0.0)
    self.model, self.variables = hrm.init_params(self.cfg, jax.random.key(0))
    self.step = jax.jit(lambda v, c, b, r: hrm.act_step(self.model, v, c, b, r, train=True))

  def test_halted_slots_reset_and_take_new_data_others_keep_theirs(self):
    b1, b2 = random_batch(self.cfg, 4, seed=1), random_batch(self.cfg, 4, seed=2)
    carry = hrm.initial_carry(self.model, b1)
    carry, _ = self.step(self.variables, carry, b1, jax.random.key(0))
    np.testing.assert_array_equal(carry.data["inputs"], b1["inputs"])
    assert not np.any(carry.halted)  # q_halt == q_continue at init: nobody halts before the budget
    carry = carry.replace(halted=jnp.asarray([True, False, True, False]))
    old = carry
    carry, _ = self.step(self.variables, carry, b2, jax.random.key(1))
    np.testing.assert_array_equal(carry.data["inputs"][0], b2["inputs"][0])
    np.testing.assert_array_equal(carry.data["inputs"][1], b1["inputs"][1])
    np.testing.assert_array_equal(carry.steps, [1, 2, 1, 2])
    # A reset slot computes from H_init/L_init: same as a fresh carry on the new example.
    fresh, _ = self.step(self.variables, hrm.initial_carry(self.model, b2), b2, jax.random.key(1))
    np.testing.assert_allclose(carry.z_H[0], fresh.z_H[0], atol=1e-6)
    # A continuing slot computes from its own carry.
    (zh, _), _, _ = hrm.forward_segment(self.model, self.variables, old.z_H, old.z_L, old.data)
    np.testing.assert_allclose(carry.z_H[1], zh[1], atol=1e-5)  # jitted vs eager: fp32 rounding

  def test_max_steps_forces_halting(self):
    variables = _set_q_bias(self.variables, -5.0, 5.0)  # always prefers to continue
    batch = random_batch(self.cfg, 3)
    carry = hrm.initial_carry(self.model, batch)
    for i in range(3):
      carry, out = self.step(variables, carry, batch, jax.random.key(i))
      assert bool(np.all(carry.halted)) == (i == 2)
    assert out.target_q_continue is not None

  def test_q_halting_and_exploration_only_delays(self):
    variables = _set_q_bias(self.variables, 5.0, -5.0)  # prefers to halt at once
    batch = random_batch(self.cfg, 64)
    carry, _ = self.step(variables, hrm.initial_carry(self.model, batch), batch, jax.random.key(0))
    assert np.all(carry.halted)
    cfg = tiny_config(halt_max_steps=3, halt_exploration_prob=1.0)
    model = hrm.HRMCore(cfg)
    carry = hrm.initial_carry(model, batch)
    carry, _ = hrm.act_step(model, variables, carry, batch, jax.random.key(0))
    assert not np.any(carry.halted)  # every sample explores: minimum 2..3 segments
    carry, _ = hrm.act_step(model, variables, carry, batch, jax.random.key(1))
    halted_at_2 = np.asarray(carry.halted)
    assert 0 < halted_at_2.sum() < 64  # those that drew a minimum of 2 halt now, the others later
    carry, _ = hrm.act_step(model, variables, carry, batch, jax.random.key(2))
    assert np.all(np.asarray(carry.halted)[~halted_at_2])  # the budget (3) forces the rest to halt
    assert not np.any(np.asarray(carry.halted)[halted_at_2])  # reset slots explore again on new data

  def test_eval_loop_compiles_once_and_stops_early(self):
    fn = jax.jit(lambda v, b, m: hrm.act_evaluate(self.model, v, b, m, dynamic_halting=True))
    b1, b2 = random_batch(self.cfg, 2, seed=1), random_batch(self.cfg, 2, seed=2)
    out = fn(self.variables, b1, 3)
    assert int(out["segments_run"]) == 3  # q_halt == q_continue: no early halt
    np.testing.assert_array_equal(out["steps"], [3, 3])
    halting = _set_q_bias(self.variables, 5.0, -5.0)
    out = fn(halting, b2, 3)
    assert int(out["segments_run"]) == 1
    out = fn(self.variables, b2, 7)  # raise halt_max_steps at test time: same executable
    assert int(out["segments_run"]) == 7
    assert fn._cache_size() == 1

  def test_fixed_evaluation_runs_every_segment(self):
    halting = _set_q_bias(self.variables, 5.0, -5.0)
    batch = random_batch(self.cfg, 2)
    out = hrm.act_evaluate(self.model, halting, batch, 3, dynamic_halting=False)
    assert int(out["segments_run"]) == 3
    # The final logits equal three chained segments from H_init/L_init.
    z = self.model.apply(halting, 2, self.cfg.total_len, method=hrm.HRMCore.initial_state)
    for _ in range(3):
      z, logits, _ = hrm.forward_segment(self.model, halting, *z, batch)
    np.testing.assert_allclose(out["logits"], logits, atol=1e-5)


def test_config_errors_name_the_field():
  with pytest.raises(ValueError, match="config.model has unknown field"):
    hrm.HRMConfig.from_config({"hiden_size": 3})
  with pytest.raises(ValueError, match=r"config.model.attention='sideways'"):
    hrm.HRMConfig.from_config({"attention": "sideways"})


def test_forward_at_depth_replays_the_sampled_depth():
  cfg = tiny_causal_config(halt_max_steps=3)
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  batch = random_batch(cfg, 2)
  logits, (q_halt, _) = hrm.forward_at_depth(model, variables, batch, jnp.asarray([1, 3]), 3)
  chex.assert_shape(q_halt, (2, 3))
  z = model.apply(variables, 2, cfg.total_len, method=hrm.HRMCore.initial_state)
  outs = []
  for _ in range(3):
    z, seg_logits, _ = hrm.forward_segment(model, variables, *z, batch)
    outs.append(seg_logits)
  np.testing.assert_allclose(logits[0], outs[0][0], atol=1e-5)
  np.testing.assert_allclose(logits[1], outs[2][1], atol=1e-5)
  grads = jax.grad(lambda v: jnp.sum(hrm.forward_at_depth(model, v, batch, jnp.asarray([1, 3]), 3)[0] ** 2))(variables)
  assert float(jnp.abs(grads["params"]["lm_head"]["kernel"]).max()) > 0


def test_depth_exploration_raises_the_minimum_depth_of_some_rows():
  cfg = tiny_causal_config(halt_max_steps=3)  # 3 segments: the smallest budget with a choice of explored depth
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  halting = _set_q_bias(variables, 5.0, -5.0)  # the Q head alone would always halt after one segment
  prompts = [[3, 4, 5]] * 64
  always = sampler.SamplingConfig(max_new_tokens=2, stop_ids=(-1,), halt_exploration_prob=1.0)
  depth = np.asarray(sampler.Generator(model, halting, always).generate_arrays(prompts, seed=1)[2])
  assert depth.min() >= 2 and set(depth.tolist()) == {2, 3}  # uniform over 2..budget
  some = sampler.SamplingConfig(max_new_tokens=2, stop_ids=(-1,), halt_exploration_prob=0.25)
  depth = np.asarray(sampler.Generator(model, halting, some).generate_arrays(prompts, seed=1)[2])
  assert 0.05 < np.mean(depth > 1) < 0.5 and np.any(depth == 1)
  # greedy and exploration-free sampling are unchanged
  none = sampler.SamplingConfig(max_new_tokens=2, stop_ids=(-1,))
  assert set(np.asarray(sampler.Generator(model, halting, none).generate_arrays(prompts)[2]).tolist()) == {1}
