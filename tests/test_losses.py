"""Losses and metrics on hand-computed cases (hrm-spec.md section 3)."""

import jax.numpy as jnp
import numpy as np
import pytest

from hrm_jax import losses


def test_stablemax_by_hand():
  logits = jnp.asarray([[0.0, 1.0, -1.0]])
  # s = [1, 2, 1/2] -> p = s / 3.5
  got = losses.stablemax_cross_entropy(logits, jnp.asarray([1]))
  np.testing.assert_allclose(got, [-np.log(2 / 3.5)], rtol=1e-6)
  got = losses.stablemax_cross_entropy(logits, jnp.asarray([2]))
  np.testing.assert_allclose(got, [-np.log(0.5 / 3.5)], rtol=1e-6)
  assert float(losses.stablemax_cross_entropy(logits, jnp.asarray([-100]))[0]) == 0.0


def test_softmax_cross_entropy_by_hand():
  logits = jnp.asarray([[0.0, 1.0, -1.0]])
  expected = -(1.0 - np.log(np.exp(0) + np.exp(1) + np.exp(-1)))
  np.testing.assert_allclose(losses.softmax_cross_entropy(logits, jnp.asarray([1])), [expected], rtol=1e-6)


def test_act_loss_per_sequence_normalisation_and_metrics():
  # Two sequences, vocab 2. Sequence 0: 2 valid labels, both right. Sequence 1: 1 valid label, wrong.
  logits = jnp.asarray([[[2.0, 0.0], [0.0, 2.0], [0.0, 0.0]], [[0.0, 2.0], [0.0, 0.0], [0.0, 0.0]]])
  labels = jnp.asarray([[0, 1, -100], [0, -100, -100]])
  q_halt = jnp.asarray([1.0, -2.0])
  q_cont = jnp.asarray([0.5, 0.5])
  target = jnp.asarray([0.25, 0.75])
  halted = jnp.asarray([True, False])
  steps = jnp.asarray([3, 1])
  total, m = losses.act_loss(logits, labels, q_halt, q_cont, target, halted, steps, "softmax")
  ce_right = -np.log(np.exp(2) / (np.exp(2) + 1))
  ce_wrong = -np.log(1 / (np.exp(2) + 1))
  lm = (2 * ce_right) / 2 + ce_wrong / 1
  bce = lambda x, y: -(y * np.log(1 / (1 + np.exp(-x))) + (1 - y) * np.log(1 - 1 / (1 + np.exp(-x))))
  q_halt_loss = bce(1.0, 1.0) + bce(-2.0, 0.0)
  q_cont_loss = bce(0.5, 0.25) + bce(0.5, 0.75)
  np.testing.assert_allclose(m["lm_loss"], lm, rtol=1e-5)
  np.testing.assert_allclose(m["q_halt_loss"], q_halt_loss, rtol=1e-5)
  np.testing.assert_allclose(total, lm + 0.5 * (q_halt_loss + q_cont_loss), rtol=1e-5)
  # Metrics count only the halted slot (sequence 0).
  assert float(m["count"]) == 1 and float(m["accuracy"]) == 1.0 and float(m["exact_accuracy"]) == 1.0
  assert float(m["q_halt_accuracy"]) == 1.0 and float(m["steps"]) == 3.0
  norm = losses.normalise_metrics({k: float(v) for k, v in m.items()}, global_batch=2)
  assert norm["lm_loss"] == pytest.approx(lm / 2, rel=1e-5) and norm["steps"] == 3.0


def test_unknown_loss_names_the_field():
  with pytest.raises(ValueError, match="config.train.loss_type"):
    losses.token_loss_fn("hinge")


def test_stablemax_gradient_is_finite_at_one():
  import jax

  g = jax.grad(lambda x: losses.stablemax_cross_entropy(x, jnp.asarray([0]))[0])(jnp.asarray([[1.0, 1.0, -2.0]]))
  assert np.all(np.isfinite(g))
