"""The main job: a tiny code HRM trained and evaluated on the bundled procedural tasks, on a laptop CPU.

COMMAND:  hrm-jax train --config configs/tiny_cpu.py --workdir /tmp/hrm_tiny
MACHINE:  2-core x86 CPU, no accelerator, ~2 GB RAM.
RESULT:   a few minutes on 2 cores; measured wall time, memory and accuracy in README.md ("The main job,
          measured"), kept there so this header does not go stale.
"""

import common
import ml_collections


def get_config():
  config = ml_collections.ConfigDict()
  seq_len = 96
  # Two blocks per module, hidden 128, keep a step cheap on 2 cores; the recurrence (2x2 cycles, 2 ACT segments) and
  # the SwiGLU expansion 4 are the reference's. (Expansion 2 trained 1.4x faster but never learnt to copy the
  # constants in 300 steps: token accuracy 0.86, exact match 0.00, against 0.93 / 0.66 with expansion 4.)
  config.model = common.code_model(
    hidden_size=128,
    num_heads=4,
    expansion=4.0,
    H_layers=2,
    L_layers=2,
    H_cycles=2,
    L_cycles=2,
    seq_len=seq_len,
    halt_max_steps=2,
    halt_exploration_prob=0.1,
  )
  # Stage-1 procedural tasks in Python (write f(x) from a one-line arithmetic spec): a task a 2.4M-parameter model
  # measurably learns in a few CPU minutes. All six languages and four families: --config.data.languages=
  # cpp,go,java,javascript,python,rust --config.data.families=arith,string,predict,repair.
  config.data = common.data(seq_len=seq_len, languages="python", families="arith", num_train=1500)
  config.optimizer = common.optimizer(
    learning_rate=2e-3, warmup_steps=30, weight_decay=0.1, grad_clip_norm=1.0, lr_min_ratio=0.1
  )
  config.train = common.train(
    batch_size=16,
    eval_batch_size=64,
    num_steps=300,
    log_every=20,
    checkpoint_every=80,
    loss_type="stablemax",
    dynamic_halting=True,
    sample_max_new_tokens=40,
  )
  config.mesh = common.mesh()  # all devices data-parallel; e.g. --config.mesh.fsdp=-1 --config.mesh.data=1
  return config
