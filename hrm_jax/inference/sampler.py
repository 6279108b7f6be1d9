"""Incremental generation from a causal HRM (or the baseline) with one KV cache per module application.

Within a segment every module application is a causal transformer pass, so each (segment, application, layer)
keeps its own key/value buffers (hrm-spec.md section 7.4; `init_caches`), written in place by the one core,
`hrm.segment`, and read as they lie by attention (`layers.cached_attention`).

ACT at inference (see the model section of the README and hrm.py's module doc): prefill runs segments over the
prompt (`hrm.act_loop`, each segment under `lax.cond`) until the Q head at the last prompt token halts (or the
segment budget is spent); that depth is then used for every generated token. Each decode step runs the new token
through the chosen number of segments, reading and extending those segments' caches.

Shapes are static: prompts are padded to one of a few length buckets and the caches hold the bucket plus
`max_new_tokens` positions, so a session compiles once per (batch size, bucket, sampling settings) and the whole
token loop is one compiled `while_loop` (rows of a batch decode together: RL rollouts, the server). `stream()`
decodes with a jitted single-step function instead (caches donated), to print tokens as they come.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from hrm_jax.models import hrm, layers
from hrm_jax.models.hrm import HRMConfig, HRMCore

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class SamplingConfig:
  max_new_tokens: int = 128
  temperature: float = 0.0  # 0 = greedy
  top_k: int = 0  # 0 = off
  top_p: float = 1.0  # 1 = off
  stop_ids: tuple[int, ...] = (1,)  # <|eos|>
  max_segments: int | None = None  # None = the model's halt_max_steps
  dynamic_halting: bool = True  # False: always run max_segments
  # ACT depth exploration (the reference's training rule, used for RL rollouts): with this probability a row
  # gets a minimum depth drawn uniformly from 2..max_segments, so depths the Q head would not pick are tried.
  halt_exploration_prob: float = 0.0


def length_buckets(seq_len: int, smallest: int = 16) -> tuple[int, ...]:
  """Powers of two from `smallest` up to seq_len (which is always the last bucket)."""
  buckets, b = [], smallest
  while b < seq_len:
    buckets.append(b)
    b *= 2
  return tuple(buckets) + (seq_len,)


def pick_bucket(length: int, buckets: Sequence[int]) -> int:
  for b in buckets:
    if length <= b:
      return b
  raise ValueError(f"prompt of {length} tokens does not fit the model's seq_len={buckets[-1]}")


def init_caches(cfg: HRMConfig, batch_size: int, segments: int, max_len: int | None = None, dtype=None):
  """Zero KV caches: a tuple over `segments` segments of `hrm.segment` caches (one entry per application of
  the schedule, each a tuple over the module's layers of one `layers.init_cache` pair).

  Every (segment, application, layer) owns its buffers, so each is written in place by one
  `dynamic_update_slice` per call and read as it lies by attention. max_len: positions held (prefix included;
  default the model's total_len): the Generator sizes it to the prompt bucket + max_new_tokens, so attention
  reads only what a request can fill."""
  dtype = cfg.dtype if dtype is None else dtype
  max_len = cfg.total_len if max_len is None else max_len

  def module(num_layers):
    return tuple(layers.init_cache(batch_size, cfg.num_heads, cfg.head_dim, max_len, dtype) for _ in range(num_layers))

  return tuple(tuple(module(n) for n in cfg.application_layers) for _ in range(segments))


def cache_length(cfg: HRMConfig, bucket: int, max_new_tokens: int) -> int:
  """Cache positions a request needs: the prefix, the prompt bucket and the new tokens (at most total_len)."""
  return min(cfg.total_len, cfg.prefix_len + bucket + max_new_tokens)


def cache_bytes(cfg: HRMConfig, batch_size: int, segments: int) -> int:
  """Bytes of `init_caches`' buffers."""
  return sum(
    a.size * a.dtype.itemsize for a in jax.tree.leaves(jax.eval_shape(lambda: init_caches(cfg, batch_size, segments)))
  )


def prefill(
  model: HRMCore, params, batch, caches, dynamic_halting: bool = True, min_depth=None, skip_halted: bool = True
):
  """Runs segments over the (bucket-padded) prompt until every sequence halts (`hrm.act_loop`), filling each
  segment's caches at positions 0..prefix_len + bucket - 1.

  batch: `inputs` [batch, bucket] (prompt left-aligned), `prompt_length` [batch] and the conditioning ids.
  caches: `init_caches` (their number of segments is the budget).
  min_depth: optional int32 [batch]: a row's Q head may halt only from this many segments on (exploration).
  skip_halted: False runs every segment (no `lax.cond`; `hrm.act_loop`).
  Returns (caches, depth int32 [batch], logits fp32 [batch, vocab] for the first new token).
  """
  cfg = model.cfg
  b = batch["inputs"].shape[0]
  x = model.apply(params, batch, method=HRMCore.embed)
  ctx = hrm.attention_context(cfg, batch, 0, x.shape[1])
  rows = jnp.arange(b)
  qi = hrm.q_index(cfg, batch)
  # The first answer token is predicted at the last prompt token (sequence index prompt_length - 1).
  last = cfg.prefix_len + batch["prompt_length"].astype(jnp.int32) - 1

  def readout(z_H):
    q_halt, q_cont = model.apply(params, z_H[rows, qi], method=HRMCore.q_logits)
    logits = model.apply(params, z_H[rows, last], method=HRMCore.lm_logits).astype(jnp.float32)
    return {"logits": logits, "q_halt": q_halt, "q_continue": q_cont}

  out = hrm.act_loop(
    model,
    params,
    x,
    ctx,
    readout,
    budget=len(caches),
    dynamic_halting=dynamic_halting,
    min_depth=min_depth,
    caches=caches,
    cache_index=0,
    skip_halted=skip_halted,
  )
  return out["caches"], out["steps"], out["logits"]


def decode_step(model: HRMCore, params, tokens, positions, caches, depth, skip_halted: bool = False):
  """Logits for the token after `tokens`.

  tokens: int32 [batch] new tokens at sequence index `positions` [batch]; depth: int32 [batch] segments per
  sequence. Every segment of `caches` runs (pass `caches[:k]` to run k: the tuple slice is free); skip_halted=True
  skips segments past the deepest row's depth under `lax.cond`, which XLA pays for with a copy of every cache
  per token. Attention reads each cache whole: its length (`init_caches`' max_len) bounds the positions.
  Returns (logits fp32 [batch, vocab], caches).
  """
  cfg = model.cfg
  abs_pos = (cfg.prefix_len + positions).astype(jnp.int32)
  x = model.apply(params, tokens[:, None], abs_pos[:, None], method=HRMCore.embed_step)
  kv_len = jax.tree.leaves(caches)[0].shape[-1]
  # New tokens follow the prompt, so in every attention mode they see all earlier positions (causal mask).
  ctx = hrm.attention_context(
    dataclasses.replace(cfg, attention="causal"),
    {"inputs": tokens[:, None]},
    0,
    1,
    kv_len=kv_len,
    positions=abs_pos[:, None],
  )

  def readout(z_H):
    return {"logits": model.apply(params, z_H[:, 0], method=HRMCore.lm_logits).astype(jnp.float32)}

  out = hrm.act_loop(
    model,
    params,
    x,
    ctx,
    readout,
    budget=len(caches),
    depth=depth,
    caches=caches,
    cache_index=abs_pos,
    skip_halted=skip_halted,
  )
  return out["logits"], out["caches"]


def sample_rows(logits: Array, keys: Array, temperature: Array, top_p: Array, top_k: Array) -> Array:
  """One token per row with that row's own settings: the one sampling rule (`sample_token` and the serving
  engine draw through it; `rl.rollout.truncated_log_softmax` is its distribution).

  logits fp32 [batch, vocab]; keys [batch] PRNG keys; temperature fp32 [batch] (<= 0: greedy); top_p fp32
  [batch] (1: off); top_k int32 [batch] (0: off). Returns int32 [batch].

  Cheap when no row filters: the sort that top-p / top-k need runs (under `lax.cond`) only when some row asks
  for it, and a row draws one uniform number and inverts its cumulative distribution instead of drawing a
  Gumbel number per vocabulary entry (measured on 2 CPU cores at batch 32 x 8k: 68 ms per step before, a few
  ms after).
  """
  vocab = logits.shape[-1]
  greedy = jnp.argmax(logits, axis=-1).astype(jnp.int32)
  scaled = logits / jnp.maximum(temperature, 1e-6)[:, None]

  def filtered(scaled):
    # top-k first, then top-p over what top-k kept (the nucleus of the top-k distribution), per row; the
    # same rule as `rl.rollout.truncated_log_softmax`, which scores the draws.
    sorted_desc = jnp.sort(scaled, axis=-1)[..., ::-1]
    kth_index = jnp.where(top_k > 0, jnp.minimum(top_k, vocab) - 1, vocab - 1)
    kth = jnp.take_along_axis(sorted_desc, kth_index[:, None], axis=-1)
    sorted_kept = jnp.where(sorted_desc < kth, -jnp.inf, sorted_desc)
    cumulative = jnp.cumsum(jax.nn.softmax(sorted_kept, axis=-1), axis=-1)
    # keep the smallest set whose mass reaches top_p (the most likely token always stays)
    cutoff_index = jnp.minimum(jnp.sum(cumulative < top_p[:, None], axis=-1, keepdims=True), vocab - 1)
    cutoff = jnp.take_along_axis(sorted_kept, cutoff_index, axis=-1)
    drop = (scaled < kth) | ((top_p[:, None] < 1.0) & (scaled < cutoff))
    return jnp.where(drop, -jnp.inf, scaled)

  needs_filter = jnp.any(((top_p < 1.0) | (top_k > 0)) & (temperature > 0))
  scaled = jax.lax.cond(needs_filter, filtered, lambda x: x, scaled)
  probs = jax.nn.softmax(scaled, axis=-1)
  cdf = jnp.cumsum(probs, axis=-1)
  u = jax.vmap(lambda k: jax.random.uniform(k, ()))(keys) * cdf[:, -1]
  sampled = jnp.minimum(jnp.sum(cdf <= u[:, None], axis=-1), vocab - 1).astype(jnp.int32)
  # a draw that lands on a zero-probability entry (rounding at a boundary) moves to the greedy token
  sampled = jnp.where(jnp.take_along_axis(probs, sampled[:, None], axis=-1)[:, 0] > 0, sampled, greedy)
  return jnp.where(temperature <= 0, greedy, sampled)


def sample_token(logits: Array, rng: Array, sampling: SamplingConfig) -> Array:
  """Greedy, or temperature sampling with optional top-k / top-p, the same settings for every row
  (`sample_rows`). logits: fp32 [batch, vocab]; returns int32 [batch]."""
  if sampling.temperature <= 0:
    return jnp.argmax(logits, axis=-1).astype(jnp.int32)
  b = logits.shape[0]
  return sample_rows(
    logits,
    jax.random.split(rng, b),
    jnp.full((b,), sampling.temperature, jnp.float32),
    jnp.full((b,), sampling.top_p, jnp.float32),
    jnp.full((b,), sampling.top_k, jnp.int32),
  )


def exploration_min_depth(sampling: SamplingConfig, batch_size: int, segments: int, rng: Array):
  """int32 [batch] minimum ACT depths for depth exploration, or None when it is off.

  Like the reference's ACT training (sapientinc/HRM `models/hrm/hrm_act_v1.py`): with probability
  `halt_exploration_prob` a row's minimum depth is uniform in 2..segments, otherwise 1 (the Q head decides).
  """
  if sampling.halt_exploration_prob <= 0 or segments < 2 or not sampling.dynamic_halting:
    return None
  k_explore, k_depth = jax.random.split(jax.random.fold_in(rng, 0x5EED))
  explore = jax.random.uniform(k_explore, (batch_size,)) < sampling.halt_exploration_prob
  depth = jax.random.randint(k_depth, (batch_size,), 2, segments + 1)
  return jnp.where(explore, depth, 1).astype(jnp.int32)


def _generate(model: HRMCore, sampling: SamplingConfig, params, batch, rng):
  """Prefill + a `while_loop` over new tokens. Returns (tokens int32 [batch, max_new], lengths, depth,
  logits fp32 [batch, max_new, vocab] of each step's distribution).

  The token loop is chosen once by the deepest row's ACT depth k (`lax.switch`; with `dynamic_halting` off every
  row's depth is the budget and only that loop is compiled): its decode step runs exactly the first k segments'
  caches, without a conditional per segment (XLA copies the caches a `lax.cond` carries:
  measured 288 cache copies per token at 4 segments, 1.7x slower than running every segment)."""
  cfg = model.cfg
  b = batch["inputs"].shape[0]
  segments = sampling.max_segments or cfg.halt_max_steps
  max_len = cache_length(cfg, batch["inputs"].shape[1], sampling.max_new_tokens)
  caches = init_caches(cfg, b, segments, max_len)
  caches, depth, logits = prefill(
    model, params, batch, caches, sampling.dynamic_halting, exploration_min_depth(sampling, b, segments, rng)
  )
  n = sampling.max_new_tokens
  stop_ids = jnp.asarray(sampling.stop_ids, jnp.int32)

  def token_loop(k: int):
    def run(logits, caches):
      init = dict(
        t=jnp.zeros((), jnp.int32),
        logits=logits,
        caches=caches[:k],
        done=jnp.zeros((b,), bool),
        tokens=jnp.zeros((b, n), jnp.int32),
        lengths=jnp.zeros((b,), jnp.int32),
        all_logits=jnp.zeros((b, n, cfg.vocab_size), jnp.float32),
      )

      def body(s):
        t = s["t"]
        token = sample_token(s["logits"], jax.random.fold_in(rng, t), sampling)
        token = jnp.where(s["done"], 0, token)
        tokens = s["tokens"].at[:, t].set(token)
        all_logits = s["all_logits"].at[:, t].set(s["logits"])
        lengths = s["lengths"] + (~s["done"]).astype(jnp.int32)
        done = s["done"] | jnp.any(token[:, None] == stop_ids[None, :], axis=-1)
        positions = jnp.minimum(batch["prompt_length"] + t, max_len - cfg.prefix_len - 1)
        logits, new_caches = decode_step(model, params, token, positions, s["caches"], depth)
        return dict(
          t=t + 1, logits=logits, caches=new_caches, done=done, tokens=tokens, lengths=lengths, all_logits=all_logits
        )

      out = jax.lax.while_loop(lambda s: (s["t"] < n) & ~jnp.all(s["done"]), body, init)
      return out["tokens"], out["lengths"], out["all_logits"]

    return run

  if segments == 1 or not sampling.dynamic_halting:
    # Without dynamic halting every row runs the whole budget (the reference's evaluation rule), so the one
    # token loop that can run is compiled alone: budget-many segments instead of 1 + 2 + ... + budget.
    tokens, lengths, all_logits = token_loop(segments)(logits, caches)
  else:
    branches = [token_loop(k) for k in range(1, segments + 1)]
    tokens, lengths, all_logits = jax.lax.switch(jnp.max(depth) - 1, branches, logits, caches)
  return tokens, lengths, depth, all_logits


def _generate_no_cache(model: HRMCore, sampling: SamplingConfig, params, batch, rng):
  """Reference path without caches: every step reruns the full ACT forward over the whole sequence."""
  cfg = model.cfg
  b = batch["inputs"].shape[0]
  segments = sampling.max_segments or cfg.halt_max_steps
  n = sampling.max_new_tokens
  stop_ids = jnp.asarray(sampling.stop_ids, jnp.int32)
  buffer = jnp.zeros((b, cfg.seq_len), jnp.int32).at[:, : batch["inputs"].shape[1]].set(batch["inputs"])
  full = dict(batch, inputs=buffer)
  rows = jnp.arange(b)

  def step_logits(buf):
    out = hrm.act_evaluate(model, params, dict(full, inputs=buf), segments, dynamic_halting=sampling.dynamic_halting)
    return out["logits"], out["steps"]

  init = dict(
    t=jnp.zeros((), jnp.int32),
    buf=buffer,
    done=jnp.zeros((b,), bool),
    tokens=jnp.zeros((b, n), jnp.int32),
    lengths=jnp.zeros((b,), jnp.int32),
    all_logits=jnp.zeros((b, n, cfg.vocab_size), jnp.float32),
    depth=jnp.zeros((b,), jnp.int32),
  )

  def body(s):
    t = s["t"]
    logits, depth = step_logits(s["buf"])
    current = jnp.minimum(batch["prompt_length"] + t - 1, cfg.seq_len - 1)
    step_logits_ = logits[rows, current].astype(jnp.float32)
    token = sample_token(step_logits_, jax.random.fold_in(rng, t), sampling)
    token = jnp.where(s["done"], 0, token)
    write = jnp.minimum(batch["prompt_length"] + t, cfg.seq_len - 1)
    return dict(
      t=t + 1,
      buf=s["buf"].at[rows, write].set(jnp.where(s["done"], s["buf"][rows, write], token)),
      done=s["done"] | jnp.any(token[:, None] == stop_ids[None, :], axis=-1),
      tokens=s["tokens"].at[:, t].set(token),
      lengths=s["lengths"] + (~s["done"]).astype(jnp.int32),
      all_logits=s["all_logits"].at[:, t].set(step_logits_),
      depth=depth,
    )

  out = jax.lax.while_loop(lambda s: (s["t"] < n) & ~jnp.all(s["done"]), body, init)
  return out["tokens"], out["lengths"], out["depth"], out["all_logits"]


def replicate_on(tree, sharding: jax.sharding.NamedSharding):
  """A pytree of arrays -> whole copies laid out by `sharding` (replicated over its devices).

  Host arrays and arrays this process holds entirely are copied over; an array spanning several processes
  must already be replicated (e.g. the output of a jit with a replicated out_sharding, every process calling),
  and its copies on `sharding`'s devices are reused without a transfer.
  """

  def place(x):
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
      if not x.is_fully_replicated:
        raise ValueError("parameters spread over several processes must be replicated before generation")
      copies = {shard.device: shard.data for shard in x.addressable_shards}
      devices = list(sharding.mesh.devices.flat)
      missing = [d for d in devices if d not in copies]
      if missing:
        raise ValueError(f"generation devices {missing} hold no copy of the parameters")
      return jax.make_array_from_single_device_arrays(x.shape, sharding, [copies[d] for d in devices])
    return jax.device_put(x, sharding)

  return jax.tree.map(place, tree)


class Generator:
  """Compiles generation once per (batch size, prompt bucket) and decodes token ids.

  Usage: `Generator(model, params, sampling).generate(prompts, language_ids, task_ids)` with prompts as lists
  of token ids. `compilations` counts the distinct compiled shapes. A model trained with `scan_layers` decodes
  with its layers unrolled (KV caches need them): its parameters are converted when set.

  `devices` (several): data-parallel generation, each batch's rows split over them (padded to a multiple of
  their number) and a whole copy of the parameters on each (`replicate_on`); the results do not depend on how
  many. Default: one device, wherever the parameters are.
  """

  def __init__(
    self,
    model: HRMCore,
    params,
    sampling: SamplingConfig = SamplingConfig(),
    *,
    use_cache: bool = True,
    buckets: Sequence[int] | None = None,
    devices: Sequence[jax.Device] | None = None,
  ):
    cfg = model.cfg
    if cfg.attention == "bidirectional":
      raise ValueError("generation needs a causal model: config.model.attention must be 'causal' or 'prefix_lm'")
    self._unscan = cfg.scan_layers
    if cfg.scan_layers:
      model = HRMCore(dataclasses.replace(cfg, scan_layers=False), dot_general_cls=model.dot_general_cls)
    # Several devices: data-parallel generation, the rows split over `devices`, the parameters copied to each.
    self._mesh = None
    if devices is not None and len(devices) > 1:
      if not jax.config.jax_threefry_partitionable:
        # Padding rows (and splitting them over devices) must not change the other rows' random draws: with
        # partitionable threefry a row's bits depend on its index only, not on the batch size.
        raise ValueError(
          "generation over several devices needs jax_threefry_partitionable=True (the JAX default; set "
          "JAX_THREEFRY_PARTITIONABLE=1) so samples do not depend on the device count"
        )
      self._mesh = jax.sharding.Mesh(np.asarray(devices), ("batch",))
    self.model, self.params, self.sampling = model, params, sampling
    self.buckets = tuple(buckets) if buckets else length_buckets(cfg.seq_len)
    if not use_cache and sampling.halt_exploration_prob > 0:
      raise ValueError("SamplingConfig.halt_exploration_prob needs the KV-cached generator (use_cache=True)")
    fn = functools.partial(_generate if use_cache else _generate_no_cache, model, sampling)
    if self._mesh is None:
      self._fn = jax.jit(fn)
    else:  # every output has the rows first: leave them split (no gather inside the computation)
      self._fn = jax.jit(fn, out_shardings=self._row_sharding)
    self._shapes: set[tuple[int, int]] = set()

  @property
  def params(self):
    return self._params

  @params.setter
  def params(self, params) -> None:
    """New parameters (e.g. after an RL update): the jitted generation takes them as an argument, no recompile."""
    if params is not None and self._mesh is not None:
      params = replicate_on(params, self._replicated)
    if self._unscan and params is not None:
      params = {"params": layers.unscan_layer_params(params["params"] if "params" in params else params)}
    self._params = params

  @property
  def devices(self) -> list[jax.Device]:
    """The devices the rows are split over (empty: one device, the default placement)."""
    return list(self._mesh.devices.flat) if self._mesh is not None else []

  @property
  def _row_sharding(self) -> jax.sharding.NamedSharding:
    return jax.sharding.NamedSharding(self._mesh, jax.sharding.PartitionSpec("batch"))

  @property
  def _replicated(self) -> jax.sharding.NamedSharding:
    return jax.sharding.NamedSharding(self._mesh, jax.sharding.PartitionSpec())

  @property
  def compilations(self) -> int:
    return len(self._shapes)

  def make_batch(self, prompts: Sequence[Sequence[int]], language_ids=None, task_ids=None) -> dict:
    cfg = self.model.cfg
    longest = max(len(p) for p in prompts)
    room = cfg.seq_len - self.sampling.max_new_tokens
    if longest > room:
      raise ValueError(
        f"prompt of {longest} tokens + max_new_tokens={self.sampling.max_new_tokens} exceeds "
        f"config.model.seq_len={cfg.seq_len}"
      )
    bucket = pick_bucket(longest, self.buckets)
    b = len(prompts)
    inputs = np.zeros((b, bucket), np.int32)
    for i, p in enumerate(prompts):
      inputs[i, : len(p)] = p
    zeros = np.zeros((b,), np.int32)
    return {
      "inputs": inputs,
      "prompt_length": np.asarray([len(p) for p in prompts], np.int32),
      "language_id": np.asarray(language_ids if language_ids is not None else zeros, np.int32),
      "task_id": np.asarray(task_ids if task_ids is not None else zeros, np.int32),
      "puzzle_identifiers": zeros,
    }

  def generate_arrays(self, prompts, language_ids=None, task_ids=None, seed: int = 0):
    """(tokens int32 [b, N], lengths [b], depth [b], logits fp32 [b, N, V]) for the b prompts, on device.

    Over several devices the rows are padded (repeating the last prompt) to a multiple of the device count,
    split over the devices and the pad rows dropped from the outputs; a real row's tokens, length, depth and
    logits up to its length do not depend on the padding or the device count (its random draws depend on its
    row index only). Past a row's length its logits are those of the batch's remaining steps.
    """
    batch = self.make_batch(prompts, language_ids, task_ids)
    rng = jax.random.key(seed)
    b = len(prompts)
    if self._mesh is not None:
      n = self._mesh.devices.size
      pad = -b % n
      if pad:
        batch = {k: np.concatenate([v, np.repeat(v[-1:], pad, axis=0)]) for k, v in batch.items()}
      batch = jax.device_put(batch, self._row_sharding)
      rng = jax.device_put(rng, self._replicated)
    self._shapes.add(batch["inputs"].shape)
    out = self._fn(self.params, batch, rng)
    if self._mesh is not None and pad:
      out = tuple(x[:b] for x in out)
    return out

  def generate(self, prompts, language_ids=None, task_ids=None, seed: int = 0) -> list[list[int]]:
    """New token ids per prompt (stop token excluded)."""
    tokens, lengths, _, _ = jax.device_get(self.generate_arrays(prompts, language_ids, task_ids, seed))
    out = []
    for row, n in zip(tokens, lengths):
      ids = [int(t) for t in row[:n]]
      if ids and ids[-1] in self.sampling.stop_ids:
        ids = ids[:-1]
      out.append(ids)
    return out


def stream(
  model: HRMCore,
  params,
  prompt: Sequence[int],
  sampling: SamplingConfig,
  language_id: int = 0,
  task_id: int = 0,
  seed: int = 0,
) -> Iterator[int]:
  """Yields new token ids one by one (a jitted decode step per token, for printing as they come)."""
  gen = Generator(model, params, sampling)
  batch = gen.make_batch([prompt], [language_id], [task_id])
  segments = sampling.max_segments or model.cfg.halt_max_steps
  max_len = cache_length(model.cfg, batch["inputs"].shape[1], sampling.max_new_tokens)
  prefill_fn = jax.jit(
    lambda p, b: prefill(model, p, b, init_caches(model.cfg, 1, segments, max_len), sampling.dynamic_halting)
  )
  # The caches are donated: each step updates them in place instead of allocating new ones. The step runs the
  # first `depth` segments' caches (read once from the device after the prefill), no conditional per segment.
  step_fn = jax.jit(lambda p, tok, pos, c, d: decode_step(model, p, tok, pos, c, d), donate_argnums=3)
  caches, depth, logits = prefill_fn(params, batch)
  caches = caches[: int(depth[0])]
  rng = jax.random.key(seed)
  for t in range(sampling.max_new_tokens):
    token = sample_token(logits, jax.random.fold_in(rng, t), sampling)
    value = int(token[0])
    if value in sampling.stop_ids:
      return
    yield value
    position = jnp.asarray([len(prompt) + t], jnp.int32)
    logits, caches = step_fn(params, token, position, caches, depth)


def generator_from_workdir(
  workdir: str,
  *,
  max_new_tokens: int = 256,
  temperature: float = 0.0,
  top_p: float = 1.0,
  top_k: int = 0,
  seed: int = 0,
) -> Callable[[list[str]], list[str]]:
  """A text -> text generator over a trained workdir (used by the evaluation harnesses).

  The prompt text is wrapped in the model's prompt layout (`<|problem|> text <|code|>`) by the data pipeline's
  `encode_prompt`, and the reply is the decoded new tokens.
  """
  from hrm_jax.tokenizer import load_tokenizer
  from hrm_jax.train import checkpoint  # local import: training code is not needed to generate otherwise

  model, params, config = checkpoint.load_for_inference(workdir)
  tok = load_tokenizer()
  new_tokens = min(max_new_tokens, model.cfg.seq_len - 1)
  sampling = SamplingConfig(
    max_new_tokens=new_tokens, temperature=temperature, top_p=top_p, top_k=top_k, stop_ids=(tok.eos_id,)
  )
  gen = Generator(model, params, sampling)
  room = model.cfg.seq_len - new_tokens

  def generate(prompts: list[str]) -> list[str]:
    encoded = [[tok.token_id("<|problem|>")] + tok.encode(p)[: room - 2] + [tok.token_id("<|code|>")] for p in prompts]
    outs = []
    for i in range(len(encoded)):  # one prompt at a time keeps the compiled batch size at 1
      outs.append(tok.decode(gen.generate([encoded[i]], seed=seed + i)[0]))
    return outs

  return generate
