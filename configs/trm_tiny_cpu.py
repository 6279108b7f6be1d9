"""tiny_cpu's job with the Tiny Recursive Model (arch="trm"): same data, embeddings, heads, budget and cycles.

COMMAND:  hrm-jax train --config configs/trm_tiny_cpu.py --workdir /tmp/trm_tiny
MACHINE:  2-core x86 CPU, no accelerator.
RESULT:   compare its final table with tiny_cpu's and transformer_tiny's (same data, steps and batch).
The TRM (Jolicoeur-Martineau 2025, arXiv 2510.04871; docs/model.md "The Tiny Recursive Model") applies ONE
network of L_layers blocks for both updates, so with tiny_cpu's 2x2 cycles a segment runs the same 12 blocks
forward as tiny_cpu with half its block parameters; the last H cycle (3 applications) carries gradients, and the
Q head halts alone (q_halt > 0, `no_ACT_continue`, TRM's default: no target-Q pass). The paper's recursion is
--config.model.H_cycles=3 --config.model.L_cycles=6 (42 blocks per segment here).
"""

import tiny_cpu


def get_config():
  config = tiny_cpu.get_config()
  config.model.arch = "trm"
  config.model.H_layers = 0  # unused by TRM (one network: L_level)
  config.model.no_ACT_continue = True
  return config
