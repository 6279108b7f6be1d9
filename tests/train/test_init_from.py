"""`config.train.init_from`: a new run starts from another run's parameters (fresh optimizer, step 0), as QAT
starts from a trained fp32 checkpoint; the run's own checkpoint wins over it; a bad path or shape is named."""

import configs_for_tests as cft
import jax
import numpy as np
import pytest

from hrm_jax.train import checkpoint, optimizers, trainer
from hrm_jax.train import step as step_lib


def train_only(config):
  """The copy task without its held-out split: no final evaluation to compile (these tests read the history)."""
  return trainer.Datasets(train=cft.copy_task_datasets(config).train)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
  """A trained fp32 run (its workdir, config)."""
  config = cft.tiny_train_config(num_steps=2)
  workdir = str(tmp_path_factory.mktemp("fp32"))
  trainer.train_and_evaluate(config, workdir, train_only(config))
  return workdir, config


def test_init_from_starts_at_the_source_parameters_with_a_fresh_optimizer(tmp_path, source, capsys):
  src, src_config = source
  config = cft.tiny_train_config(num_steps=1)
  config.train.init_from = src
  summary = trainer.train_and_evaluate(config, str(tmp_path / "new"), train_only(config))
  assert "Initialised the parameters from" in capsys.readouterr().out
  # The reference: the source parameters through the trainer's step once, from a fresh optimizer state at step 0.
  model, params, _ = checkpoint.load_for_inference(src)
  tx = optimizers.make_optimizer(config.optimizer, config.train.num_steps)
  batch = trainer._model_batch(next(cft.copy_task_datasets(config).train()))
  state = step_lib.create_train_state(model, params["params"], tx, batch)
  _, step_rng = jax.random.split(jax.random.key(config.train.seed))
  tc = config.train
  state, metrics = jax.jit(lambda s, b: step_lib.train_step(model, tx, tc.loss_type, tc.batch_size, step_rng, s, b))(
    state, batch
  )
  assert [h["step"] for h in summary["history"]] == [1]
  np.testing.assert_allclose(summary["history"][0]["loss"], float(metrics["loss"]), rtol=1e-5)
  for got, want in zip(jax.tree.leaves(summary["params"]), jax.tree.leaves(state.params)):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)


def test_resuming_wins_over_init_from(tmp_path, source, capsys):
  src, _ = source
  config = cft.tiny_train_config(num_steps=4)
  config.train.init_from = src
  workdir = str(tmp_path / "run")
  first = trainer.train_and_evaluate(config, workdir, train_only(config), stop_at_step=2)
  assert first["stopped_at"] == 2 and "Initialised the parameters from" in capsys.readouterr().out
  config.train.init_from = str(tmp_path / "does-not-exist")  # never read: the workdir's own checkpoint wins
  second = trainer.train_and_evaluate(config, workdir, train_only(config))
  out = capsys.readouterr().out
  assert "Resumed from" in out and "init_from" in out and "resuming wins" in out
  assert [h["step"] for h in second["history"]] == [3, 4]


@pytest.mark.slow  # compiles the AQT train step (~1 min on the 2-core CPU)
def test_qat_starts_from_the_fp32_parameters(tmp_path, source):
  src, _ = source
  config = cft.tiny_train_config(num_steps=2)
  config.model.quant = "w4a8g16"  # the int4 recipe that holds, fine-tuned from the fp32 run (docs/export.md)
  config.train.init_from = src
  summary = trainer.train_and_evaluate(config, str(tmp_path / "qat"), train_only(config))
  assert np.all(np.isfinite([h["loss"] for h in summary["history"]]))
  _, params, _ = checkpoint.load_for_inference(src)
  # two Adam steps of lr <= 1e-2 move each weight by ~2e-2 at most; a random initialisation is ~1 away
  moved = max(
    float(np.abs(np.asarray(a) - np.asarray(b)).max())
    for a, b in zip(jax.tree.leaves(summary["params"]), jax.tree.leaves(params["params"]))
  )
  assert 0 < moved < 0.05


def test_init_from_errors_name_the_field(tmp_path, source):
  src, _ = source
  config = cft.tiny_train_config(num_steps=1)
  config.train.init_from = str(tmp_path / "empty")
  (tmp_path / "empty").mkdir()
  with pytest.raises(ValueError, match=r"config\.train\.init_from=.*empty.*not found"):
    trainer.train_and_evaluate(config, str(tmp_path / "a"), cft.copy_task_datasets(config))
  config.model.hidden_size = 32  # another shape than the fp32 run's 16
  config.train.init_from = src + "/checkpoints"  # a workdir's checkpoints/ directory names the workdir
  with pytest.raises(ValueError, match=r"config\.train\.init_from=.*has shape \(.*16.*\) there but \(.*32"):
    trainer.train_and_evaluate(config, str(tmp_path / "b"), cft.copy_task_datasets(config))
