"""Sharded training on 8 fake CPU devices: data-parallel, FSDP and tensor-parallel meshes give the losses of
one device, and parameters are laid out as the logical axis rules say (subprocesses: the fake device count
must be set before JAX starts, and must not leak into the other tests of the session)."""

import json
import os
import subprocess
import sys

import configs_for_tests as cft
import numpy as np
import pytest

from hrm_jax.train import sharding

WORKER = os.path.join(os.path.dirname(__file__), "mesh_worker.py")


def run_worker(tmp_path, devices, specs, name):
  env = cft.fake_devices_env(devices)
  out = tmp_path / f"{name}.json"
  proc = subprocess.run(
    [sys.executable, WORKER, str(out), str(tmp_path / name), *specs],
    env=env,
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  return json.loads(out.read_text())


def test_mesh_shape_fills_the_rest_and_names_bad_configs():
  assert sharding.mesh_shape(sharding.mesh_config(), 8) == (8, 1, 1)
  assert sharding.mesh_shape(sharding.mesh_config(data=2, fsdp=-1, tensor=2), 8) == (2, 2, 2)
  with pytest.raises(ValueError, match="at most one"):
    sharding.mesh_shape(sharding.mesh_config(data=-1, fsdp=-1), 8)
  with pytest.raises(ValueError, match="3 does not divide 8"):
    sharding.mesh_shape(sharding.mesh_config(data=-1, tensor=3), 8)
  with pytest.raises(ValueError, match="names mesh axis 'model'"):
    sharding._rules(sharding.mesh_config(logical_axis_rules=(("mlp", "model"),)))


@pytest.mark.slow
def test_data_fsdp_and_tensor_parallel_match_one_device(tmp_path):
  # Two meshes (each a training compile): FSDP alone, and all three axes at once (data, FSDP and tensor parallel
  # together, which also covers each of them on its own axis: the data-parallel and tensor-parallel meshes alone
  # lay out a subset of what the mixed one does).
  single = run_worker(tmp_path, 1, ["data=1"], "single")["data=1"]
  meshes = run_worker(tmp_path, 8, ["fsdp=8", "data=2,fsdp=2,tensor=2"], "multi")
  for spec, result in meshes.items():
    assert result["devices"] == 8
    np.testing.assert_allclose(result["losses"], single["losses"], rtol=2e-4, atol=2e-5, err_msg=spec)
    np.testing.assert_allclose(result["param_sum"], single["param_sum"], rtol=1e-4, err_msg=spec)

  qkv = "['L_level']['layers_0']['self_attn']['qkv_proj']['kernel']"  # logical (embed, qkv): [16, 48]
  gate_up = "['H_level']['layers_0']['mlp']['gate_up_proj']['kernel']"  # (embed, mlp): [16, 512]
  embed = "['embed_tokens']['embedding']"  # (vocab, embed): [16, 16]
  # FSDP: the embed dimension split 8 ways.
  fsdp = meshes["fsdp=8"]["params"]
  assert fsdp[qkv]["local"] == [2, 48] and fsdp[gate_up]["local"] == [2, 512] and fsdp[embed]["local"] == [16, 2]
  # All three axes: embed split 2 ways (FSDP), the qkv, mlp and vocab dimensions 2 ways (tensor), replicated
  # over the 2 data-parallel groups.
  mixed = meshes["data=2,fsdp=2,tensor=2"]["params"]
  assert mixed[qkv]["local"] == [8, 24] and mixed[gate_up]["local"] == [8, 256] and mixed[embed]["local"] == [8, 8]
  assert "tensor" in mixed[gate_up]["spec"] and "fsdp" in mixed[gate_up]["spec"]
  assert all("data" not in p["spec"] for p in mixed.values())
