"""The trainer: exact resumption from a checkpoint (state + data iterator), non-finite loss handling."""

import configs_for_tests as cft
import numpy as np
import pytest

from hrm_jax.train import trainer


def test_resume_gives_identical_losses(tmp_path):
  config = cft.tiny_train_config(num_steps=6)
  full = trainer.train_and_evaluate(config, str(tmp_path / "full"), cft.copy_task_datasets(config))
  part = str(tmp_path / "part")
  first = trainer.train_and_evaluate(config, part, cft.copy_task_datasets(config), stop_at_step=3)
  assert first["stopped_at"] == 3
  second = trainer.train_and_evaluate(config, part, cft.copy_task_datasets(config))
  resumed = first["history"] + second["history"]
  assert [h["step"] for h in resumed] == [h["step"] for h in full["history"]] == [1, 2, 3, 4, 5, 6]
  for a, b in zip(full["history"], resumed):
    for key in ("loss", "lm_loss", "q_halt_loss", "grad_norm"):
      np.testing.assert_allclose(a[key], b[key], rtol=1e-6, atol=1e-6)
  assert "eval" in second and second["eval"]["sequences"] > 0


def test_non_finite_loss_stops_with_the_step_named(tmp_path):
  config = cft.tiny_train_config(num_steps=4)
  config.optimizer.learning_rate = 1e30  # diverges on the first update
  config.optimizer.name = "adamw"
  with pytest.raises(trainer.TrainingError, match=r"non-finite loss or gradient at step \d"):
    trainer.train_and_evaluate(config, str(tmp_path), cft.copy_task_datasets(config))
