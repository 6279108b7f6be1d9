"""Generation with the rows split over several devices repeats one-device generation (run by test_rollout.py
in a process of its own with 4 fake CPU devices: XLA_FLAGS=--xla_force_host_platform_device_count=4).

    python sharded_generation_worker.py

Prints "ok" after its checks; an assertion error otherwise.
"""

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))  # tests/: conftest's tiny configs
from conftest import tiny_causal_config  # noqa: E402

from hrm_jax.models import hrm  # noqa: E402
from hrm_jax.rl import rollout  # noqa: E402

PROMPTS = [[3, 4, 5], [6, 7, 8, 9], [10, 2], [11, 12, 13, 14, 15], [5, 5, 6]]


def main() -> None:
  devices = jax.devices()
  assert len(devices) == 4, devices
  assert jax.config.jax_threefry_partitionable  # a row's random bits depend on its index only
  # The smallest model that halts at mixed depths (a random Q head); one cycle per level keeps compiles short.
  cfg = tiny_causal_config(seq_len=16, halt_max_steps=2, H_cycles=1, L_cycles=1)
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  w = jax.random.normal(jax.random.key(7), (cfg.hidden_size,))
  variables["params"]["q_head"] = {"kernel": jnp.stack([w, -w], axis=1), "bias": jnp.zeros((2,))}
  # Temperature sampling with top-k and ACT depth exploration: every random draw of the generator is used.
  config = rollout.RolloutConfig(group_size=2, temperature=0.9, top_k=20, max_new_tokens=6, halt_exploration_prob=0.5)
  langs, tasks, indices = [0, 1, 2, 3, 4], [4, 3, 2, 1, 0], list(range(5))

  one = rollout.RolloutSampler(model, variables, config, (1,))
  # Parameters laid out over all the devices (as the trainer's state is) are copied whole to each device.
  fsdp = jax.sharding.NamedSharding(jax.sharding.Mesh(np.asarray(devices), ("x",)), jax.sharding.PartitionSpec("x"))
  spread = jax.tree.map(lambda x: jax.device_put(x, fsdp) if x.ndim and x.shape[0] % 4 == 0 else x, variables)
  split = rollout.RolloutSampler(model, None, config, (1,), devices=devices)
  split.set_params(spread)
  assert split.generator.devices == devices
  assert all(x.sharding.is_fully_replicated for x in jax.tree.leaves(split.generator.params))

  # Rollouts: 5 prompts x G=2 = 10 rows, padded to 12 on 4 devices (3 rows each) and the pad rows dropped.
  base = one.sample(PROMPTS, indices, langs, tasks, seed=3)
  over4 = split.sample(PROMPTS, indices, langs, tasks, seed=3)
  assert len(set(base.depth.tolist())) > 1, f"want mixed ACT depths, got {base.depth}"
  assert over4.num_rows == 10 and over4.tokens.shape == base.tokens.shape
  np.testing.assert_array_equal(over4.tokens, base.tokens)
  np.testing.assert_array_equal(over4.mask, base.mask)
  np.testing.assert_array_equal(over4.depth, base.depth)
  np.testing.assert_allclose(over4.logp_old, base.logp_old, rtol=1e-5, atol=1e-6)
  assert np.any(base.logp_old < -1e-3)  # sampled, not greedy

  # The generator's raw outputs (same shapes: no new compilation): logits agree up to each row's length.
  rows = [p for p in PROMPTS for _ in range(2)]
  a = jax.device_get(one.generator.generate_arrays(rows, seed=11))
  b = jax.device_get(split.generator.generate_arrays(rows, seed=11))
  for name, x, y in zip(("tokens", "lengths", "depth"), b[:3], a[:3]):
    np.testing.assert_array_equal(x, y, err_msg=name)
  keep = (np.arange(a[0].shape[1])[None, :] < a[1][:, None])[..., None]
  np.testing.assert_allclose(np.where(keep, b[3], 0), np.where(keep, a[3], 0), rtol=1e-5, atol=1e-5)
  assert one.generator.compilations == split.generator.compilations == 1
  print("ok")


if __name__ == "__main__":
  main()
