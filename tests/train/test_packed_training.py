"""Packed training for real (data.packing=True): a packed batch made by the data pipeline gives the same loss,
logits and metrics as the same sequences unpacked, one per row; and the trainer trains on packed batches."""

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hrm_jax import losses
from hrm_jax.data_pipelines import input_pipeline as ip
from hrm_jax.models import hrm

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "configs"))
import common  # noqa: E402

SEQ = 128


def _model_config(**overrides):
  values = dict(
    vocab_size=8192,
    seq_len=SEQ,
    hidden_size=32,
    num_heads=2,
    expansion=2.0,
    H_layers=1,
    L_layers=1,
    H_cycles=2,
    L_cycles=2,
    halt_max_steps=2,
  )
  values.update(overrides)
  return hrm.HRMConfig.from_config(common.code_model(**values))


def _unpack(packed, prefix_len):
  """The packed rows' sequences, one per row, in the unpacked layout the pipeline makes without packing."""
  rows, where = {k: [] for k in ("inputs", "labels", "language_id", "task_id", "prompt_length")}, []
  for b in range(packed["inputs"].shape[0]):
    for s in range(1, int(packed["segment_ids"][b].max()) + 1):
      idx = np.nonzero(packed["segment_ids"][b] == s)[0]
      body = idx[prefix_len:]  # after the sequence's conditioning slots
      inputs = np.zeros(SEQ, np.int32)
      labels = np.full(SEQ, -100, np.int32)
      inputs[: len(body)] = packed["inputs"][b, body]
      labels[: len(body)] = packed["labels"][b, body]
      read = int(np.nonzero(packed["q_read"][b, idx])[0][0]) - prefix_len
      rows["inputs"].append(inputs)
      rows["labels"].append(labels)
      rows["language_id"].append(packed["language_ids"][b, idx[0]])
      rows["task_id"].append(packed["task_ids"][b, idx[0]])
      rows["prompt_length"].append(read + 1)
      where.append((b, body))
  batch = {k: np.asarray(v, np.int32) for k, v in rows.items()}
  batch["puzzle_identifiers"] = np.zeros(len(where), np.int32)
  return batch, where


@pytest.mark.parametrize("pos_encodings", ["rope", "learned"])
def test_packed_batch_loss_equals_the_same_sequences_unpacked(pos_encodings):
  cfg = _model_config(pos_encodings=pos_encodings)
  data = common.data(seq_len=SEQ, languages="python,go", families="arith", num_train=64, num_eval=8, packing=True)
  it = iter(ip.make_dataset(data, "train", batch_size=3, seed=0, repeat=True, prefix_slots=cfg.prefix_len))
  packed = {k: jnp.asarray(v) for k, v in next(it).items()}
  assert int(packed["segment_ids"].max()) >= 2  # several sequences share a row
  unpacked, where = _unpack({k: np.asarray(v) for k, v in packed.items()}, cfg.prefix_len)
  unpacked = {k: jnp.asarray(v) for k, v in unpacked.items()}

  model, params = hrm.init_params(cfg, jax.random.key(0))

  def call(batch):
    carry = hrm.initial_carry(model, batch)
    keys = jax.random.split(jax.random.key(1), batch["inputs"].shape[0])
    return hrm.act_step(model, params, carry, batch, keys, train=True)

  carry_p, out_p = jax.jit(call)(packed)
  carry_u, out_u = jax.jit(call)(unpacked)
  # The same logits for every token of every sequence.
  for row, (b, body) in enumerate(where):
    n = len(body)
    np.testing.assert_allclose(out_p.logits[b, body], out_u.logits[row, :n], atol=2e-4, rtol=2e-4)
  # The same loss terms, summed over sequences (halting differs: rows halt as a unit when packed).
  loss_p, m_p = losses.packed_act_loss(
    out_p.logits,
    packed["labels"],
    packed["segment_ids"],
    packed["q_read"],
    out_p.q_halt_logits,
    out_p.q_continue_logits,
    out_p.target_q_continue,
    jnp.ones_like(carry_p.halted),
    carry_p.steps,
  )
  loss_u, m_u = losses.act_loss(
    out_u.logits,
    unpacked["labels"],
    out_u.q_halt_logits,
    out_u.q_continue_logits,
    out_u.target_q_continue,
    jnp.ones_like(carry_u.halted),
    carry_u.steps,
  )
  np.testing.assert_allclose(loss_p, loss_u, rtol=2e-5)
  for key in ("lm_loss", "q_halt_loss", "q_continue_loss", "count", "accuracy", "exact_accuracy"):
    np.testing.assert_allclose(m_p[key], m_u[key], rtol=2e-5, atol=1e-5, err_msg=key)
  assert float(m_p["count"]) == len(where)


def test_packing_needs_a_model_that_can_read_each_sequence():
  with pytest.raises(ValueError, match="q_position"):
    hrm.check_packable(_model_config(q_position="first"))
  with pytest.raises(ValueError, match="prefix_lm"):
    hrm.check_packable(_model_config(attention="prefix_lm"))


@pytest.mark.slow
def test_trainer_trains_on_packed_batches(tmp_path):
  import ml_collections

  from hrm_jax.train import trainer

  config = ml_collections.ConfigDict()
  config.model = common.code_model(
    seq_len=SEQ, hidden_size=32, num_heads=2, expansion=2.0, H_layers=1, L_layers=1, halt_max_steps=2
  )
  config.data = common.data(seq_len=SEQ, languages="python", families="arith", num_train=200, num_eval=16, packing=True)
  config.optimizer = common.optimizer(learning_rate=3e-3, warmup_steps=2)
  config.train = common.train(batch_size=4, eval_batch_size=8, num_steps=12, log_every=4, checkpoint_every=12)
  config.mesh = common.mesh()
  summary = trainer.train_and_evaluate(config, str(tmp_path / "run"))
  history = summary["history"]
  assert [h["step"] for h in history] == [4, 8, 12]
  assert history[-1]["lm_loss"] < history[0]["lm_loss"]
  assert history[0]["count"] > 4  # more sequences than rows were trained on
  assert "accuracy" in summary["eval"]  # evaluation (unpacked) runs on the packed-trained model
