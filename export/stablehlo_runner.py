"""Runs a StableHLO bundle written by `hrm_jax/export/stablehlo.py` with JAX alone (no model code imported).

from hrm_jax.export import stablehlo_runner
bundle = stablehlo_runner.load("DIR")
caches = bundle.zero_caches()
logits, depth, *caches = bundle.call("prefill_16", inputs, prompt_length, language_id, task_id, *caches)
ids = bundle.generate_greedy(prompt_ids, max_new_tokens=64, stop_ids=(1,))
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence

import numpy as np
from jax import export as jax_export


@dataclasses.dataclass
class Bundle:
  """The deserialized functions, the stored parameter leaves and the manifest."""

  manifest: dict
  params: list[np.ndarray]
  functions: dict

  def call(self, name: str, *inputs):
    """Calls exported function `name` with the stored parameters first; returns NumPy arrays."""
    if name not in self.functions:
      raise KeyError(f"{name!r} is not in this bundle; it has {sorted(self.functions)}")
    return [np.asarray(x) for x in self.functions[name].call(self.params, *inputs)]

  def zero_caches(self) -> list[np.ndarray]:
    """Zero KV caches in the order the prefill/decode functions take them."""
    return [np.zeros(c["shape"], c["dtype"]) for c in self.manifest["caches"]]

  def generate_greedy(
    self,
    prompt: Sequence[int],
    max_new_tokens: int,
    stop_ids: Sequence[int] = (1,),
    language_id: int = 0,
    task_id: int = 0,
  ) -> list[int]:
    """Greedy generation for one prompt (batch size 1): prefill at the smallest bucket that fits, then decode."""
    m = self.manifest
    seq_len = m["model"]["seq_len"]
    buckets = [b for b in m["buckets"] if b >= len(prompt)]
    if not buckets or len(prompt) + max_new_tokens > seq_len:
      raise ValueError(f"prompt of {len(prompt)} tokens + {max_new_tokens} new exceeds seq_len={seq_len}")
    bucket = buckets[0]
    inputs = np.zeros((1, bucket), np.int32)
    inputs[0, : len(prompt)] = prompt
    one = lambda v: np.asarray([v], np.int32)
    # The caches stay on the device between calls (exported with donation: updated in place).
    logits, depth, *caches = self.functions[f"prefill_{bucket}"].call(
      self.params, inputs, one(len(prompt)), one(language_id), one(task_id), *self.zero_caches()
    )
    out: list[int] = []
    for t in range(max_new_tokens):
      token = int(np.argmax(np.asarray(logits)[0]))
      if token in stop_ids:
        break
      out.append(token)
      position = min(len(prompt) + t, seq_len - 1)
      logits, *caches = self.functions["decode"].call(self.params, one(token), one(position), depth, *caches)
    return out


def load(directory: str) -> Bundle:
  with open(os.path.join(directory, "manifest.json")) as f:
    manifest = json.load(f)
  with np.load(os.path.join(directory, "params.npz")) as npz:
    params = [npz[f"p{i:05d}"] for i in range(manifest["num_params"])]
  functions = {}
  for name, spec in manifest["functions"].items():
    with open(os.path.join(directory, spec["file"]), "rb") as f:
      functions[name] = jax_export.deserialize(bytearray(f.read()))
  return Bundle(manifest, params, functions)
