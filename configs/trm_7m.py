"""The Tiny Recursive Model at the paper's size (TRM, arXiv 2510.04871; the reference's config/arch/trm.yaml):
hidden 512, 8 heads, one 2-layer network, H_cycles 3 x L_cycles 6, 16 ACT segments, halting by q_halt > 0.

COMMAND:  hrm-jax train --config configs/trm_7m.py --workdir gs://BUCKET/trm_7m     (TPU: launch/tpu.sh)
MACHINE:  one accelerator host or more (a segment runs 42 blocks forward and backpropagates through 14).
RESULT:   `hrm-jax params --config configs/trm_7m.py:native` prints 6,828,034 (blocks and heads) for the reference's
          Sudoku-vocabulary model; with the code vocabulary (8192) the embedding and LM head add 8.4M.
Arg `native` selects the reference's native mode (bidirectional, 16 puzzle prefix tokens, vocab 11, seq 81:
Sudoku); a reference TRM state_dict converts with `hrm-jax import-torch --config configs/trm_7m.py:native`.
"""

import common
import ml_collections

TRM = dict(arch="trm", H_layers=0, L_layers=2, H_cycles=3, L_cycles=6, no_ACT_continue=True)


def get_config(arg=None):
  config = ml_collections.ConfigDict()
  if arg == "native":
    config.model = common.model(
      vocab_size=11, seq_len=81, puzzle_emb_ndim=512, puzzle_emb_len=16, num_puzzle_identifiers=1, **TRM
    )
  else:
    # Accelerator sizes: fused attention (cuDNN flash attention on GPUs, XLA elsewhere).
    config.model = common.code_model(
      seq_len=512, halt_max_steps=4, forward_dtype="bfloat16", attention_impl="auto", **TRM
    )
  config.data = common.data(seq_len=config.model.seq_len)
  config.optimizer = common.optimizer(learning_rate=1e-4, warmup_steps=2000, weight_decay=0.1)
  config.train = common.train(batch_size=768, num_steps=100_000, log_every=100, checkpoint_every=1000)
  config.mesh = common.mesh()  # all devices data-parallel; e.g. --config.mesh.fsdp=-1 --config.mesh.data=1
  return config
