"""TFLite/LiteRT export through jax2tf and the TFLite converter: one model for phones, caches owned by the app.

    hrm-jax export --workdir W --format tflite [--quantize int8] [--buckets 64,256] --out DIR

Writes (causal models) `model.tflite`, ONE model with named signatures around the one HRM core
(`export/serving.py`, `hrm_jax/inference/sampler.py`). The KV caches belong to the caller (`layers.CallerCache`):
they are inputs of `decode`, which reads them and returns the new token's keys and values; the caller writes those
into its caches at the token's position. TFLite cannot update a tensor in place: with the caches as resource
variables, every token read each cache, copied it for the update and assigned it back (~3 copies of the ~75 MB
of caches of hrm_27m per token, most of the decode time). One cache per (segment, application, layer) and k/v,
named `cache_names` (`k_s0_a0_l0`, `v_s0_a0_l0`, ...), laid out as `layers.init_cache`: k [heads, head_dim,
prefix_len + seq_len], v [heads, prefix_len + seq_len, head_dim], fp32.
  decode(token, position, depth int32 [1], <every cache>) -> logits fp32 [1, vocab] (the token after `token`),
      <for every cache its new entry>: k [heads, head_dim, 1], v [heads, 1, head_dim], to be written at
      sequence index prefix_len + position
  prefill_<bucket>(inputs int32 [1, bucket], prompt_length, language_id, task_id int32 [1])
      -> logits fp32 [1, vocab] (first new token), depth int32 [1] (the ACT depth the Q head chose),
      <for every cache its entries at positions 0 .. prefix_len + bucket - 1>, to be written at the front
`decode` is the primary subgraph (index 0), so its input tensors are reachable as writable buffers from every
TFLite API (C++ `interpreter->typed_input_tensor`, Python `Interpreter.tensor`): an app allocates once and writes
the few new entries per token in place (`export/litert_runner.py`; zeroed once: a cache's slots past the current
position are masked out, so nothing is cleared between prompts, but they must hold finite numbers).
TFLite's IF op fails on the segment conditionals (XNNPACK cannot prepare it; without XNNPACK the outputs were
wrong), so these graphs run every one of the `segments` segments (`skip_halted=False`: the same outputs; the
ACT depth still selects which segment's logits are used). Export with `--segments 1` for the fastest phone model.
Also written: (every model) `native.tflite`, the fixed-length forward with ACT under a while_loop (inputs,
puzzle_identifiers, language_id, task_id, prompt_length int32 -> logits [1, seq_len, vocab], steps, q_halt,
q_continue); plus `tokenizer.json` and `manifest.json` (signatures, cache names and shapes, segments, special
token ids).

int8 (`--quantize int8`): TFLite's dynamic-range quantization (`optimizations=[tf.lite.Optimize.DEFAULT]`) stores
every matrix multiplied by FULLY_CONNECTED / BATCH_MATMUL as int8 with per-channel scales (activations quantized
on the fly by the hybrid kernels). It leaves GATHER tables float, so the token embedding itself is stored as int8
rows with fp32 row scales (`int8_embedding`), gathered and scaled at run time. Measured and rejected: freezing
every weight to int8 and dequantizing in the graph (int8 constant -> cast -> multiply): the converter folds those
constants back into fp32 ones, and the file is exactly as large as the fp32 one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from hrm_jax import quant
from hrm_jax.export import serving
from hrm_jax.inference import sampler

MANIFEST = "manifest.json"
FORMAT = "hrm-jax-tflite-3"


def _tf():
  import tensorflow as tf  # the converter; imported only by the export

  return tf


def _converter(tf, concrete_functions, trackable, optimize: bool):
  converter = tf.lite.TFLiteConverter.from_concrete_functions(concrete_functions, trackable)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  if optimize:
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
  return converter.convert()


def int8_embedding(served: serving.Served) -> serving.Served:
  """Only the token embedding stored as int8 (per-row scales); the rest as `served` stores it."""
  stored = dict(served.stored)
  table = stored["embed_tokens"]["embedding"]
  if not quant.is_frozen_leaf(table):
    q, scale = quant.quantize_array(table, 8, axis=1)
    stored["embed_tokens"] = {"embedding": {quant.INT_KEY: q, quant.SCALE_KEY: scale}}
  return serving.Served(served.model, stored, served.quantize)


def convert_generation_model(
  served: serving.Served, segments: int, buckets: Sequence[int], optimize: bool = False
) -> tuple[bytes, dict]:
  """The prefill/decode model over caller-owned caches (module doc). Returns (flatbuffer, the manifest's
  signature entries). `decode` is the first signature, so it is the primary subgraph (index 0), whose input
  tensors every TFLite API can reach as writable buffers."""
  tf = _tf()
  from jax.experimental import jax2tf

  cfg = served.cfg
  stored = jax.tree.map(jnp.asarray, served.stored)
  specs = serving.cache_specs(cfg, 1, segments)
  names = [n for n, _ in specs]
  i32 = lambda *shape: tf.TensorSpec(shape, tf.int32)
  signatures: dict[str, tuple[Callable, list, list]] = {}

  def signature(fn, input_names, input_specs, output_names, name):
    converted = jax2tf.convert(fn, with_gradient=False)

    def call(*inputs):
      return dict(zip(output_names, converted(*inputs)))

    call.__name__ = name  # from_concrete_functions names each signature after its function
    specs_named = [tf.TensorSpec(sp.shape, sp.dtype, name=nm) for nm, sp in zip(input_names, input_specs)]
    signatures[name] = (tf.function(call, autograph=False, input_signature=specs_named), input_names, output_names)

  cache_inputs = [tf.TensorSpec(s.shape, tf.as_dtype(s.dtype)) for _, s in specs]
  signature(
    lambda *a: serving.decode_entries(served, stored, *a),
    ["token", "position", "depth"] + names,
    [i32(1), i32(1), i32(1)] + cache_inputs,
    ["logits"] + names,
    "decode",
  )
  for bucket in buckets:
    signature(
      lambda *a: serving.prefill_entries(served, stored, *a, segments=segments),
      ["inputs", "prompt_length", "language_id", "task_id"],
      [i32(1, bucket), i32(1), i32(1), i32(1)],
      ["logits", "depth"] + names,
      f"prefill_{bucket}",
    )
  module = tf.Module()
  module.fns = {k: v[0] for k, v in signatures.items()}  # tracked by the module
  blob = _converter(tf, [f.get_concrete_function() for f in module.fns.values()], module, optimize)
  entries = {k: {"inputs": v[1], "outputs": v[2]} for k, v in signatures.items()}
  return blob, entries


def convert_native(served: serving.Served, optimize: bool = False) -> bytes:
  """The fixed-length forward with ACT (dynamic halting, budget halt_max_steps), parameters as constants."""
  tf = _tf()
  from jax.experimental import jax2tf

  cfg = served.cfg
  stored = jax.tree.map(jnp.asarray, served.stored)
  fn = lambda *a: serving.native_forward(served, stored, *a, jnp.int32(cfg.halt_max_steps))
  names = ["inputs", "puzzle_identifiers", "language_id", "task_id", "prompt_length"]
  shapes = [(1, cfg.seq_len), (1,), (1,), (1,), (1,)]
  tf_fn = tf.function(
    jax2tf.convert(fn, with_gradient=False),
    autograph=False,
    input_signature=[tf.TensorSpec(s, tf.int32, name=n) for n, s in zip(names, shapes)],
  )
  return _converter(tf, [tf_fn.get_concrete_function()], tf_fn, optimize)


def export_model(
  model,
  params,
  out_dir: str,
  *,
  quantize: str = "none",
  segments: int | None = None,
  buckets: Sequence[int] | None = None,
  tokenizer_file: str | None = None,
  functions: Sequence[str] | None = None,
  special_ids: dict | None = None,
) -> dict:
  """Converts the model to .tflite files in `out_dir`; returns the manifest (also written as manifest.json).

  functions: which files to write ("model", "native"; default both, "model" only for causal models);
  buckets: prompt buckets of the prefill signatures (default powers of two up to seq_len, as the sampler's).
  """
  if quantize not in ("none", "int8"):
    raise ValueError(f"--quantize {quantize!r}: the TFLite export supports none or int8")
  served = serving.serve(model, params, "none")
  optimize = quantize == "int8"
  if optimize:
    served = int8_embedding(served)
  cfg = served.cfg
  if cfg.puzzle_emb_ndim > 0 and cfg.attention != "bidirectional":
    raise ValueError("the TFLite generation model does not support puzzle prefixes (config.model.puzzle_emb_ndim)")
  segments = serving.num_segments(cfg, segments)
  buckets = tuple(buckets) if buckets else sampler.length_buckets(cfg.seq_len)
  os.makedirs(out_dir, exist_ok=True)
  manifest = {
    "format": FORMAT,
    "quantize": quantize,
    "int8": "dynamic-range weights + int8 embedding rows" if optimize else None,
    "segments": segments,
    "model": dataclasses.asdict(cfg),
    "special_ids": special_ids or {},
    "files": {},
  }
  wanted = set(functions or ("model", "native"))
  if cfg.attention != "bidirectional" and "model" in wanted:
    blob, entries = convert_generation_model(served, segments, buckets, optimize)
    _write(out_dir, "model.tflite", blob)
    manifest["files"]["model"] = {
      "file": "model.tflite",
      "bytes": len(blob),
      "buckets": list(buckets),
      "signatures": entries,
      "kv_cache_bytes": sampler.cache_bytes(cfg, 1, segments),
      "caches": {n: list(sp.shape) for n, sp in serving.cache_specs(cfg, 1, segments)},
      "prefix_len": cfg.prefix_len,
    }
  if "native" in wanted:
    blob = convert_native(served, optimize)
    _write(out_dir, "native.tflite", blob)
    manifest["files"]["native"] = {"file": "native.tflite", "bytes": len(blob)}
  if tokenizer_file:
    shutil.copyfile(tokenizer_file, os.path.join(out_dir, "tokenizer.json"))
    manifest["tokenizer"] = "tokenizer.json"
  with open(os.path.join(out_dir, MANIFEST), "w") as f:
    json.dump(manifest, f, indent=2)
  return manifest


def _write(out_dir: str, name: str, blob: bytes) -> None:
  tmp = os.path.join(out_dir, name + ".tmp")
  with open(tmp, "wb") as f:
    f.write(blob)
  os.replace(tmp, os.path.join(out_dir, name))  # a crash never leaves a truncated model behind


def weight_bytes(path: str) -> dict[str, int]:
  """Bytes of constant buffers per tensor type in a .tflite file (shows whether weights are stored as int8)."""
  from tensorflow.lite.python import schema_py_generated as schema

  with open(path, "rb") as f:
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(f.read(), 0))
  type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
  sizes: dict[str, int] = {}
  seen: set[int] = set()
  for subgraph in model.subgraphs:
    for tensor in subgraph.tensors:
      data = model.buffers[tensor.buffer].data
      if data is not None and len(data) and tensor.buffer not in seen:
        seen.add(tensor.buffer)
        name = type_names[tensor.type]
        sizes[name] = sizes.get(name, 0) + len(data)
  return sizes
