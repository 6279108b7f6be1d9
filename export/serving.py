"""What every export shares: the served model, its parameters (float or integer), and the step functions.

The exported decode step is one function a runtime calls once per token (no JAX on the device side):

    step(token int32 [b], position int32 [b], depth int32 [b], k_L, v_L, k_H, v_H)
      -> logits fp32 [b, segments, vocab], q_halt fp32 [b, segments], q_continue fp32 [b, segments],
         k_L, v_L, k_H, v_H                              (the caches, updated in place of the inputs)

It runs the token through segments 1..max(depth) (hrm_jax/inference/sampler.py's per-application KV caches)
and returns the LM and Q heads after every segment. `position` is absolute: with task conditioning the
language id goes in at position 0 and the task id at 1 (as `token`), prompt token i at 2 + i. A runtime
prefills by feeding the prefix and the prompt one token at a time with depth = segments; after the last prompt token it picks the ACT depth as the JAX prefill does (the
first segment whose q_halt > q_continue, else all segments) and takes that segment's logits for the first
new token; each later token runs with that depth. Under causal attention this computes the same caches and
logits as `sampler.prefill` + `sampler.decode_step`.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hrm_jax import quant
from hrm_jax.inference import sampler
from hrm_jax.models import hrm, layers
from hrm_jax.models.hrm import H_KIND, L_KIND

CACHE_NAMES = ("k_L", "v_L", "k_H", "v_H")


@dataclasses.dataclass(frozen=True)
class Served:
  """A model ready to export: `model` computes with `dequantize(stored)` (float leaves stay as they are).

  stored: the parameter tree written to the artifact ("params" collection; integer leaves are
  {"int_values": int8, "scale": fp32}); quantize: "none" | "int8" | "int4".
  """
  model: hrm.HRMCore
  stored: Any
  quantize: str

  @property
  def cfg(self) -> hrm.HRMConfig:
    return self.model.cfg

  def variables(self, stored=None) -> dict:
    """{"params": float tree}; dequantization runs inside whatever function calls this (in-graph)."""
    return {"params": quant.dequantize(self.stored if stored is None else stored)}


def serve(model: hrm.HRMCore, params, quantize: str = "none") -> Served:
  """The served form of a trained model.

  quantize "none": the model as trained (a QAT model keeps its AQT fake-quantization). "int8"/"int4": every
  matrix is stored as integers (`quant.freeze`, scope "all"); a QAT model serves with the AQT activation
  quantization it was trained with (`quant.serving_dot_general_cls`), a float model as weight-only PTQ.
  """
  params = params["params"] if "params" in params else params
  params = jax.tree.map(np.asarray, params)
  if quantize == "none":
    return Served(model, params, "none")
  stored = quant.freeze(params, quantize, scope="all")
  dg = quant.serving_dot_general_cls(model.cfg.quant) if model.cfg.quant != "none" else None
  return Served(hrm.HRMCore(model.cfg, dot_general_cls=dg), stored, quantize)


def with_int8_embedding(served: Served) -> Served:
  """Only the token embedding stored as int8 (per-row scales); the rest as `served` stores it."""
  stored = dict(served.stored)
  table = stored["embed_tokens"]["embedding"]
  if not quant.is_frozen_leaf(table):
    q, scale = quant.quantize_array(table, 8, axis=1)
    stored["embed_tokens"] = {"embedding": {quant.INT_KEY: q, quant.SCALE_KEY: scale}}
  return Served(served.model, stored, served.quantize)


def num_segments(cfg: hrm.HRMConfig, segments: int | None) -> int:
  return segments or cfg.halt_max_steps


def cache_shapes(cfg: hrm.HRMConfig, batch_size: int, segments: int) -> dict[str, jax.ShapeDtypeStruct]:
  caches = jax.eval_shape(lambda: sampler.init_caches(cfg, batch_size, segments))
  flat = (caches["L"][0], caches["L"][1], caches["H"][0], caches["H"][1])
  return dict(zip(CACHE_NAMES, flat))


def zero_caches(cfg: hrm.HRMConfig, batch_size: int, segments: int) -> dict[str, np.ndarray]:
  return {k: np.zeros(s.shape, s.dtype) for k, s in cache_shapes(cfg, batch_size, segments).items()}


def _pack(caches) -> tuple:
  return (caches["L"][0], caches["L"][1], caches["H"][0], caches["H"][1])


def _unpack(k_L, v_L, k_H, v_H) -> dict:
  return {"L": (k_L, v_L), "H": (k_H, v_H)}


def step_cache_shapes(cfg: hrm.HRMConfig, segments: int) -> dict[str, jax.ShapeDtypeStruct]:
  """Caches of the per-token step (batch 1), rank 5 so that TFLite's slice ops take them:
  k_L, v_L: [segments, L_applications * L_layers, total_len, heads, head_dim]; k_H, v_H likewise."""
  t, h, d = cfg.total_len, cfg.num_heads, cfg.head_dim
  if cfg.arch == "transformer":
    n_L, n_H = cfg.H_layers + cfg.L_layers, 1
  else:
    n_L, n_H = cfg.num_L_applications * cfg.L_layers, max(cfg.num_H_applications, 1) * cfg.H_layers
  spec = lambda n: jax.ShapeDtypeStruct((segments, n, t, h, d), cfg.dtype)
  return {"k_L": spec(n_L), "v_L": spec(n_L), "k_H": spec(n_H), "v_H": spec(n_H)}


def step_caches_from_sampler(cfg: hrm.HRMConfig, caches: dict) -> tuple:
  """Sampler caches (batch 1, [segments, apps, layers, 1, T, h, d]) -> the step's layout (tests, parity)."""
  def fold(a):
    s, apps, lay = a.shape[:3]
    return a[:, :, :, 0].reshape(s, apps * lay, *a.shape[4:])
  return (fold(caches["L"][0]), fold(caches["L"][1]), fold(caches["H"][0]), fold(caches["H"][1]))


def step_embedding(served: Served, stored, variables, token, abs_pos):
  """Input embedding of one position ([1] -> [1, 1, d]), as `HRMCore.embed` computes it for that position.

  Prefix positions (task conditioning: 0 = language, 1 = task) take `token` as the language / task id, so a
  runtime feeds the prefix through the same step as the prompt. An int8 embedding table (frozen leaf) is
  gathered as int8 rows and scaled at run time: no constant for a converter to fold back to float.
  """
  cfg = served.cfg
  if cfg.puzzle_emb_ndim > 0:
    raise ValueError("the per-token step does not support puzzle prefixes (config.model.puzzle_emb_ndim > 0)")
  p = variables["params"]
  table = (served.stored if stored is None else stored)["embed_tokens"]["embedding"]
  vocab_ids = jnp.clip(token, 0, cfg.vocab_size - 1)
  if quant.is_frozen_leaf(table):
    rows = jnp.take(table[quant.INT_KEY], vocab_ids, axis=0).astype(jnp.float32)
    e = rows * jnp.take(table[quant.SCALE_KEY], vocab_ids, axis=0)
  else:
    e = jnp.take(p["embed_tokens"]["embedding"], vocab_ids, axis=0)
  e = e.astype(cfg.dtype)
  if cfg.task_conditioning:
    language = jnp.take(p["language_emb"], jnp.clip(token, 0, cfg.num_languages - 1), axis=0).astype(cfg.dtype)
    task = jnp.take(p["task_emb"], jnp.clip(token, 0, cfg.num_tasks - 1), axis=0).astype(cfg.dtype)
    e = jnp.where((abs_pos == 0)[:, None], language, jnp.where((abs_pos == 1)[:, None], task, e))
  if cfg.pos_encodings == "learned":
    e = (e + jnp.take(p["embed_pos"], abs_pos, axis=0).astype(cfg.dtype)) * (1.0 / math.sqrt(2.0))
  return (math.sqrt(cfg.hidden_size) * e).astype(cfg.dtype)[:, None]


def step(served: Served, stored, token, position, depth, k_L, v_L, k_H, v_H):
  """The per-token step (module doc), batch 1. token/depth: int32 [1]; position: int32 [1], the ABSOLUTE
  position (prefix tokens first: with task conditioning, position 0 takes the language id as `token` and
  position 1 the task id; prompt token i is at prefix_len + i); caches as `step_cache_shapes`.

  The segment loop is a `while_loop` over min(depth, segments) segments; inside a segment the application
  schedule is unrolled (it is static), so every cache slice has a static offset and rank <= 5.
  """
  model, cfg = served.model, served.cfg
  variables = served.variables(stored)
  segments = k_L.shape[0]
  abs_pos = position.astype(jnp.int32)
  x = step_embedding(served, stored, variables, token.astype(jnp.int32), abs_pos)
  ctx = {"cos": None, "sin": None,
         "mask": (jnp.arange(cfg.total_len)[None, :] <= abs_pos[:, None])[:, None, None, :]}
  if cfg.pos_encodings == "rope":
    ctx["cos"], ctx["sin"] = layers.rope_tables(abs_pos[:, None], cfg.head_dim, cfg.rope_theta)
  z_H0, z_L0 = model.apply(variables, 1, 1, method=hrm.HRMCore.initial_state)

  def run_segment(zh, zl, seg):
    """seg: {"k_L", "v_L", "k_H", "v_H"} each [n, T, h, d] for one segment."""
    seg = dict(seg)
    def app_cache(kind, index, num_layers):
      sl = slice(index * num_layers, (index + 1) * num_layers)
      return (seg["k_" + kind][sl][:, None], seg["v_" + kind][sl][:, None])  # [layers, 1, T, h, d]
    def store(kind, index, num_layers, new):
      for name, arr in zip(("k_", "v_"), new):
        seg[name + kind] = jax.lax.dynamic_update_slice_in_dim(seg[name + kind], arr[:, 0], index * num_layers, 0)
    if cfg.arch == "transformer":
      zh, new = model.apply(variables, x, ctx, app_cache("L", 0, cfg.H_layers + cfg.L_layers), abs_pos,
                            method=hrm.HRMCore.apply_stack)
      store("L", 0, cfg.H_layers + cfg.L_layers, new)
      return zh, zl, seg
    seen = {L_KIND: 0, H_KIND: 0}
    for kind in cfg.schedule:
      slot = seen[kind]
      seen[kind] += 1
      if kind == L_KIND:
        zl, new = model.apply(variables, zl, zh + x, ctx, app_cache("L", slot, cfg.L_layers), abs_pos,
                              method=hrm.HRMCore.apply_L)
        store("L", slot, cfg.L_layers, new)
      else:
        zh, new = model.apply(variables, zh, zl, ctx, app_cache("H", slot, cfg.H_layers), abs_pos,
                              method=hrm.HRMCore.apply_H)
        store("H", slot, cfg.H_layers, new)
    return zh, zl, seg

  caches = {"k_L": k_L, "v_L": v_L, "k_H": k_H, "v_H": v_H}
  init = dict(m=jnp.zeros((), jnp.int32), z_H=z_H0, z_L=z_L0, caches=caches,
              logits=jnp.zeros((1, segments, cfg.vocab_size), jnp.float32),
              q_halt=jnp.zeros((1, segments), jnp.float32), q_cont=jnp.zeros((1, segments), jnp.float32))

  def body(s):
    m = s["m"]
    seg = {k: jax.lax.dynamic_index_in_dim(a, m, 0, keepdims=False) for k, a in s["caches"].items()}
    zh, zl, seg = run_segment(s["z_H"], s["z_L"], seg)
    logits = model.apply(variables, zh[:, 0], method=hrm.HRMCore.lm_logits).astype(jnp.float32)
    q_halt, q_cont = model.apply(variables, zh[:, 0], method=hrm.HRMCore.q_logits)
    return dict(m=m + 1, z_H=zh, z_L=zl,
                caches={k: jax.lax.dynamic_update_index_in_dim(s["caches"][k], seg[k], m, 0) for k in seg},
                logits=jax.lax.dynamic_update_index_in_dim(s["logits"], logits, m, 1),
                q_halt=jax.lax.dynamic_update_index_in_dim(s["q_halt"], q_halt, m, 1),
                q_cont=jax.lax.dynamic_update_index_in_dim(s["q_cont"], q_cont, m, 1))

  out = jax.lax.while_loop(lambda s: s["m"] < jnp.minimum(depth[0], segments), body, init)
  c = out["caches"]
  return (out["logits"], out["q_halt"], out["q_cont"], c["k_L"], c["v_L"], c["k_H"], c["v_H"])


def prefill(served: Served, stored, inputs, prompt_length, language_id, task_id, *, segments: int,
            dynamic_halting: bool = True):
  """`sampler.prefill` over a bucket-padded prompt: inputs int32 [b, bucket]. Returns
  (logits fp32 [b, vocab] for the first new token, depth int32 [b], k_L, v_L, k_H, v_H)."""
  cfg = served.cfg
  b = inputs.shape[0]
  batch = {"inputs": inputs, "prompt_length": prompt_length, "language_id": language_id, "task_id": task_id,
           "puzzle_identifiers": jnp.zeros((b,), jnp.int32)}
  caches = sampler.init_caches(cfg, b, segments)
  caches, depth, logits = sampler.prefill(served.model, served.variables(stored), batch, caches, segments,
                                          dynamic_halting)
  return (logits, depth) + _pack(caches)


def decode(served: Served, stored, token, position, depth, k_L, v_L, k_H, v_H):
  """`sampler.decode_step`: (logits fp32 [b, vocab], k_L, v_L, k_H, v_H)."""
  logits, caches = sampler.decode_step(served.model, served.variables(stored), token, position,
                                       _unpack(k_L, v_L, k_H, v_H), depth)
  return (logits,) + _pack(caches)


def native_forward(served: Served, stored, inputs, puzzle_identifiers, language_id, task_id, prompt_length,
                   max_steps, *, dynamic_halting: bool = True):
  """The fixed-length forward with ACT (`hrm.act_evaluate`): inputs int32 [b, seq_len]; max_steps int32 scalar.
  Returns (logits fp32 [b, seq_len, vocab], steps int32 [b], q_halt fp32 [b], q_continue fp32 [b])."""
  batch = {"inputs": inputs, "puzzle_identifiers": puzzle_identifiers, "language_id": language_id,
           "task_id": task_id, "prompt_length": prompt_length}
  out = hrm.act_evaluate(served.model, served.variables(stored), batch, max_steps, dynamic_halting=dynamic_halting)
  return (out["logits"].astype(jnp.float32), out["steps"], out["q_halt_logits"], out["q_continue_logits"])


def choose_depth(q_halt: np.ndarray, q_continue: np.ndarray) -> int:
  """ACT depth from the Q head at the last prompt token (as `sampler.prefill` with dynamic halting):
  1 + the first segment whose q_halt > q_continue, else every segment. q_*: [segments]."""
  halts = np.nonzero(q_halt > q_continue)[0]
  return int(halts[0]) + 1 if halts.size else int(q_halt.shape[0])


def _segment_unrolled(model: hrm.HRMCore, variables, z_H, z_L, x, ctx, batch):
  """`hrm.segment` for inference with the application schedule unrolled (no `lax.switch`: TFLite cannot size
  the tensors inside the IF that a switch becomes when it sits in a WHILE)."""
  cfg = model.cfg
  if cfg.arch == "transformer":
    z_H, _ = model.apply(variables, x, ctx, method=hrm.HRMCore.apply_stack)
  else:
    for kind in cfg.schedule:
      if kind == L_KIND:
        z_L, _ = model.apply(variables, z_L, z_H + x, ctx, method=hrm.HRMCore.apply_L)
      else:
        z_H, _ = model.apply(variables, z_H, z_L, ctx, method=hrm.HRMCore.apply_H)
  logits = model.apply(variables, z_H[:, cfg.prefix_len:], method=hrm.HRMCore.lm_logits)
  qi = hrm.q_index(cfg, batch)
  q_halt, q_cont = model.apply(variables, z_H[jnp.arange(z_H.shape[0]), qi], method=hrm.HRMCore.q_logits)
  return z_H, z_L, logits, q_halt, q_cont


def native_forward_unrolled(served: Served, stored, inputs, puzzle_identifiers, language_id, task_id,
                            prompt_length, max_steps):
  """`native_forward` (dynamic halting) computed with `_segment_unrolled`, for the TFLite converter."""
  model, cfg = served.model, served.cfg
  variables = served.variables(stored)
  batch = {"inputs": inputs, "puzzle_identifiers": puzzle_identifiers, "language_id": language_id,
           "task_id": task_id, "prompt_length": prompt_length}
  b = inputs.shape[0]
  x = model.apply(variables, batch, method=hrm.HRMCore.embed)
  ctx = hrm.attention_context(cfg, batch, 0, x.shape[1])
  z_H, z_L = model.apply(variables, b, cfg.total_len, method=hrm.HRMCore.initial_state)
  rows = lambda mask, a, o: jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, o)
  init = dict(z_H=z_H, z_L=z_L, steps=jnp.zeros((b,), jnp.int32), halted=jnp.zeros((b,), bool),
              logits=jnp.zeros((b, cfg.seq_len, cfg.vocab_size), jnp.float32),
              q_halt=jnp.zeros((b,), jnp.float32), q_cont=jnp.zeros((b,), jnp.float32), n=jnp.zeros((), jnp.int32))

  def body(s):
    zh, zl, logits, qh, qc = _segment_unrolled(model, variables, s["z_H"], s["z_L"], x, ctx, batch)
    active = ~s["halted"]
    steps = s["steps"] + active.astype(jnp.int32)
    halt_now = (steps >= max_steps) | (qh > qc)
    return dict(z_H=rows(active, zh, s["z_H"]), z_L=rows(active, zl, s["z_L"]), steps=steps,
                halted=s["halted"] | (active & halt_now), logits=rows(active, logits.astype(jnp.float32), s["logits"]),
                q_halt=jnp.where(active, qh, s["q_halt"]), q_cont=jnp.where(active, qc, s["q_cont"]), n=s["n"] + 1)

  out = jax.lax.while_loop(lambda s: (s["n"] < max_steps) & ~jnp.all(s["halted"]), body, init)
  return (out["logits"], out["steps"], out["q_halt"], out["q_cont"])
