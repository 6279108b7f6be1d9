"""The baseline for tiny_cpu: a pre-norm Transformer with the same embeddings, heads, data and budget.

COMMAND:  hrm-jax train --config configs/transformer_tiny.py --workdir /tmp/transformer_tiny
MACHINE:  2-core x86 CPU, no accelerator.
RESULT:   compare its final table with tiny_cpu's (same data, steps and batch): the "HRM helps" ablation.
Same parameter count as tiny_cpu (H_layers + L_layers blocks in one stack, applied once per segment).
"""

import tiny_cpu


def get_config():
  config = tiny_cpu.get_config()
  config.model.arch = "transformer"
  config.model.halt_max_steps = 1
  return config
