"""A 100M-parameter code HRM: hidden 768, 12 heads, 6+6 layers, 2x2 cycles.

COMMAND:  hrm-jax train --config configs/hrm_100m.py --workdir gs://BUCKET/hrm_100m    (TPU: launch/tpu.sh)
MACHINE:  a TPU pod slice or a GPU host (bf16 activations, fp32 master weights).
RESULT:   97.6M parameters with the 8192-token code vocabulary.
"""

import common
import ml_collections


def get_config():
  config = ml_collections.ConfigDict()
  config.model = common.code_model(
    hidden_size=768,
    num_heads=12,
    H_layers=6,
    L_layers=6,
    seq_len=1024,
    halt_max_steps=4,
    forward_dtype="bfloat16",
    attention_impl="auto",
  )
  config.data = common.data(seq_len=config.model.seq_len)
  config.optimizer = common.optimizer(
    learning_rate=3e-4, warmup_steps=2000, weight_decay=0.1, grad_clip_norm=1.0, lr_min_ratio=0.1
  )
  config.train = common.train(batch_size=256, num_steps=200_000, log_every=100, checkpoint_every=1000)
  config.mesh = common.mesh()  # all devices data-parallel; e.g. --config.mesh.fsdp=-1 --config.mesh.data=1
  return config
