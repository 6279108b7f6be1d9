"""Runs one RL step on the fake CPU devices of this process (XLA_FLAGS set by the caller) and writes JSON:
the mesh, each parameter's global and per-device shapes, and the step's metrics.

    python rl_mesh_worker.py OUT.json TMPDIR MESH_SPEC     (MESH_SPEC like "data=2,fsdp=2")
"""

import json
import os
import sys

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import test_rl_trainer as helpers  # noqa: E402

from hrm_jax.rl import trainer as rl_trainer  # noqa: E402


def main(out: str, tmp: str, spec: str) -> None:
  init = os.path.join(tmp, "sft")
  helpers._init_workdir(init)
  config = helpers._rl_config(1)
  config.rl.prompts_per_batch = 4  # 8 rows, 2 minibatches of 4: divisible by the 4 devices
  config.rl.eval_every = 0
  for part in spec.split(","):
    axis, size = part.split("=")
    config.mesh[axis] = int(size)
  summary = rl_trainer.train_rl(config, os.path.join(tmp, "rl"), init_workdir=init)
  params = {
    jax.tree_util.keystr(p): {"global": list(x.shape), "local": list(x.addressable_shards[0].data.shape)}
    for p, x in jax.tree_util.tree_flatten_with_path(summary["params"])[0]
  }
  step = summary["history"][0]
  with open(out, "w") as f:
    json.dump(
      {
        "devices": jax.device_count(),
        "params": params,
        "metrics": {k: float(step[k]) for k in ("loss", "reward_mean", "grad_norm", "q_loss")},
        "finite": bool(np.all([np.isfinite(step[k]) for k in ("loss", "grad_norm")])),
      },
      f,
    )


if __name__ == "__main__":
  main(*sys.argv[1:])
