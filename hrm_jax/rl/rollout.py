"""Rollouts for RL: G samples per prompt, behaviour log-probs recorded at sampling time, ACT depth replayed.

A rollout batch holds `P` prompts x `G` samples (group-major: rows `g*G .. g*G+G-1` are prompt g's group). The
sampler (`hrm_jax.inference.sampler.Generator`) returns, for every row, the sampled tokens, the ACT depth its
Q head chose at the last prompt token, and the fp32 logits of each step's distribution. The behaviour
log-probability of each sampled token is computed from those logits with exactly the transform sampling used
(temperature, then top-k and top-p truncation, then renormalisation: `token_log_probs`), so it is pi_old's
probability of the action actually taken.

Replay (`replay_log_probs`): the new policy's log-probs are teacher-forced over prompt + response with
`hrm.forward_at_depth` at each row's recorded depth, so old and new policies are compared on the same
computation (the "halting replay" of `shared/reference/gspo.md` section 1.5.6, the analogue of MoE routing
replay), and the same sampling transform is applied to the new logits. With unchanged parameters the ratio is
1 up to float round-off between the cached and the full forward.

Shapes: `R = P * G` rows, `N` = max_new_tokens, `S` = the model's seq_len, `V` = vocabulary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from hrm_jax import config_fields
from hrm_jax.inference import sampler
from hrm_jax.models import hrm


@dataclasses.dataclass(frozen=True)
class RolloutConfig:
  """How responses are sampled (config section `rl.rollout`).

  Attributes:
    group_size: G, samples per prompt.
    temperature: sampling temperature (> 0: RL needs a stochastic policy).
    top_p: nucleus truncation (1 = off); applied identically when the new policy's log-probs are computed.
    top_k: top-k truncation (0 = off); likewise.
    max_new_tokens: N, the longest response.
    max_segments: ACT segment budget at sampling and replay (None: the model's halt_max_steps).
    dynamic_halting: the Q head chooses the depth (True) or every row runs `max_segments` (False).
    halt_exploration_prob: with this probability a row's minimum depth is drawn uniformly from
      2..max_segments (the reference's ACT exploration), so the Q head sees the returns of depths it would not
      choose; without it the halt value of an unexplored depth is never trained and halting can collapse to a
      single depth.
  """

  group_size: int = 4
  temperature: float = 1.0
  top_p: float = 1.0
  top_k: int = 0
  max_new_tokens: int = 32
  max_segments: int | None = None
  dynamic_halting: bool = True
  halt_exploration_prob: float = 0.1

  def __post_init__(self):
    if self.group_size < 2:
      raise ValueError(f"rl.rollout.group_size must be >= 2 (group-normalised advantages), got {self.group_size}")
    if self.temperature <= 0:
      raise ValueError(f"rl.rollout.temperature must be > 0 for RL sampling, got {self.temperature}")
    if not 0 < self.top_p <= 1:
      raise ValueError(f"rl.rollout.top_p must be in (0, 1], got {self.top_p}")
    if not 0 <= self.halt_exploration_prob <= 1:
      raise ValueError(f"rl.rollout.halt_exploration_prob must be in [0, 1], got {self.halt_exploration_prob}")
    if self.top_k < 0 or self.max_new_tokens < 1:
      raise ValueError(f"rl.rollout needs top_k >= 0 and max_new_tokens >= 1, got {self.top_k}, {self.max_new_tokens}")

  @classmethod
  def from_mapping(cls, mapping) -> RolloutConfig:
    """From `config.rl.rollout` (a ConfigDict or mapping): unknown or wrongly typed fields are named."""
    return config_fields.from_mapping(cls, mapping, "rl.rollout")

  def sampling(self, stop_ids: Sequence[int]) -> sampler.SamplingConfig:
    return sampler.SamplingConfig(
      max_new_tokens=self.max_new_tokens,
      temperature=self.temperature,
      top_k=self.top_k,
      top_p=self.top_p,
      stop_ids=tuple(stop_ids),
      max_segments=self.max_segments,
      dynamic_halting=self.dynamic_halting,
      halt_exploration_prob=self.halt_exploration_prob,
    )


def truncated_log_softmax(logits: jax.Array, temperature: float, top_k: int = 0, top_p: float = 1.0) -> jax.Array:
  """`[..., V]` -> `[..., V]` log-probabilities of the distribution `sampler.sample_rows` draws from.

  The logits are divided by the temperature; tokens outside the top-k / top-p set get -inf; the rest are
  renormalised. The truncation set is computed without gradient (it is a choice, not a function to
  differentiate); gradients flow through the kept tokens' log-softmax.
  """
  logits = logits.astype(jnp.float32) / temperature
  keep = jnp.ones(logits.shape, bool)
  scaled = jax.lax.stop_gradient(logits)
  if top_k > 0:
    kth = jax.lax.top_k(scaled, top_k)[0][..., -1:]
    keep = keep & (scaled >= kth)
  if top_p < 1.0:
    masked = jnp.where(keep, scaled, -jnp.inf)
    sorted_logits = jnp.sort(masked, axis=-1)[..., ::-1]
    cumulative = jnp.cumsum(jax.nn.softmax(sorted_logits, axis=-1), axis=-1)
    cutoff_index = jnp.sum(cumulative < top_p, axis=-1, keepdims=True)  # same rule as sampler.sample_rows
    cutoff = jnp.take_along_axis(sorted_logits, cutoff_index, axis=-1)
    keep = keep & (scaled >= cutoff)
  return jax.nn.log_softmax(jnp.where(keep, logits, -jnp.inf), axis=-1)


def token_log_probs(logits: jax.Array, tokens: jax.Array, mask: jax.Array, config: RolloutConfig) -> jax.Array:
  """Log-probabilities of the sampled `tokens [R, N]` under `logits [R, N, V]`; 0 where `mask [R, N]` is 0."""
  logp = truncated_log_softmax(logits, config.temperature, config.top_k, config.top_p)
  chosen = jnp.take_along_axis(logp, tokens[..., None].astype(jnp.int32), axis=-1)[..., 0]
  return jnp.where(mask, chosen, 0.0)


@dataclasses.dataclass
class Rollout:
  """One rollout batch, host-side numpy (what the trainer stores, executes and learns from).

  Attributes:
    prompts: R prompt token lists (each prompt repeated G times, group-major).
    record_indices: int [R] index of each row's problem in the prompt source.
    language_id, task_id: int32 [R].
    tokens: int32 [R, N] sampled response tokens (0 after the stop token).
    mask: bool [R, N] the response's tokens, the stop token included.
    logp_old: float32 [R, N] behaviour log-probs of `tokens` (0 outside the mask).
    depth: int32 [R] ACT depth (segments) the sampler ran for the row.
    group_size: G.
  """

  prompts: list[list[int]]
  record_indices: np.ndarray
  language_id: np.ndarray
  task_id: np.ndarray
  tokens: np.ndarray
  mask: np.ndarray
  logp_old: np.ndarray
  depth: np.ndarray
  group_size: int

  @property
  def num_rows(self) -> int:
    return len(self.prompts)

  def to_json(self) -> dict:
    return {
      "prompts": self.prompts,
      "record_indices": self.record_indices.tolist(),
      "language_id": self.language_id.tolist(),
      "task_id": self.task_id.tolist(),
      "tokens": self.tokens.tolist(),
      "mask": self.mask.astype(np.int32).tolist(),
      "logp_old": self.logp_old.tolist(),
      "depth": self.depth.tolist(),
      "group_size": self.group_size,
    }

  @classmethod
  def from_json(cls, data: dict) -> Rollout:
    return cls(
      prompts=[list(map(int, p)) for p in data["prompts"]],
      record_indices=np.asarray(data["record_indices"], np.int64),
      language_id=np.asarray(data["language_id"], np.int32),
      task_id=np.asarray(data["task_id"], np.int32),
      tokens=np.asarray(data["tokens"], np.int32),
      mask=np.asarray(data["mask"], bool),
      logp_old=np.asarray(data["logp_old"], np.float32),
      depth=np.asarray(data["depth"], np.int32),
      group_size=int(data["group_size"]),
    )

  def select(self, rows: slice) -> Rollout:
    """Rows `rows` (whole groups: a slice on group boundaries) as a rollout of their own."""
    return Rollout(
      prompts=self.prompts[rows],
      record_indices=self.record_indices[rows],
      language_id=self.language_id[rows],
      task_id=self.task_id[rows],
      tokens=self.tokens[rows],
      mask=self.mask[rows],
      logp_old=self.logp_old[rows],
      depth=self.depth[rows],
      group_size=self.group_size,
    )

  @classmethod
  def concatenate(cls, parts: Sequence[Rollout]) -> Rollout:
    """The rows of `parts` in order (each part whole groups, the same group size and response length)."""
    if len(parts) == 1:
      return parts[0]
    cat = lambda name: np.concatenate([getattr(p, name) for p in parts])
    return cls(
      prompts=[row for p in parts for row in p.prompts],
      record_indices=cat("record_indices"),
      language_id=cat("language_id"),
      task_id=cat("task_id"),
      tokens=cat("tokens"),
      mask=cat("mask"),
      logp_old=cat("logp_old"),
      depth=cat("depth"),
      group_size=parts[0].group_size,
    )

  def responses(self, stop_ids: Sequence[int]) -> list[list[int]]:
    """Each row's response ids, a final stop token excluded (what is decoded and executed)."""
    out = []
    for row, mask in zip(self.tokens, self.mask):
      ids = [int(t) for t in row[mask]]
      if ids and ids[-1] in stop_ids:
        ids = ids[:-1]
      out.append(ids)
    return out


def _behaviour_log_probs_fn(config: RolloutConfig):
  return jax.jit(lambda logits, tokens, mask: token_log_probs(logits, tokens, mask, config))


class RolloutSampler:
  """Samples rollout batches from a `Generator` whose parameters the trainer swaps after each update.

  `devices`: split each batch's rows over these devices (the trainer passes the process's local devices),
  parameters copied to each; the samples do not depend on how many (`sampler.Generator`).
  """

  def __init__(
    self,
    model: hrm.HRMCore,
    params,
    config: RolloutConfig,
    stop_ids: Sequence[int],
    devices: Sequence[jax.Device] | None = None,
  ):
    self.config = config
    self.stop_ids = tuple(stop_ids)
    self.generator = sampler.Generator(model, params, config.sampling(stop_ids), devices=devices)
    self._logp = _behaviour_log_probs_fn(config)

  def set_params(self, params) -> None:
    self.generator.params = params  # the jitted generate takes params as an argument: no recompilation

  def sample(
    self,
    prompts: Sequence[Sequence[int]],
    record_indices: Sequence[int],
    language_ids: Sequence[int],
    task_ids: Sequence[int],
    seed: int,
  ) -> Rollout:
    """G samples for each of the P prompts, as one batch of R = P * G rows."""
    g = self.config.group_size
    rows = [list(map(int, p)) for p in prompts for _ in range(g)]
    langs = np.repeat(np.asarray(language_ids, np.int32), g)
    tasks = np.repeat(np.asarray(task_ids, np.int32), g)
    tokens, lengths, depth, logits = self.generator.generate_arrays(rows, langs, tasks, seed)
    n = tokens.shape[1]
    mask = jnp.arange(n)[None, :] < lengths[:, None]
    logp = self._logp(logits, tokens, mask)
    tokens, mask, logp, depth = jax.device_get((tokens, mask, logp, depth))
    return Rollout(
      prompts=rows,
      record_indices=np.repeat(np.asarray(record_indices, np.int64), g),
      language_id=langs,
      task_id=tasks,
      tokens=np.asarray(tokens, np.int32),
      mask=np.asarray(mask, bool),
      logp_old=np.asarray(logp, np.float32),
      depth=np.asarray(depth, np.int32),
      group_size=g,
    )


def replay_batch(rollout: Rollout, seq_len: int, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
  """Teacher-forcing inputs for `rows` of a rollout: prompt + response laid out in `[b, S]`.

  Returns `inputs [b, S]`, `prompt_length`, `language_id`, `task_id`, `puzzle_identifiers` (the model's batch
  fields) plus `tokens [b, N]`, `mask [b, N]`, `logp_old [b, N]`, `depth [b]`.
  """
  rows = np.arange(rollout.num_rows) if rows is None else np.asarray(rows)
  n = rollout.tokens.shape[1]
  inputs = np.zeros((len(rows), seq_len), np.int32)
  prompt_length = np.zeros((len(rows),), np.int32)
  for i, r in enumerate(rows):
    prompt = rollout.prompts[r]
    if len(prompt) + n > seq_len:
      raise ValueError(f"prompt of {len(prompt)} tokens + max_new_tokens={n} exceeds config.model.seq_len={seq_len}")
    inputs[i, : len(prompt)] = prompt
    inputs[i, len(prompt) : len(prompt) + n] = rollout.tokens[r]
    prompt_length[i] = len(prompt)
  return {
    "inputs": inputs,
    "prompt_length": prompt_length,
    "language_id": rollout.language_id[rows],
    "task_id": rollout.task_id[rows],
    "puzzle_identifiers": np.zeros((len(rows),), np.int32),
    "tokens": rollout.tokens[rows],
    "mask": rollout.mask[rows],
    "logp_old": rollout.logp_old[rows],
    "depth": rollout.depth[rows],
  }


def response_logits(logits: jax.Array, prompt_length: jax.Array, num_new: int) -> jax.Array:
  """`logits [b, S, V]` of a teacher-forced pass -> `[b, N, V]`: the distribution of response token t is
  read at sequence position `prompt_length - 1 + t`."""
  positions = prompt_length[:, None].astype(jnp.int32) - 1 + jnp.arange(num_new)[None, :]
  positions = jnp.clip(positions, 0, logits.shape[1] - 1)
  return jnp.take_along_axis(logits, positions[..., None], axis=1)


def replay_log_probs(model: hrm.HRMCore, params, batch, config: RolloutConfig, max_segments: int):
  """The current policy's log-probs of a rollout's tokens, at each row's recorded ACT depth.

  Args:
    params: the model's "params" collection (differentiated by the caller).
    batch: `replay_batch` output (arrays).
  Returns:
    `(logp_new [b, N] fp32, (q_halt, q_continue) fp32 [b, max_segments])`.
  """
  model_batch = {k: batch[k] for k in ("inputs", "prompt_length", "language_id", "task_id", "puzzle_identifiers")}
  logits, q_values = hrm.forward_at_depth(model, {"params": params}, model_batch, batch["depth"], max_segments)
  logits = response_logits(logits, batch["prompt_length"], batch["tokens"].shape[1])
  return token_log_probs(logits, batch["tokens"], batch["mask"], config), q_values
