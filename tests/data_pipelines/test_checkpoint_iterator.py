"""The pipeline's iterator state goes into an Orbax checkpoint (grain's handler) and resumes exactly."""

import grain
import numpy as np
import orbax.checkpoint as ocp
import pytest

from hrm_jax.data_pipelines import input_pipeline as ip


@pytest.mark.parametrize(
  "overrides", [{}, {"seq_len": 512, "curriculum": "0:procedural=1;2:procedural=0.5,tool_use=0.5"}, {"packing": True}]
)
def test_orbax_checkpoint_with_grain_iterator(tmp_path, overrides):
  cfg = ip.default_data_config()
  cfg.num_train = 200
  for k, v in overrides.items():
    cfg[k] = v
  it = iter(ip.make_dataset(cfg, "train", batch_size=4, seed=0, repeat=True))
  for _ in range(3):
    next(it)
  manager = ocp.CheckpointManager(str(tmp_path / "ckpt"), item_names=("params", "data"))
  manager.save(
    3,
    args=ocp.args.Composite(
      params=ocp.args.StandardSave({"w": np.arange(3.0)}), data=grain.checkpoint.CheckpointSave(it)
    ),
  )
  manager.wait_until_finished()
  expected = [next(it) for _ in range(3)]
  fresh = iter(ip.make_dataset(cfg, "train", batch_size=4, seed=0, repeat=True))
  restored = manager.restore(
    3,
    args=ocp.args.Composite(
      params=ocp.args.StandardRestore({"w": np.zeros(3)}), data=grain.checkpoint.CheckpointRestore(fresh)
    ),
  )
  np.testing.assert_array_equal(restored["params"]["w"], np.arange(3.0))
  for e in expected:
    g = next(fresh)
    for key in e:
      np.testing.assert_array_equal(e[key], g[key])
  manager.close()
