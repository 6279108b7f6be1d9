"""Tests for hrm_jax/rl/objectives.py against the worked case in shared/reference/gspo.md section 1.6."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hrm_jax.rl import objectives

# The worked case: one prompt, G = 4, rewards [1, 0, 0, 0], per-token log-probs padded to T = 4.
_OLD_ROWS = [[-1.0, -2.0, -0.5], [-1.5, -0.7], [-0.2, -0.3, -1.0, -2.0], [-3.0]]
_NEW_ROWS = [[-0.9, -2.1, -0.4], [-1.5, -0.7], [-0.2002, -0.3002, -1.0002, -2.0002], [-2.9995]]
_REWARDS = [[1.0, 0.0, 0.0, 0.0]]
_EXPECTED_LOSS = -1.12481873e-4
_EXPECTED_GRAD = [[0.0, 0.0, 0.0, 0.0], [0.0625, 0.0625, 0.0, 0.0], [0.03124375] * 4, [0.12506252, 0.0, 0.0, 0.0]]


def _pad(rows, width=4):
  out = np.zeros((len(rows), width))
  mask = np.zeros((len(rows), width))
  for i, row in enumerate(rows):
    out[i, : len(row)] = row
    mask[i, : len(row)] = 1.0
  return jnp.asarray(out), jnp.asarray(mask)


def _worked_case():
  logp_old, mask = _pad(_OLD_ROWS)
  logp_new, _ = _pad(_NEW_ROWS)
  return logp_new, logp_old, mask


def _loss_and_grad(config, logp_new, logp_old, mask, advantages, logp_ref=None):
  fn = lambda new: objectives.policy_loss(config, new, logp_old, mask, advantages, logp_ref)
  (loss, metrics), grad = jax.value_and_grad(fn, has_aux=True)(logp_new)
  return loss, grad, metrics


@pytest.fixture
def x64():
  with jax.enable_x64(True):
    yield


def test_advantages_of_the_worked_case_use_the_unbiased_std(x64):
  advantages, metrics = objectives.group_advantages_grid(jnp.asarray(_REWARDS), epsilon=0.0)
  np.testing.assert_allclose(advantages, [[1.5, -0.5, -0.5, -0.5]], rtol=1e-12)
  population, _ = objectives.group_advantages_grid(jnp.asarray(_REWARDS), epsilon=0.0, ddof=0)
  np.testing.assert_allclose(population, [[1.7320508, -0.5773503, -0.5773503, -0.5773503]], rtol=1e-6)
  assert float(metrics["zero_std_group_fraction"]) == 0.0


@pytest.mark.parametrize("name", ["gspo", "gspo_token"])
def test_worked_case_loss_and_per_token_gradients(x64, name):
  logp_new, logp_old, mask = _worked_case()
  advantages, _ = objectives.group_advantages_grid(jnp.asarray(_REWARDS), epsilon=0.0)
  loss, grad, metrics = _loss_and_grad(
    objectives.ObjectiveConfig(name), logp_new, logp_old, mask, advantages.reshape(-1)
  )
  np.testing.assert_allclose(loss, _EXPECTED_LOSS, rtol=1e-7)
  np.testing.assert_allclose(grad, _EXPECTED_GRAD, rtol=1e-6, atol=1e-12)
  # Only sequence 1 (3 of the 10 response tokens) is clipped, from above.
  np.testing.assert_allclose(metrics["clip_fraction_high"], 0.3, rtol=1e-6)
  assert float(metrics["clip_fraction_low"]) == 0.0
  np.testing.assert_allclose(metrics["ratio_max"], 1.033895114, rtol=1e-9)
  np.testing.assert_allclose(metrics["ratio_min"], 0.999800020, rtol=1e-9)
  assert "kl" not in metrics


@pytest.mark.parametrize(
  "kwargs, objective, expected",
  [
    ({"ddof": 0, "epsilon": 0.0}, {}, -1.29882879e-4),  # population std
    ({"epsilon": 1e-4}, {}, -1.12459381e-4),  # TRL's +1e-4 in the denominator
    ({"epsilon": 0.0}, {"epsilon_low": 0.2, "epsilon_high": 0.2}, -0.0126731494),  # PPO-size range
  ],
)
def test_worked_case_variants(x64, kwargs, objective, expected):
  logp_new, logp_old, mask = _worked_case()
  advantages, _ = objectives.group_advantages_grid(jnp.asarray(_REWARDS), **kwargs)
  config = objectives.ObjectiveConfig("gspo", **objective)
  loss, _ = objectives.policy_loss(config, logp_new, logp_old, mask, advantages.reshape(-1))
  np.testing.assert_allclose(loss, expected, rtol=1e-7)


def test_worked_case_grpo_differs_from_gspo(x64):
  logp_new, logp_old, mask = _worked_case()
  advantages = jnp.asarray([1.5, -0.5, -0.5, -0.5])
  config = objectives.ObjectiveConfig("grpo", epsilon_low=0.2, epsilon_high=0.2)
  loss, grad, metrics = _loss_and_grad(config, logp_new, logp_old, mask, advantages)
  np.testing.assert_allclose(loss, -0.0143598886, rtol=1e-7)
  # No token ratio leaves [0.8, 1.2], so GRPO clips nothing and sequence 1 keeps a gradient, each token
  # weighted by its own ratio: -(1/4) * 1.5 * w_t / 3.
  expected_seq1 = -0.125 * np.exp(np.array([0.1, -0.1, 0.1]))
  np.testing.assert_allclose(grad[0, :3], expected_seq1, rtol=1e-9)
  assert float(metrics["clip_fraction"]) == 0.0
  gspo_loss, gspo_grad, _ = _loss_and_grad(objectives.ObjectiveConfig("gspo"), logp_new, logp_old, mask, advantages)
  assert abs(float(gspo_loss) - float(loss)) > 1e-2
  np.testing.assert_array_equal(gspo_grad[0], 0.0)


def test_grpo_clips_tokens_that_gspo_leaves_alone():
  # Token log-ratios +0.5 and -0.5: the sequence ratio is exactly 1 but each token ratio is far outside
  # GRPO's range. With A > 0, GRPO clips the high token; with A < 0, the low one. GSPO clips nothing.
  logp_old = jnp.zeros((2, 2))
  logp_new = jnp.asarray([[0.5, -0.5], [0.5, -0.5]])
  mask = jnp.ones((2, 2))
  advantages = jnp.asarray([1.0, -1.0])
  _, grpo_grad, grpo_metrics = _loss_and_grad(objectives.ObjectiveConfig("grpo"), logp_new, logp_old, mask, advantages)
  np.testing.assert_allclose(grpo_metrics["clip_fraction_high"], 0.25)
  np.testing.assert_allclose(grpo_metrics["clip_fraction_low"], 0.25)
  assert float(grpo_grad[0, 0]) == 0.0 and float(grpo_grad[0, 1]) != 0.0
  assert float(grpo_grad[1, 1]) == 0.0 and float(grpo_grad[1, 0]) != 0.0
  config = objectives.ObjectiveConfig("gspo", epsilon_low=0.2, epsilon_high=0.27)
  _, gspo_grad, gspo_metrics = _loss_and_grad(config, logp_new, logp_old, mask, advantages)
  assert float(gspo_metrics["clip_fraction"]) == 0.0
  # Every token of a response gets the same weight: -(1/2) * A * s / |y| with s = 1.
  np.testing.assert_allclose(gspo_grad, [[-0.25, -0.25], [0.25, 0.25]], rtol=1e-6)


def test_clipping_on_both_sides():
  # Sequence log-ratios +0.01, -0.01, -0.01, +0.01 against eps (3e-4, 4e-4); advantages +1, -1, +1, -1.
  delta = jnp.asarray([0.01, -0.01, -0.01, 0.01])
  logp_old = jnp.full((4, 3), -1.0)
  logp_new = logp_old + delta[:, None]
  mask = jnp.ones((4, 3))
  advantages = jnp.asarray([1.0, -1.0, 1.0, -1.0])
  for name in ("gspo", "gspo_token"):
    loss, grad, metrics = _loss_and_grad(objectives.ObjectiveConfig(name), logp_new, logp_old, mask, advantages)
    ratio = np.exp(np.asarray(delta, np.float64))
    # 0: above the range with A > 0 -> clipped to 1.0004.  1: below with A < 0 -> clipped to 0.9997.
    # 2: below with A > 0 and 3: above with A < 0 -> the unclipped term is the smaller: kept, with gradient.
    expected_terms = [1.0004, -0.9997, ratio[2], -ratio[3]]
    np.testing.assert_allclose(loss, -np.mean(expected_terms), rtol=1e-5)
    np.testing.assert_array_equal(grad[0], 0.0)
    np.testing.assert_array_equal(grad[1], 0.0)
    np.testing.assert_allclose(grad[2], -ratio[2] / 12, rtol=1e-5)
    np.testing.assert_allclose(grad[3], ratio[3] / 12, rtol=1e-5)
    np.testing.assert_allclose(metrics["clip_fraction_high"], 0.25)
    np.testing.assert_allclose(metrics["clip_fraction_low"], 0.25)
    np.testing.assert_allclose(metrics["clip_fraction"], 0.5)


def test_gspo_token_equals_gspo_with_per_sequence_advantages():
  key_new, key_old, key_len, key_adv = jax.random.split(jax.random.key(0), 4)
  batch, length = 6, 9
  logp_old = -jax.random.uniform(key_old, (batch, length), minval=0.1, maxval=3.0)
  logp_new = logp_old + 0.02 * jax.random.normal(key_new, (batch, length))
  lengths = jax.random.randint(key_len, (batch,), 1, length + 1)
  mask = (jnp.arange(length)[None, :] < lengths[:, None]).astype(jnp.float32)
  advantages = jax.random.normal(key_adv, (batch,))
  for epsilons in ({}, {"epsilon_low": 0.2, "epsilon_high": 0.2}):
    loss, grad, _ = _loss_and_grad(objectives.ObjectiveConfig("gspo", **epsilons), logp_new, logp_old, mask, advantages)
    token = objectives.ObjectiveConfig("gspo_token", **epsilons)
    token_loss, token_grad, _ = _loss_and_grad(token, logp_new, logp_old, mask, advantages)
    np.testing.assert_allclose(token_loss, loss, rtol=1e-6)
    np.testing.assert_allclose(token_grad, grad, rtol=1e-5, atol=1e-8)
    # The same advantage written out per token gives the same result again.
    per_token = jnp.broadcast_to(advantages[:, None], mask.shape)
    loss_tok_adv, grad_tok_adv, _ = _loss_and_grad(token, logp_new, logp_old, mask, per_token)
    np.testing.assert_allclose(loss_tok_adv, loss, rtol=1e-6)
    np.testing.assert_allclose(grad_tok_adv, grad, rtol=1e-5, atol=1e-8)
  assert float(jnp.max(jnp.abs(grad))) > 0.0


def test_gspo_token_uses_per_token_advantages():
  logp_old = jnp.full((1, 2), -1.0)
  logp_new = logp_old
  mask = jnp.ones((1, 2))
  config = objectives.ObjectiveConfig("gspo_token")
  _, grad, _ = _loss_and_grad(config, logp_new, logp_old, mask, jnp.asarray([[2.0, -1.0]]))
  np.testing.assert_allclose(grad, [[-1.0, 0.5]], rtol=1e-6)  # -(A_t * s) / |y| with s = 1
  with pytest.raises(AssertionError):  # GSPO proper takes one advantage per response
    objectives.policy_loss(objectives.ObjectiveConfig("gspo"), logp_new, logp_old, mask, jnp.asarray([[2.0, -1.0]]))


def test_zero_variance_groups_give_zero_advantage_and_finite_loss():
  # Group 0 all pass, group 1 all fail, group 2 equal non-integer rewards (mean has rounding error),
  # group 3 has one member only (no unbiased std), group 4 is mixed. Row 10 is batch padding (id -1).
  rewards = jnp.asarray([1.0, 1.0, 0.0, 0.0, 0.1, 0.1, 0.1, 0.7, 1.0, 0.0, 5.0])
  group_ids = jnp.asarray([0, 0, 1, 1, 2, 2, 2, 3, 4, 4, -1])
  advantages, metrics = objectives.group_advantages(rewards, group_ids, num_groups=5)
  np.testing.assert_array_equal(advantages[:8], 0.0)
  assert float(advantages[10]) == 0.0
  np.testing.assert_allclose(advantages[8:10], [np.sqrt(0.5), -np.sqrt(0.5)], rtol=1e-5)  # 0.5 / sqrt(0.5)
  np.testing.assert_allclose(metrics["zero_std_group_fraction"], 4 / 5)
  np.testing.assert_allclose(metrics["reward_mean"], 4.0 / 10, rtol=1e-6)
  # All groups constant: the loss is finite (zero) and so are its gradients, for every objective.
  constant, _ = objectives.group_advantages_grid(jnp.ones((2, 4)))
  np.testing.assert_array_equal(constant, 0.0)
  logp_old = -jnp.ones((8, 5))
  logp_new = logp_old + 0.3
  mask = jnp.ones((8, 5))
  for name in objectives.objective_names():
    loss, grad, _ = _loss_and_grad(objectives.ObjectiveConfig(name), logp_new, logp_old, mask, constant.reshape(-1))
    assert np.isfinite(float(loss)) and float(loss) == 0.0
    assert np.all(np.isfinite(grad))
  # Gradients through the advantage computation itself are finite (rewards are data, not parameters).
  reward_grad = jax.grad(lambda r: jnp.sum(objectives.group_advantages(r, group_ids, 5)[0]))(rewards)
  assert np.all(np.isfinite(reward_grad))


@pytest.mark.parametrize("name", ["gspo", "gspo_token", "grpo"])
def test_gradients_flow_only_through_the_current_policy(name):
  key_old, key_new = jax.random.split(jax.random.key(1))
  logp_old = -jax.random.uniform(key_old, (4, 6), minval=0.1, maxval=2.0)
  logp_new = logp_old + 0.05 * jax.random.normal(key_new, (4, 6))
  logp_ref = logp_old - 0.1
  mask = jnp.ones((4, 6)).at[2, 3:].set(0.0)
  advantages = jnp.asarray([1.0, -0.5, 0.25, -0.75])
  config = objectives.ObjectiveConfig(name, epsilon_low=0.2, epsilon_high=0.2, kl_beta=0.1)

  def loss(new, old, ref, adv):
    return objectives.policy_loss(config, new, old, mask, adv, ref)[0]

  grad_new, grad_old, grad_ref, grad_adv = jax.grad(loss, argnums=(0, 1, 2, 3))(
    logp_new, logp_old, logp_ref, advantages
  )
  assert float(jnp.max(jnp.abs(grad_new))) > 0.0
  np.testing.assert_array_equal(grad_old, 0.0)
  np.testing.assert_array_equal(grad_ref, 0.0)
  np.testing.assert_array_equal(grad_adv, 0.0)
  np.testing.assert_array_equal(grad_new[2, 3:], 0.0)  # masked positions get no gradient


def test_kl_penalty_is_off_by_default_and_added_when_asked(x64):
  logp_new, logp_old, mask = _worked_case()
  advantages = jnp.asarray([1.5, -0.5, -0.5, -0.5])
  logp_ref = logp_old
  base, _ = objectives.policy_loss(objectives.ObjectiveConfig("gspo"), logp_new, logp_old, mask, advantages)
  config = objectives.ObjectiveConfig("gspo", kl_beta=0.5)
  loss, metrics = objectives.policy_loss(config, logp_new, logp_old, mask, advantages, logp_ref)
  delta = np.asarray(logp_ref - logp_new)
  k3 = np.exp(delta) - delta - 1.0
  lengths = np.asarray(mask).sum(-1)
  expected_kl = np.mean((k3 * np.asarray(mask)).sum(-1) / lengths)
  np.testing.assert_allclose(metrics["kl"], expected_kl, rtol=1e-9)
  np.testing.assert_allclose(loss, base + 0.5 * expected_kl, rtol=1e-9)
  np.testing.assert_allclose(metrics["policy_loss"], base, rtol=1e-12)
  same, same_metrics = objectives.policy_loss(config, logp_new, logp_old, mask, advantages, logp_new)
  np.testing.assert_allclose(same, base, rtol=1e-12)
  assert float(same_metrics["kl"]) == 0.0
  with pytest.raises(ValueError, match="logp_ref"):
    objectives.policy_loss(config, logp_new, logp_old, mask, advantages)


def test_padding_rows_do_not_change_the_loss(x64):
  logp_new, logp_old, mask = _worked_case()
  advantages = jnp.asarray([1.5, -0.5, -0.5, -0.5])
  pad = lambda x, value: jnp.concatenate([x, jnp.full((2,) + x.shape[1:], value, x.dtype)])
  for name in objectives.objective_names():
    config = objectives.ObjectiveConfig(name)
    loss, _ = objectives.policy_loss(config, logp_new, logp_old, mask, advantages)
    # Padding rows: empty mask, -inf log-probs (as a sampler may leave them), a large advantage.
    padded_loss, grad, metrics = _loss_and_grad(
      config, pad(logp_new, -jnp.inf), pad(logp_old, -jnp.inf), pad(mask, 0.0), pad(advantages, 7.0)
    )
    np.testing.assert_allclose(padded_loss, loss, rtol=1e-12)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(metrics["response_length_mean"], 2.5)


def test_registry_defaults_errors_and_jit():
  assert objectives.objective_names() == ["grpo", "gspo", "gspo_token"]
  assert objectives.ObjectiveConfig("gspo").clip_range() == (3e-4, 4e-4)
  assert objectives.ObjectiveConfig("grpo").clip_range() == (0.2, 0.27)
  assert objectives.ObjectiveConfig("grpo", epsilon_high=0.3).clip_range() == (0.2, 0.3)
  with pytest.raises(ValueError, match="gspo_token"):
    objectives.get_objective("ppo")
  with pytest.raises(ValueError, match="epsilon_low"):
    objectives.ObjectiveConfig("gspo", epsilon_low=1.5).clip_range()
  logp = -jnp.ones((2, 3), jnp.bfloat16)
  config = objectives.ObjectiveConfig("gspo")
  jitted = jax.jit(lambda new, old, m, a: objectives.policy_loss(config, new, old, m, a))
  loss, metrics = jitted(logp, logp, jnp.ones((2, 3)), jnp.asarray([1.0, -1.0]))
  assert loss.dtype == jnp.float32  # bf16 log-probs are promoted before the ratio is taken
  assert set(metrics) >= {
    "loss",
    "policy_loss",
    "ratio_mean",
    "clip_fraction",
    "clip_fraction_low",
    "clip_fraction_high",
    "response_length_mean",
  }


def test_objective_config_from_mapping():
  config = objectives.ObjectiveConfig.from_mapping({"name": "grpo", "epsilon_high": 0.28})
  assert config.clip_range() == (0.2, 0.28)
  with pytest.raises(ValueError, match="config.rl.objective has unknown field"):
    objectives.ObjectiveConfig.from_mapping({"name": "gspo", "beta": 0.1})
