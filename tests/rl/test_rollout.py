"""Rollouts: behaviour log-probs under the sampling transform, ACT depth replay (ratio == 1 unchanged), and
generation split over several devices repeating one device."""

import os
import subprocess
import sys

import configs_for_tests as cft
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import tiny_causal_config

from hrm_jax.inference import sampler
from hrm_jax.models import hrm
from hrm_jax.rl import objectives, rollout


def _model_with_varied_halting(halt_max_steps=3):
  cfg = tiny_causal_config(seq_len=20, halt_max_steps=halt_max_steps)
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  params = jax.tree.map(lambda x: x, variables["params"])
  # The Q head starts at zero weights (no early halting); random weights make the halt decision depend on
  # the prompt, so the batch mixes depths and replay must pick the right one per row.
  w = jax.random.normal(jax.random.key(1), (params["q_head"]["kernel"].shape[0],))
  kernel = jnp.stack([w, -w], axis=1)  # halt where z.w > 0: about half the prompts at each segment
  params["q_head"] = {"kernel": kernel, "bias": jnp.zeros((2,))}
  return model, {"params": params}


PROMPTS = [[3, 4, 5], [6, 7, 8, 9], [10, 2], [11, 12, 13, 14, 15], [5, 5, 6], [20, 21]]


def test_replay_at_recorded_depth_gives_ratio_one():
  model, variables = _model_with_varied_halting()
  config = rollout.RolloutConfig(group_size=2, temperature=0.7, top_p=0.9, top_k=20, max_new_tokens=8)
  rs = rollout.RolloutSampler(model, variables, config, stop_ids=(1,))
  ro = rs.sample(PROMPTS, list(range(len(PROMPTS))), [4] * len(PROMPTS), [0] * len(PROMPTS), seed=3)
  assert ro.num_rows == 2 * len(PROMPTS)
  assert len(set(ro.depth.tolist())) > 1, f"want mixed ACT depths to test the replay, got {ro.depth}"
  batch = rollout.replay_batch(ro, model.cfg.seq_len)
  logp_new, (q_halt, _) = jax.jit(lambda p, b: rollout.replay_log_probs(model, p, b, config, 3))(
    variables["params"], batch
  )
  assert q_halt.shape == (ro.num_rows, 3)
  np.testing.assert_allclose(np.asarray(logp_new)[ro.mask], ro.logp_old[ro.mask], atol=2e-5)
  assert np.all(ro.logp_old[ro.mask] <= 0) and np.all(ro.logp_old[~ro.mask] == 0)
  advantages = jnp.asarray(np.tile([1.0, -1.0], len(PROMPTS)), jnp.float32)
  for name in ("gspo", "grpo"):
    _, metrics = objectives.policy_loss(
      objectives.ObjectiveConfig(name=name), logp_new, jnp.asarray(ro.logp_old), jnp.asarray(ro.mask), advantages
    )
    assert abs(float(metrics["ratio_min"]) - 1) < 1e-4 and abs(float(metrics["ratio_max"]) - 1) < 1e-4
    assert float(metrics["clip_fraction"]) == 0.0

  # Replaying at a different depth than the recorded one changes the log-probs: the depth matters.
  wrong = dict(batch, depth=np.where(batch["depth"] == 1, 3, 1).astype(np.int32))
  logp_wrong, _ = rollout.replay_log_probs(model, variables["params"], wrong, config, 3)
  assert np.max(np.abs(np.asarray(logp_wrong) - ro.logp_old)[ro.mask]) > 1e-3


def test_truncated_log_softmax_matches_what_the_sampler_draws():
  logits = jax.random.normal(jax.random.key(0), (2, 50)) * 3
  config = rollout.RolloutConfig(group_size=2, temperature=0.5, top_p=0.8, top_k=10)
  logp = rollout.truncated_log_softmax(logits, config.temperature, config.top_k, config.top_p)
  support = np.isfinite(np.asarray(logp))
  np.testing.assert_allclose(np.exp(np.asarray(logp)).sum(-1), 1.0, rtol=1e-5)
  assert 1 <= support.sum(1).max() <= 10
  sampling = sampler.SamplingConfig(temperature=0.5, top_p=0.8, top_k=10)
  keys = jax.random.split(jax.random.key(1), 4000)
  draws = np.asarray(jax.vmap(lambda k: sampler.sample_token(logits, k, sampling))(keys))  # [4000, 2]
  for row in range(2):
    assert support[row, draws[:, row]].all()  # never a token outside the truncated support
    freq = np.bincount(draws[:, row], minlength=50) / len(draws)
    np.testing.assert_allclose(freq, np.exp(np.asarray(logp[row])), atol=0.03)


def test_rollout_json_round_trip():
  model, variables = _model_with_varied_halting(halt_max_steps=2)
  config = rollout.RolloutConfig(group_size=2, max_new_tokens=4)
  ro = rollout.RolloutSampler(model, variables, config, stop_ids=(1,)).sample(PROMPTS[:2], [7, 9], [4, 4], [0, 0], 0)
  back = rollout.Rollout.from_json(ro.to_json())
  assert back.prompts == ro.prompts and back.record_indices.tolist() == [7, 7, 9, 9]
  for field in ("tokens", "mask", "logp_old", "depth", "language_id"):
    np.testing.assert_array_equal(getattr(back, field), getattr(ro, field))


def test_config_errors_name_the_field():
  with pytest.raises(ValueError, match="rl.rollout.group_size"):
    rollout.RolloutConfig(group_size=1)
  with pytest.raises(ValueError, match="rl.rollout.temperature"):
    rollout.RolloutConfig(temperature=0.0)


def test_rollouts_split_over_devices_repeat_one_device(tmp_path):
  """4 fake CPU devices need a process of their own (XLA_FLAGS is read once): the worker samples the same
  rollouts (tokens, ACT depths, behaviour log-probs) with the rows on one device and split over 4 (padded), the
  parameters spread over the devices copied whole to each."""
  worker = os.path.join(os.path.dirname(__file__), "sharded_generation_worker.py")
  env = cft.fake_devices_env(4)
  proc = subprocess.run([sys.executable, worker], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
  assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stdout[-3000:] + proc.stderr[-3000:]


def test_generation_over_several_devices_needs_partitionable_random_bits():
  """Without partitionable threefry a row's random bits would depend on the batch size (padding)."""
  model, variables = _model_with_varied_halting(halt_max_steps=2)
  two = [jax.devices()[0]] * 2  # this process has one device; the check comes before any placement
  with jax.threefry_partitionable(False), pytest.raises(ValueError, match="jax_threefry_partitionable"):
    sampler.Generator(model, variables, sampler.SamplingConfig(), devices=two)
