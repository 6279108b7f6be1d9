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
from typing import Any, Callable

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


def _dense(features: int, dtype, dot_general_cls: DotGeneralCls, name: str,
           axes: tuple[str, str]) -> nn.Dense:
  """Bias-free projection whose kernel carries the logical axis names `axes` (in, out)."""
  kwargs = {}
  if dot_general_cls is not None:
    kwargs["dot_general_cls"] = dot_general_cls
  return nn.Dense(features, use_bias=False, dtype=dtype, param_dtype=jnp.float32,
                  kernel_init=nn.with_logical_partitioning(lecun_trunc_normal, axes), name=name, **kwargs)


class Attention(nn.Module):
  """Multi-head attention with a fused QKV projection, RoPE and an optional KV cache."""
  num_heads: int
  head_dim: int
  dtype: Any = jnp.float32
  dot_general_cls: DotGeneralCls = None

  @nn.compact
  def __call__(self, x: Array, cos: Array | None, sin: Array | None, mask: Array | None,
               cache: tuple[Array, Array] | None = None, cache_index: Array | None = None):
    """Attend.

    Args:
      x: [batch, seq, d_model] queries' inputs.
      cos, sin: [batch, seq, head_dim] rotary tables for x's positions, or None (learned positions).
      mask: bool [batch, 1, seq, kv_len] (True = may attend) or None for full attention.
      cache: optional (k, v), each [batch, max_len, heads, head_dim]; the new keys/values are written at
        `cache_index` and attention runs over the whole cache (mask must hide unwritten slots).
      cache_index: int scalar or int32 [batch]: where x's first position goes in each sequence's cache.
    Returns:
      ([batch, seq, d_model], updated cache or None)
    """
    b, s, _ = x.shape
    h, d = self.num_heads, self.head_dim
    qkv = _dense(3 * h * d, self.dtype, self.dot_general_cls, "qkv_proj", ("embed", "qkv"))(x)
    qkv = qkv.reshape(b, s, 3, h, d)
    q, k, v = (constrain(qkv[:, :, i], ("batch", "seq", "heads", "kv")) for i in range(3))
    if cos is not None:
      q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    new_cache = None
    if cache is not None:
      k_cache, v_cache = cache
      write = jax.vmap(lambda c, new, i: jax.lax.dynamic_update_slice(c, new.astype(c.dtype), (i, 0, 0)))
      index = jnp.broadcast_to(jnp.asarray(cache_index, jnp.int32), (b,))
      k, v = write(k_cache, k, index), write(v_cache, v, index)
      new_cache = (k, v)
    scores = jnp.einsum("bqhd,bkhd->bhqk", q, k, preferred_element_type=jnp.float32) / math.sqrt(d)
    if mask is not None:
      scores = jnp.where(mask, scores, jnp.finfo(jnp.float32).min)
    probs = jax.nn.softmax(scores, axis=-1).astype(v.dtype)
    out = jnp.einsum("bhqk,bkhd->bqhd", probs, v).reshape(b, s, h * d)
    out = _dense(x.shape[-1], self.dtype, self.dot_general_cls, "o_proj", ("heads", "embed"))(out)
    return constrain(out, ("batch", "seq", "embed")), new_cache


class SwiGLU(nn.Module):
  """down(silu(gate) * up), fused [gate | up] projection."""
  hidden_size: int
  expansion: float
  dtype: Any = jnp.float32
  dot_general_cls: DotGeneralCls = None

  @nn.compact
  def __call__(self, x: Array) -> Array:
    inter = swiglu_width(self.hidden_size, self.expansion)
    gate_up = _dense(2 * inter, self.dtype, self.dot_general_cls, "gate_up_proj", ("embed", "mlp"))(x)
    gate, up = jnp.split(gate_up, 2, axis=-1)
    hidden = constrain(nn.silu(gate) * up, ("batch", "seq", "mlp"))
    out = _dense(self.hidden_size, self.dtype, self.dot_general_cls, "down_proj", ("mlp", "embed"))(hidden)
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

  @nn.compact
  def __call__(self, x, cos, sin, mask, cache=None, cache_index=None):
    attn = Attention(self.num_heads, self.hidden_size // self.num_heads, self.dtype, self.dot_general_cls,
                     name="self_attn")
    mlp = SwiGLU(self.hidden_size, self.expansion, self.dtype, self.dot_general_cls, name="mlp")
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
  table = {"full": policies.nothing_saveable, "dots": policies.checkpoint_dots,
           "dots_no_batch": policies.dots_with_no_batch_dims_saveable,
           "block_outputs": policies.save_only_these_names("block_out")}
  if name not in table:
    raise ValueError(f"config.model.remat_policy={name!r}: expected one of {['none'] + sorted(table)}")
  return table[name]


REMAT_POLICIES = ("none", "full", "dots", "dots_no_batch", "block_outputs")


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

  @nn.compact
  def __call__(self, z, injection, cos, sin, mask, caches=None, cache_index=None):
    """z, injection: [batch, seq, d]; caches: optional (k, v) each [layers, batch, max_len, heads, head_dim]."""
    if injection is not None:
      z = z + injection
    z = constrain(z, ("batch", "seq", "embed"))
    block_args = (self.hidden_size, self.num_heads, self.expansion, self.rms_norm_eps, self.post_norm, self.dtype,
                  self.dot_general_cls)
    if self.scan_layers:
      scanned = nn.scan(Block, variable_axes={"params": 0}, split_rngs={"params": True},
                        in_axes=(nn.broadcast, nn.broadcast, nn.broadcast, 0, nn.broadcast),
                        length=self.num_layers, metadata_params={nn.PARTITION_NAME: "layers"})
      z, new_caches = scanned(*block_args, name="layers")(z, cos, sin, mask, caches, cache_index)
    else:
      new_k, new_v = [], []
      for i in range(self.num_layers):
        layer_cache = None if caches is None else (caches[0][i], caches[1][i])
        z, layer_cache = Block(*block_args, name=f"layers_{i}")(z, cos, sin, mask, layer_cache, cache_index)
        if caches is not None:
          new_k.append(layer_cache[0])
          new_v.append(layer_cache[1])
      new_caches = None if caches is None else (jnp.stack(new_k), jnp.stack(new_v))
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
