"""The two TensorBoard writers (`config.train.metric_writer`): `EventFileWriter` (no TensorFlow; the default for a
local workdir) and CLU's TensorFlow writer write event files that TensorBoard's own reader reads back as the same
scalars, texts and hyperparameters; an unknown writer name is refused before training starts."""

import numpy as np
import pytest

from hrm_jax.train import metrics
from hrm_jax.train.config import TrainConfig


def _write_and_read(backend, workdir):
  writer = metrics.create_writer(str(workdir), backend)
  writer.write_hparams({"model.hidden_size": 32, "optimizer.name": "adamw"})
  for step, loss in ((1, 2.5), (2, np.float32(1.25)), (3, np.asarray(0.5))):
    writer.write_scalars(step, {"train/loss": loss, "perf/steps_per_sec": 10.0 * step})
  writer.write_texts(3, {"samples/generation": "def f():\n  return 1"})
  writer.close()
  from tensorboard.backend.event_processing import event_accumulator
  from tensorboard.util import tensor_util

  acc = event_accumulator.EventAccumulator(str(workdir / "tensorboard"), size_guidance={"tensors": 0})
  acc.Reload()
  scalars = {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
  if not scalars:  # TensorFlow 2's summary API writes scalars as tensors
    scalars = {
      tag: [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]
      for tag in acc.Tags()["tensors"]
      if not tag.startswith("samples/") and not tag.startswith("_hparams_")
    }
  texts = {e.step: tensor_util.make_ndarray(e.tensor_proto).item().decode() for e in acc.Tensors("samples/generation")}
  return scalars, texts, set(acc.PluginTagToContent("hparams"))


def test_default_and_clu_writers_are_read_back_alike(tmp_path):
  assert metrics.create_writer(str(tmp_path / "auto")).__class__ is metrics.EventFileWriter
  default, texts, hparams = _write_and_read("tensorboard", tmp_path / "default")
  assert default == {
    "train/loss": [(1, 2.5), (2, 1.25), (3, 0.5)],
    "perf/steps_per_sec": [(1, 10.0), (2, 20.0), (3, 30.0)],
  }
  assert texts == {3: "def f():\n  return 1"} and hparams
  pytest.importorskip("tensorflow")
  clu_scalars, clu_texts, clu_hparams = _write_and_read("clu", tmp_path / "clu")
  assert clu_scalars == default and clu_texts == texts and clu_hparams


def test_unknown_writer_is_named():
  with pytest.raises(ValueError, match="config.train.metric_writer='wandb'"):
    TrainConfig.from_config({"metric_writer": "wandb"}).validate()
  with pytest.raises(ValueError, match="choose auto, tensorboard, clu"):
    metrics.create_writer("/nonexistent", "wandb")
