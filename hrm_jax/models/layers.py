"""Building blocks of the HRM and of the baseline Transformer.

Everything follows the reference HRM (sapientinc/HRM, `models/layers.py`, `models/hrm/hrm_act_v1.py`; see
`shared/reference/hrm-spec.md` sections 1.3-1.5):
  * weightless RMSNorm computed in fp32, eps 1e-5 (the reference's post-norm blocks have no gain);
  * fused QKV projection laid out as [all Q heads | all K heads | all V heads];
  * NeoX ("rotate half") rotary embeddings computed in fp32;
  * SwiGLU with a fused [gate | up] projection and width round_up(2/3 * expansion * d, 256);
  * no biases; weights are fp32 parameters cast to the activation dtype at each use.

Attention supports a key/value cache so that causal models decode incrementally: every *application* of a
block keeps its own cache (an HRM segment applies the same weights several times, see hrm.py).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax.ad_checkpoint import checkpoint_name

Array = jax.Array
DotGeneralCls = Callable[..., Any] | None

# Truncated-normal LeCun init whose *post-truncation* std is 1/sqrt(fan_in), as the reference's
# trunc_normal_init_ (JAX's variance_scaling already corrects for the truncation at +-2 sigma).
lecun_trunc_normal = nn.initializers.variance_scaling(1.0, "fan_in", "truncated_normal")
_TRUNC_STD_CORRECTION = 0.87962566103423978  # std of a standard normal truncated to [-2, 2]


def trunc_normal(std: float) -> Callable[..., Array]:
  """Initializer with true (post-truncation) standard deviation `std`, truncated at +-2 sigma."""
  if std == 0.0:
    return nn.initializers.zeros
  return nn.initializers.truncated_normal(stddev=std / _TRUNC_STD_CORRECTION, lower=-2.0, upper=2.0)


def rms_norm(x: Array, eps: float = 1e-5) -> Array:
  """Weightless RMSNorm in fp32, cast back to the input dtype. x: [..., d]."""
  x32 = x.astype(jnp.float32)
  x32 = x32 * jax.lax.rsqrt(jnp.mean(jnp.square(x32), axis=-1, keepdims=True) + eps)
  return x32.astype(x.dtype)


def swiglu_width(hidden_size: int, expansion: float) -> int:
  """Intermediate width of the reference SwiGLU: round_up(round(expansion * d * 2/3), 256)."""
  inter = round(expansion * hidden_size * 2 / 3)
  return -(-inter // 256) * 256


def rope_tables(positions: Array, head_dim: int, theta: float) -> tuple[Array, Array]:
  """cos/sin tables for NeoX rotary embeddings.

  Args:
    positions: int [batch, seq] absolute positions.
  Returns:
    cos, sin: fp32 [batch, seq, head_dim] (frequencies repeated twice, NeoX layout).
  """
  inv_freq = 1.0 / (theta ** (jnp.arange(0, head_dim, 2, dtype=jnp.float32) / head_dim))
  freqs = positions.astype(jnp.float32)[..., None] * inv_freq  # [b, s, d/2]
  emb = jnp.concatenate([freqs, freqs], axis=-1)
  return jnp.cos(emb), jnp.sin(emb)


def apply_rope(x: Array, cos: Array, sin: Array) -> Array:
  """x: [batch, seq, heads, head_dim]; cos/sin: [batch, seq, head_dim]. Rotate-half convention, fp32."""
  x32 = x.astype(jnp.float32)
  half = x.shape[-1] // 2
  rotated = jnp.concatenate([-x32[..., half:], x32[..., :half]], axis=-1)
  out = x32 * cos[:, :, None, :] + rotated * sin[:, :, None, :]
  return out.astype(x.dtype)


def constrain(x: Array, axes: tuple[str | None, ...]) -> Array:
  """Sharding constraint by logical axis names (a no-op unless a mesh and axis rules are set, see
  hrm_jax/train/sharding.py)."""
  return nn.with_logical_constraint(x, axes)


def int_matmul(x: Array, int_values: Array, scale: Array, act_bits: int = 8) -> Array:
  """x @ (int_values * scale) computed as an integer matmul: [..., in] x int8 [in, out] -> fp32 [..., out].

  The weights stay integers in memory and in the dot (a served model reads 1 byte per weight, not 4): each row of
  x is quantized to `act_bits` symmetric integers with its own scale, multiplied by the integer weights with int32
  accumulation, and rescaled by both scales. The numerics are AQT's for symmetric ints (IntSymmetric: scale =
  max|x| / (2^(bits-1) - 0.5), round half to even, clip to +-(2^(bits-1) - 1); hrm_jax/quant), so a frozen
  QAT model computes what it computed in training. scale: fp32 [1, out] (one per output column), or
  [in / G, out] for per-group weights (recipes "...g<G>"): then x is quantized per row and per group of G inputs
  too, each group's integer product (int32) rescaled by its two scales and the groups summed in fp32, as AQT's
  sub-channel tiling computes it (tiled_dot_general: the tiles as a batch axis, summed after rescaling).
  """
  k = x.shape[-1]
  groups = scale.shape[0]
  rows = x.reshape(-1, groups, k // groups).astype(jnp.float32)  # [m, groups, group size]
  m = rows.shape[0]
  bound = 2.0 ** (act_bits - 1) - 0.5
  absmax = jnp.max(jnp.abs(rows), axis=-1, keepdims=True)
  x_scale = jnp.where(absmax == 0, 1.0, absmax) / bound
  clip = 2.0 ** (act_bits - 1) - 1
  # x * (1 / scale), clipped, then rounded half to even: AQT's order of operations, so the same buckets.
  x_int = jnp.round(jnp.clip(rows * jax.lax.reciprocal(x_scale), -clip, clip)).astype(jnp.int8)
  if m == 1:
    # XLA:CPU's int8 matrix-vector product is ~20x slower than its 2-row matrix product (measured on the 2-core
    # CPU: 0.9 vs 17 GB/s of weights); a zero second row takes the fast path.
    x_int = jnp.pad(x_int, ((0, 1), (0, 0), (0, 0)))
  w_scale = scale.astype(jnp.float32)
  if groups == 1:
    acc = jax.lax.dot_general(x_int[:, 0], int_values, (((1,), (0,)), ((), ())), preferred_element_type=jnp.int32)
    out = acc[:m].astype(jnp.float32) * x_scale[:, 0] * w_scale
  else:  # groups as the batch axis: [groups, m, out] int32 products, rescaled per (row, group) and (group, column)
    w_int = int_values.reshape(groups, k // groups, -1)
    acc = jax.lax.dot_general(x_int, w_int, (((2,), (1,)), ((1,), (0,))), preferred_element_type=jnp.int32)
    out = jnp.sum(acc[:, :m].astype(jnp.float32) * jnp.moveaxis(x_scale, 1, 0) * w_scale[:, None, :], axis=0)
  return out.reshape(x.shape[:-1] + (int_values.shape[-1],))


def is_int_weight(leaf) -> bool:
  """A served integer weight: {"int_values": int8, "scale": fp32} (hrm_jax/quant.freeze)."""
  return isinstance(leaf, dict) and set(leaf) == {"int_values", "scale"}


class Linear(nn.Module):
  """Bias-free x @ kernel (kernel fp32 [in, out] with logical axes `axes`), as `nn.Dense` computes it, with AQT
  through `dot_general_cls`. In a served model the kernel may be a frozen integer weight (`is_int_weight`):
  then the product runs on integers (`int_matmul`, activations at `act_bits`)."""

  features: int
  axes: tuple[str | None, str | None]
  dtype: Any = jnp.float32
  dot_general_cls: DotGeneralCls = None
  act_bits: int = 8

  @nn.compact
  def __call__(self, x: Array) -> Array:
    kernel = self.param(
      "kernel", nn.with_logical_partitioning(lecun_trunc_normal, self.axes), (x.shape[-1], self.features), jnp.float32
    )
    if is_int_weight(kernel):
      return int_matmul(x, kernel["int_values"], kernel["scale"], self.act_bits).astype(self.dtype)
    x, kernel = x.astype(self.dtype), kernel.astype(self.dtype)
    dot_general = self.dot_general_cls() if self.dot_general_cls is not None else jax.lax.dot_general
    return dot_general(x, kernel, (((x.ndim - 1,), (0,)), ((), ())), precision=None)


class Embed(nn.Module):
  """Token embedding table [vocab, d] (`nn.Embed`'s parameter); a frozen int8 table is gathered as integer rows
  and scaled per row (hrm_jax/quant stores one scale per row, or [vocab, d / G] per group of G entries)."""

  num_embeddings: int
  features: int
  embedding_init: Callable[..., Array]

  @nn.compact
  def __call__(self, ids: Array) -> Array:
    table = self.param("embedding", self.embedding_init, (self.num_embeddings, self.features), jnp.float32)
    if is_int_weight(table):
      rows = jnp.take(table["int_values"], ids, axis=0).astype(jnp.float32)
      scale = jnp.take(table["scale"], ids, axis=0)  # [..., 1] or [..., groups]
      grouped = rows.reshape(rows.shape[:-1] + (scale.shape[-1], -1))
      return (grouped * scale[..., None]).reshape(rows.shape)
    return jnp.take(table, ids, axis=0)


def _dense(
  features: int, dtype, dot_general_cls: DotGeneralCls, name: str, axes: tuple[str, str], act_bits: int = 8
) -> Linear:
  """Bias-free projection whose kernel carries the logical axis names `axes` (in, out)."""
  return Linear(features, axes, dtype, dot_general_cls, act_bits, name=name)


def init_cache(batch_size: int, num_heads: int, head_dim: int, max_len: int, dtype) -> tuple[Array, Array]:
  """A zero KV cache for one attention layer: keys transposed, k [batch * heads, head_dim, max_len], and values
  v [batch * heads, max_len, head_dim].

  The layout is the one XLA:CPU's batched matrix products read as they lie (scores = q @ k, out = p @ v, batch
  first, contraction dim second-to-last of the right operand): any other layout makes it transpose the whole
  cache on every token (measured: 8 full copies per layer at batch 1 with [batch, heads, len, dim], 5x slower).
  """
  return (
    jnp.zeros((batch_size * num_heads, head_dim, max_len), dtype),
    jnp.zeros((batch_size * num_heads, max_len, head_dim), dtype),
  )


class CallerCache(NamedTuple):
  """A KV cache that the caller owns and updates (`init_cache`'s layout), for runtimes that cannot update a
  tensor in place (TFLite: a graph input is read-only, and a resource variable is read and assigned whole: measured
  ~3 copies of every cache per token). Attention reads it, never writes it, and returns the NEW entries instead
  (another `CallerCache`: k [batch * heads, head_dim, n], v [batch * heads, n, head_dim] for the n positions
  computed), which the caller writes at their positions. The cache's positions from `cache_index` on are not read
  (they may hold anything); a cache of 0 positions is a prefill from position 0."""

  k: Array
  v: Array


def cache_entries(k: Array, v: Array, dtype) -> tuple[Array, Array]:
  """New keys/values k, v [batch, n, heads, head_dim] in `init_cache`'s layout: k [batch * heads, head_dim, n],
  v [batch * heads, n, head_dim]."""
  b, n, h, d = k.shape
  return (
    k.transpose(0, 2, 3, 1).reshape(b * h, d, n).astype(dtype),
    v.transpose(0, 2, 1, 3).reshape(b * h, n, d).astype(dtype),
  )


def write_cache(cache: tuple[Array, Array], k: Array, v: Array, index: Array | int) -> tuple[Array, Array]:
  """Writes new keys/values k, v [batch, n, heads, head_dim] at position `index` (int: every row; int32 [batch]:
  per row) in place: one `dynamic_update_slice` per buffer (per row when rows differ)."""
  k_cache, v_cache = cache
  b, n, h, d = k.shape
  k_new, v_new = cache_entries(k, v, k_cache.dtype)
  index = jnp.asarray(index, jnp.int32)
  if index.ndim == 0:
    return (
      jax.lax.dynamic_update_slice(k_cache, k_new, (0, 0, index)),
      jax.lax.dynamic_update_slice(v_cache, v_new, (0, index, 0)),
    )
  rows = lambda a: a.reshape((b, h) + a.shape[1:])
  k_out = jax.vmap(lambda c, x, i: jax.lax.dynamic_update_slice(c, x, (0, 0, i)))(rows(k_cache), rows(k_new), index)
  v_out = jax.vmap(lambda c, x, i: jax.lax.dynamic_update_slice(c, x, (0, i, 0)))(rows(v_cache), rows(v_new), index)
  return k_out.reshape(k_cache.shape), v_out.reshape(v_cache.shape)


def _cache_scores(q: Array, k_cache: Array) -> Array:
  """Scaled scores fp32 [batch, heads, n, max_len] of q [batch, n, heads, head_dim] against a k cache
  (`init_cache`'s layout, read as it lies)."""
  b, n, h, d = q.shape
  qh = q.transpose(0, 2, 1, 3).reshape(b * h, n, d).astype(k_cache.dtype)
  scores = jnp.einsum("xqd,xdk->xqk", qh, k_cache, preferred_element_type=jnp.float32) / math.sqrt(d)
  return scores.reshape(b, h, n, k_cache.shape[-1])


def _cache_values(probs: Array, v_cache: Array) -> Array:
  """probs [batch, heads, n, max_len] times a v cache (`init_cache`'s layout): [batch, n, heads, head_dim]."""
  b, h, n, max_len = probs.shape
  out = jnp.einsum("xqk,xkd->xqd", probs.astype(v_cache.dtype).reshape(b * h, n, max_len), v_cache)
  return out.reshape(b, h, n, -1).transpose(0, 2, 1, 3)


def cached_attention(q: Array, cache: tuple[Array, Array], mask: Array | None) -> Array:
  """Softmax attention of q [batch, n, heads, head_dim] over a whole KV cache; mask bool [batch, 1, n, max_len].
  Returns [batch, n, heads, head_dim]."""
  k_cache, v_cache = cache
  scores = _cache_scores(q, k_cache)
  if mask is not None:
    scores = jnp.where(mask, scores, jnp.finfo(jnp.float32).min)
  return _cache_values(jax.nn.softmax(scores, axis=-1), v_cache).astype(q.dtype)


def caller_cache_attention(q: Array, k: Array, v: Array, cache: CallerCache, mask: Array | None, index) -> Array:
  """`cached_attention` over a `CallerCache` that does not hold the new positions yet: q, k, v [batch, n, heads,
  head_dim] at positions index..index + n - 1 attend to the cache's positions before `index` (int or int32 [batch])
  and, causally, to each other; one softmax over both. mask: bool [batch, 1, n, max_len] or None."""
  k_cache, v_cache = cache
  b, n, _, d = q.shape
  max_len = k_cache.shape[-1]
  before = jnp.arange(max_len)[None, :] < jnp.broadcast_to(jnp.asarray(index, jnp.int32), (b,))[:, None]
  keep = before[:, None, None, :] if mask is None else mask & before[:, None, None, :]
  old = jnp.where(keep, _cache_scores(q, k_cache), jnp.finfo(jnp.float32).min)
  new = jnp.einsum("bqhd,bkhd->bhqk", q, k, preferred_element_type=jnp.float32) / math.sqrt(d)
  new = jnp.where(jnp.tril(jnp.ones((n, n), bool)), new, jnp.finfo(jnp.float32).min)
  probs = jax.nn.softmax(jnp.concatenate([old, new], axis=-1), axis=-1)
  out = _cache_values(probs[..., :max_len], v_cache)
  out = out + jnp.einsum("bhqk,bkhd->bqhd", probs[..., max_len:].astype(v.dtype), v)
  return out.astype(q.dtype)


ATTENTION_IMPLS = ("einsum", "xla", "cudnn", "auto")


def attend(q: Array, k: Array, v: Array, mask: Array | None, impl: str = "einsum") -> Array:
  """softmax(q k^T / sqrt(d), masked) v over whole sequences: q [b, s, h, d], k/v [b, kv, h, d], mask bool
  [b, 1, s, kv] (True = may attend) or None. Returns [b, s, h, d].

  impl "einsum": two einsums with fp32 scores (this project's reference path); "xla" / "cudnn" / "auto":
  `jax.nn.dot_product_attention` with that implementation ("auto" lets JAX pick cuDNN's fused flash attention
  on GPUs that support the shapes, XLA elsewhere). The mask is passed as the API's boolean mask, so causal,
  prefix-LM and packed (segment) masks all go through it (tests/models/test_attention_impl.py checks every
  implementation available here against "einsum").
  """
  if impl == "einsum":
    d = q.shape[-1]
    scores = jnp.einsum("bqhd,bkhd->bhqk", q, k, preferred_element_type=jnp.float32) / math.sqrt(d)
    if mask is not None:
      scores = jnp.where(mask, scores, jnp.finfo(jnp.float32).min)
    probs = jax.nn.softmax(scores, axis=-1).astype(v.dtype)
    return jnp.einsum("bhqk,bkhd->bqhd", probs, v)
  if impl not in ATTENTION_IMPLS:
    raise ValueError(f"config.model.attention_impl={impl!r}: expected one of {ATTENTION_IMPLS}")
  return jax.nn.dot_product_attention(q, k, v, mask=mask, implementation=None if impl == "auto" else impl)


class Attention(nn.Module):
  """Multi-head attention with a fused QKV projection, RoPE and an optional KV cache."""

  num_heads: int
  head_dim: int
  dtype: Any = jnp.float32
  dot_general_cls: DotGeneralCls = None
  act_bits: int = 8
  attention_impl: str = "einsum"  # einsum | xla | cudnn | auto: `attend`

  @nn.compact
  def __call__(
    self,
    x: Array,
    cos: Array | None,
    sin: Array | None,
    mask: Array | None,
    cache: tuple[Array, Array] | None = None,
    cache_index: Array | int | None = None,
  ):
    """Attend.

    Args:
      x: [batch, seq, d_model] queries' inputs.
      cos, sin: [batch, seq, head_dim] rotary tables for x's positions, or None (learned positions).
      mask: bool [batch, 1, seq, kv_len] (True = may attend) or None for full attention.
      cache: optional (k, v) KV cache (`init_cache`'s layout): the new keys/values are written in place at
        `cache_index` (`write_cache`), then attention runs over the whole cache (`cached_attention`; the mask,
        [batch, 1, seq, max_len], hides unwritten slots). A `CallerCache` is read only, and the new entries are
        returned in its place.
      cache_index: int scalar (every row) or int32 [batch]: where x's first position goes in the cache.
    Returns:
      ([batch, seq, d_model], updated cache or None)
    """
    b, s, _ = x.shape
    h, d = self.num_heads, self.head_dim
    dense = functools.partial(_dense, dtype=self.dtype, dot_general_cls=self.dot_general_cls, act_bits=self.act_bits)
    qkv = dense(3 * h * d, name="qkv_proj", axes=("embed", "qkv"))(x)
    qkv = qkv.reshape(b, s, 3, h, d)
    q, k, v = (constrain(qkv[:, :, i], ("batch", "seq", "heads", "kv")) for i in range(3))
    if cos is not None:
      q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    if isinstance(cache, CallerCache):  # read the caller's cache, return the new entries (`CallerCache`)
      entries = CallerCache(*cache_entries(k, v, cache.k.dtype))
      if cache.k.shape[-1] == 0:
        out = attend(q, k, v, mask, self.attention_impl)
      else:
        out = caller_cache_attention(q, k, v, cache, mask, cache_index)
      out = dense(x.shape[-1], name="o_proj", axes=("heads", "embed"))(out.reshape(b, s, h * d))
      return constrain(out, ("batch", "seq", "embed")), entries
    if cache is not None:
      cache = write_cache(cache, k, v, cache_index)
      if not (isinstance(cache_index, int) and cache_index == 0 and (mask is None or mask.shape[-1] == s)):
        out = cached_attention(q, cache, mask)
        out = dense(x.shape[-1], name="o_proj", axes=("heads", "embed"))(out.reshape(b, s, h * d))
        return constrain(out, ("batch", "seq", "embed")), cache
      # A prefill from position 0 attends to exactly the keys it wrote: read them as computed, not the cache.
    out = attend(q, k, v, mask, self.attention_impl)
    out = dense(x.shape[-1], name="o_proj", axes=("heads", "embed"))(out.reshape(b, s, h * d))
    return constrain(out, ("batch", "seq", "embed")), cache


class SwiGLU(nn.Module):
  """down(silu(gate) * up), fused [gate | up] projection."""

  hidden_size: int
  expansion: float
  dtype: Any = jnp.float32
  dot_general_cls: DotGeneralCls = None
  act_bits: int = 8

  @nn.compact
  def __call__(self, x: Array) -> Array:
    inter = swiglu_width(self.hidden_size, self.expansion)
    dense = functools.partial(_dense, dtype=self.dtype, dot_general_cls=self.dot_general_cls, act_bits=self.act_bits)
    gate_up = dense(2 * inter, name="gate_up_proj", axes=("embed", "mlp"))(x)
    gate, up = jnp.split(gate_up, 2, axis=-1)
    hidden = constrain(nn.silu(gate) * up, ("batch", "seq", "mlp"))
    out = dense(self.hidden_size, name="down_proj", axes=("mlp", "embed"))(hidden)
    return constrain(out, ("batch", "seq", "embed"))


class Block(nn.Module):
  """One transformer block.

  `post_norm=True` is the reference HRM block: h = rms(h + attn(h)); h = rms(h + mlp(h)).
  `post_norm=False` is a standard pre-norm block (the baseline): h = h + attn(rms(h)); h = h + mlp(rms(h)).
  """

  hidden_size: int
  num_heads: int
  expansion: float
  rms_norm_eps: float = 1e-5
  post_norm: bool = True
  dtype: Any = jnp.float32
  dot_general_cls: DotGeneralCls = None
  act_bits: int = 8
  attention_impl: str = "einsum"

  @nn.compact
  def __call__(self, x, cos, sin, mask, cache=None, cache_index=None):
    attn = Attention(
      self.num_heads,
      self.hidden_size // self.num_heads,
      self.dtype,
      self.dot_general_cls,
      self.act_bits,
      self.attention_impl,
      name="self_attn",
    )
    mlp = SwiGLU(self.hidden_size, self.expansion, self.dtype, self.dot_general_cls, self.act_bits, name="mlp")
    norm = functools.partial(rms_norm, eps=self.rms_norm_eps)
    if self.post_norm:
      a, cache = attn(x, cos, sin, mask, cache, cache_index)
      x = norm(x + a)
      x = norm(x + mlp(x))
    else:
      a, cache = attn(norm(x), cos, sin, mask, cache, cache_index)
      x = x + a
      x = x + mlp(norm(x))
    return checkpoint_name(x, "block_out"), cache


def remat_policy(name: str):
  """A `jax.checkpoint` policy by name (what the backward pass may keep instead of recomputing).

  none: no rematerialisation (everything the forward made is kept); full: keep nothing (recompute the
  application); dots: keep matmul outputs; dots_no_batch: keep matmul outputs without batch dimensions
  (weights-like); block_outputs: keep each block's output (named `block_out`), recompute inside blocks.
  """
  policies = jax.checkpoint_policies
  table = {
    "full": policies.nothing_saveable,
    "dots": policies.checkpoint_dots,
    "dots_no_batch": policies.dots_with_no_batch_dims_saveable,
    "block_outputs": policies.save_only_these_names("block_out"),
  }
  if name not in table:
    raise ValueError(f"config.model.remat_policy={name!r}: expected one of {['none'] + sorted(table)}")
  return table[name]


class ReasoningModule(nn.Module):
  """A stack of blocks; `f(z, injection)` adds the injection once, then runs the blocks (spec 1.6).

  `scan_layers=True` runs the blocks under `nn.scan` (one compiled block, parameters stacked on a leading
  `layers` axis under the name `layers`; see `scan_layer_params` to convert an unrolled parameter tree).
  """

  num_layers: int
  hidden_size: int
  num_heads: int
  expansion: float
  rms_norm_eps: float = 1e-5
  post_norm: bool = True
  final_norm: bool = False
  dtype: Any = jnp.float32
  dot_general_cls: DotGeneralCls = None
  scan_layers: bool = False
  act_bits: int = 8
  attention_impl: str = "einsum"

  @nn.compact
  def __call__(self, z, injection, cos, sin, mask, caches=None, cache_index=None):
    """z, injection: [batch, seq, d]; caches: optional tuple with one (k, v) per layer, each
    [batch, heads, max_len, head_dim] (see Attention), returned updated in the same structure."""
    if injection is not None:
      z = z + injection
    z = constrain(z, ("batch", "seq", "embed"))
    block_args = (
      self.hidden_size,
      self.num_heads,
      self.expansion,
      self.rms_norm_eps,
      self.post_norm,
      self.dtype,
      self.dot_general_cls,
      self.act_bits,
      self.attention_impl,
    )
    if self.scan_layers:
      if caches is not None:
        # Scanning would slice every layer's cache out of a stacked buffer and stack it back (two copies of the
        # whole cache per call); inference unrolls the layers instead (unscan_layer_params).
        raise ValueError(
          "KV caches need unrolled layers: convert the parameters with layers.unscan_layer_params "
          "and set config.model.scan_layers=False for inference"
        )
      scanned = nn.scan(
        Block,
        variable_axes={"params": 0},
        split_rngs={"params": True},
        in_axes=(nn.broadcast, nn.broadcast, nn.broadcast, nn.broadcast, nn.broadcast),
        length=self.num_layers,
        metadata_params={nn.PARTITION_NAME: "layers"},
      )
      z, _ = scanned(*block_args, name="layers")(z, cos, sin, mask, None, None)
      new_caches = None
    else:
      new_caches = []
      for i in range(self.num_layers):
        z, layer_cache = Block(*block_args, name=f"layers_{i}")(
          z, cos, sin, mask, None if caches is None else caches[i], cache_index
        )
        new_caches.append(layer_cache)
      new_caches = None if caches is None else tuple(new_caches)
    if self.final_norm:
      z = rms_norm(z, self.rms_norm_eps)
    return z, new_caches


def scan_layer_params(params: dict) -> dict:
  """Converts unrolled block parameters (`layers_0`, `layers_1`, ...) into the `scan_layers` layout
  (`layers`, every leaf stacked on a new leading axis), recursively; other entries are kept."""
  if not isinstance(params, dict):
    return params
  names = sorted((k for k in params if k.startswith("layers_") and k[7:].isdigit()), key=lambda k: int(k[7:]))
  out = {k: scan_layer_params(v) for k, v in params.items() if k not in names}
  if names:
    out["layers"] = jax.tree.map(lambda *xs: jnp.stack(xs), *[params[k] for k in names])
  return out


def unscan_layer_params(params: dict) -> dict:
  """The inverse of `scan_layer_params`: every `layers` entry (leaves stacked on a leading axis) becomes
  `layers_0`, `layers_1`, ... (used to decode with KV caches, which need unrolled layers)."""
  if not isinstance(params, dict):
    return params
  out = {k: unscan_layer_params(v) for k, v in params.items() if k != "layers"}
  if "layers" in params:
    stacked = params["layers"]
    n = jax.tree.leaves(stacked)[0].shape[0]
    for i in range(n):
      out[f"layers_{i}"] = jax.tree.map(lambda x, i=i: x[i], stacked)
  return out
