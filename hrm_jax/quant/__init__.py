"""Quantization: AQT recipes (int8, int4, w4a8g16, ...) for training (QAT) and integer weight storage for serving.

    from hrm_jax import quant
    model = hrm.HRMCore(cfg, dot_general_cls=quant.dot_general_cls("int8"))   # QAT / AQT serving
    frozen = quant.freeze(params, "int8")            # integer weights + fp32 scales (what a served model stores)
    logits = hrm.HRMCore(cfg).apply({"params": frozen}, ...)  # multiplied as integers (layers.int_matmul)
    params = quant.dequantize(frozen)                # back to float

Three flows:
  * QAT: `config.model.quant=<recipe>` (e.g. int8, int4, w4a8g16) makes every projection of the H/L blocks
    (fused QKV, output, SwiGLU gate/up and down) an `aqt_flax.AqtDotGeneral`: weights and activations are
    fake-quantized in the forward pass with abs-max scales (per channel, or per group), gradients flow straight
    through (AQT's default).
    QAT from a trained fp32 checkpoint: `config.train.init_from` (hrm_jax/train/trainer.py).
  * Recipes (`recipe`): "int8", "int4", "w4a8" (int4 weights, int8 activations), each optionally + "g<size>":
    per-group (sub-channel) scales through AQT's contraction-axis tiling, e.g. "w4a8g16" (the int4 recipe that
    holds, fine-tuned from an fp32 checkpoint: docs/export.md). `dot_general_cls(name)` takes any recipe.
  * Freeze: `freeze` stores each matrix as integers with one fp32 scale per output channel (per-group recipes:
    one per group of the contraction axis and output channel, `scale` [in / G, out]), using AQT's own
    numerics for symmetric ints with zero preserved (aqt/jax/v2/numerics/int_numerics.py, `IntSymmetric`:
    scale = max|w| / (2^(bits-1) - 0.5), values rounded half-to-even and clipped to +-(2^(bits-1) - 1)), so the
    AQT dot_general re-quantizes a dequantized frozen weight to the very same integers. The model's layers
    read a frozen tree as it is and multiply the integers (`layers.int_matmul`, activations quantized with
    AQT's numerics, per group when the weight has groups): the frozen model computes what the QAT model computes
    (tests/quant/test_quant.py).
  * PTQ: an fp32-trained checkpoint run through the AQT model (`dot_general_cls(bits)`) without training, or
    with weight-only rounding (`fake_quantize`), for comparison with QAT (python -m hrm_jax.bench.quant_quality).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from typing import Any

import numpy as np

# JAX is imported inside the functions that need it: the recipe grammar (`recipe`) validates config files
# (`config.model.quant`) and CLI flags, which must stay cheap to load (hrm_jax/models/config.py imports no JAX).

# Leaves stored as integers by `freeze`: scope "blocks" = the matrices the AQT model quantizes (every projection
# of the H/L blocks, kernels [in, out] scaled per output column); scope "all" adds the LM head and the token
# embedding ([vocab, d], scaled per row), which dominate a small model's size. The Q head stays fp32 (Q logits in
# fp32, DESIGN.md), as do the 1-D initial states and the zero-initialised prefix tables.
SCOPES = ("blocks", "all")
BLOCK_MODULES = ("H_level", "L_level", "stack")
INT_KEY, SCALE_KEY = "int_values", "scale"
BWD_BITS = 8  # the gradients' matmuls (4-bit gradients stalled training: int4 QAT +322% eval loss, quant_quality)

GRAMMAR = "int8, int4 or w<4|8>a<4|8>, optionally + g<group size> (e.g. w4a8g16)"
_RECIPE = re.compile(r"^(?:int(?P<bits>4|8)|w(?P<w>4|8)a(?P<a>4|8))(?:g(?P<group>[1-9][0-9]*))?$")


@dataclasses.dataclass(frozen=True)
class Recipe:
  """What quantization-aware training quantizes in each block projection x @ kernel.

  weight_bits: the kernel's bits; act_bits: the activations' (x) bits; group_size: 0 = one scale per output
  channel (per row of x), else one scale per `group_size` consecutive entries of the contraction axis (AQT's
  sub-channel tiling, `tiled_dot_general`: the product is summed over tiles, each tile with its own scales for x
  and the kernel).

  Names: "int8" (w8a8), "int4" (w4a4), "w<bits>a<bits>" (e.g. "w4a8": int4 weights, int8 activations), each
  optionally followed by "g<size>" (e.g. "int4g16", "w4a8g16").
  """

  weight_bits: int
  act_bits: int
  group_size: int = 0

  @property
  def name(self) -> str:
    base = f"int{self.weight_bits}" if self.weight_bits == self.act_bits else f"w{self.weight_bits}a{self.act_bits}"
    return base + (f"g{self.group_size}" if self.group_size else "")


def recipe(name: str) -> Recipe:
  """Parses a quantization name ("int8", "int4", "w4a8", "int4g16", "w4a8g16", ...); a clear error otherwise."""
  m = _RECIPE.match(name) if isinstance(name, str) else None
  if m is None:
    raise ValueError(f"quantization {name!r}: expected {GRAMMAR} (config.model.quant / --quantize)")
  if m["bits"]:
    w = a = int(m["bits"])
  else:
    w, a = int(m["w"]), int(m["a"])
  return Recipe(w, a, int(m["group"] or 0))


def aqt_config(name: str):
  """AQT DotGeneral config for a recipe (`recipe`): weights at weight_bits and activations at act_bits in the
  forward pass, the gradients' matmuls at 8 bits (reusing the forward pass's quantized operands, AQT's
  use_fwd_quant), abs-max calibration, deterministic rounding (runs are reproducible)."""
  from aqt.jax.v2 import aqt_dot_general

  r = recipe(name)
  return aqt_dot_general.dot_general_make(
    lhs_bits=r.act_bits, rhs_bits=r.weight_bits, bwd_bits=BWD_BITS, use_fwd_quant=True
  )


def contraction_tiling(group_size: int):
  """AQT `tiling_fn` that splits the contraction axis of x @ kernel into tiles of `group_size` (sub-channel
  scales for both operands). The axis must divide by the group size."""
  from aqt.jax.v2 import tiled_dot_general as tiled

  def tiling_fn(lhs, rhs, dimension_numbers):
    (lhs_contract, rhs_contract), _ = dimension_numbers
    size = lhs.shape[lhs_contract[0]]
    if size % group_size:
      raise ValueError(f"quantization group size {group_size} does not divide a projection's input size {size}")
    return tiled.Cfg(
      lhs=tiled.TensorTiling(
        contraction_axes=[tiled.AxisTiling(axis=lhs_contract[0], tile_size=group_size)], remaining_axes=[]
      ),
      rhs=tiled.TensorTiling(
        contraction_axes=[tiled.AxisTiling(axis=rhs_contract[0], tile_size=group_size)], remaining_axes=[]
      ),
    )

  return tiling_fn


def dot_general_cls(name: str) -> Callable[..., Any] | None:
  """The `dot_general_cls` for nn.Dense: `functools.partial(aqt_flax.AqtDotGeneral, cfg)`; None for "none"."""
  if name == "none":
    return None
  from aqt.jax.v2.flax import aqt_flax

  r = recipe(name)
  # prng_name=None: rounding is deterministic, so the layer needs no "params" rng at apply time and the
  # model's segment/ACT functions run unchanged (variables stay {"params"} only).
  tiling = {"tiling_fn": contraction_tiling(r.group_size)} if r.group_size else {}
  return functools.partial(aqt_flax.AqtDotGeneral, aqt_config(name), prng_name=None, **tiling)


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


def quantize_array(w: np.ndarray, bits: int, axis: int, group_size: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """Symmetric quantization (AQT IntSymmetric, preserve_zero=True, preserve_max_val=False) sharing a scale along
  `axis` (the contraction axis): one scale per channel, or with `group_size` > 0 one per group of that many
  consecutive entries along `axis` (AQT's sub-channel tiling).

  Returns (int8 values in [-(2^(bits-1)-1), 2^(bits-1)-1], w's shape; fp32 scale, w's shape except
  shape[axis] = 1, or = shape[axis] / group_size with groups: `expand_scale` repeats it over its groups).
  """
  w = np.asarray(w, np.float32)
  axis %= w.ndim
  if group_size:
    n = w.shape[axis]
    if n % group_size:
      raise ValueError(f"quantization group size {group_size} does not divide an axis of size {n}")
    before, after = w.shape[:axis], w.shape[axis + 1 :]
    q, scale = quantize_array(w.reshape(before + (n // group_size, group_size) + after), bits, axis + 1)
    return q.reshape(w.shape), scale.reshape(before + (n // group_size,) + after)
  bound = 2.0 ** (bits - 1) - 0.5
  absmax = np.max(np.abs(w), axis=axis, keepdims=True)
  scale = np.where(absmax == 0, 1.0, absmax / bound).astype(np.float32)
  clip = 2.0 ** (bits - 1) - 1
  q = np.clip(np.round(w / scale), -clip, clip)  # np.round is half-to-even, as AQT's lax.round TO_NEAREST_EVEN
  return q.astype(np.int8), scale


def group_axis(values_shape: tuple[int, ...], scale_shape: tuple[int, ...]) -> int | None:
  """The axis a stored scale is grouped along (1 < scale size < values size), or None when it broadcasts as is
  (per-channel scales: size 1 along the shared axis)."""
  for a, (n, k) in enumerate(zip(values_shape, scale_shape)):
    if 1 < k < n:
      return a
  return None


def scaled(int_values, scale, dtype=np.float32):
  """int_values * scale with a per-group scale repeated over its groups (NumPy or JAX arrays, traceable)."""
  q, s = int_values.astype(dtype), scale.astype(dtype)
  a = group_axis(q.shape, s.shape)
  if a is None:
    return q * s
  k = s.shape[a]
  grouped = q.reshape(q.shape[:a] + (k, q.shape[a] // k) + q.shape[a + 1 :])
  return (grouped * s.reshape(s.shape[:a] + (k, 1) + s.shape[a + 1 :])).reshape(q.shape)


def fake_quantize_array(w: np.ndarray, bits: int, axis: int, group_size: int = 0) -> np.ndarray:
  """`w` rounded as `quantize_array` does and scaled back to float; `group_size` > 0: one scale per group of that
  many consecutive entries along `axis` (sub-channel), as AQT's contraction tiling scales them."""
  q, scale = quantize_array(w, bits, axis, group_size)
  return scaled(q, scale)


def is_frozen_leaf(x) -> bool:
  return isinstance(x, dict) and set(x) == {INT_KEY, SCALE_KEY}


def freeze(params, name: str, scope: str = "all"):
  """The served form of a parameter tree: chosen matrices become {"int_values": int8, "scale": fp32}.

  `params` is the "params" collection (or {"params": ...}); the structure is kept otherwise. int4 values are
  stored in int8 containers (values in [-7, 7]). Scales: one per output column of a kernel [in, out] (per row of
  the embedding); a per-group recipe ("w4a8g16") stores one per group of `group_size` inputs and column, [in/G,
  out] ([vocab, d/G]), which the layers read as groups (`layers.int_matmul`). scope: "blocks" (exactly what the
  AQT model quantizes, so a frozen QAT model computes what it computed in training) or "all" (also the LM head
  and the embedding).
  """
  import jax

  r = recipe(name)
  if scope not in SCOPES:
    raise ValueError(f"freeze scope {scope!r}: expected one of {SCOPES}")

  def convert(path, leaf):
    axis = _quant_axis(_path_names(path), leaf, scope)
    if axis is None:
      return np.asarray(leaf)
    q, s = quantize_array(leaf, r.weight_bits, axis, r.group_size)
    return {INT_KEY: q, SCALE_KEY: s}

  return jax.tree_util.tree_map_with_path(convert, params)


def dequantize(frozen, dtype=np.float32):
  """Float parameters from `freeze`'s output (works on NumPy or traced arrays, so it can run in-graph); per-group
  scales ([groups, out] for a kernel [in, out], [rows, groups] for an embedding) are repeated over their groups."""
  import jax

  def is_leaf(x):
    return is_frozen_leaf(x)

  def convert(x):
    if is_frozen_leaf(x):
      return scaled(x[INT_KEY], x[SCALE_KEY], dtype)
    return x

  return jax.tree.map(convert, frozen, is_leaf=is_leaf)


def fake_quantize(params, name: str, scope: str = "all"):
  """Weight-only post-training quantization: the float parameters a frozen model would compute with (per-group
  recipes such as "int4g16": one scale per group of the contraction axis, per group of a row for the embedding)."""
  import jax

  r = recipe(name)
  if scope not in SCOPES:
    raise ValueError(f"freeze scope {scope!r}: expected one of {SCOPES}")

  def convert(path, leaf):
    axis = _quant_axis(_path_names(path), leaf, scope)
    if axis is None:
      return np.asarray(leaf)
    # the group runs along the contraction axis (a kernel's rows); an embedding row is split into groups
    return fake_quantize_array(leaf, r.weight_bits, axis, r.group_size)

  return jax.tree_util.tree_map_with_path(convert, params)


def nbytes(tree) -> int:
  """Bytes of every array in a (frozen or float) parameter tree."""
  import jax

  return int(sum(np.asarray(x).nbytes for x in jax.tree.leaves(tree)))
