"""The one checkpointer (hrm_jax/train/checkpoint.py): digests written at commit and verified before restore,
non-finite restores refused, JSON extras, read-only inference restores, and a sound checkpoint of another
configuration never set aside."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hrm_jax.train import checkpoint


def _state(scale: float = 1.0):
  return {
    "params": {"w": jnp.arange(64.0) * scale, "b": jnp.ones((3, 4)) * scale},
    "opt_state": {"mu": jnp.zeros(64)},
    "step": jnp.asarray(3, jnp.int32),
  }


def _save(workdir, steps, scale=1.0, **kwargs):
  ckpt = checkpoint.Checkpointer(workdir, keep=5)
  for step in steps:
    ckpt.save(step, _state(scale * step), extras={"rollout": {"next_step": step}}, force=True, **kwargs)
  ckpt.close()
  return ckpt


def _overwrite_with_random_bytes(step_dir):
  for root, _, files in os.walk(step_dir):
    for name in files:
      if name != checkpoint.DIGEST_FILE:
        path = os.path.join(root, name)
        size = os.path.getsize(path)
        with open(path, "wb") as f:
          f.write(os.urandom(size))


def test_digest_written_at_commit_and_restore_round_trip(tmp_path):
  ckpt = _save(str(tmp_path), [1, 2])
  for step in (1, 2):
    with open(os.path.join(ckpt.step_dir(step), checkpoint.DIGEST_FILE)) as f:
      files = json.load(f)["files"]
    assert any(n.startswith("state/") for n in files) and any(n.startswith("rollout/") for n in files)
    assert checkpoint.verify_digest(ckpt.step_dir(step)) is None
  ckpt = checkpoint.Checkpointer(str(tmp_path))
  restored = ckpt.restore(_state(), extras=("rollout",))
  ckpt.close()
  assert restored.step == 2 and restored.extras == {"rollout": {"next_step": 2}}
  np.testing.assert_array_equal(restored.state["params"]["w"], np.arange(64.0) * 2)


def test_random_bytes_are_caught_by_the_digest_and_set_aside(tmp_path, capsys):
  ckpt = _save(str(tmp_path), [1, 2])
  _overwrite_with_random_bytes(ckpt.step_dir(2))
  assert "differs from the digest" in checkpoint.verify_digest(ckpt.step_dir(2))
  ckpt = checkpoint.Checkpointer(str(tmp_path))
  restored = ckpt.restore(_state(), extras=("rollout",))
  ckpt.close()
  assert restored.step == 1 and restored.extras["rollout"]["next_step"] == 1
  out = capsys.readouterr().out
  assert "checkpoint step 2" in out and "differs from the digest" in out
  assert f"moved the unreadable checkpoint to {ckpt.step_dir(2)}.unreadable" in out
  assert sorted(os.listdir(ckpt.directory)) == ["1", "2.unreadable"]


def test_non_finite_values_are_refused(tmp_path, capsys):
  _save(str(tmp_path), [1])
  ckpt = checkpoint.Checkpointer(str(tmp_path))
  bad = _state()
  bad["params"]["b"] = bad["params"]["b"].at[1, 2].set(jnp.nan)
  ckpt.save(2, bad, force=True)
  ckpt.close()
  ckpt = checkpoint.Checkpointer(str(tmp_path))
  restored = ckpt.restore(_state())
  ckpt.close()
  assert restored.step == 1
  assert "non-finite values in state['params']['b']" in capsys.readouterr().out
  with pytest.raises(checkpoint.CheckpointUnreadable, match="checkpoint step 2 .* does not exist"):
    checkpoint.Checkpointer(str(tmp_path), read_only=True).restore(_state(), step=2)


def test_another_configuration_is_refused_not_set_aside(tmp_path):
  ckpt = _save(str(tmp_path), [1])
  other = _state()
  other["params"]["w"] = jnp.zeros(32)
  ckpt = checkpoint.Checkpointer(str(tmp_path))
  with pytest.raises(checkpoint.CheckpointMismatch, match=r"params/w has shape \(64,\) in the checkpoint but \(32,\)"):
    ckpt.restore(other)
  ckpt.close()
  assert os.listdir(ckpt.directory) == ["1"]


def test_read_only_restores_only_params_and_sets_nothing_aside(tmp_path, capsys):
  ckpt = _save(str(tmp_path), [1, 2])
  _overwrite_with_random_bytes(ckpt.step_dir(2))
  reader = checkpoint.Checkpointer(str(tmp_path), read_only=True)
  template = {"params": jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), _state()["params"])}
  restored = reader.restore(template, params_only=True)
  reader.close()
  assert restored.step == 1 and list(restored.state) == ["params"]
  np.testing.assert_array_equal(restored.state["params"]["b"], np.ones((3, 4)))
  assert "trying an older one" in capsys.readouterr().out
  assert sorted(os.listdir(ckpt.directory)) == ["1", "2"]  # a reader renames nothing
  with pytest.raises(checkpoint.CheckpointSaveError, match="read-only"):
    reader.save(3, _state())


def test_async_extras_are_a_snapshot(tmp_path):
  ckpt = checkpoint.Checkpointer(str(tmp_path), keep=2)
  history = [{"step": 1}]
  ckpt.save(1, _state(), extras={"rollout": {"history": history}}, force=True)
  history.append({"step": 2})  # the caller goes on while the save may still be writing
  ckpt.close()
  ckpt = checkpoint.Checkpointer(str(tmp_path))
  restored = ckpt.restore(_state(), extras=("rollout",))
  ckpt.close()
  assert restored.extras["rollout"]["history"] == [{"step": 1}]


def test_a_save_into_a_vanished_directory_is_one_line(tmp_path):
  ckpt = checkpoint.Checkpointer(str(tmp_path), keep=2, async_save=False)
  ckpt.save(1, _state(), force=True)
  os.chmod(ckpt.directory, 0o500)
  try:
    if os.access(ckpt.directory, os.W_OK):  # root ignores permissions: make the path a file instead
      os.chmod(ckpt.directory, 0o700)
      import shutil

      shutil.rmtree(ckpt.directory)
      with open(ckpt.directory, "w") as f:
        f.write("not a directory")
    with pytest.raises(checkpoint.CheckpointSaveError) as info:
      ckpt.save(2, _state(2.0), force=True)
  finally:
    if os.path.isdir(ckpt.directory):
      os.chmod(ckpt.directory, 0o700)
  message = str(info.value)
  assert "\n" not in message and message.startswith(f"saving checkpoint step 2 to {ckpt.directory} failed (")
