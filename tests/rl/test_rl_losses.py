"""The RL update's pieces that live with the supervised ones: the halting Q loss (hrm_jax/losses.py) and the
non-finite guard (hrm_jax/train/step.py, one function for SFT and RL)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from hrm_jax import losses
from hrm_jax.train import step as step_lib


def _bce(logit, target):
  return -(target * np.log(1 / (1 + np.exp(-logit))) + (1 - target) * np.log(1 - 1 / (1 + np.exp(-logit))))


def test_halting_q_loss_supervises_the_halt_segment_and_the_continues_before_it():
  q_halt = jnp.asarray([[0.3, -1.2, 2.0], [0.5, 9.0, 9.0]], jnp.float32)
  q_continue = jnp.asarray([[1.5, 7.0, 7.0], [-9.0, -9.0, -9.0]], jnp.float32)
  depth = jnp.asarray([2, 1])
  target = jnp.asarray([0.81, 0.0], jnp.float32)
  loss, metrics = losses.halting_q_loss(q_halt, q_continue, depth, target)
  # row 0 halted at segment 2: its halt logit there and its continue logit at segment 1 learn 0.81;
  # row 1 halted at segment 1: only that halt logit learns 0. Logits past the halt are not supervised.
  row0 = (_bce(-1.2, 0.81) + _bce(1.5, 0.81)) / 2
  row1 = _bce(0.5, 0.0)
  np.testing.assert_allclose(loss, (row0 + row1) / 2, rtol=1e-6)
  # halt accuracy: row 0 logit -1.2 says "fails" while 0.81 >= 0.5 passes; row 1 logit 0.5 says "passes", wrong
  assert float(metrics["q_halt_accuracy"]) == 0.0 and float(metrics["q_loss"]) == float(loss)
  grads = jax.grad(lambda h, c: losses.halting_q_loss(h, c, depth, target)[0], argnums=(0, 1))(q_halt, q_continue)
  assert np.count_nonzero(np.asarray(grads[0])) == 2 and np.count_nonzero(np.asarray(grads[1])) == 1


def test_guarded_update_is_a_no_op_when_the_loss_or_gradient_is_not_finite():
  tx = optax.adam(0.1)
  params = {"w": jnp.ones(3)}
  opt_state = tx.init(params)
  good = step_lib.guarded_update(tx, params, opt_state, {"w": jnp.ones(3)}, jnp.float32(1.0))
  assert bool(good.finite) and not np.allclose(good.params["w"], 1.0)
  for grads, loss in (
    ({"w": jnp.asarray([1.0, jnp.nan, 0.0])}, jnp.float32(1.0)),
    ({"w": jnp.ones(3)}, jnp.float32(jnp.inf)),
  ):
    bad = jax.jit(lambda g, l: step_lib.guarded_update(tx, params, opt_state, g, l))(grads, loss)
    assert not bool(bad.finite)
    np.testing.assert_array_equal(bad.params["w"], params["w"])
    jax.tree.map(np.testing.assert_array_equal, bad.opt_state, opt_state)
