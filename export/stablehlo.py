"""StableHLO export (`jax.export`) of the prefill and decode steps and of the native forward with ACT.

    hrm-jax export --workdir W --format stablehlo [--quantize int8] --out DIR

DIR holds one serialized `jax.export.Exported` per function (`<name>.jax_exported`), the stored parameters
(`params.npz`: the leaves of the parameter tree, integer leaves as int8 + fp32 scales when quantized), the
tokenizer (`tokenizer.json`) and `manifest.json` (functions, input/output names, shapes, dtypes, the model
config). Each function takes the parameter leaves (a list, in the npz's order) first, then its inputs; the
dequantization of integer weights runs inside the exported graph. `hrm_jax/export/stablehlo_runner.py` loads the
directory with JAX alone (no model code) and generates.

Functions (b = the export batch size, 1 by default; segments = the ACT budget; caches = the KV caches named in
the manifest, `serving.cache_names` order, each [b, heads, total_len, head_dim]):
  prefill_<bucket>(params, inputs int32 [b, bucket], prompt_length, language_id, task_id int32 [b], *caches)
      -> logits fp32 [b, vocab], depth int32 [b], *caches               (causal models; one per bucket)
  decode(params, token, position, depth int32 [b], *caches) -> logits fp32 [b, vocab], *caches
  native(params, inputs int32 [b, seq_len], puzzle_identifiers, language_id, task_id, prompt_length int32 [b],
         max_steps int32 []) -> logits fp32 [b, seq_len, vocab], steps int32 [b], q_halt, q_continue
The caches are donated (`donate_argnums`): a runtime that supports donation updates them in place.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import export as jax_export

from hrm_jax.export import serving
from hrm_jax.inference import sampler

MANIFEST = "manifest.json"
PARAMS_FILE = "params.npz"


def _spec(shape, dtype) -> jax.ShapeDtypeStruct:
  return jax.ShapeDtypeStruct(tuple(shape), jnp.dtype(dtype))


def function_signatures(
  served: serving.Served, batch_size: int, segments: int, buckets: Sequence[int]
) -> dict[str, tuple[Callable, list[tuple[str, jax.ShapeDtypeStruct]]]]:
  """name -> (fn(stored, *inputs), [(input name, spec)]) for every exported function."""
  cfg = served.cfg
  b = batch_size
  i32 = lambda *shape: _spec(shape, jnp.int32)
  caches = serving.cache_specs(cfg, b, segments)
  fns: dict[str, tuple[Callable, list]] = {}
  if cfg.attention != "bidirectional":
    for bucket in buckets:
      fns[f"prefill_{bucket}"] = (
        functools.partial(serving.prefill, served),
        [("inputs", i32(b, bucket)), ("prompt_length", i32(b)), ("language_id", i32(b)), ("task_id", i32(b))] + caches,
      )
    token_inputs = [("token", i32(b)), ("position", i32(b)), ("depth", i32(b))]
    fns["decode"] = (functools.partial(serving.decode, served), token_inputs + caches)
  fns["native"] = (
    functools.partial(serving.native_forward, served),
    [
      ("inputs", i32(b, cfg.seq_len)),
      ("puzzle_identifiers", i32(b)),
      ("language_id", i32(b)),
      ("task_id", i32(b)),
      ("prompt_length", i32(b)),
      ("max_steps", i32()),
    ],
  )
  return fns


def output_names(kind: str, cache_names: list[str]) -> list[str]:
  return {
    "prefill": ["logits", "depth"] + cache_names,
    "decode": ["logits"] + cache_names,
    "native": ["logits", "steps", "q_halt", "q_continue"],
  }[kind]


def export_model(
  served: serving.Served,
  out_dir: str,
  *,
  batch_size: int = 1,
  segments: int | None = None,
  buckets: Sequence[int] | None = None,
  tokenizer_file: str | None = None,
  platforms: Sequence[str] = ("cpu",),
) -> dict:
  """Writes the StableHLO bundle to `out_dir` and returns the manifest."""
  cfg = served.cfg
  segments = serving.num_segments(cfg, segments)
  buckets = tuple(buckets) if buckets else sampler.length_buckets(cfg.seq_len)
  os.makedirs(out_dir, exist_ok=True)
  leaves, treedef = jax.tree.flatten(served.stored)
  leaf_specs = [_spec(np.shape(x), np.asarray(x).dtype) for x in leaves]
  np.savez(os.path.join(out_dir, PARAMS_FILE), **{f"p{i:05d}": np.asarray(x) for i, x in enumerate(leaves)})
  manifest = {
    "format": "hrm-jax-stablehlo-1",
    "quantize": served.quantize,
    "segments": segments,
    "batch_size": batch_size,
    "buckets": list(buckets) if cfg.attention != "bidirectional" else [],
    "num_params": len(leaves),
    "model": dataclasses.asdict(cfg),
    "functions": {},
    "caches": [
      {"name": n, "shape": list(s.shape), "dtype": str(s.dtype)}
      for n, s in serving.cache_specs(cfg, batch_size, segments)
    ]
    if cfg.attention != "bidirectional"
    else [],
  }
  names = [c["name"] for c in manifest["caches"]]
  for name, (fn, inputs) in function_signatures(served, batch_size, segments, buckets).items():

    def flat_fn(param_leaves, *args, fn=fn):
      return fn(jax.tree.unflatten(treedef, param_leaves), *args)

    first_cache = next((i + 1 for i, (n, _) in enumerate(inputs) if n in names), None)
    donate = tuple(range(first_cache, len(inputs) + 1)) if first_cache else ()
    exported = jax_export.export(jax.jit(flat_fn, donate_argnums=donate), platforms=tuple(platforms))(
      leaf_specs, *[spec for _, spec in inputs]
    )
    path = f"{name}.jax_exported"
    with open(os.path.join(out_dir, path), "wb") as f:
      f.write(exported.serialize())
    kind = name.split("_")[0]
    manifest["functions"][name] = {
      "file": path,
      "inputs": [{"name": n, "shape": list(s.shape), "dtype": str(s.dtype)} for n, s in inputs],
      "outputs": [
        {"name": n, "shape": [int(d) for d in o.shape], "dtype": str(o.dtype)}
        for n, o in zip(output_names(kind, names), exported.out_avals)
      ],
    }
  if tokenizer_file:
    shutil.copyfile(tokenizer_file, os.path.join(out_dir, "tokenizer.json"))
    manifest["tokenizer"] = "tokenizer.json"
  with open(os.path.join(out_dir, MANIFEST), "w") as f:
    json.dump(manifest, f, indent=2)
  return manifest
