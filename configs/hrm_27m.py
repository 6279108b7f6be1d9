"""The reference HRM's size (hrm_v1.yaml): hidden 512, 8 heads, 4+4 layers, 2x2 cycles, 16 ACT segments.

COMMAND:  hrm-jax train --config configs/hrm_27m.py --workdir gs://BUCKET/hrm_27m     (TPU: launch/tpu.sh)
MACHINE:  one accelerator host or more; on a 2-core CPU a step of batch 8 takes seconds (see bench).
RESULT:   27.27M parameters for the reference's Sudoku vocabulary (11); `hrm-jax params --config
          configs/hrm_27m.py:native` prints 27,275,266 (the reference's count). With the code vocabulary
          (8192) the same architecture has 35.65M, all of the difference in the embedding and LM head.
Arg `native` selects the reference's native mode (bidirectional, puzzle prefix, vocab 11, seq 81: Sudoku).
"""

import common
import ml_collections


def get_config(arg=None):
  config = ml_collections.ConfigDict()
  if arg == "native":
    config.model = common.model(vocab_size=11, seq_len=81, puzzle_emb_ndim=512, num_puzzle_identifiers=1)
  else:
    # Accelerator sizes: fused attention (cuDNN flash attention on GPUs, XLA elsewhere).
    config.model = common.code_model(seq_len=512, halt_max_steps=4, forward_dtype="bfloat16", attention_impl="auto")
  config.data = common.data(seq_len=config.model.seq_len)
  config.optimizer = common.optimizer(learning_rate=1e-4, warmup_steps=2000, weight_decay=0.1)
  config.train = common.train(batch_size=768, num_steps=100_000, log_every=100, checkpoint_every=1000)
  config.mesh = common.mesh()  # all devices data-parallel; e.g. --config.mesh.fsdp=-1 --config.mesh.data=1
  return config
