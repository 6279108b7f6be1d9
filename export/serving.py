"""What every export shares: the served model, its parameters (float or integer), and the functions exported.

The exported functions are the sampler's, around the one HRM core (`hrm.segment` under `hrm.act_loop`):

    prefill(inputs int32 [b, bucket], prompt_length, language_id, task_id int32 [b], caches)
        -> logits fp32 [b, vocab] (first new token), depth int32 [b] (the ACT depth the Q head chose), caches
    decode(token, position, depth int32 [b], caches) -> logits fp32 [b, vocab], caches
    native(inputs int32 [b, seq_len], puzzle_identifiers, language_id, task_id, prompt_length int32 [b],
           max_steps int32 []) -> logits fp32 [b, seq_len, vocab], steps int32 [b], q_halt, q_continue fp32 [b]

`caches` are the sampler's KV caches (`sampler.init_caches`) flattened to a list in `cache_names` order: one
(k, v) pair per (segment, module application, layer), each [b, heads, total_len, head_dim]. `position` is the
token's index in the sequence (prompt token i is at i; the prefix tokens come before, as in training).

A served quantized model (any recipe of hrm_jax.quant: int8, int4, w4a8g16, ...) stores every matrix as integers
(`quant.freeze`, scope "all"; per-group recipes with one scale per group of the input axis and output column) and
computes with them as integers (`layers.int_matmul`): the parameters passed to an exported function are the
integers and scales.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hrm_jax import quant
from hrm_jax.inference import sampler
from hrm_jax.models import hrm, layers


@dataclasses.dataclass(frozen=True)
class Served:
  """A model ready to export.

  stored: the parameter tree written to the artifact ("params" collection; integer leaves are
  {"int_values": int8, "scale": fp32}, read as integers by the model's layers); quantize: "none" or a recipe name.
  """

  model: hrm.HRMCore
  stored: Any
  quantize: str

  @property
  def cfg(self) -> hrm.HRMConfig:
    return self.model.cfg

  def variables(self, stored=None) -> dict:
    return {"params": self.stored if stored is None else stored}


def serve(model: hrm.HRMCore, params, quantize: str = "none") -> Served:
  """The served form of a trained model.

  quantize "none": the model as trained (a QAT model keeps its AQT fake-quantization). A recipe ("int8", "int4",
  "w4a8g16", ...): every matrix is stored as integers at the recipe's weight bits (`quant.freeze`, scope "all";
  "g<G>": one scale per G inputs and output column) and multiplied as integers, activations quantized per row (and
  per group of G inputs) at the model's activation bits (a QAT model: its recipe's, as in training, so serve it
  with its own config.model.quant; a float model: 8-bit, dynamic).
  Layers scanned in training are unrolled (KV caches need them: `layers.unscan_layer_params`).
  """
  params = params["params"] if "params" in params else params
  params = jax.tree.map(np.asarray, params)
  cfg = model.cfg
  if cfg.scan_layers:
    params = layers.unscan_layer_params(params)
    cfg = dataclasses.replace(cfg, scan_layers=False)
  if quantize == "none":
    return Served(hrm.HRMCore(cfg, dot_general_cls=model.dot_general_cls), params, "none")
  return Served(hrm.HRMCore(cfg), quant.freeze(params, quantize, scope="all"), quantize)


def num_segments(cfg: hrm.HRMConfig, segments: int | None) -> int:
  return segments or cfg.halt_max_steps


def cache_names(cfg: hrm.HRMConfig, segments: int) -> list[str]:
  """Names of the flattened caches, in order: `k_s{segment}_a{application}_l{layer}` then `v_...`."""
  caches = jax.eval_shape(lambda: sampler.init_caches(cfg, 1, segments))
  names = []
  for s, seg in enumerate(caches):
    for a, app in enumerate(seg):
      for l, _ in enumerate(app):
        names += [f"k_s{s}_a{a}_l{l}", f"v_s{s}_a{a}_l{l}"]
  return names


def cache_specs(cfg: hrm.HRMConfig, batch_size: int, segments: int) -> list[tuple[str, jax.ShapeDtypeStruct]]:
  leaves = jax.tree.leaves(jax.eval_shape(lambda: sampler.init_caches(cfg, batch_size, segments)))
  return list(zip(cache_names(cfg, segments), leaves))


def _caches_treedef(cfg: hrm.HRMConfig, batch_size: int, segments: int):
  return jax.tree.structure(jax.eval_shape(lambda: sampler.init_caches(cfg, batch_size, segments)))


def _batch(inputs, prompt_length, language_id, task_id, puzzle_identifiers=None) -> dict:
  b = inputs.shape[0]
  return {
    "inputs": inputs,
    "prompt_length": prompt_length,
    "language_id": language_id,
    "task_id": task_id,
    "puzzle_identifiers": jnp.zeros((b,), jnp.int32) if puzzle_identifiers is None else puzzle_identifiers,
  }


def prefill(
  served: Served,
  stored,
  inputs,
  prompt_length,
  language_id,
  task_id,
  *caches,
  dynamic_halting: bool = True,
  skip_halted: bool = True,
):
  """`sampler.prefill` over a bucket-padded prompt (inputs int32 [b, bucket]) into the given caches.
  Returns (logits fp32 [b, vocab], depth int32 [b], *caches). skip_halted: False for converters without
  working conditionals (TFLite): every segment runs, the outputs are the same."""
  b = inputs.shape[0]
  segments = len(caches) // (2 * _apps_layers(served.cfg))
  tree = jax.tree.unflatten(_caches_treedef(served.cfg, b, segments), caches)
  tree, depth, logits = sampler.prefill(
    served.model,
    served.variables(stored),
    _batch(inputs, prompt_length, language_id, task_id),
    tree,
    dynamic_halting,
    skip_halted=skip_halted,
  )
  return (logits, depth) + tuple(jax.tree.leaves(tree))


def decode(served: Served, stored, token, position, depth, *caches, skip_halted: bool = False):
  """`sampler.decode_step`: (logits fp32 [b, vocab], *caches). Every segment of the caches runs (a conditional
  per segment would copy every cache on every token); the logits are each row's at its `depth`, so export with
  `--segments` the depth wanted (the budget is the cost per token)."""
  b = token.shape[0]
  segments = len(caches) // (2 * _apps_layers(served.cfg))
  tree = jax.tree.unflatten(_caches_treedef(served.cfg, b, segments), caches)
  logits, tree = sampler.decode_step(
    served.model, served.variables(stored), token, position, tree, depth, skip_halted=skip_halted
  )
  return (logits,) + tuple(jax.tree.leaves(tree))


def _caller_caches(cfg: hrm.HRMConfig, b: int, segments: int, caches) -> tuple:
  """The flat caches (`cache_names` order) as the sampler's tree of `layers.CallerCache`s."""
  tree = jax.tree.unflatten(_caches_treedef(cfg, b, segments), caches)
  return tuple(tuple(tuple(layers.CallerCache(*kv) for kv in app) for app in seg) for seg in tree)


def prefill_entries(served: Served, stored, inputs, prompt_length, language_id, task_id, *, segments: int):
  """`prefill` for runtimes that own the caches (`layers.CallerCache`; TFLite): no caches in, and out the keys
  and values of positions 0..prefix_len + bucket - 1 of every cache (`cache_names` order; k [b * heads, head_dim,
  prefix_len + bucket], v [b * heads, prefix_len + bucket, head_dim]), for the caller to write at the front of its
  caches. Every segment runs (`skip_halted=False`). Returns (logits, depth, *entries)."""
  cfg = served.cfg
  b = inputs.shape[0]
  empty = [
    jnp.zeros(s.shape[:-1] + (0,) if n.startswith("k") else (s.shape[0], 0, s.shape[2]), s.dtype)
    for n, s in cache_specs(cfg, b, segments)
  ]
  tree = _caller_caches(cfg, b, segments, empty)
  tree, depth, logits = sampler.prefill(
    served.model,
    served.variables(stored),
    _batch(inputs, prompt_length, language_id, task_id),
    tree,
    skip_halted=False,
  )
  return (logits, depth) + tuple(jax.tree.leaves(tree))


def decode_entries(served: Served, stored, token, position, depth, *caches):
  """`decode` for runtimes that own the caches (`layers.CallerCache`; TFLite): the caches are read, not
  written, and out come the new token's key and value for every cache (k [b * heads, head_dim, 1], v [b * heads,
  1, head_dim], `cache_names` order), for the caller to write at sequence index prefix_len + position.
  Returns (logits, *entries)."""
  b = token.shape[0]
  segments = len(caches) // (2 * _apps_layers(served.cfg))
  tree = _caller_caches(served.cfg, b, segments, caches)
  logits, tree = sampler.decode_step(served.model, served.variables(stored), token, position, tree, depth)
  return (logits,) + tuple(jax.tree.leaves(tree))


def _apps_layers(cfg: hrm.HRMConfig) -> int:
  """(application, layer) pairs of one segment."""
  return sum(cfg.application_layers)


def native_forward(
  served: Served,
  stored,
  inputs,
  puzzle_identifiers,
  language_id,
  task_id,
  prompt_length,
  max_steps,
  *,
  dynamic_halting: bool = True,
):
  """The fixed-length forward with ACT (`hrm.act_evaluate`): inputs int32 [b, seq_len]; max_steps int32 scalar.
  Returns (logits fp32 [b, seq_len, vocab], steps int32 [b], q_halt fp32 [b], q_continue fp32 [b])."""
  batch = _batch(inputs, prompt_length, language_id, task_id, puzzle_identifiers)
  out = hrm.act_evaluate(served.model, served.variables(stored), batch, max_steps, dynamic_halting=dynamic_halting)
  return (out["logits"].astype(jnp.float32), out["steps"], out["q_halt_logits"], out["q_continue_logits"])
