"""Continuous batching over the sampler's public functions: many requests decode together, one row each.

The engine owns a pool of KV-cache rows (`sampler.init_caches`, each row the full cache length), a power of two
up to `max_batch`. A new request is prefilled alone (`sampler.prefill`, one compile per prompt bucket) and its
caches are written into the lowest free row; then every step runs ONE `sampler.decode_step` over the whole pool,
so requests that arrive while others are decoding join at the next step and leave when they stop (continuous
batching: no request waits for another to finish). The pool grows (doubling) when a request needs a row beyond
it and shrinks after SHRINK_AFTER steps with its upper half unused: a step's cost follows the rows in use (a
request alone pays a one-row step), the caches are updated in place (donated), and a resize, one copy of the
rows kept, is rare. (Running only the first rows of a larger pool by slicing them out and writing them back
made XLA copy the whole pool every step: 2.9 ms instead of 0.25 ms per step at 32 rows of the tiny model.)
Each row keeps its own position, ACT depth and sampling settings (temperature / top-p / top-k / seed per row:
`sampler.sample_rows`).

Shapes are static: one compile per (pool size, prompt bucket) for the prefill, and per (pool size, decoded
segment count) for the step: it runs the first k segments' caches, k the deepest active row's ACT depth; rows
shallower than k ignore the extra segments (`hrm.act_loop` keeps each row's output at its own depth).

The engine runs in one background thread; callers submit a `Request` and get `Event`s through its callback
(the server turns them into HTTP responses or SSE chunks). Text is decoded incrementally here, so stop strings
end a row at once and streamed text never shows a partial stop string or a partial UTF-8 character.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from hrm_jax.inference import sampler
from hrm_jax.inference.sampler import sample_rows  # the one sampling rule (per-row settings)
from hrm_jax.models import layers
from hrm_jax.models.hrm import HRMCore

Array = jax.Array
SHRINK_AFTER = 64  # steps with the pool's upper half unused before it shrinks


@dataclasses.dataclass
class Request:
  """One generation: token ids in, events out (`on_event` is called from the engine thread)."""

  prompt: Sequence[int]
  max_tokens: int
  on_event: Callable[[Event], None]
  temperature: float = 0.0
  top_p: float = 1.0
  top_k: int = 0
  seed: int = 0
  stop: tuple[str, ...] = ()
  stop_ids: tuple[int, ...] = ()  # in addition to the engine's (end of sequence)
  language_id: int = 0
  task_id: int = 0
  cancelled: bool = False  # set by the caller (client gone): the row is freed at the next step
  # Filled by the engine.
  ids: list = dataclasses.field(default_factory=list)
  text: str = ""
  sent: int = 0  # characters of `text` already emitted
  submitted_at: float = 0.0
  first_token_at: float = 0.0


@dataclasses.dataclass(frozen=True)
class Event:
  """kind: "delta" (new text), "done" (finish_reason, the whole text, token counts) or "error" (message)."""

  kind: str
  text: str = ""
  finish_reason: str | None = None
  prompt_tokens: int = 0
  completion_tokens: int = 0
  message: str = ""


def _row_keys(seeds: Array, steps: Array) -> Array:
  return jax.vmap(lambda s, t: jax.random.fold_in(jax.random.key(s), t))(seeds, steps)


def _insert_row(big, small, row):
  """Writes a batch-1 cache tree into row `row` of a batch cache tree (rows are `heads` consecutive entries of
  the leading axis, `layers.init_cache`'s layout)."""

  def put(b, s):
    return jax.lax.dynamic_update_slice(b, s.astype(b.dtype), (row * s.shape[0],) + (0,) * (b.ndim - 1))

  return jax.tree.map(put, big, small)


class Engine:
  """Continuous-batching generation over a causal model (see the module doc).

  max_batch: rows decoded together (the largest cache pool); shrink_after: steps with the pool's upper half
  unused before it halves; max_context: positions a request may fill (prompt + new tokens; default and
  upper bound the model's seq_len); buckets: prompt length buckets (default `sampler.length_buckets`).
  """

  def __init__(
    self,
    model: HRMCore,
    params,
    *,
    eos_id: int,
    decode: Callable[[list[int]], str],
    max_batch: int = 8,
    max_context: int | None = None,
    segments: int | None = None,
    buckets: Sequence[int] | None = None,
    shrink_after: int = SHRINK_AFTER,
  ):
    cfg = model.cfg
    if cfg.attention == "bidirectional":
      raise ValueError("serving needs a causal model: config.model.attention must be 'causal' or 'prefix_lm'")
    if cfg.scan_layers:  # KV caches need the layers unrolled (as the sampler's Generator does)
      model = HRMCore(dataclasses.replace(cfg, scan_layers=False), dot_general_cls=model.dot_general_cls)
      params = {"params": layers.unscan_layer_params(params["params"] if "params" in params else params)}
      cfg = model.cfg
    self.model, self.params, self.cfg = model, params, cfg
    self.eos_id, self.decode = eos_id, decode
    self.max_batch = max_batch
    self.max_context = min(max_context or cfg.seq_len, cfg.seq_len)
    self.segments = segments or cfg.halt_max_steps
    self.buckets = tuple(b for b in (buckets or sampler.length_buckets(cfg.seq_len)) if b < self.max_context)
    self.buckets += (self.max_context,)
    self.cache_len = cfg.prefix_len + self.max_context
    self._prefill_fns: dict[int, Callable] = {}
    self._step_fns: dict[int, Callable] = {}
    self._resize_fns: dict[int, Callable] = {}
    self._insert = jax.jit(_insert_row, donate_argnums=0)  # a prefilled row into the pool (one compile per pool)
    self._underused = 0  # steps in a row with the pool's upper half free
    self.shrink_after = shrink_after
    self._caches = None
    self._pending: queue.Queue[Request] = queue.Queue()
    self._wake = threading.Event()
    self._stop = threading.Event()
    self._thread: threading.Thread | None = None
    # Row state (host side).
    b = max_batch
    self._rows: list[Request | None] = [None] * b
    self._tokens = np.zeros((b,), np.int32)  # the last sampled token of each row (fed to the next step)
    self._positions = np.zeros((b,), np.int32)  # sequence index of that token
    self._depth = np.ones((b,), np.int32)
    self._temperature = np.zeros((b,), np.float32)
    self._top_p = np.ones((b,), np.float32)
    self._top_k = np.zeros((b,), np.int32)
    self._seeds = np.zeros((b,), np.uint32)
    self._steps = np.zeros((b,), np.int32)  # tokens sampled so far (the PRNG stream index)
    self.stats = dict(steps=0, rows_decoded=0, max_rows=0, prefills=0, tokens=0, requests=0, resizes=0)

  # -- compiled pieces -------------------------------------------------------------------------------------------
  def _prefill_fn(self, bucket: int):
    """jit: prefill one prompt of this bucket (into batch-1 caches) and sample its first token."""
    if bucket not in self._prefill_fns:
      model, cfg, segments, cache_len = self.model, self.cfg, self.segments, self.cache_len

      def fn(params, batch, seed, temperature, top_p, top_k):
        small = sampler.init_caches(cfg, 1, segments, cache_len)
        small, depth, logits = sampler.prefill(model, params, batch, small)
        token = sample_rows(logits, _row_keys(seed, jnp.zeros((1,), jnp.int32)), temperature, top_p, top_k)
        return small, depth[0], token[0]

      self._prefill_fns[bucket] = jax.jit(fn)
    return self._prefill_fns[bucket]

  def _step_fn(self, k: int):
    """jit: one decode step of every row of the cache pool through the first k segments, one token per row.
    Compiled once per (pool rows, k): the pool's row count is the leading dimension of the arrays given."""
    if k not in self._step_fns:
      model = self.model

      def fn(params, tokens, positions, caches, depth, seeds, steps, temperature, top_p, top_k):
        logits, caches = sampler.decode_step(model, params, tokens, positions, caches, jnp.minimum(depth, k))
        return sample_rows(logits, _row_keys(seeds, steps), temperature, top_p, top_k), caches

      self._step_fns[k] = jax.jit(fn, donate_argnums=3)
    return self._step_fns[k]

  def _resize_fn(self, rows: int):
    """jit: the cache pool with `rows` rows, keeping the first min(old, new) rows (the rows in use)."""
    if rows not in self._resize_fns:
      cfg, segments, cache_len = self.cfg, self.segments, self.cache_len

      def fn(caches):
        fresh = sampler.init_caches(cfg, rows, segments, cache_len)

        def move(old, new):
          keep = min(old.shape[0], new.shape[0])
          return jax.lax.dynamic_update_slice(new, old[:keep], (0,) * new.ndim)

        return jax.tree.map(move, caches, fresh)

      self._resize_fns[rows] = jax.jit(fn)
    return self._resize_fns[rows]

  def _pool_rows(self) -> int:
    return jax.tree.leaves(self._caches)[0].shape[0] // self.cfg.num_heads

  def _fit_pool(self, needed: int, shrink: bool) -> None:
    """Doubles the pool until it holds `needed` rows, or (shrink) halves it while `needed` rows still fit: a
    step's cost follows the rows in use; a resize copies the rows kept, and happens rarely (rows are taken
    lowest first, and the pool shrinks only after SHRINK_AFTER steps with its upper half unused)."""
    counts = self.row_counts()
    while needed > self._pool_rows():
      self._caches = self._resize_fn(counts[counts.index(self._pool_rows()) + 1])(self._caches)
      self.stats["resizes"] += 1
    while shrink and self._pool_rows() > 1 and needed <= counts[counts.index(self._pool_rows()) - 1]:
      self._caches = self._resize_fn(counts[counts.index(self._pool_rows()) - 1])(self._caches)
      self.stats["resizes"] += 1

  def row_counts(self) -> list[int]:
    """The pool sizes (rows) a step is compiled for: powers of two up to max_batch (and max_batch itself)."""
    counts, n = [], 1
    while n < self.max_batch:
      counts.append(n)
      n *= 2
    return counts + [self.max_batch]

  # -- lifecycle -------------------------------------------------------------------------------------------------
  def start(self) -> Engine:
    self._caches = sampler.init_caches(self.cfg, 1, self.segments, self.cache_len)
    self._thread = threading.Thread(target=self._loop, name="hrm-jax-engine", daemon=True)
    self._thread.start()
    return self

  def stop(self) -> None:
    self._stop.set()
    self._wake.set()
    if self._thread is not None:
      self._thread.join(timeout=30)

  def warmup(self, bucket_limit: int | None = None) -> None:
    """Compiles the prefill of every bucket up to `bucket_limit` tokens and, for every pool size, the insert,
    the step for every depth and the resizes (before serving, so the first clients do not wait for
    compilation). Call before `start`."""
    zeros1 = (
      np.zeros((1,), np.uint32),
      np.zeros((1,), np.float32),
      np.ones((1,), np.float32),
      np.zeros((1,), np.int32),
    )
    small = None
    for bucket in self.buckets:
      if bucket_limit is not None and bucket > bucket_limit and bucket != self.buckets[0]:
        break
      small, _, out = self._prefill_fn(bucket)(self.params, self._batch([1], bucket, 0, 0), *zeros1)
    counts = self.row_counts()
    for i, rows in enumerate(counts):
      caches = self._insert(sampler.init_caches(self.cfg, rows, self.segments, self.cache_len), small, 0)
      zeros = np.zeros((rows,), np.int32)
      for k in range(1, self.segments + 1):
        out, rest = self._step_fn(k)(
          self.params,
          zeros,
          zeros,
          caches[:k],
          zeros + 1,
          zeros.astype(np.uint32),
          zeros,
          zeros.astype(np.float32),
          np.ones_like(zeros, np.float32),
          zeros,
        )
        caches = tuple(rest) + tuple(caches[k:])
      for j in (i - 1, i + 1):
        if 0 <= j < len(counts):
          self._resize_fn(counts[j])(caches)
    jax.block_until_ready(out)

  def submit(self, request: Request) -> None:
    """Queues a request (thread-safe). Its prompt must fit: len(prompt) + max_tokens <= max_context."""
    need = len(request.prompt) + request.max_tokens
    if not request.prompt:
      raise ValueError("the prompt is empty")
    if need > self.max_context:
      raise ValueError(
        f"prompt ({len(request.prompt)} tokens) + max_tokens ({request.max_tokens}) = {need} "
        f"exceeds the context of {self.max_context} tokens"
      )
    request.submitted_at = time.perf_counter()
    self._pending.put(request)
    self._wake.set()

  @property
  def active(self) -> int:
    return sum(r is not None for r in self._rows)

  # -- the loop --------------------------------------------------------------------------------------------------
  def _batch(self, prompt: Sequence[int], bucket: int, language_id: int, task_id: int) -> dict:
    inputs = np.zeros((1, bucket), np.int32)
    inputs[0, : len(prompt)] = prompt
    return {
      "inputs": inputs,
      "prompt_length": np.asarray([len(prompt)], np.int32),
      "language_id": np.asarray([language_id], np.int32),
      "task_id": np.asarray([task_id], np.int32),
      "puzzle_identifiers": np.zeros((1,), np.int32),
    }

  def _admit(self, row: int, r: Request) -> None:
    self._fit_pool(row + 1, shrink=False)
    bucket = sampler.pick_bucket(len(r.prompt), self.buckets)
    batch = self._batch(r.prompt, bucket, r.language_id, r.task_id)
    seed = np.asarray([r.seed & 0xFFFFFFFF], np.uint32)
    small, depth, token = self._prefill_fn(bucket)(
      self.params,
      batch,
      seed,
      np.asarray([r.temperature], np.float32),
      np.asarray([r.top_p], np.float32),
      np.asarray([r.top_k], np.int32),
    )
    self._caches = self._insert(self._caches, small, row)
    self.stats["prefills"] += 1
    self.stats["requests"] += 1
    self._rows[row] = r
    self._depth[row] = int(depth)
    self._positions[row] = len(r.prompt)
    self._temperature[row], self._top_p[row], self._top_k[row] = r.temperature, r.top_p, r.top_k
    self._seeds[row] = seed[0]
    self._steps[row] = 1
    r.first_token_at = time.perf_counter()
    self._accept(row, int(token))

  def _finish(self, row: int, reason: str) -> None:
    r = self._rows[row]
    self._rows[row] = None
    if r.sent < len(r.text):
      r.on_event(Event("delta", text=r.text[r.sent :]))
      r.sent = len(r.text)
    r.on_event(
      Event("done", text=r.text, finish_reason=reason, prompt_tokens=len(r.prompt), completion_tokens=len(r.ids))
    )

  def _accept(self, row: int, token: int) -> None:
    """Takes a row's new token: stop on a stop id, a stop string or the length limit, else emit safe text."""
    r = self._rows[row]
    self._tokens[row] = token
    if token == self.eos_id or token in r.stop_ids:
      self._finish(row, "stop")
      return
    r.ids.append(token)
    self.stats["tokens"] += 1
    text = self.decode(r.ids)
    for s in r.stop:
      at = text.find(s, max(0, r.sent - len(s)))
      if at >= 0:
        r.text = text[:at]
        self._finish(row, "stop")
        return
    r.text = text
    if len(r.ids) >= r.max_tokens:
      self._finish(row, "length")
      return
    # Emit what can no longer change: hold back a partial UTF-8 character and any suffix that may begin a stop.
    safe = len(text) - (1 if text.endswith("\ufffd") else 0)
    for s in r.stop:
      for n in range(min(len(s) - 1, safe), 0, -1):
        if text[safe - n : safe] == s[:n]:
          safe = min(safe, len(text) - n)
          break
    if safe > r.sent:
      r.on_event(Event("delta", text=text[r.sent : safe]))
      r.sent = safe

  def _loop(self) -> None:
    while not self._stop.is_set():
      try:
        self._iteration()
      except Exception as e:  # a failure fails the requests in flight, never the server
        for row, r in enumerate(self._rows):
          if r is not None:
            self._rows[row] = None
            r.on_event(Event("error", message=f"generation failed: {type(e).__name__}: {e}"))
        self._caches = sampler.init_caches(self.cfg, 1, self.segments, self.cache_len)

  def _iteration(self) -> None:
    self._wake.clear()  # before looking at the queue: a request submitted from here on wakes the wait below
    for row, r in enumerate(self._rows):
      if r is not None and r.cancelled:
        self._rows[row] = None
    # Admit waiting requests into free rows (each prefilled alone, then decoded with the others).
    while not self._pending.empty() and None in self._rows:
      r = self._pending.get()
      if r.cancelled:
        continue
      try:
        self._admit(self._rows.index(None), r)
      except Exception as e:
        r.on_event(Event("error", message=f"prefill failed: {type(e).__name__}: {e}"))
    active = [i for i, r in enumerate(self._rows) if r is not None]
    if not active:
      self._wake.wait(timeout=0.5)
      return
    pool = self._pool_rows()
    needed = max(active) + 1
    self._underused = self._underused + 1 if needed <= pool // 2 else 0
    if self._underused >= self.shrink_after:
      self._fit_pool(needed, shrink=True)
      self._underused = 0
      pool = self._pool_rows()
    k = int(self._depth[active].max())
    tokens, caches = self._step_fn(k)(
      self.params,
      self._tokens[:pool],
      self._positions[:pool],
      self._caches[:k],
      self._depth[:pool],
      self._seeds[:pool],
      self._steps[:pool],
      self._temperature[:pool],
      self._top_p[:pool],
      self._top_k[:pool],
    )
    self._caches = tuple(caches) + tuple(self._caches[k:])
    tokens = np.asarray(jax.device_get(tokens))
    self.stats["steps"] += 1
    self.stats["rows_decoded"] += len(active)
    self.stats["max_rows"] = max(self.stats["max_rows"], len(active))
    for row in active:
      self._positions[row] += 1
      self._steps[row] += 1
      self._accept(row, int(tokens[row]))
