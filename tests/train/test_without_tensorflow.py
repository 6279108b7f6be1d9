"""Training where TensorFlow is not installed (as on stock accelerator images): `hrm-jax train` runs, and the
TensorBoard event files it writes are read by TensorBoard's own event reader. TensorFlow is made unimportable
in the subprocess by a `sitecustomize` whose path finder does not see it (so `importlib.util.find_spec` answers
None, as when the package is absent); the light commands must not import TensorFlow or JAX at all."""

import os
import subprocess
import sys

import pytest
from scale_helpers import HRM_JAX, logged, write_config

HIDE_TENSORFLOW = """
import importlib.machinery
import sys

_HIDDEN = ("tensorflow", "tensorflow_datasets", "tf_keras")


class _PathFinderWithoutTensorFlow(importlib.machinery.PathFinder):
  @classmethod
  def find_spec(cls, fullname, path=None, target=None):
    if fullname.split(".")[0] in _HIDDEN:
      return None
    return super().find_spec(fullname, path, target)


sys.meta_path[:] = [_PathFinderWithoutTensorFlow if f is importlib.machinery.PathFinder else f
                    for f in sys.meta_path]
"""


def _env_without_tensorflow(tmp_path):
  site = tmp_path / "no_tensorflow"
  site.mkdir()
  (site / "sitecustomize.py").write_text(HIDE_TENSORFLOW)
  return dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(site))


@pytest.mark.slow
def test_train_without_tensorflow_writes_readable_event_files(tmp_path):
  env = _env_without_tensorflow(tmp_path)
  probe = subprocess.run([sys.executable, "-c", "import tensorflow"], env=env, capture_output=True, text=True)
  assert probe.returncode != 0 and "No module named 'tensorflow'" in probe.stderr
  workdir = tmp_path / "run"
  out = subprocess.run(
    [HRM_JAX, "train", "--config", write_config(tmp_path, num_steps=4, checkpoint_every=2), "--workdir", str(workdir)],
    env=env,
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
  assert [r["step"] for r in logged(workdir)] == [1, 2, 3, 4]

  from tensorboard.backend.event_processing import event_accumulator

  acc = event_accumulator.EventAccumulator(str(workdir / "tensorboard"))
  acc.Reload()
  tags = acc.Tags()["scalars"]
  assert "train/loss" in tags and "perf/steps_per_sec" in tags, tags
  losses = [e.value for e in acc.Scalars("train/loss")]
  assert [e.step for e in acc.Scalars("train/loss")] == [1, 2, 3, 4]
  assert losses == pytest.approx([r["loss"] for r in logged(workdir)], rel=1e-6)


def test_light_commands_import_neither_tensorflow_nor_jax(tmp_path):
  env = _env_without_tensorflow(tmp_path)
  code = (
    "import sys\nfrom hrm_jax import cli\n"
    "for argv in (['--help'], ['train', '--help'], ['train-rl', '--help'], ['eval', '--help'], ['params', '--help']):\n"
    "  try:\n    cli.main(argv)\n  except SystemExit:\n    pass\n"
    "print('LOADED', sorted(m for m in ('tensorflow', 'jax', 'jaxlib', 'clu', 'flax') if m in sys.modules))"
  )
  out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
  assert out.returncode == 0, out.stderr[-2000:]
  assert "LOADED []" in out.stdout, out.stdout[-2000:]


def test_eval_with_a_generator_command_loads_neither_tensorflow_nor_jax(tmp_path):
  env = _env_without_tensorflow(tmp_path)
  code = (
    "import sys\nfrom hrm_jax import cli\n"
    f"rc = cli.main(['eval', 'polyglot', '--exercises', 'bundled', '--generator', 'cat', '--languages', "
    f"'python', '--keywords', 'word-tally', '--out', {str(tmp_path / 'out')!r}])\n"
    "print('RC', rc, 'LOADED', sorted(m for m in ('tensorflow', 'jax', 'jaxlib') if m in sys.modules))"
  )
  out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
  assert "RC 0 LOADED []" in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]


def test_remote_workdir_without_a_file_system_is_refused_with_the_fix(tmp_path):
  """gs:// without TensorFlow needs fsspec's gcsfs (the `gcs` extra): the writer says so in one error."""
  pytest.importorskip("fsspec")
  try:
    import gcsfs  # noqa: F401

    pytest.skip("gcsfs is installed: gs:// would be reached")
  except ImportError:
    pass
  code = (
    "from hrm_jax.train import metrics\n"
    "try:\n  metrics.create_writer('gs://bucket/run')\nexcept ValueError as e:\n  print('REFUSED', e)\n"
  )
  env = _env_without_tensorflow(tmp_path)
  out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
  assert "REFUSED TensorBoard events in gs://bucket/run/tensorboard" in out.stdout, out.stdout + out.stderr[-2000:]
  assert "hrm-jax[gcs]" in out.stdout
