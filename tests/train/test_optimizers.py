"""Adam-atan2 against a NumPy implementation of its formula; sign-SGD rows; the reference LR schedule."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from hrm_jax.train import optimizers


def numpy_adam_atan2(p, grads, lr, b1, b2, wd):
  m = np.zeros_like(p)
  v = np.zeros_like(p)
  for t, g in enumerate(grads, start=1):
    p = p * (1 - lr * wd)
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    p = p - (lr / (1 - b1**t)) * np.arctan2(m, np.sqrt(v) / np.sqrt(1 - b2**t))
  return p


def test_adam_atan2_matches_the_formula():
  rng = np.random.default_rng(0)
  p0 = rng.normal(size=(4, 3)).astype(np.float64)
  grads = [rng.normal(size=(4, 3)) for _ in range(5)]
  tx = optimizers.adam_atan2(0.01, 0.9, 0.95, weight_decay=0.1)
  params = jnp.asarray(p0, jnp.float32)
  state = tx.init(params)
  for g in grads:
    updates, state = tx.update(jnp.asarray(g, jnp.float32), state, params)
    params = optax.apply_updates(params, updates)
  np.testing.assert_allclose(params, numpy_adam_atan2(p0, grads, 0.01, 0.9, 0.95, 0.1), rtol=1e-5, atol=1e-6)
  # First step is ~0.997 * lr * sign(g) (bias correction outside the atan2), not pi/4 * lr.
  tx = optimizers.adam_atan2(1.0, 0.9, 0.95)
  upd, _ = tx.update(jnp.asarray([2.0, -3.0]), tx.init(jnp.zeros(2)), jnp.zeros(2))
  expected = -np.arctan2(0.1 * np.array([2.0, -3.0]), np.sqrt(0.05 * np.array([4.0, 9.0])) / np.sqrt(0.05)) / 0.1
  np.testing.assert_allclose(upd, expected, rtol=1e-6)
  np.testing.assert_allclose(np.abs(upd), 0.99668652, rtol=1e-6)


def test_reference_schedule_first_update_uses_base_over_warmup():
  s = optimizers.reference_schedule(1e-4, 2000, 10_000, 1.0)
  np.testing.assert_allclose(s(jnp.asarray(0)), 1e-4 / 2000, rtol=1e-6)
  np.testing.assert_allclose(s(jnp.asarray(5000)), 1e-4, rtol=1e-6)  # constant after warm-up (ratio 1)
  cos = optimizers.reference_schedule(1.0, 10, 110, 0.1)
  np.testing.assert_allclose(cos(jnp.asarray(109)), 0.1, rtol=1e-5)


def test_puzzle_table_sign_sgd_touches_only_rows_in_the_batch():
  cfg = ml_collections.ConfigDict(
    dict(
      name="adam_atan2",
      learning_rate=0.1,
      warmup_steps=1,
      lr_min_ratio=1.0,
      b1=0.9,
      b2=0.95,
      weight_decay=0.0,
      grad_clip_norm=0.0,
      puzzle_emb_lr=0.5,
      puzzle_emb_weight_decay=0.2,
    )
  )
  tx = optimizers.make_optimizer(cfg, total_steps=10)
  params = {"puzzle_emb": jnp.ones((4, 2)), "H_init": jnp.ones(2), "w": jnp.ones(2)}

  def loss(p):  # rows 1 (twice) and 3 are in the batch
    rows = jnp.take(p["puzzle_emb"], jnp.asarray([1, 1, 3]), axis=0)
    return jnp.sum(rows * jnp.asarray([[1.0, -2.0]])) + jnp.sum(p["w"] * p["H_init"])

  grads = jax.grad(loss)(params)
  updates, _ = tx.update(grads, tx.init(params), params)
  new = optax.apply_updates(params, updates)
  np.testing.assert_allclose(new["puzzle_emb"][0], [1.0, 1.0])
  np.testing.assert_allclose(new["puzzle_emb"][1], [1 - 0.5 * (1 + 0.2), 1 - 0.5 * (-1 + 0.2)], rtol=1e-6)
  np.testing.assert_allclose(new["H_init"], params["H_init"])  # frozen buffer
  assert not np.allclose(new["w"], params["w"])
