"""Quantization: AQT int8/int4 for training (QAT) and integer weight storage for serving.

    from hrm_jax import quant
    model = hrm.HRMCore(cfg, dot_general_cls=quant.dot_general_cls("int8"))   # QAT / AQT serving
    frozen = quant.freeze(params, "int8")            # integer weights + fp32 scales (what a served model stores)
    logits = hrm.HRMCore(cfg).apply({"params": frozen}, ...)  # multiplied as integers (layers.int_matmul)
    params = quant.dequantize(frozen)                # back to float

Three flows:
  * QAT: `config.model.quant=int8|int4` makes every projection of the H/L blocks (fused QKV, output, SwiGLU
    gate/up and down) an `aqt_flax.AqtDotGeneral`: weights and activations are fake-quantized in the forward
    pass with per-channel abs-max scales, gradients flow straight through (AQT's default).
  * Freeze: `freeze` stores each matrix as integers with one fp32 scale per output channel, using AQT's own
    numerics for symmetric ints with zero preserved (aqt/jax/v2/numerics/int_numerics.py, `IntSymmetric`:
    scale = max|w| / (2^(bits-1) - 0.5), values rounded half-to-even and clipped to +-(2^(bits-1) - 1)), so the
    AQT dot_general re-quantizes a dequantized frozen weight to the very same integers. The model's layers
    read a frozen tree as it is and multiply the integers (`layers.int_matmul`, activations quantized with
    AQT's numerics): the frozen model computes what the QAT model computes (tests/quant/test_quant.py).
  * PTQ: an fp32-trained checkpoint run through the AQT model (`dot_general_cls(bits)`) without training, or
    with weight-only rounding (`fake_quantize`), for comparison with QAT (python -m hrm_jax.bench.quant_quality).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

QUANT_MODES = ("none", "int8", "int4")
BITS = {"int8": 8, "int4": 4}
# Leaves stored as integers by `freeze`: scope "blocks" = the matrices the AQT model quantizes (every projection
# of the H/L blocks, kernels [in, out] scaled per output column); scope "all" adds the LM head and the token
# embedding ([vocab, d], scaled per row), which dominate a small model's size. The Q head stays fp32 (Q logits in
# fp32, DESIGN.md), as do the 1-D initial states and the zero-initialised prefix tables.
SCOPES = ("blocks", "all")
BLOCK_MODULES = ("H_level", "L_level", "stack")
INT_KEY, SCALE_KEY = "int_values", "scale"


def _bits(name: str) -> int:
  if name not in BITS:
    raise ValueError(f"quantization {name!r}: expected one of {tuple(BITS)} (config.model.quant / --quantize)")
  return BITS[name]


def aqt_config(name: str):
  """AQT DotGeneral config: `name` bits for weights and activations in the forward pass; the gradients' matmuls
  in the backward pass at 8 bits (4-bit gradients stalled training: bench/quant_quality measured int4 QAT at
  +322% eval loss with bwd_bits=4). Deterministic rounding, so runs are reproducible."""
  from aqt.jax.v2 import config as aqt_config_lib

  bits = _bits(name)
  return aqt_config_lib.fully_quantized(fwd_bits=bits, bwd_bits=8, use_stochastic_rounding=False)


def dot_general_cls(name: str) -> Callable[..., Any] | None:
  """The `dot_general_cls` for nn.Dense: `functools.partial(aqt_flax.AqtDotGeneral, cfg)`; None for "none"."""
  if name == "none":
    return None
  from aqt.jax.v2.flax import aqt_flax

  # prng_name=None: rounding is deterministic, so the layer needs no "params" rng at apply time and the
  # model's segment/ACT functions run unchanged (variables stay {"params"} only).
  return functools.partial(aqt_flax.AqtDotGeneral, aqt_config(name), prng_name=None)


def _quant_axis(path: tuple[str, ...], leaf, scope: str) -> int | None:
  """Axis the scale is shared along (the contraction axis), or None when the leaf stays float."""
  if getattr(leaf, "ndim", 0) != 2 or "q_head" in path:
    return None
  if scope == "blocks" and not any(m in path for m in BLOCK_MODULES):
    return None
  if path[-1] == "kernel":
    return 0  # [in, out]: one scale per output column, as AQT scales the rhs of x @ kernel
  if path[-1] == "embedding":
    return 1  # [vocab, d]: one scale per row (gathered, never contracted)
  return None


def _path_names(path) -> tuple[str, ...]:
  return tuple(str(getattr(p, "key", getattr(p, "name", p))) for p in path)


def quantize_array(w: Array | np.ndarray, bits: int, axis: int) -> tuple[np.ndarray, np.ndarray]:
  """Symmetric per-channel quantization (AQT IntSymmetric, preserve_zero=True, preserve_max_val=False).

  Returns (int8 values in [-(2^(bits-1)-1), 2^(bits-1)-1], fp32 scale broadcastable to w).
  """
  w = np.asarray(w, np.float32)
  bound = 2.0 ** (bits - 1) - 0.5
  absmax = np.max(np.abs(w), axis=axis, keepdims=True)
  scale = np.where(absmax == 0, 1.0, absmax / bound).astype(np.float32)
  clip = 2.0 ** (bits - 1) - 1
  q = np.clip(np.round(w / scale), -clip, clip)  # np.round is half-to-even, as AQT's lax.round TO_NEAREST_EVEN
  return q.astype(np.int8), scale


def is_frozen_leaf(x) -> bool:
  return isinstance(x, dict) and set(x) == {INT_KEY, SCALE_KEY}


def freeze(params, name: str, scope: str = "all"):
  """The served form of a parameter tree: chosen matrices become {"int_values": int8, "scale": fp32}.

  `params` is the "params" collection (or {"params": ...}); the structure is kept otherwise. int4 values are
  stored in int8 containers (values in [-7, 7]). scope: "blocks" (exactly what the AQT model quantizes, so a
  frozen QAT model computes what it computed in training) or "all" (also the LM head and the embedding).
  """
  bits = _bits(name)
  if scope not in SCOPES:
    raise ValueError(f"freeze scope {scope!r}: expected one of {SCOPES}")

  def convert(path, leaf):
    axis = _quant_axis(_path_names(path), leaf, scope)
    if axis is None:
      return np.asarray(leaf)
    q, s = quantize_array(leaf, bits, axis)
    return {INT_KEY: q, SCALE_KEY: s}

  return jax.tree_util.tree_map_with_path(convert, params)


def dequantize(frozen, dtype=jnp.float32):
  """Float parameters from `freeze`'s output (works on NumPy or traced arrays, so it can run in-graph)."""

  def is_leaf(x):
    return is_frozen_leaf(x)

  def convert(x):
    if is_frozen_leaf(x):
      return x[INT_KEY].astype(dtype) * x[SCALE_KEY].astype(dtype)
    return x

  return jax.tree.map(convert, frozen, is_leaf=is_leaf)


def fake_quantize(params, name: str, scope: str = "all"):
  """Weight-only post-training quantization: the float parameters a frozen model would compute with."""
  return dequantize(freeze(params, name, scope))


def nbytes(tree) -> int:
  """Bytes of every array in a (frozen or float) parameter tree."""
  return int(sum(np.asarray(x).nbytes for x in jax.tree.leaves(tree)))
