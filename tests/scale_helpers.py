"""Helpers for the scale-out tests: a tiny copy-task config file for `hrm-jax train` subprocesses."""

import json
import os
import sys

from hrm_jax.train import trainer

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
HRM_JAX = os.path.join(os.path.dirname(sys.executable), "hrm-jax")

CONFIG = """
import os, sys
sys.path.insert(0, {configs!r})
import common
from hrm_jax.train import synthetic_data


def get_config():
  import ml_collections
  config = ml_collections.ConfigDict()
  config.model = common.code_model(vocab_size=16, seq_len=8, hidden_size=16, num_heads=2, expansion=2.0,
                                   H_layers=1, L_layers=1, halt_max_steps=2)
  config.data = synthetic_data.copy_task_config(num_train=32, num_eval=0)
  config.optimizer = common.optimizer(learning_rate=1e-2, warmup_steps=2, lr_min_ratio=0.1, grad_clip_norm=1.0)
  config.train = common.train(batch_size=4, eval_batch_size=4, num_steps={num_steps}, log_every=1,
                              checkpoint_every={checkpoint_every}, keep_checkpoints=2)
  config.mesh = common.mesh()
  return config
"""


def write_config(tmp_path, num_steps=400, checkpoint_every=3, name="tiny_copy.py"):
  path = tmp_path / name
  path.write_text(
    CONFIG.format(configs=os.path.join(REPO, "configs"), num_steps=num_steps, checkpoint_every=checkpoint_every)
  )
  return str(path)


def logged(workdir):
  with open(os.path.join(workdir, trainer.METRICS_FILE)) as f:
    return [json.loads(line) for line in f]
