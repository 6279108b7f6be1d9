"""TFLite/LiteRT export through jax2tf and the TFLite converter.

    hrm-jax export --workdir W --format tflite [--quantize int8] --out DIR

Writes (causal models) `decode.tflite`, the per-token step of `hrm_jax/export/serving.py`, and (every model)
`native.tflite`, the fixed-length forward with ACT under a while_loop; plus `tokenizer.json` and
`manifest.json` (input/output order, shapes, dtypes, segments, special token ids). Parameters are constants in
the file. `hrm_jax/export/litert_runner.py` runs the files with `ai_edge_litert` alone.

Inputs/outputs of decode.tflite, in this order (b = 1):
  token, position, depth int32 [1]; k_L, v_L, k_H, v_H fp32 caches
  -> logits fp32 [1, segments, vocab], q_halt, q_continue fp32 [1, segments], k_L, v_L, k_H, v_H
native.tflite: inputs, puzzle_identifiers, language_id, task_id, prompt_length (int32), the segment budget is
the model's halt_max_steps, with dynamic halting -> logits fp32 [1, seq_len, vocab], steps, q_halt, q_continue.

int8 (`--quantize int8`): TFLite's dynamic-range quantization (`optimizations=[tf.lite.Optimize.DEFAULT]`) of the
fp32 graph stores every matrix multiplied by FULLY_CONNECTED / BATCH_MATMUL as int8 with per-channel scales
(activations are quantized on the fly by the hybrid kernels). It leaves GATHER tables float, so the decode step
stores the token embedding itself as int8 rows with fp32 row scales (`serving.with_int8_embedding`), gathered
and scaled at run time. Measured and rejected: freezing every weight to int8 and dequantizing in the graph
(int8 constant -> cast -> multiply): the converter folds those constants back into fp32 ones, and the file is
exactly as large as the fp32 one.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from hrm_jax.export import serving

MANIFEST = "manifest.json"


def _tf():
  import tensorflow as tf  # the converter; imported only by the export
  return tf


def convert(fn: Callable, specs: Sequence[tuple[str, jax.ShapeDtypeStruct]], optimize: bool = False) -> bytes:
  """jax2tf -> concrete tf.function -> TFLite flatbuffer (builtin ops only)."""
  tf = _tf()
  from jax.experimental import jax2tf
  tf_fn = tf.function(jax2tf.convert(fn, with_gradient=False), autograph=False,
                      input_signature=[tf.TensorSpec(s.shape, tf.as_dtype(s.dtype), name=n) for n, s in specs])
  concrete = tf_fn.get_concrete_function()
  converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], tf_fn)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  if optimize:
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
  return converter.convert()


def _functions(served: serving.Served, segments: int):
  """name -> (fn(*inputs) with the parameters closed over as constants, [(input name, spec)], output names)."""
  cfg = served.cfg
  stored = jax.tree.map(jnp.asarray, served.stored)
  i32 = lambda *shape: jax.ShapeDtypeStruct(shape, jnp.int32)
  fns = {}
  if cfg.attention != "bidirectional":
    caches = list(serving.step_cache_shapes(cfg, segments).items())
    fns["decode"] = (lambda *a: serving.step(served, stored, *a),
                     [("token", i32(1)), ("position", i32(1)), ("depth", i32(1))] + caches,
                     ["logits", "q_halt", "q_continue"] + list(serving.CACHE_NAMES))
  fns["native"] = (lambda *a: serving.native_forward_unrolled(served, stored, *a, jnp.int32(cfg.halt_max_steps)),
                   [("inputs", i32(1, cfg.seq_len)), ("puzzle_identifiers", i32(1)), ("language_id", i32(1)),
                    ("task_id", i32(1)), ("prompt_length", i32(1))],
                   ["logits", "steps", "q_halt", "q_continue"])
  return fns


def export_model(model, params, out_dir: str, *, quantize: str = "none",
                 segments: int | None = None, tokenizer_file: str | None = None,
                 functions: Sequence[str] | None = None, special_ids: dict | None = None) -> dict:
  """Converts the model to .tflite files in `out_dir`; returns the manifest (also written as manifest.json)."""
  if quantize not in ("none", "int8"):
    raise ValueError(f"--quantize {quantize!r}: the TFLite export supports none or int8")
  served = serving.serve(model, params, "none")
  optimize = quantize == "int8"
  if optimize:
    served = serving.with_int8_embedding(served)
  cfg = served.cfg
  segments = serving.num_segments(cfg, segments)
  os.makedirs(out_dir, exist_ok=True)
  manifest = {"format": "hrm-jax-tflite-1", "quantize": quantize,
              "int8": "dynamic-range weights + int8 embedding rows" if optimize else None, "segments": segments,
              "model": dataclasses.asdict(cfg), "special_ids": special_ids or {}, "files": {}}
  for name, (fn, specs, outputs) in _functions(served, segments).items():
    if functions and name not in functions:
      continue
    blob = convert(fn, specs, optimize)
    path = f"{name}.tflite"
    with open(os.path.join(out_dir, path), "wb") as f:
      f.write(blob)
    manifest["files"][name] = {"file": path, "bytes": len(blob),
                               "inputs": [{"name": n, "shape": list(s.shape), "dtype": str(s.dtype)} for n, s in specs],
                               "outputs": outputs}
  if tokenizer_file:
    shutil.copyfile(tokenizer_file, os.path.join(out_dir, "tokenizer.json"))
    manifest["tokenizer"] = "tokenizer.json"
  with open(os.path.join(out_dir, MANIFEST), "w") as f:
    json.dump(manifest, f, indent=2)
  return manifest


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
