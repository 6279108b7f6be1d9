"""The Hierarchical Reasoning Model (HRM) and its Adaptive Computation Time (ACT) wrapper.

A faithful port of the reference (Wang et al. 2025, arXiv 2506.21734; sapientinc/HRM `models/hrm/hrm_act_v1.py`,
specified in `shared/reference/hrm-spec.md`), written functionally:

  * `HRMCore` (Flax linen) holds the parameters: token embedding, the prefix embeddings (puzzle / language /
    task), the H and L stacks, the LM head and the Q (halting) head, and the fixed initial states H_init/L_init.
  * `segment()` is THE recurrence, one reference forward pass: the static schedule of H_cycles x L_cycles
    applications of L and H_cycles of H, unrolled, with an optional explicit KV cache per application (as
    gemma's `Transformer.__call__` takes an optional cache); all but the last `grad_steps` applications run on
    stop-gradient parameters and inputs (the reference's one-step gradient is `grad_steps=2`: the last L and the
    last H). Training, evaluation, prefill, decode, RL replay and the exports all call it.
  * `forward_segment()` is one segment over whole sequences with the LM and Q heads (the reference's forward).
  * `act_loop()` is the ACT loop, written once: segments until every row halts (Q head, budget or a given
    depth), as a `lax.while_loop` or unrolled with `lax.cond` when each segment owns cache buffers.
  * `act_step()` is one ACT call (spec 2.2): reset and data swap for halted slots, one segment, halting with
    exploration, and the bootstrapped target for the continue Q-value from the updated carry.
  * `act_evaluate()` runs whole ACT rollouts (`act_loop` under one `lax.while_loop`): the reference's fixed
    number of segments or dynamic halting, with the segment budget a runtime argument.

The Tiny Recursive Model (`arch="trm"`; Jolicoeur-Martineau 2025, arXiv 2510.04871, SamsungSAILMontreal/
TinyRecursiveModels `models/recursive_reasoning/trm.py`) is the same core with one network: `L_level` makes both
the z_L and the z_H updates of the same static schedule, the whole last H cycle carries gradients
(`HRMConfig.graded_applications`), and with `no_ACT_continue` the Q head halts by q_halt > 0 with no target-Q
pass (`halts`). docs/model.md says how it maps.

Modes (config `attention`):
  * `bidirectional`: the reference's native mode (fixed-length transduction, no mask).
  * `causal` / `prefix_lm`: code generation. Every block application attends causally (prefix_lm: the prompt
    bidirectionally), so a segment is a weight-tied deep causal transformer and decoding can be incremental with
    one KV cache per module application and segment (see hrm_jax/inference/sampler.py).

ACT in the causal mode (config `q_position="last_prompt"`): the Q head reads z_H at the last prompt token, which
under causal attention has seen the whole prompt and nothing of the answer. Its halt/continue decision after
each segment therefore picks one depth (number of segments) for the whole response before any token is
generated, and training teaches it whether the answer produced at that depth is right (exact match under
teacher forcing, the reference's sequence-level Q target). The sampler runs prefill segment by segment until
the Q head halts and then decodes every token at that depth.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp

from hrm_jax.models import layers
from hrm_jax.models.config import ATTENTION_MODES, H_KIND, L_KIND, HRMConfig  # noqa: F401  (re-exported)

Array = jax.Array
Batch = Mapping[str, Array]


class HRMCore(nn.Module):
  """Parameters and per-module computations of the HRM (the recurrence is in `segment`)."""

  cfg: HRMConfig
  dot_general_cls: Any = None

  def setup(self):
    c = self.cfg
    d = c.hidden_size
    embed_std = 1.0 / math.sqrt(d)
    # Every parameter carries logical axis names (mapped to mesh axes by hrm_jax/train/sharding.py).
    named = nn.with_logical_partitioning
    # Embed/Linear are nn.Embed/nn.Dense's parameters, also readable as frozen integers (serving, hrm_jax/quant).
    self.embed_tokens = layers.Embed(c.vocab_size, d, named(layers.trunc_normal(embed_std), ("vocab", "embed")))
    self.lm_head = layers.Linear(c.vocab_size, ("embed", "vocab"), dtype=c.dtype, act_bits=c.act_bits)
    # Q head: zero weights, bias -5 (spec 1.3): q_halt == q_continue at init, nothing halts early.
    self.q_head = nn.Dense(
      2,
      kernel_init=named(nn.initializers.zeros, ("embed", None)),
      bias_init=named(nn.initializers.constant(-5.0), (None,)),
      param_dtype=jnp.float32,
      dtype=jnp.float32,
    )
    if c.puzzle_emb_ndim > 0:
      # Zero-initialised; trained by sign-SGD on the rows in the batch (hrm_jax/train/optimizers.py).
      self.puzzle_emb = self.param(
        "puzzle_emb", named(nn.initializers.zeros, ("puzzle", None)), (c.num_puzzle_identifiers, c.puzzle_emb_ndim)
      )
    if c.task_conditioning:
      self.language_emb = self.param(
        "language_emb", named(nn.initializers.zeros, (None, "embed")), (c.num_languages, d)
      )
      self.task_emb = self.param("task_emb", named(nn.initializers.zeros, (None, "embed")), (c.num_tasks, d))
    if c.pos_encodings == "learned":
      self.embed_pos = self.param("embed_pos", named(layers.trunc_normal(embed_std), (None, "embed")), (c.total_len, d))
    # Fixed initial states (buffers in the reference): the optimizer never updates them (frozen label).
    self.H_init = self.param("H_init", named(layers.trunc_normal(1.0), ("norm",)), (d,))
    self.L_init = self.param("L_init", named(layers.trunc_normal(1.0), ("norm",)), (d,))
    common = dict(
      hidden_size=d,
      num_heads=c.num_heads,
      expansion=c.expansion,
      rms_norm_eps=c.rms_norm_eps,
      dtype=c.dtype,
      dot_general_cls=self.dot_general_cls,
      scan_layers=c.scan_layers,
      act_bits=c.act_bits,
      attention_impl=c.attention_impl,
    )
    if c.arch == "hrm":
      self.H_level = layers.ReasoningModule(c.H_layers, **common)
      self.L_level = layers.ReasoningModule(c.L_layers, **common)
    elif c.arch == "trm":  # one network for both updates (TRM's `L_level`; H_layers is unused, as there)
      self.L_level = layers.ReasoningModule(c.L_layers, **common)
    else:
      self.stack = layers.ReasoningModule(c.H_layers + c.L_layers, post_norm=False, final_norm=True, **common)
    if c.reverse_learning:  # zero-initialised: switching the flag on changes nothing until it is trained
      # (declared last, so every other parameter initialises exactly as with the flag off)
      self.reverse_proj = self.param("reverse_proj", named(nn.initializers.zeros, (None, "embed")), (d + 1, d))

  def embed(self, batch: Batch) -> Array:
    """Input embedding (spec 1.4). Returns [batch, prefix_len + seq_len, d] in the forward dtype.

    A packed batch (`is_packed`) carries each sequence's prefix inline: the first prefix_len positions of every
    packed sequence (its `positions` 0..prefix_len-1) are slots that take that sequence's language and task
    embeddings (`language_ids` / `task_ids` per token), so every sequence sees exactly the input it would see
    alone in a row; the row's own leading prefix positions are unused padding (invisible, see
    `attention_context`)."""
    c = self.cfg
    tokens = batch["inputs"]
    e = self.embed_tokens(tokens).astype(c.dtype)
    if is_packed(batch):
      return self._embed_packed(batch, e)
    prefix = []
    if c.puzzle_emb_ndim > 0:
      p = jnp.take(self.puzzle_emb, batch["puzzle_identifiers"], axis=0)
      pad = c.puzzle_len * c.hidden_size - c.puzzle_emb_ndim
      p = jnp.pad(p, ((0, 0), (0, pad))).reshape(tokens.shape[0], c.puzzle_len, c.hidden_size)
      prefix.append(p.astype(c.dtype))
    if c.task_conditioning:
      prefix.append(jnp.take(self.language_emb, batch["language_id"], axis=0)[:, None].astype(c.dtype))
      prefix.append(jnp.take(self.task_emb, batch["task_id"], axis=0)[:, None].astype(c.dtype))
    if prefix:
      e = jnp.concatenate(prefix + [e], axis=1)
    if c.pos_encodings == "learned":
      e = (e + self.embed_pos[: e.shape[1]].astype(c.dtype)) * (1.0 / math.sqrt(2.0))
    return layers.constrain((math.sqrt(c.hidden_size) * e).astype(c.dtype), ("batch", "seq", "embed"))

  def _embed_packed(self, batch: Batch, e: Array) -> Array:
    c = self.cfg
    pos = batch["positions"].astype(jnp.int32)
    real = batch["segment_ids"] > 0
    if c.task_conditioning:
      lang = jnp.take(self.language_emb, batch["language_ids"], axis=0).astype(c.dtype)
      task = jnp.take(self.task_emb, batch["task_ids"], axis=0).astype(c.dtype)
      slot = lambda k: (real & (pos == c.puzzle_len + k))[..., None]
      e = jnp.where(slot(0), lang, jnp.where(slot(1), task, e))
    e = jnp.concatenate([jnp.zeros((e.shape[0], c.prefix_len, c.hidden_size), c.dtype), e], axis=1)
    if c.pos_encodings == "learned":
      index = jnp.concatenate([jnp.zeros((e.shape[0], c.prefix_len), jnp.int32), pos], axis=1)
      e = (e + jnp.take(self.embed_pos, index, axis=0).astype(c.dtype)) * (1.0 / math.sqrt(2.0))
    return layers.constrain((math.sqrt(c.hidden_size) * e).astype(c.dtype), ("batch", "seq", "embed"))

  def embed_step(self, tokens: Array, positions: Array) -> Array:
    """Embedding of new tokens during decoding: tokens/positions int [batch, n] (positions count the
    prefix). Returns [batch, n, d]; the prefix embeddings are already in the caches."""
    c = self.cfg
    e = self.embed_tokens(tokens).astype(c.dtype)
    if c.pos_encodings == "learned":
      e = (e + jnp.take(self.embed_pos, positions, axis=0).astype(c.dtype)) * (1.0 / math.sqrt(2.0))
    return (math.sqrt(c.hidden_size) * e).astype(c.dtype)

  def initial_state(self, batch_size: int, length: int) -> tuple[Array, Array]:
    """(z_H, z_L) filled with H_init/L_init: each [batch, length, d] in the forward dtype."""
    shape = (batch_size, length, self.cfg.hidden_size)
    return (
      jnp.broadcast_to(self.H_init.astype(self.cfg.dtype), shape),
      jnp.broadcast_to(self.L_init.astype(self.cfg.dtype), shape),
    )

  def apply_L(self, z, injection, ctx, caches=None, cache_index=None):
    return self.L_level(z, injection, ctx["cos"], ctx["sin"], ctx["mask"], caches, cache_index)

  def apply_H(self, z, injection, ctx, caches=None, cache_index=None):
    """The z_H update: H_level (HRM), or the one shared L_level network (TRM)."""
    level = self.L_level if self.cfg.arch == "trm" else self.H_level
    return level(z, injection, ctx["cos"], ctx["sin"], ctx["mask"], caches, cache_index)

  def reverse_feedback(self, z_L: Array) -> Array:
    """Reverse-order learning's error signal from the low level, [batch, n, d] -> [batch, n, d] (positionwise).

    L's own next-token prediction through the shared LM head, p = softmax(lm_head(z_L)): the embedding of its
    top token weighted by that token's probability (scaled by sqrt(d) as the input embedding is) and the
    normalised entropy H(p) / log(vocab) (its expected error: no labels, so the same signal exists when
    decoding), concatenated and projected by `reverse_proj` [d + 1, d]."""
    c = self.cfg
    logits = self.lm_head(z_L).astype(jnp.float32)
    logp = jax.nn.log_softmax(logits, axis=-1)
    top = jnp.argmax(logits, axis=-1)
    p_top = jnp.exp(jnp.take_along_axis(logp, top[..., None], axis=-1))
    entropy = -jnp.sum(jnp.exp(logp) * logp, axis=-1, keepdims=True) / math.log(c.vocab_size)
    guess = self.embed_tokens(top).astype(jnp.float32) * (p_top * math.sqrt(c.hidden_size))
    features = jnp.concatenate([guess, entropy], axis=-1)
    return (features @ self.reverse_proj.astype(jnp.float32)).astype(c.dtype)

  def h_injection(self, z_L: Array) -> Array:
    """What the H update adds to z_H: z_L, plus `reverse_feedback(z_L)` with `reverse_learning`."""
    if self.cfg.reverse_learning:
      return z_L + self.reverse_feedback(z_L)
    return z_L

  def apply_stack(self, z, ctx, caches=None, cache_index=None):
    return self.stack(z, None, ctx["cos"], ctx["sin"], ctx["mask"], caches, cache_index)

  def lm_logits(self, z_H: Array) -> Array:
    """[batch, len, d] -> [batch, len, vocab] in the forward dtype."""
    return layers.constrain(self.lm_head(z_H), ("batch", "seq", "vocab"))

  def q_logits(self, z: Array) -> tuple[Array, Array]:
    """[batch, d] -> (q_halt, q_continue), fp32 [batch] each."""
    q = self.q_head(z.astype(jnp.float32))
    return q[..., 0], q[..., 1]

  def __call__(self, batch: Batch):
    """Initialisation path: touches every parameter once."""
    x = self.embed(batch)
    ctx = attention_context(self.cfg, batch, 0, x.shape[1])
    z_H, z_L = self.initial_state(x.shape[0], x.shape[1])
    if self.cfg.arch in ("hrm", "trm"):
      z_L, _ = self.apply_L(z_L, z_H + x, ctx)
      z_H, _ = self.apply_H(z_H, self.h_injection(z_L), ctx)
    else:
      z_H, _ = self.apply_stack(x, ctx)
    return self.lm_logits(z_H), self.q_logits(z_H[:, 0])


def is_packed(batch: Batch) -> bool:
  """A packed batch: several sequences per row (`segment_ids` 1, 2, ... per token, 0 = padding; `positions`
  restarting at 0 for each sequence and counting its inline prefix slots; per-token `language_ids`/`task_ids`;
  `q_read` 1 at each sequence's Q-head position). Made by the data pipeline with `data.packing=True`."""
  return "segment_ids" in batch


def check_packable(cfg: HRMConfig) -> None:
  """Packed sequences need the Q head at each sequence's own position and no row-wide prompt window."""
  if cfg.q_position != "last_prompt":
    raise ValueError(
      f"config.model.q_position={cfg.q_position!r}: packed training (data.packing=True) reads the "
      "Q head at each packed sequence's last prompt token; use 'last_prompt'"
    )
  if cfg.attention == "prefix_lm":
    raise ValueError(
      "config.model.attention='prefix_lm' cannot be packed (its prompt window is per row); use "
      "'causal' or data.packing=False"
    )
  if cfg.puzzle_emb_ndim > 0:
    raise ValueError("config.model.puzzle_emb_ndim > 0 (puzzle mode) cannot be packed; use data.packing=False")


def _packed_context(cfg: HRMConfig, batch: Batch, length: int) -> dict[str, Array | None]:
  """RoPE at each packed sequence's own positions; attention inside each sequence (causal by index), never to
  padding or to the row's unused leading prefix (both segment 0, which see only each other)."""
  b, p = batch["inputs"].shape[0], cfg.prefix_len
  pos = jnp.concatenate([jnp.zeros((b, p), jnp.int32), batch["positions"].astype(jnp.int32)], axis=1)[:, :length]
  ctx: dict[str, Array | None] = {"cos": None, "sin": None, "mask": None}
  if cfg.pos_encodings == "rope":
    ctx["cos"], ctx["sin"] = layers.rope_tables(pos, cfg.head_dim, cfg.rope_theta)
  seg = jnp.pad(batch["segment_ids"].astype(jnp.int32), ((0, 0), (p, 0)))[:, :length]
  mask = (seg[:, :, None] == seg[:, None, :])[:, None]
  if cfg.attention != "bidirectional":
    index = jnp.arange(length, dtype=jnp.int32)
    mask = mask & (index[None, None, None, :] <= index[None, None, :, None])
  ctx["mask"] = mask
  return ctx


def attention_context(
  cfg: HRMConfig,
  batch: Batch,
  start: Array | int,
  length: int,
  kv_len: int | None = None,
  positions: Array | None = None,
) -> dict[str, Array | None]:
  """RoPE tables and the attention mask for `length` positions starting at absolute position `start`.

  Positions count the prefix tokens (prefix at 0..P-1, token t at P+t), as the reference does. The mask is
  bool [batch, 1, length, kv_len] (None = attend everywhere): causal, or prefix-LM (bidirectional over the
  prefix and the prompt, `batch["prompt_length"]` tokens). A packed batch (`is_packed`, whole rows only) gets
  `_packed_context`. `positions` (int32 [batch, length]) replaces `start` when rows are at different positions
  (decoding: new tokens always come after the prompt, so there the mask is causal).
  """
  if is_packed(batch):
    if kv_len not in (None, length) or positions is not None:
      raise ValueError("packed batches are for training and evaluation over whole rows (no caches)")
    return _packed_context(cfg, batch, length)
  b = batch["inputs"].shape[0]
  kv_len = length if kv_len is None else kv_len
  if positions is None:
    positions = jnp.broadcast_to(start + jnp.arange(length, dtype=jnp.int32), (b, length))
  positions = positions.astype(jnp.int32)
  ctx: dict[str, Array | None] = {"cos": None, "sin": None, "mask": None}
  if cfg.pos_encodings == "rope":
    ctx["cos"], ctx["sin"] = layers.rope_tables(positions, cfg.head_dim, cfg.rope_theta)
  if cfg.attention == "bidirectional":
    return ctx
  k_pos = jnp.arange(kv_len, dtype=jnp.int32)
  q_pos = positions[:, None, :, None]  # [b, 1, length, 1]
  mask = jnp.ones((b, 1, length, kv_len), bool)
  if cfg.attention != "bidirectional":
    mask = mask & (k_pos[None, None, None, :] <= q_pos)
  if cfg.attention == "prefix_lm":
    visible = (cfg.prefix_len + batch["prompt_length"].astype(jnp.int32))[:, None, None, None]
    mask = mask | ((k_pos[None, None, None, :] < visible) & (q_pos < visible))
  ctx["mask"] = mask
  return ctx


def q_index(cfg: HRMConfig, batch: Batch) -> Array:
  """Position (in prefix+sequence coordinates) whose z_H feeds the Q head: int32 [batch]."""
  b = batch["inputs"].shape[0]
  if cfg.q_position == "first":
    return jnp.zeros((b,), jnp.int32)
  return cfg.prefix_len + jnp.maximum(batch["prompt_length"].astype(jnp.int32), 1) - 1


# --------------------------------------------------------------------------------------------------------------
# The core: one segment, with an optional explicit KV cache per module application.
# --------------------------------------------------------------------------------------------------------------


def segment(
  model: HRMCore,
  params,
  z_H: Array,
  z_L: Array,
  x: Array,
  ctx: Mapping[str, Array | None],
  caches=None,
  *,
  cache_index: Array | int = 0,
  grad_steps: int | None = None,
  probes: Array | None = None,
):
  """One HRM segment (spec 1.7): the H_cycles x L_cycles application schedule from the carry (z_H, z_L).

  The ONE implementation of the recurrence: training (`forward_segment`, `act_step`), evaluation
  (`act_evaluate`), prefill and decode (hrm_jax/inference/sampler.py), RL replay (`forward_at_depth`) and both
  exports call it. The schedule is static, so it is unrolled: application i is L (z_L <- L(z_L, z_H + x)) or
  H (z_H <- H(z_H, z_L); TRM: the same network as L) known at trace time, and with `caches` it reads and writes its own cache buffers in
  place (no switch over kinds, no slicing of a stacked cache).

  Args:
    params: the model's variables ({"params": ...}); a served model's may hold frozen integer weights.
    z_H, z_L: [batch, n, d] carry for the n positions computed (the whole sequence, or new tokens).
    x: [batch, n, d] input embedding of those positions (`HRMCore.embed` / `embed_step`).
    ctx: `attention_context` for those positions (RoPE tables, mask over the kv_len keys).
    caches: None (no cache: attention over the n positions), or one entry per application of the schedule,
      each a tuple over the module's layers of (k, v) [batch, heads, max_len, head_dim]; the new positions'
      keys/values are written at `cache_index` (int, or int32 [batch]) and attention reads the cache.
    grad_steps: applications that carry gradients (default: the config's `graded_applications`); the earlier
      ones see stop-gradient parameters, inputs and carry, so no residuals are kept for them (the reference's
      one-step gradient is 2: the last L and the last H; TRM's is its last H cycle, L_cycles + 1). The carry
      always enters through stop_gradient.
    probes: optional [num_applications, batch, n, d] added to each application's output. Zero probes change
      nothing; their gradients show which applications the loss can reach (tests).
  Returns:
    (z_H, z_L, caches): the new carry ([batch, n, d]) and the updated caches (None without).
  """
  cfg = model.cfg
  n_apps = len(cfg.schedule)
  k = cfg.graded_applications if grad_steps is None else min(grad_steps, n_apps)
  sg = jax.lax.stop_gradient
  remat = (
    (lambda f: f)
    if cfg.remat_policy == "none"
    else lambda f: jax.checkpoint(f, policy=layers.remat_policy(cfg.remat_policy))
  )
  params_ng, x_ng = sg(params), sg(x)
  z_H, z_L = sg(z_H), sg(z_L)
  new_caches = []
  for i, kind in enumerate(cfg.schedule):
    graded = i >= n_apps - k
    if i == n_apps - k:
      z_H, z_L = sg(z_H), sg(z_L)  # nothing flows back into the no-gradient prefix
    p, xi = (params, x) if graded else (params_ng, x_ng)
    cache = None if caches is None else caches[i]
    if cfg.arch == "transformer":
      apply = remat(lambda p_, z, c: model.apply(p_, z, ctx, c, cache_index, method=HRMCore.apply_stack))
      z_H, cache = apply(p, xi, cache)
    elif kind == L_KIND:
      apply = remat(lambda p_, z, inj, c: model.apply(p_, z, inj, ctx, c, cache_index, method=HRMCore.apply_L))
      z_L, cache = apply(p, z_L, z_H + xi, cache)
    else:
      apply = remat(lambda p_, z, inj, c: model.apply(p_, z, inj, ctx, c, cache_index, method=HRMCore.apply_H))
      injection = model.apply(p, z_L, method=HRMCore.h_injection) if cfg.reverse_learning else z_L
      z_H, cache = apply(p, z_H, injection, cache)
    if probes is not None:
      if kind == H_KIND or cfg.arch == "transformer":
        z_H = z_H + probes[i]
      else:
        z_L = z_L + probes[i]
    new_caches.append(cache)
  return z_H, z_L, (None if caches is None else tuple(new_caches))


def heads(model: HRMCore, params, z_H: Array, batch: Batch) -> tuple[Array, tuple[Array, Array]]:
  """LM logits over the sequence ([batch, seq, vocab]) and the Q head at `q_index` (fp32 [batch] each).

  Packed batches: the Q head at every position, fp32 [batch, seq] each (the loss reads it where `q_read`)."""
  cfg = model.cfg
  logits = model.apply(params, z_H[:, cfg.prefix_len :], method=HRMCore.lm_logits)
  if is_packed(batch):
    return logits, model.apply(params, z_H[:, cfg.prefix_len :], method=HRMCore.q_logits)
  qi = q_index(cfg, batch)
  q = model.apply(params, z_H[jnp.arange(z_H.shape[0]), qi], method=HRMCore.q_logits)
  return logits, q


def forward_segment(
  model: HRMCore,
  params,
  z_H: Array,
  z_L: Array,
  batch: Batch,
  *,
  grad_steps: int | None = None,
  probes: Array | None = None,
):
  """One segment over a whole batch of sequences (the reference's forward, spec 1.7): embed, `segment`, heads.

  Args:
    z_H, z_L: [batch, T, d] carry (T = prefix_len + seq_len); batch: `inputs` [batch, seq] and the conditioning.
  Returns:
    ((z_H, z_L) new carry, stop-gradiented), logits [batch, seq, vocab], (q_halt, q_continue) fp32 [batch].
  """
  x = model.apply(params, batch, method=HRMCore.embed)
  ctx = attention_context(model.cfg, batch, 0, x.shape[1])
  z_H, z_L, _ = segment(model, params, z_H, z_L, x, ctx, grad_steps=grad_steps, probes=probes)
  logits, q = heads(model, params, z_H, batch)
  return (jax.lax.stop_gradient(z_H), jax.lax.stop_gradient(z_L)), logits, q


def act_loop(
  model: HRMCore,
  params,
  x: Array,
  ctx,
  readout,
  *,
  budget: Array | int,
  segments: int | None = None,
  depth: Array | None = None,
  dynamic_halting: bool = True,
  min_depth: Array | None = None,
  caches=None,
  cache_index: Array | int = 0,
  unroll: bool = False,
  skip_halted: bool = True,
):
  """The ACT loop, written once: segments from H_init/L_init until every row halts.

  A row halts after `depth[b]` segments when `depth` is given (decoding and RL replay: the depth was chosen
  earlier); otherwise at the first segment whose Q head halts (`halts`; with `dynamic_halting`, and not before
  `min_depth[b]` segments: depth exploration), and always at `budget`. Each row keeps the `readout` of its
  halting segment. Two ways to run, the same rule:
    * `lax.while_loop` (default): `budget` may be traced (raise it at test time without recompiling);
    * unrolled over `segments` static segments, each after the first under `lax.cond` (skipped once every row
      has halted): needed when each segment owns cache buffers (`caches`: a tuple with one `segment` cache per
      segment, updated in place) and for reverse-mode differentiation (`unroll=True`). `skip_halted=False`
      runs every segment without `lax.cond` (same outputs; for converters whose conditionals fail: TFLite's).

  Args:
    x, ctx: input embedding [batch, n, d] and attention context of the n positions computed.
    readout: fn(z_H [batch, n, d]) -> dict of [batch, ...] outputs; with dynamic halting it must hold `q_halt`
      and `q_continue` (fp32 [batch]).
  Returns:
    dict: the readout's outputs at each row's halting segment, `steps` int32 [batch] (the depth each row ran),
    `segments_run`, `caches` (when given) and, unrolled, `q_halt_trace` / `q_continue_trace` fp32
    [batch, segments] (the Q head after every segment, zeros where skipped) when the readout has them.
  """
  b = x.shape[0]
  z_H, z_L = model.apply(params, b, x.shape[1], method=HRMCore.initial_state)
  budget = jnp.asarray(budget, jnp.int32)
  outputs = jax.eval_shape(readout, z_H)
  has_q = "q_halt" in outputs
  state = dict(
    z_H=z_H,
    z_L=z_L,
    steps=jnp.zeros((b,), jnp.int32),
    halted=jnp.zeros((b,), bool),
    segments_run=jnp.zeros((), jnp.int32),
    out=jax.tree.map(lambda o: jnp.zeros(o.shape, o.dtype), outputs),
  )

  def one_segment(s, seg_caches):
    zh, zl, seg_caches = segment(model, params, s["z_H"], s["z_L"], x, ctx, seg_caches, cache_index=cache_index)
    out = readout(zh)
    active = ~s["halted"]
    steps = s["steps"] + active.astype(jnp.int32)
    halt_now = steps >= budget
    if depth is not None:
      halt_now = halt_now | (steps >= depth)
    elif dynamic_halting:
      q_halts = halts(model.cfg, out["q_halt"], out["q_continue"])
      if min_depth is not None:
        q_halts = q_halts & (steps >= min_depth)
      halt_now = halt_now | q_halts
    new = dict(
      z_H=zh,
      z_L=zl,
      steps=steps,
      halted=s["halted"] | (active & halt_now),
      segments_run=s["segments_run"] + 1,
      out=jax.tree.map(lambda a, o: _where_rows(active, a.astype(o.dtype), o), out, s["out"]),
    )
    return new, seg_caches, out

  if caches is None and not unroll:

    def body(s):
      return one_segment(s, None)[0]

    state = jax.lax.while_loop(lambda s: (s["segments_run"] < budget) & ~jnp.all(s["halted"]), body, state)
    return dict(state["out"], steps=state["steps"], segments_run=state["segments_run"])

  segments = len(caches) if caches is not None else segments

  def skip(s, c):
    return s, c, jax.tree.map(lambda o: jnp.zeros(o.shape, o.dtype), outputs)

  new_caches, q_trace = [], []
  for m in range(segments):
    seg_caches = None if caches is None else caches[m]
    if m == 0 or not skip_halted:
      state, seg_caches, out = one_segment(state, seg_caches)
    else:
      state, seg_caches, out = jax.lax.cond(
        (state["segments_run"] < budget) & ~jnp.all(state["halted"]), one_segment, skip, state, seg_caches
      )
    new_caches.append(seg_caches)
    if has_q:
      q_trace.append((out["q_halt"], out["q_continue"]))
  result = dict(state["out"], steps=state["steps"], segments_run=state["segments_run"])
  if caches is not None:
    result["caches"] = tuple(new_caches)
  if has_q:
    result["q_halt_trace"] = jnp.stack([q[0] for q in q_trace], axis=1)
    result["q_continue_trace"] = jnp.stack([q[1] for q in q_trace], axis=1)
  return result


@flax.struct.dataclass
class ACTCarry:
  """State kept across ACT calls (spec 2.1).

  z_H, z_L: [batch, T, d]; steps: int32 [batch]; halted: bool [batch]; data: the batch each slot works on.
  """

  z_H: Array
  z_L: Array
  steps: Array
  halted: Array
  data: dict[str, Array]


def initial_carry(model: HRMCore, batch: Batch) -> ACTCarry:
  """All slots halted, so the first call resets them and takes the batch (zeros instead of `empty`)."""
  cfg = model.cfg
  b = batch["inputs"].shape[0]
  shape = (b, cfg.total_len, cfg.hidden_size)
  # Distinct buffers (not one array twice): the train step donates the whole state.
  return ACTCarry(
    z_H=jnp.zeros(shape, cfg.dtype),
    z_L=jnp.zeros(shape, cfg.dtype),
    steps=jnp.zeros((b,), jnp.int32),
    halted=jnp.ones((b,), bool),
    data=jax.tree.map(jnp.zeros_like, dict(batch)),
  )


def halts(cfg: HRMConfig, q_halt: Array, q_continue: Array) -> Array:
  """The Q head's halting decision (bool, the logits' shape): q_halt > 0 with `no_ACT_continue` (TRM: the halt
  logit alone, a sigmoid above 1/2), else q_halt > q_continue (the reference HRM)."""
  if cfg.no_ACT_continue:
    return q_halt > 0
  return q_halt > q_continue


def _where_rows(mask: Array, a: Array, b: Array) -> Array:
  return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)


@flax.struct.dataclass
class ACTOutputs:
  """What one ACT call produces for the loss (spec 2.2). Shapes: logits [batch, seq, vocab], rest [batch]
  ([batch, seq] for packed batches: the loss reads them at `q_read`)."""

  logits: Array
  q_halt_logits: Array
  q_continue_logits: Array
  target_q_continue: Array | None


def _exploration_draws(rng: Array, shape: tuple[int, ...], max_steps: int) -> tuple[Array, Array]:
  """Uniform [0, 1) and a minimum segment count in [2, max_steps], per row.

  `rng` is one key, or one key per row ([batch] keys): then each row's draws depend on its own key only, so
  splitting the batch into microbatches (gradient accumulation) draws exactly the same values.
  """
  typed = jax.dtypes.issubdtype(rng.dtype, jax.dtypes.prng_key)
  if rng.ndim == (0 if typed else 1):
    explore_rng, steps_rng = jax.random.split(rng)
    return (jax.random.uniform(explore_rng, shape), jax.random.randint(steps_rng, shape, 2, max_steps + 1))
  pairs = jax.vmap(jax.random.split)(rng)
  uniform = jax.vmap(lambda k: jax.random.uniform(k))(pairs[:, 0])
  draw = jax.vmap(lambda k: jax.random.randint(k, (), 2, max_steps + 1))(pairs[:, 1])
  return uniform.reshape(shape), draw.reshape(shape)


def act_step(
  model: HRMCore,
  params,
  carry: ACTCarry,
  batch: Batch,
  rng: Array | None,
  *,
  train: bool = True,
  halt_max_steps: int | None = None,
) -> tuple[ACTCarry, ACTOutputs]:
  """One ACT call: one segment for every slot (one optimizer step in training).

  Halted slots are reset to H_init/L_init and take the new batch's example; the others keep theirs. In
  training (and when halt_max_steps > 1) a slot halts when the Q head says so (`halts`: q_halt > q_continue,
  or q_halt > 0 with `no_ACT_continue`), subject to a random minimum number of segments (per sample:
  probability `halt_exploration_prob`, minimum uniform in [2, halt_max_steps]); the continue target is
  bootstrapped from one more no-gradient segment from the updated carry (none with `no_ACT_continue`: the
  target is None, so the loss has no continue term, as TRM). Every slot halts at `halt_max_steps`. `rng`: one
  key, or one key per row ([batch]).
  """
  cfg = model.cfg
  max_steps = cfg.halt_max_steps if halt_max_steps is None else halt_max_steps
  h_init = params["params"]["H_init"].astype(cfg.dtype)
  l_init = params["params"]["L_init"].astype(cfg.dtype)
  halted = carry.halted
  z_H = _where_rows(halted, jnp.broadcast_to(h_init, carry.z_H.shape), carry.z_H)
  z_L = _where_rows(halted, jnp.broadcast_to(l_init, carry.z_L.shape), carry.z_L)
  steps = jnp.where(halted, 0, carry.steps)
  data = {k: _where_rows(halted, batch[k], carry.data[k]) for k in carry.data}

  (z_H, z_L), logits, (q_halt, q_cont) = forward_segment(model, params, z_H, z_L, data)
  steps = steps + 1
  is_last = steps >= max_steps
  halted = is_last
  target = None
  packed = is_packed(data)
  if train and max_steps > 1:
    if packed:  # a row (the ACT unit) halts when every sequence packed in it would
      read = data["q_read"] > 0
      halted = halted | jnp.all(jnp.where(read, halts(cfg, q_halt, q_cont), True), axis=1)
    else:
      halted = halted | halts(cfg, q_halt, q_cont)
    explore_u, min_draw = _exploration_draws(rng, steps.shape, max_steps)
    explore = explore_u < cfg.halt_exploration_prob
    min_steps = explore * min_draw
    halted = halted & (steps >= min_steps)
    if not cfg.no_ACT_continue:
      _, _, (next_halt, next_cont) = forward_segment(model, jax.lax.stop_gradient(params), z_H, z_L, data)
      last = is_last[:, None] if packed else is_last
      target = jax.nn.sigmoid(jnp.where(last, next_halt, jnp.maximum(next_halt, next_cont)))
      target = jax.lax.stop_gradient(target)
  new_carry = ACTCarry(z_H=z_H, z_L=z_L, steps=steps, halted=halted, data=data)
  return new_carry, ACTOutputs(logits, q_halt, q_cont, target)


def act_evaluate(model: HRMCore, params, batch: Batch, max_steps: Array | int, *, dynamic_halting: bool):
  """Whole ACT rollouts for a batch under one `lax.while_loop` (`act_loop`; no Python loop over segments).

  Args:
    max_steps: segment budget; may be a traced scalar (raising it at test time does not recompile).
    dynamic_halting: False = the reference's evaluation (every sequence runs `max_steps` segments);
      True = a sequence stops when q_halt > q_continue, and the loop ends when every sequence has stopped.
  Returns:
    dict with `logits` [batch, seq, vocab] (from each sequence's halting segment), `q_halt_logits`,
    `q_continue_logits`, `steps` int32 [batch] and `segments_run` (the loop's trip count).
  """
  cfg = model.cfg
  x = model.apply(params, batch, method=HRMCore.embed)
  ctx = attention_context(cfg, batch, 0, x.shape[1])

  def readout(z_H):
    logits, (q_halt, q_cont) = heads(model, params, z_H, batch)
    return {"logits": logits.astype(cfg.dtype), "q_halt": q_halt, "q_continue": q_cont}

  out = act_loop(model, params, x, ctx, readout, budget=max_steps, dynamic_halting=dynamic_halting)
  return {
    "logits": out["logits"],
    "q_halt_logits": out["q_halt"],
    "q_continue_logits": out["q_continue"],
    "steps": out["steps"],
    "segments_run": out["segments_run"],
  }


def init_params(cfg: HRMConfig, rng: Array, batch_size: int = 1, dot_general_cls: Any = None):
  """Initial variables ({"params": ...}) for `cfg`."""
  model = HRMCore(cfg, dot_general_cls=dot_general_cls)
  batch = dummy_batch(cfg, batch_size)
  return model, nn.meta.unbox(model.init(rng, batch))


def logical_axes(cfg: HRMConfig, dot_general_cls: Any = None):
  """The logical axis names of every parameter: a tree like init_params' variables whose leaves are
  `PartitionSpec`s of logical names (for example ("embed", "mlp")); computed without allocating."""
  model = HRMCore(cfg, dot_general_cls=dot_general_cls)
  boxed = jax.eval_shape(lambda: model.init(jax.random.key(0), dummy_batch(cfg, 1)))
  return nn.get_partition_spec(boxed)


def dummy_batch(cfg: HRMConfig, batch_size: int) -> dict[str, Array]:
  """A zero batch with every field the model reads (shapes and dtypes as the data pipeline makes them)."""
  s = cfg.seq_len
  return {
    "inputs": jnp.zeros((batch_size, s), jnp.int32),
    "labels": jnp.full((batch_size, s), -100, jnp.int32),
    "puzzle_identifiers": jnp.zeros((batch_size,), jnp.int32),
    "language_id": jnp.zeros((batch_size,), jnp.int32),
    "task_id": jnp.zeros((batch_size,), jnp.int32),
    "prompt_length": jnp.ones((batch_size,), jnp.int32),
  }


# Parameters that are not trained by the main optimizer (fixed buffers in the reference) or not counted.
FROZEN_PARAMS = ("H_init", "L_init")
UNCOUNTED_PARAMS = FROZEN_PARAMS + ("puzzle_emb",)


def count_params(params) -> int:
  """Trainable parameters as the reference counts them: H_init, L_init and the puzzle table excluded."""
  tree = params["params"] if "params" in params else params
  total = 0
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    names = [getattr(p, "key", "") for p in path]
    if names and names[0] in UNCOUNTED_PARAMS:
      continue
    total += int(leaf.size)
  return total


def forward_at_depth(model: HRMCore, params, batch: Batch, depth: Array, max_segments: int):
  """Teacher-forced logits of each sequence at a given ACT depth, differentiable (for RL replay).

  `act_loop` unrolled over `max_segments` (static, so reverse-mode works; segments past every row's depth are
  skipped) keeping, for sequence b, the output of segment depth[b]; each segment carries gradients through its
  last `grad_steps` applications only, the carry between segments is stop-gradiented (as in ACT training).

  Args:
    depth: int32 [batch], 1..max_segments: the depth recorded when the sequence was sampled.
  Returns:
    logits [batch, seq, vocab] at the recorded depth and (q_halt, q_continue) fp32 [batch, max_segments] of
    every segment up to the deepest row's depth (the Q head's values along the rollout; zeros after).
  """
  cfg = model.cfg
  x = model.apply(params, batch, method=HRMCore.embed)
  ctx = attention_context(cfg, batch, 0, x.shape[1])
  depth = jnp.clip(depth.astype(jnp.int32), 1, max_segments)

  def readout(z_H):
    logits, (q_halt, q_cont) = heads(model, params, z_H, batch)
    return {"logits": logits, "q_halt": q_halt, "q_continue": q_cont}

  out = act_loop(model, params, x, ctx, readout, budget=max_segments, segments=max_segments, depth=depth, unroll=True)
  return out["logits"], (out["q_halt_trace"], out["q_continue_trace"])
