"""Policy objectives for RL from execution feedback, in a registry chosen by name.

Objectives (the formulas and a worked numeric case are in `shared/reference/gspo.md`):

* `gspo`: Group Sequence Policy Optimization (Zheng et al. 2025, arXiv 2507.18071). One importance ratio per
  response, the length-normalised (geometric-mean) likelihood ratio
  `s_i = exp(mean_t[logp_new - logp_old])`, clipped to `[1 - eps_low, 1 + eps_high]` with the paper's small
  ranges (3e-4, 4e-4), PPO's pessimistic `min` for both signs of the advantage, and the per-sequence terms
  averaged over the responses (the paper's `1/G sum_i`, not a token-count weighting).
* `gspo_token`: the paper's GSPO-token variant, for per-token advantages. Its per-token ratio
  `sg[s_i] * pi(y_t) / sg[pi(y_t)]` has the value of `s_i`; with one advantage per sequence it gives exactly
  GSPO's loss and gradient.
* `grpo`: token-level ratios `w_t = pi_new(y_t) / pi_old(y_t)`, each clipped on its own (DeepSeekMath), with
  sequence-mean-token-mean aggregation and the clip range the GSPO paper's GRPO baseline used (0.2, 0.27).

Every objective optionally adds `kl_beta * KL(pi_new || pi_ref)` to a frozen reference policy with the k3
estimator `exp(ref - new) - (ref - new) - 1` (Schulman; the one TRL and Tunix use), token-mean per sequence,
then mean over sequences. It is off by default (`kl_beta = 0`), as in the GSPO paper.

Advantages are computed once per rollout batch, over whole groups, by `group_advantages` (or
`group_advantages_grid`) and then passed to the loss: minibatches of one rollout batch must not renormalise
rewards within the minibatch.

All functions are pure JAX over arrays and jit-compatible (the objective name and the clip ranges are Python
values). Log-probabilities are promoted to at least float32 before any arithmetic. `logp_old` and `logp_ref`
are treated as constants (wrapped in `stop_gradient`), so gradients flow only through `logp_new`.

Shapes: `B` responses (all groups flattened), `T` completion positions. `mask [B, T]` is 1 on the response's
own tokens (not the prompt, padding or tool-output tokens). Rows whose mask is all zero (batch padding) are left
out of the averages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

import chex
import jax
import jax.numpy as jnp

from hrm_jax import config_fields

Metrics = dict[str, jax.Array]


class PolicyLossFn(Protocol):
  def __call__(
    self,
    logp_new: jax.Array,
    logp_old: jax.Array,
    mask: jax.Array,
    advantages: jax.Array,
    *,
    epsilon_low: float,
    epsilon_high: float,
    max_log_ratio: float,
  ) -> tuple[jax.Array, Metrics]: ...


@dataclasses.dataclass(frozen=True)
class PolicyObjective:
  """A registered objective: the loss function and its default clip range.

  Attributes:
    name: registry name.
    loss_fn: `(logp_new, logp_old, mask, advantages, *, epsilon_low, epsilon_high, max_log_ratio)
      -> (policy_loss scalar, metrics)`; the policy loss is the negated objective (to be minimised).
    epsilon_low: default lower clip range: ratios below `1 - epsilon_low` are clipped.
    epsilon_high: default upper clip range: ratios above `1 + epsilon_high` are clipped.
    token_advantages: whether `advantages` may be per token `[B, T]` as well as per sequence `[B]`.
  """

  name: str
  loss_fn: PolicyLossFn
  epsilon_low: float
  epsilon_high: float
  token_advantages: bool


_OBJECTIVES: dict[str, PolicyObjective] = {}


def register_objective(
  name: str, *, epsilon_low: float, epsilon_high: float, token_advantages: bool = False
) -> Callable[[PolicyLossFn], PolicyLossFn]:
  """Decorator that registers a policy loss function under `name` with its default clip range."""

  def wrap(fn: PolicyLossFn) -> PolicyLossFn:
    if name in _OBJECTIVES:
      raise ValueError(f"policy objective {name!r} is already registered (hrm_jax/rl/objectives.py)")
    _OBJECTIVES[name] = PolicyObjective(name, fn, epsilon_low, epsilon_high, token_advantages)
    return fn

  return wrap


def get_objective(name: str) -> PolicyObjective:
  """Returns the registered objective `name`; raises ValueError naming the valid choices."""
  if name not in _OBJECTIVES:
    raise ValueError(
      f"unknown policy objective {name!r} (config field rl.objective.name); choose from: {', '.join(objective_names())}"
    )
  return _OBJECTIVES[name]


def objective_names() -> list[str]:
  return sorted(_OBJECTIVES)


@dataclasses.dataclass(frozen=True)
class ObjectiveConfig:
  """How the policy loss is computed; `None` clip ranges take the objective's default.

  Attributes:
    name: a registered objective: `gspo`, `gspo_token` or `grpo`.
    epsilon_low: lower clip range (GSPO paper: 3e-4; its GRPO baseline: 0.2).
    epsilon_high: upper clip range (GSPO paper: 4e-4; its GRPO baseline: 0.27).
    kl_beta: weight of the KL penalty to a frozen reference policy; 0 turns it off (the paper's setting).
    max_log_ratio: log-ratios are clamped to `[-max_log_ratio, max_log_ratio]` before `exp` so that a
      diverged policy gives a large finite loss, not inf (Tunix clamps at 20 too).
  """

  name: str = "gspo"
  epsilon_low: float | None = None
  epsilon_high: float | None = None
  kl_beta: float = 0.0
  max_log_ratio: float = 20.0

  @classmethod
  def from_mapping(cls, mapping) -> ObjectiveConfig:
    """From `config.rl.objective` (a ConfigDict or mapping): unknown or wrongly typed fields are named."""
    return config_fields.from_mapping(cls, mapping, "rl.objective")

  def clip_range(self) -> tuple[float, float]:
    objective = get_objective(self.name)
    low = objective.epsilon_low if self.epsilon_low is None else self.epsilon_low
    high = objective.epsilon_high if self.epsilon_high is None else self.epsilon_high
    if not (0.0 <= low < 1.0 and high >= 0.0):
      raise ValueError(
        f"clip range for {self.name!r} needs 0 <= epsilon_low < 1 and epsilon_high >= 0, "
        f"got epsilon_low={low}, epsilon_high={high}"
      )
    return low, high


def policy_loss(
  config: ObjectiveConfig,
  logp_new: jax.Array,
  logp_old: jax.Array,
  mask: jax.Array,
  advantages: jax.Array,
  logp_ref: jax.Array | None = None,
) -> tuple[jax.Array, Metrics]:
  """The loss to minimise for one (mini)batch of responses.

  Args:
    config: objective name, clip range and KL weight.
    logp_new: `[B, T]` log-probabilities of the sampled tokens under the current policy (differentiated).
    logp_old: `[B, T]` the same under the behaviour policy that sampled them (constant).
    mask: `[B, T]` 1 on response tokens, 0 elsewhere.
    advantages: `[B]` per-response advantages (or `[B, T]` for `gspo_token` and `grpo`).
    logp_ref: `[B, T]` log-probabilities under a frozen reference policy; needed when `config.kl_beta > 0`.

  Returns:
    `(loss, metrics)`: scalar loss `policy_loss + kl_beta * kl`; metrics `loss`, `policy_loss`,
    `ratio_mean/min/max` (sequence ratios for the GSPO objectives, token ratios for GRPO),
    `clip_fraction`, `clip_fraction_low`, `clip_fraction_high` (fractions of response tokens whose
    surrogate is clipped, as the paper counts them), `response_length_mean`, and `kl` when `logp_ref`
    is given.
  """
  objective = get_objective(config.name)
  epsilon_low, epsilon_high = config.clip_range()
  if config.kl_beta < 0:
    raise ValueError(f"kl_beta must be >= 0, got {config.kl_beta} (config field rl.objective.kl_beta)")
  if config.kl_beta > 0 and logp_ref is None:
    raise ValueError("kl_beta > 0 needs logp_ref, the reference policy's log-probabilities [B, T]")
  logp_new, logp_old, mask, advantages = _check_inputs(objective, logp_new, logp_old, mask, advantages)
  loss, metrics = objective.loss_fn(
    logp_new,
    logp_old,
    mask,
    advantages,
    epsilon_low=epsilon_low,
    epsilon_high=epsilon_high,
    max_log_ratio=config.max_log_ratio,
  )
  metrics = dict(metrics, policy_loss=loss, response_length_mean=_mean_over_sequences(jnp.sum(mask, axis=-1), mask))
  if logp_ref is not None:
    chex.assert_equal_shape([logp_new, logp_ref])
    logp_ref = jax.lax.stop_gradient(jnp.where(mask, logp_ref.astype(logp_new.dtype), 0.0))
    kl = reference_kl(logp_new, logp_ref, mask)
    metrics["kl"] = kl
    if config.kl_beta > 0:
      loss = loss + config.kl_beta * kl
  metrics["loss"] = loss
  return loss, metrics


def _check_inputs(objective, logp_new, logp_old, mask, advantages):
  chex.assert_rank([logp_new, logp_old, mask], 2)
  chex.assert_equal_shape([logp_new, logp_old, mask])
  batch = logp_new.shape[0]
  if objective.token_advantages:
    chex.assert_rank(advantages, {1, 2})
  else:
    chex.assert_rank(advantages, 1)
  if advantages.ndim == 1:
    chex.assert_shape(advantages, (batch,))
  else:
    chex.assert_equal_shape([advantages, logp_new])
  dtype = jnp.promote_types(logp_new.dtype, jnp.float32)
  mask = mask.astype(bool)
  # Zero the log-probs outside the mask first: padding may hold -inf, and inf - inf would turn into NaN
  # gradients through any later exp, even where the result is masked out.
  logp_new = jnp.where(mask, logp_new.astype(dtype), 0.0)
  logp_old = jax.lax.stop_gradient(jnp.where(mask, logp_old.astype(dtype), 0.0))
  return logp_new, logp_old, mask, jax.lax.stop_gradient(advantages.astype(dtype))


# --- shared pieces -------------------------------------------------------------------------------------


def _sequence_lengths(mask: jax.Array) -> jax.Array:
  """`[B, T]` bool -> `[B]` float token counts."""
  return jnp.sum(mask, axis=-1).astype(jnp.float32)


def _token_mean(values: jax.Array, mask: jax.Array) -> jax.Array:
  """`[B, T]` -> `[B]` mean over each row's masked tokens (0 for an empty row)."""
  total = jnp.sum(jnp.where(mask, values, 0.0), axis=-1)
  return total / jnp.maximum(_sequence_lengths(mask), 1.0).astype(total.dtype)


def _mean_over_sequences(per_sequence: jax.Array, mask: jax.Array) -> jax.Array:
  """`[B]` -> scalar mean over rows with at least one response token."""
  valid = jnp.any(mask, axis=-1)
  total = jnp.sum(jnp.where(valid, per_sequence, 0.0))
  return total / jnp.maximum(jnp.sum(valid), 1).astype(total.dtype)


def _masked_min_max(values: jax.Array, valid: jax.Array) -> tuple[jax.Array, jax.Array]:
  any_valid = jnp.any(valid)
  low = jnp.min(jnp.where(valid, values, jnp.inf))
  high = jnp.max(jnp.where(valid, values, -jnp.inf))
  one = jnp.ones((), values.dtype)
  return jnp.where(any_valid, low, one), jnp.where(any_valid, high, one)


def _per_token_advantages(advantages: jax.Array, mask: jax.Array) -> jax.Array:
  return jnp.broadcast_to(advantages[:, None], mask.shape) if advantages.ndim == 1 else advantages


def _clipped_surrogate(
  ratio: jax.Array, advantages: jax.Array, epsilon_low: float, epsilon_high: float
) -> tuple[jax.Array, jax.Array, jax.Array]:
  """PPO's pessimistic surrogate `min(r A, clip(r, 1 - eps_low, 1 + eps_high) A)`, for both signs of A.

  Returns the surrogate and two masks: clipped below (`r < 1 - eps_low`, A < 0) and clipped above
  (`r > 1 + eps_high`, A > 0), the cases where the clipped term is the one chosen and carries no gradient.
  """
  clipped_ratio = jnp.clip(ratio, 1.0 - epsilon_low, 1.0 + epsilon_high)
  surrogate = jnp.minimum(ratio * advantages, clipped_ratio * advantages)
  clipped_low = (ratio < 1.0 - epsilon_low) & (advantages < 0)
  clipped_high = (ratio > 1.0 + epsilon_high) & (advantages > 0)
  return surrogate, clipped_low, clipped_high


def _clip_metrics(clipped_low: jax.Array, clipped_high: jax.Array, mask: jax.Array) -> Metrics:
  """Token fractions of clipped surrogates; `clipped_*` are `[B, T]` (or `[B]`, then spread to tokens)."""
  if clipped_low.ndim == 1:
    clipped_low = jnp.broadcast_to(clipped_low[:, None], mask.shape)
    clipped_high = jnp.broadcast_to(clipped_high[:, None], mask.shape)
  tokens = jnp.maximum(jnp.sum(mask), 1).astype(jnp.float32)
  low = jnp.sum(clipped_low & mask) / tokens
  high = jnp.sum(clipped_high & mask) / tokens
  return {"clip_fraction_low": low, "clip_fraction_high": high, "clip_fraction": low + high}


def sequence_log_ratio(logp_new: jax.Array, logp_old: jax.Array, mask: jax.Array) -> jax.Array:
  """`[B, T]` x2 -> `[B]` length-normalised log importance ratio `log s_i = mean_t (new - old)`."""
  return _token_mean(logp_new - logp_old, mask)


def reference_kl(logp_new: jax.Array, logp_ref: jax.Array, mask: jax.Array) -> jax.Array:
  """k3 estimate of KL(pi_new || pi_ref): token mean per sequence, then mean over sequences. Scalar."""
  delta = jnp.where(mask, logp_ref - logp_new, 0.0)
  per_token = jnp.exp(delta) - delta - 1.0
  return _mean_over_sequences(_token_mean(per_token, mask), mask)


# --- the objectives ------------------------------------------------------------------------------------


@register_objective("gspo", epsilon_low=3e-4, epsilon_high=4e-4)
def gspo_loss(logp_new, logp_old, mask, advantages, *, epsilon_low, epsilon_high, max_log_ratio):
  """GSPO (arXiv 2507.18071, eq. 5): `-(1/|batch|) sum_i min(s_i A_i, clip(s_i) A_i)`. `advantages [B]`."""
  log_ratio = jnp.clip(sequence_log_ratio(logp_new, logp_old, mask), -max_log_ratio, max_log_ratio)
  ratio = jnp.exp(log_ratio)  # [B]
  surrogate, clipped_low, clipped_high = _clipped_surrogate(ratio, advantages, epsilon_low, epsilon_high)
  loss = -_mean_over_sequences(surrogate, mask)
  valid = jnp.any(mask, axis=-1)
  ratio_min, ratio_max = _masked_min_max(ratio, valid)
  metrics = {"ratio_mean": _mean_over_sequences(ratio, mask), "ratio_min": ratio_min, "ratio_max": ratio_max}
  metrics.update(_clip_metrics(clipped_low, clipped_high, mask))
  return loss, metrics


@register_objective("gspo_token", epsilon_low=3e-4, epsilon_high=4e-4, token_advantages=True)
def gspo_token_loss(logp_new, logp_old, mask, advantages, *, epsilon_low, epsilon_high, max_log_ratio):
  """GSPO-token: per-token ratio `sg[s_i] * exp(logp_new - sg[logp_new])`, seq-mean-token-mean.

  `advantages` is `[B]` or `[B, T]`. Every token's ratio has the value `s_i`; its gradient is that of
  `s_i * logp_new[t]`, so with per-sequence advantages this equals `gspo_loss` in value and gradient.
  """
  log_ratio = jnp.clip(sequence_log_ratio(logp_new, logp_old, mask), -max_log_ratio, max_log_ratio)
  token_log_ratio = jax.lax.stop_gradient(log_ratio)[:, None] + logp_new - jax.lax.stop_gradient(logp_new)
  ratio = jnp.exp(token_log_ratio)  # [B, T], each row equal to s_i in value
  token_advantages = _per_token_advantages(advantages, mask)
  surrogate, clipped_low, clipped_high = _clipped_surrogate(ratio, token_advantages, epsilon_low, epsilon_high)
  loss = -_mean_over_sequences(_token_mean(surrogate, mask), mask)
  sequence_ratio = jnp.exp(log_ratio)
  ratio_min, ratio_max = _masked_min_max(sequence_ratio, jnp.any(mask, axis=-1))
  metrics = {"ratio_mean": _mean_over_sequences(sequence_ratio, mask), "ratio_min": ratio_min, "ratio_max": ratio_max}
  metrics.update(_clip_metrics(clipped_low, clipped_high, mask))
  return loss, metrics


@register_objective("grpo", epsilon_low=0.2, epsilon_high=0.27, token_advantages=True)
def grpo_loss(logp_new, logp_old, mask, advantages, *, epsilon_low, epsilon_high, max_log_ratio):
  """GRPO: token ratios `w_t = exp(logp_new - logp_old)` clipped one by one, seq-mean-token-mean."""
  log_ratio = jnp.clip(jnp.where(mask, logp_new - logp_old, 0.0), -max_log_ratio, max_log_ratio)
  ratio = jnp.exp(log_ratio)  # [B, T]
  token_advantages = _per_token_advantages(advantages, mask)
  surrogate, clipped_low, clipped_high = _clipped_surrogate(ratio, token_advantages, epsilon_low, epsilon_high)
  loss = -_mean_over_sequences(_token_mean(surrogate, mask), mask)
  tokens = jnp.maximum(jnp.sum(mask), 1).astype(ratio.dtype)
  ratio_min, ratio_max = _masked_min_max(ratio, mask)
  metrics = {
    "ratio_mean": jnp.sum(jnp.where(mask, ratio, 0.0)) / tokens,
    "ratio_min": ratio_min,
    "ratio_max": ratio_max,
  }
  metrics.update(_clip_metrics(clipped_low, clipped_high, mask))
  return loss, metrics


# --- advantages ----------------------------------------------------------------------------------------


def group_advantages(
  rewards: jax.Array,
  group_ids: jax.Array,
  num_groups: int,
  *,
  ddof: int = 1,
  epsilon: float = 1e-6,
  zero_std_tolerance: float = 1e-6,
  scale_by_std: bool = True,
) -> tuple[jax.Array, Metrics]:
  """Group-normalised advantages `A_i = (r_i - mean_group r) / (std_group r + epsilon)`.

  The std is the unbiased one by default (`ddof=1`, as TRL and Tunix compute it). A group whose rewards are
  all equal (std <= `zero_std_tolerance`, e.g. every program passed or every one failed) or that has too
  few members for the std (`count <= ddof`) gives exactly zero advantage, never NaN.

  Args:
    rewards: `[B]` one scalar reward per response.
    group_ids: `[B]` int, the prompt group of each response in `[0, num_groups)`; rows with an id outside
      that range (batch padding, e.g. -1) get zero advantage and are left out of the statistics.
    num_groups: static number of groups.
    ddof: delta degrees of freedom of the std (1: unbiased; 0: population).
    epsilon: added to the std in the denominator (Tunix: 1e-6; TRL: 1e-4).
    zero_std_tolerance: groups with std at or below this count as zero-variance.
    scale_by_std: False gives mean-centred rewards only (Dr. GRPO's choice); zero-variance groups still
      give zero.

  Returns:
    `(advantages [B], metrics)` with `reward_mean`, `reward_std` (over valid rows), `zero_std_group_fraction`
    (over non-empty groups; TRL's `frac_reward_zero_std`) and `advantage_abs_mean`.
  """
  chex.assert_rank([rewards, group_ids], 1)
  chex.assert_equal_shape([rewards, group_ids])
  rewards = jax.lax.stop_gradient(rewards.astype(jnp.promote_types(rewards.dtype, jnp.float32)))
  valid = (group_ids >= 0) & (group_ids < num_groups)
  ids = jnp.where(valid, group_ids, 0)
  weight = valid.astype(rewards.dtype)
  count = jax.ops.segment_sum(weight, ids, num_segments=num_groups)
  mean = jax.ops.segment_sum(rewards * weight, ids, num_segments=num_groups) / jnp.maximum(count, 1.0)
  centered = (rewards - mean[ids]) * weight
  dof = count - ddof
  squares = jax.ops.segment_sum(centered * centered, ids, num_segments=num_groups)
  std = jnp.sqrt(jnp.where(dof > 0, squares / jnp.maximum(dof, 1.0), 0.0))
  zero_variance = (dof <= 0) | (std <= zero_std_tolerance)  # [num_groups]
  denominator = jnp.where(zero_variance, 1.0, std + epsilon) if scale_by_std else jnp.ones_like(std)
  advantages = jnp.where(valid & ~zero_variance[ids], centered / denominator[ids], 0.0)

  num_valid = jnp.maximum(jnp.sum(weight), 1.0)
  reward_mean = jnp.sum(rewards * weight) / num_valid
  reward_std = jnp.sqrt(jnp.sum(weight * (rewards - reward_mean) ** 2) / num_valid)
  present = count > 0
  metrics = {
    "reward_mean": reward_mean,
    "reward_std": reward_std,
    "zero_std_group_fraction": jnp.sum(zero_variance & present) / jnp.maximum(jnp.sum(present), 1),
    "advantage_abs_mean": jnp.sum(jnp.abs(advantages)) / num_valid,
  }
  return advantages, metrics


def group_advantages_grid(rewards: jax.Array, **kwargs) -> tuple[jax.Array, Metrics]:
  """`group_advantages` for rewards laid out `[num_groups, G]` (group-major); returns `[num_groups, G]`."""
  chex.assert_rank(rewards, 2)
  num_groups, group_size = rewards.shape
  group_ids = jnp.repeat(jnp.arange(num_groups), group_size)
  advantages, metrics = group_advantages(rewards.reshape(-1), group_ids, num_groups, **kwargs)
  return advantages.reshape(num_groups, group_size), metrics
