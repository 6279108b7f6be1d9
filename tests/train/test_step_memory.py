"""The train step's compiled temporary memory for one fixed config stays under a recorded bound, so a change
that makes XLA keep more residuals (a remat lost, the no-gradient prefix of the schedule storing activations,
a scan doubling temporaries) fails here instead of surfacing as an out-of-memory on an accelerator."""

import os
import sys

import jax
import jax.numpy as jnp

from hrm_jax.models import hrm
from hrm_jax.train import optimizers
from hrm_jax.train import step as step_lib

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "configs"))
import common  # noqa: E402

# Recorded 2026-12-02 with jax 0.10.2 on CPU: 23,606,208 bytes of temporaries (batch 8 x 64 tokens, hidden 64,
# 2+2 layers, 2x2 cycles). The bound leaves 20% for compiler drift.
RECORDED_TEMP_BYTES = 23_606_208
BOUND = int(RECORDED_TEMP_BYTES * 1.2)


def _compiled_memory(**model_overrides):
  values = dict(
    vocab_size=256, seq_len=64, hidden_size=64, num_heads=4, expansion=4.0, H_layers=2, L_layers=2, halt_max_steps=2
  )
  values.update(model_overrides)
  cfg = hrm.HRMConfig.from_config(common.code_model(**values))
  model, variables = hrm.init_params(cfg, jax.random.key(0))
  tx = optimizers.make_optimizer(common.optimizer(), 100)
  batch = {k: jnp.asarray(v) for k, v in hrm.dummy_batch(cfg, 8).items()}
  state = step_lib.create_train_state(model, variables["params"], tx, batch)
  fn = jax.jit(lambda s, b: step_lib.train_step(model, tx, "stablemax", 8, jax.random.key(0), s, b))
  return fn.lower(state, batch).compile().memory_analysis()


def test_train_step_temporaries_stay_under_the_recorded_bound():
  memory = _compiled_memory()
  assert memory is not None
  assert memory.temp_size_in_bytes <= BOUND, (
    f"train step temporaries {memory.temp_size_in_bytes:,} B > bound {BOUND:,} B (recorded "
    f"{RECORDED_TEMP_BYTES:,} B): something keeps more residuals than before"
  )
  # The one-step gradient: more segments of no-gradient recurrence (H_cycles 4 instead of 2) must not store
  # their activations, so the temporaries grow far less than the forward's work doubles.
  deeper = _compiled_memory(H_cycles=4)
  assert deeper.temp_size_in_bytes < 1.5 * memory.temp_size_in_bytes
