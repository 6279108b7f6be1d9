"""GSPO from execution feedback on a tiny_cpu supervised checkpoint (procedural Python `arith` tasks).

COMMAND:  hrm-jax train --config configs/tiny_cpu.py --workdir /tmp/sft --config.train.checkpoint_every=50 \
            --config.train.keep_checkpoints=10
          hrm-jax train-rl --config configs/gspo_tiny.py --init /tmp/sft --init_step 150 --workdir /tmp/gspo
          (GRPO on the same budget: --config.rl.objective.name=grpo; both over 3 seeds:
          python -m hrm_jax.bench.rl_demo --init /tmp/sft --init_step 150 --out /tmp/rl_demo)
MACHINE:  2-core x86 CPU, no accelerator; sandboxed Python runs (namespaces where the machine allows them).
RESULT:   held-out greedy pass@1 before and after, per objective and seed: docs/rl.md (measured figures and
          their date). Each step: 8 prompts x G=8 samples, 4 updates.
The model section comes from the --init workdir's config. Prompt sources follow data.curriculum / data.mixture
(procedural, livecodebench_sample); rl.curriculum stages ("step:min_ops=A,max_ops=B;...") set procedural difficulty.
"""

import common
import ml_collections
from ml_collections import config_dict


def get_config():
  config = ml_collections.ConfigDict()
  config.data = common.data(
    seq_len=96, languages="python", families="arith", min_ops=1, max_ops=2, num_train=1500, num_eval=100
  )
  # RL fine-tuning: AdamW, no warm-up, a small constant rate (the SFT schedule's Adam-atan2 would take
  # full-size steps whatever the gradient's scale).
  config.mesh = common.mesh()  # the supervised trainer's layout, e.g. --config.mesh.fsdp=-1 --config.mesh.data=1
  config.optimizer = common.optimizer(
    name="adamw", learning_rate=1e-4, warmup_steps=1, lr_min_ratio=1.0, weight_decay=0.0, grad_clip_norm=1.0
  )
  rl = config.rl = ml_collections.ConfigDict()
  rl.seed = 0
  rl.num_steps = 16  # rollout batches
  rl.prompts_per_batch = 8
  rl.num_minibatches = 4  # optimizer updates per rollout batch (the paper's 4)
  rl.overlap_generation = True  # generate batch k+1 while batch k runs in the sandbox
  rl.generate_ahead = 1  # rollout batches generated ahead of the update (0: none; overrides overlap_generation)
  # generation units per step, each seeded by (seed, step, shard); processes take whole shards (0: one per
  # process). Fix it (to a multiple of every process count used) for runs that must repeat across layouts.
  rl.rollout_shards = 0
  # procedural difficulty per RL step, the data curriculum's grammar: e.g. "0:max_ops=1;8:max_ops=2";
  # "" = the data config's range. (With max_ops 2 the
  # generator has ~60 distinct 1-op tasks and the eval split takes most: the train split holds 11.)
  rl.curriculum = ""
  rl.q_loss_weight = 0.5  # halting Q loss (ACT from sequence rewards)
  rl.q_compute_penalty = 0.0  # per-segment discount of the return the Q head learns
  rl.eval_every = 4
  rl.eval_size = 100  # held-out problems for greedy pass@1 (all of data.num_eval)
  rl.log_every = 1
  rl.metric_writer = "auto"  # TensorBoard writer: as config.train.metric_writer (auto, tensorboard or clu)
  rl.checkpoint_every = 5
  rl.keep_checkpoints = 2
  rl.objective = ml_collections.ConfigDict(
    dict(
      name="gspo",
      epsilon_low=config_dict.placeholder(float),
      epsilon_high=config_dict.placeholder(float),
      kl_beta=0.0,
      max_log_ratio=20.0,
    )
  )
  rl.rollout = ml_collections.ConfigDict(
    dict(
      group_size=8,
      temperature=0.6,
      top_p=1.0,
      top_k=0,
      max_new_tokens=24,
      max_segments=config_dict.placeholder(int),
      dynamic_halting=True,
      halt_exploration_prob=0.1,
    )
  )
  rl.rewards = ml_collections.ConfigDict(
    dict(
      weights={"all_tests_passed": 1.0, "test_pass_fraction": 0.5},
      length_max_tokens=0,
      length_cache_tokens=0,
      malformed_edit_similarity=-1.0,
    )
  )
  # executor: local (sandbox pool) | ray (address: "" local Ray, "auto", "ray://host:10001") | swerex
  # (address: http://host:8000 of a swerex-remote server); hrm_jax/rl/executors.py
  rl.execution = ml_collections.ConfigDict(
    dict(
      wall_s=20.0,
      memory_bytes=1 << 30,
      workers=2,
      executor="local",
      address="",
      swerex_deployment="remote",
      queue_size=0,
      max_attempts=3,
      task_timeout_s=0.0,
    )
  )
  return config
