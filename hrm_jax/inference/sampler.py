"""Incremental generation from a causal HRM (or the baseline) with one KV cache per module application.

Within a segment every module application is a causal transformer pass, so each (segment, application,
layer) keeps its own key/value cache (hrm-spec.md section 7.4): L caches are
[segments, L_applications, L_layers, batch, max_len, heads, head_dim], H caches likewise.

ACT at inference (see the model section of the README and hrm.py's module doc): prefill runs segments over the
prompt under a `lax.while_loop` until the Q head at the last prompt token halts (or the segment budget is
spent); that depth is then used for every generated token. Each decode step runs the new token through the
chosen number of segments (another `while_loop`), reading and extending that segment's caches.

Shapes are static: prompts are padded to one of a few length buckets, so a session compiles once per
(batch size, bucket, sampling settings) and the whole token loop is one compiled `while_loop`. `stream()`
decodes with a jitted single-step function instead, to print tokens as they come.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Iterator, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from hrm_jax.models import hrm
from hrm_jax.models.hrm import H_KIND, L_KIND, HRMConfig, HRMCore

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


def init_caches(cfg: HRMConfig, batch_size: int, segments: int) -> dict[str, Array]:
  """Zero KV caches for `segments` segments: {"L": (k, v), "H": (k, v)}."""
  t = cfg.total_len
  def make(apps, layers_):
    shape = (segments, max(apps, 1), layers_, batch_size, t, cfg.num_heads, cfg.head_dim)
    return (jnp.zeros(shape, cfg.dtype), jnp.zeros(shape, cfg.dtype))
  if cfg.arch == "transformer":
    return {"L": make(1, cfg.H_layers + cfg.L_layers), "H": make(0, 1)}
  return {"L": make(cfg.num_L_applications, cfg.L_layers), "H": make(cfg.num_H_applications, cfg.H_layers)}


def _slot_indices(cfg: HRMConfig) -> np.ndarray:
  """For each application in the schedule, its index among the applications of its kind."""
  seen = {L_KIND: 0, H_KIND: 0}
  slots = []
  for kind in cfg.schedule:
    slots.append(seen[kind])
    seen[kind] += 1
  return np.asarray(slots, np.int32)


def run_segment_cached(model: HRMCore, params, z_H, z_L, x, ctx, caches, cache_index):
  """One segment's applications on new positions, reading/extending one segment's caches.

  z_H, z_L, x: [batch, n, d] for the n new positions; caches: {"L": (k, v), "H": (k, v)} each
  [apps, layers, batch, max_len, heads, head_dim]; cache_index: int32 [batch], absolute position of the first
  new position. Returns (z_H, z_L, caches).
  """
  cfg = model.cfg
  if cfg.arch == "transformer":
    k, v = caches["L"]
    z, (k0, v0) = model.apply(params, x, ctx, (k[0], v[0]), cache_index, method=HRMCore.apply_stack)
    return z, z_L, {"L": (k.at[0].set(k0), v.at[0].set(v0)), "H": caches["H"]}

  def body(carry, inp):
    zh, zl, c = carry
    kind, slot = inp

    def do_L(zh, zl, c):
      k, v = c["L"]
      new, (k1, v1) = model.apply(params, zl, zh + x, ctx, (k[slot], v[slot]), cache_index,
                                  method=HRMCore.apply_L)
      return zh, new, {"L": (k.at[slot].set(k1), v.at[slot].set(v1)), "H": c["H"]}

    def do_H(zh, zl, c):
      k, v = c["H"]
      new, (k1, v1) = model.apply(params, zh, zl, ctx, (k[slot], v[slot]), cache_index,
                                  method=HRMCore.apply_H)
      return new, zl, {"L": c["L"], "H": (k.at[slot].set(k1), v.at[slot].set(v1))}

    return jax.lax.switch(kind, (do_L, do_H), zh, zl, c), None

  xs = (jnp.asarray(cfg.schedule, jnp.int32), jnp.asarray(_slot_indices(cfg)))
  (z_H, z_L, caches), _ = jax.lax.scan(body, (z_H, z_L, caches), xs)
  return z_H, z_L, caches


def _segment_caches(caches, m):
  return jax.tree.map(lambda a: a[m], caches)


def _store_segment_caches(caches, new, m):
  return jax.tree.map(lambda a, n: a.at[m].set(n), caches, new)


def prefill(model: HRMCore, params, batch, caches, max_segments: int, dynamic_halting: bool, min_depth=None):
  """Runs segments over the (bucket-padded) prompt until every sequence halts.

  batch: `inputs` [batch, bucket] (prompt left-aligned), `prompt_length` [batch] and the conditioning ids.
  min_depth: optional int32 [batch]: a row's Q head may halt only from this many segments on (exploration).
  Returns (caches, depth int32 [batch], logits [batch, vocab] for the first new token).
  """
  cfg = model.cfg
  b, bucket = batch["inputs"].shape
  x = model.apply(params, batch, method=HRMCore.embed)
  ctx = hrm.attention_context(cfg, batch, 0, x.shape[1], kv_len=cfg.total_len)
  z_H, z_L = model.apply(params, b, x.shape[1], method=HRMCore.initial_state)
  qi = hrm.q_index(cfg, batch)
  rows = jnp.arange(b)
  zero = jnp.zeros((b,), jnp.int32)
  init = dict(m=jnp.zeros((), jnp.int32), z_H=z_H, z_L=z_L, caches=caches, halted=jnp.zeros((b,), bool),
              depth=zero, logits=jnp.zeros((b, cfg.vocab_size), jnp.float32))

  def cond(s):
    return (s["m"] < max_segments) & ~jnp.all(s["halted"])

  def body(s):
    m = s["m"]
    zh, zl, seg_caches = run_segment_cached(model, params, s["z_H"], s["z_L"], x, ctx,
                                            _segment_caches(s["caches"], m), zero)
    q_halt, q_cont = model.apply(params, zh[rows, qi], method=HRMCore.q_logits)
    # The first answer token is predicted at the last prompt token (sequence index prompt_length - 1).
    last = cfg.prefix_len + batch["prompt_length"] - 1
    logits = model.apply(params, zh[rows, last], method=HRMCore.lm_logits).astype(jnp.float32)
    active = ~s["halted"]
    halt_now = (m + 1 >= max_segments)
    if dynamic_halting:
      q_halts = q_halt > q_cont
      if min_depth is not None:
        q_halts = q_halts & (m + 1 >= min_depth)
      halt_now = halt_now | q_halts
    return dict(m=m + 1, z_H=zh, z_L=zl, caches=_store_segment_caches(s["caches"], seg_caches, m),
                halted=s["halted"] | (active & halt_now), depth=jnp.where(active, m + 1, s["depth"]),
                logits=jnp.where(active[:, None], logits, s["logits"]))

  out = jax.lax.while_loop(cond, body, init)
  return out["caches"], out["depth"], out["logits"]


def decode_step(model: HRMCore, params, tokens, positions, caches, depth):
  """Logits for the token after `tokens`.

  tokens: int32 [batch] new tokens at sequence index `positions` [batch]; depth: int32 [batch] segments per
  sequence. Returns (logits fp32 [batch, vocab], caches).
  """
  cfg = model.cfg
  b = tokens.shape[0]
  abs_pos = (cfg.prefix_len + positions).astype(jnp.int32)
  x = model.apply(params, tokens[:, None], abs_pos[:, None], method=HRMCore.embed_step)
  ctx = {"cos": None, "sin": None,
         "mask": (jnp.arange(cfg.total_len)[None, :] <= abs_pos[:, None])[:, None, None, :]}
  if cfg.pos_encodings == "rope":
    from hrm_jax.models import layers
    ctx["cos"], ctx["sin"] = layers.rope_tables(abs_pos[:, None], cfg.head_dim, cfg.rope_theta)
  z_H, z_L = model.apply(params, b, 1, method=HRMCore.initial_state)
  init = dict(m=jnp.zeros((), jnp.int32), z_H=z_H, z_L=z_L, caches=caches, out=jnp.zeros_like(z_H))

  def body(s):
    m = s["m"]
    zh, zl, seg_caches = run_segment_cached(model, params, s["z_H"], s["z_L"], x, ctx,
                                            _segment_caches(s["caches"], m), abs_pos)
    return dict(m=m + 1, z_H=zh, z_L=zl, caches=_store_segment_caches(s["caches"], seg_caches, m),
                out=jnp.where((m == depth - 1)[:, None, None], zh, s["out"]))

  out = jax.lax.while_loop(lambda s: s["m"] < jnp.max(depth), body, init)
  logits = model.apply(params, out["out"][:, 0], method=HRMCore.lm_logits).astype(jnp.float32)
  return logits, out["caches"]


def sample_token(logits: Array, rng: Array, sampling: SamplingConfig) -> Array:
  """Greedy, or temperature sampling with optional top-k / top-p. logits: fp32 [batch, vocab]."""
  if sampling.temperature <= 0:
    return jnp.argmax(logits, axis=-1).astype(jnp.int32)
  logits = logits / sampling.temperature
  if sampling.top_k > 0:
    kth = jax.lax.top_k(logits, sampling.top_k)[0][..., -1:]
    logits = jnp.where(logits < kth, -jnp.inf, logits)
  if sampling.top_p < 1.0:
    sorted_logits = jnp.sort(logits, axis=-1)[..., ::-1]
    cumulative = jnp.cumsum(jax.nn.softmax(sorted_logits, axis=-1), axis=-1)
    # keep the smallest set whose mass reaches top_p (the first token always stays)
    cutoff_index = jnp.sum(cumulative < sampling.top_p, axis=-1, keepdims=True)
    cutoff = jnp.take_along_axis(sorted_logits, cutoff_index, axis=-1)
    logits = jnp.where(logits < cutoff, -jnp.inf, logits)
  return jax.random.categorical(rng, logits, axis=-1).astype(jnp.int32)


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
  logits fp32 [batch, max_new, vocab] of each step's distribution)."""
  cfg = model.cfg
  b = batch["inputs"].shape[0]
  segments = sampling.max_segments or cfg.halt_max_steps
  caches = init_caches(cfg, b, segments)
  caches, depth, logits = prefill(model, params, batch, caches, segments, sampling.dynamic_halting,
                                  exploration_min_depth(sampling, b, segments, rng))
  n = sampling.max_new_tokens
  stop_ids = jnp.asarray(sampling.stop_ids, jnp.int32)
  init = dict(t=jnp.zeros((), jnp.int32), logits=logits, caches=caches, done=jnp.zeros((b,), bool),
              tokens=jnp.zeros((b, n), jnp.int32), lengths=jnp.zeros((b,), jnp.int32),
              all_logits=jnp.zeros((b, n, cfg.vocab_size), jnp.float32))

  def cond(s):
    return (s["t"] < n) & ~jnp.all(s["done"])

  def body(s):
    t = s["t"]
    token = sample_token(s["logits"], jax.random.fold_in(rng, t), sampling)
    token = jnp.where(s["done"], 0, token)
    tokens = s["tokens"].at[:, t].set(token)
    all_logits = s["all_logits"].at[:, t].set(s["logits"])
    lengths = s["lengths"] + (~s["done"]).astype(jnp.int32)
    done = s["done"] | jnp.any(token[:, None] == stop_ids[None, :], axis=-1)
    positions = jnp.minimum(batch["prompt_length"] + t, cfg.seq_len - 1)
    logits, caches = decode_step(model, params, token, positions, s["caches"], depth)
    return dict(t=t + 1, logits=logits, caches=caches, done=done, tokens=tokens, lengths=lengths,
                all_logits=all_logits)

  out = jax.lax.while_loop(cond, body, init)
  return out["tokens"], out["lengths"], depth, out["all_logits"]


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
    out = hrm.act_evaluate(model, params, dict(full, inputs=buf), segments,
                           dynamic_halting=sampling.dynamic_halting)
    return out["logits"], out["steps"]

  init = dict(t=jnp.zeros((), jnp.int32), buf=buffer, done=jnp.zeros((b,), bool),
              tokens=jnp.zeros((b, n), jnp.int32), lengths=jnp.zeros((b,), jnp.int32),
              all_logits=jnp.zeros((b, n, cfg.vocab_size), jnp.float32), depth=jnp.zeros((b,), jnp.int32))

  def body(s):
    t = s["t"]
    logits, depth = step_logits(s["buf"])
    current = jnp.minimum(batch["prompt_length"] + t - 1, cfg.seq_len - 1)
    step_logits_ = logits[rows, current].astype(jnp.float32)
    token = sample_token(step_logits_, jax.random.fold_in(rng, t), sampling)
    token = jnp.where(s["done"], 0, token)
    write = jnp.minimum(batch["prompt_length"] + t, cfg.seq_len - 1)
    return dict(t=t + 1, buf=s["buf"].at[rows, write].set(jnp.where(s["done"], s["buf"][rows, write], token)),
                done=s["done"] | jnp.any(token[:, None] == stop_ids[None, :], axis=-1),
                tokens=s["tokens"].at[:, t].set(token), lengths=s["lengths"] + (~s["done"]).astype(jnp.int32),
                all_logits=s["all_logits"].at[:, t].set(step_logits_), depth=depth)

  out = jax.lax.while_loop(lambda s: (s["t"] < n) & ~jnp.all(s["done"]), body, init)
  return out["tokens"], out["lengths"], out["depth"], out["all_logits"]


class Generator:
  """Compiles generation once per (batch size, prompt bucket) and decodes token ids.

  Usage: `Generator(model, params, sampling).generate(prompts, language_ids, task_ids)` with prompts as lists
  of token ids. `compilations` counts the distinct compiled shapes.
  """

  def __init__(self, model: HRMCore, params, sampling: SamplingConfig = SamplingConfig(), *,
               use_cache: bool = True, buckets: Sequence[int] | None = None):
    cfg = model.cfg
    if cfg.attention == "bidirectional":
      raise ValueError("generation needs a causal model: config.model.attention must be 'causal' or 'prefix_lm'")
    self.model, self.params, self.sampling = model, params, sampling
    self.buckets = tuple(buckets) if buckets else length_buckets(cfg.seq_len)
    if not use_cache and sampling.halt_exploration_prob > 0:
      raise ValueError("SamplingConfig.halt_exploration_prob needs the KV-cached generator (use_cache=True)")
    fn = _generate if use_cache else _generate_no_cache
    self._fn = jax.jit(functools.partial(fn, model, sampling))
    self._shapes: set[tuple[int, int]] = set()

  @property
  def compilations(self) -> int:
    return len(self._shapes)

  def make_batch(self, prompts: Sequence[Sequence[int]], language_ids=None, task_ids=None) -> dict:
    cfg = self.model.cfg
    longest = max(len(p) for p in prompts)
    room = cfg.seq_len - self.sampling.max_new_tokens
    if longest > room:
      raise ValueError(f"prompt of {longest} tokens + max_new_tokens={self.sampling.max_new_tokens} exceeds "
                       f"config.model.seq_len={cfg.seq_len}")
    bucket = pick_bucket(longest, self.buckets)
    b = len(prompts)
    inputs = np.zeros((b, bucket), np.int32)
    for i, p in enumerate(prompts):
      inputs[i, : len(p)] = p
    zeros = np.zeros((b,), np.int32)
    return {"inputs": inputs, "prompt_length": np.asarray([len(p) for p in prompts], np.int32),
            "language_id": np.asarray(language_ids if language_ids is not None else zeros, np.int32),
            "task_id": np.asarray(task_ids if task_ids is not None else zeros, np.int32),
            "puzzle_identifiers": zeros}

  def generate_arrays(self, prompts, language_ids=None, task_ids=None, seed: int = 0):
    batch = self.make_batch(prompts, language_ids, task_ids)
    self._shapes.add(batch["inputs"].shape)
    return self._fn(self.params, batch, jax.random.key(seed))

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


def stream(model: HRMCore, params, prompt: Sequence[int], sampling: SamplingConfig, language_id: int = 0,
           task_id: int = 0, seed: int = 0) -> Iterator[int]:
  """Yields new token ids one by one (a jitted decode step per token, for printing as they come)."""
  gen = Generator(model, params, sampling)
  batch = gen.make_batch([prompt], [language_id], [task_id])
  segments = sampling.max_segments or model.cfg.halt_max_steps
  prefill_fn = jax.jit(lambda p, b: prefill(model, p, b, init_caches(model.cfg, 1, segments), segments,
                                            sampling.dynamic_halting))
  step_fn = jax.jit(lambda p, tok, pos, c, d: decode_step(model, p, tok, pos, c, d))
  caches, depth, logits = prefill_fn(params, batch)
  rng = jax.random.key(seed)
  for t in range(sampling.max_new_tokens):
    token = sample_token(logits, jax.random.fold_in(rng, t), sampling)
    value = int(token[0])
    if value in sampling.stop_ids:
      return
    yield value
    position = jnp.asarray([len(prompt) + t], jnp.int32)
    logits, caches = step_fn(params, token, position, caches, depth)


def generator_from_workdir(workdir: str, *, max_new_tokens: int = 256, temperature: float = 0.0,
                           top_p: float = 1.0, top_k: int = 0, seed: int = 0) -> Callable[[list[str]], list[str]]:
  """A text -> text generator over a trained workdir (used by the evaluation harnesses).

  The prompt text is wrapped in the model's prompt layout (`<|problem|> text <|code|>`) by the data pipeline's
  `encode_prompt`, and the reply is the decoded new tokens.
  """
  from hrm_jax.train import trainer  # local import: training code is not needed to generate otherwise
  from hrm_jax.tokenizer import load_tokenizer

  model, params, config = trainer.load_for_inference(workdir)
  tok = load_tokenizer()
  new_tokens = min(max_new_tokens, model.cfg.seq_len - 1)
  sampling = SamplingConfig(max_new_tokens=new_tokens, temperature=temperature, top_p=top_p, top_k=top_k,
                            stop_ids=(tok.eos_id,))
  gen = Generator(model, params, sampling)
  room = model.cfg.seq_len - new_tokens

  def generate(prompts: list[str]) -> list[str]:
    encoded = [[tok.token_id("<|problem|>")] + tok.encode(p)[: room - 2] + [tok.token_id("<|code|>")]
               for p in prompts]
    outs = []
    for i in range(len(encoded)):  # one prompt at a time keeps the compiled batch size at 1
      outs.append(tok.decode(gen.generate([encoded[i]], seed=seed + i)[0]))
    return outs

  return generate
