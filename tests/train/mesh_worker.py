"""Runs a few training steps of a tiny copy-task model under the meshes named on the command line and writes
the losses and parameter shardings as JSON (run in a subprocess by test_sharding.py, with fake CPU devices).

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python tests/train/mesh_worker.py OUT.json WORKDIR \
        data=8 fsdp=8 data=4,tensor=2
"""

import json
import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import configs_for_tests as cft  # noqa: E402
import jax  # noqa: E402
import numpy as np  # noqa: E402

from hrm_jax.train import synthetic_data, trainer  # noqa: E402


def mesh_config(spec: str) -> dict:
  sizes = {"data": 1, "fsdp": 1, "tensor": 1}
  for part in spec.split(","):
    name, value = part.split("=")
    sizes[name] = int(value)
  return sizes


def main(out_path: str, workdir: str, specs: list[str]) -> None:
  results = {}
  for spec in specs:
    config = cft.tiny_train_config(num_steps=2)
    config.train.batch_size = 8
    config.train.eval_batch_size = 8
    config.train.checkpoint_every = 100
    config.data = synthetic_data.copy_task_config(num_train=32, num_eval=0)
    config.mesh.update(mesh_config(spec))
    summary = trainer.train_and_evaluate(config, os.path.join(workdir, spec.replace(",", "_").replace("=", "")))
    params = summary["params"]
    shards = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
      shards[jax.tree_util.keystr(path)] = {
        "spec": str(leaf.sharding.spec),
        "global": list(leaf.shape),
        "local": list(leaf.addressable_shards[0].data.shape),
      }
    results[spec] = {
      "devices": jax.device_count(),
      "losses": [[h[k] for k in ("loss", "lm_loss", "q_halt_loss", "grad_norm")] for h in summary["history"]],
      "params": shards,
      "param_sum": float(sum(np.abs(np.asarray(jax.device_get(x))).sum() for x in jax.tree.leaves(params))),
    }
  with open(out_path, "w") as f:
    json.dump(results, f)


if __name__ == "__main__":
  main(sys.argv[1], sys.argv[2], sys.argv[3:])
