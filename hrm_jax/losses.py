"""Losses and metrics of the reference HRM (sapientinc/HRM `models/losses.py`; hrm-spec.md section 3).

* stablemax cross-entropy (Prieto et al. 2025, "Grokking at the edge of numerical stability"), the reference's
  default, and softmax cross-entropy; label -100 is ignored.
* LM loss with per-sequence normalisation: sum over the batch of each sequence's mean token loss.
* Q-halt BCE against exact sequence correctness, Q-continue BCE against the bootstrapped target, weighted 0.5.
* RL's halting Q loss (`halting_q_loss`): the same head trained towards sequence returns from execution.
* Metrics over the slots that halted this call and have at least one label: count, token accuracy (sum of
  per-sequence accuracies), exact accuracy, q-halt accuracy, steps. The trainer divides losses by the global
  batch and the other metrics by `count`, as the reference logs them.

The reference computes stablemax in float64; JAX's default is float32, which deviates by ~1e-7 relative
(documented choice: enable `jax_enable_x64` for bit-level parity studies).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

IGNORE_LABEL = -100


def _stablemax_s(x):
  # The negative branch is evaluated on min(x, 0) so that its unused value (and gradient) stays finite where
  # x >= 0: a bare `where` would multiply a zero cotangent by 1/(1-x)^2 = inf near x = 1 and give NaN.
  negative = jnp.minimum(x, 0.0)
  return jnp.where(x < 0, 1.0 / (1.0 - negative + 1e-30), x + 1.0)


def log_stablemax(logits, axis: int = -1):
  """log(s(x_i) / sum_j s(x_j)) with s(x) = 1/(1-x) for x < 0, x + 1 otherwise."""
  s = _stablemax_s(logits)
  return jnp.log(s / jnp.sum(s, axis=axis, keepdims=True))


def stablemax_cross_entropy(logits, labels):
  """Per-token loss [...]: -log stablemax(logits)[label]; 0 where label == -100. Computed in fp32."""
  logp = log_stablemax(logits.astype(jnp.float32))
  valid = labels != IGNORE_LABEL
  safe = jnp.where(valid, labels, 0)
  nll = -jnp.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]
  return jnp.where(valid, nll, 0.0)


def softmax_cross_entropy(logits, labels):
  """Per-token softmax cross-entropy [...]; 0 where label == -100. Computed in fp32."""
  valid = labels != IGNORE_LABEL
  safe = jnp.where(valid, labels, 0)
  nll = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), safe)
  return jnp.where(valid, nll, 0.0)


LOSSES = {"stablemax": stablemax_cross_entropy, "softmax": softmax_cross_entropy}


def token_loss_fn(name: str):
  if name not in LOSSES:
    raise ValueError(f"config.train.loss_type={name!r}: expected one of {sorted(LOSSES)}")
  return LOSSES[name]


def sequence_correctness(logits, labels):
  """(valid [b, s], correct [b, s], counts [b] clamped >= 1, seq_correct [b])."""
  valid = labels != IGNORE_LABEL
  correct = valid & (jnp.argmax(logits, axis=-1) == labels)
  counts = jnp.maximum(valid.sum(-1), 1)
  seq_correct = correct.sum(-1) == valid.sum(-1)
  return valid, correct, counts, seq_correct


def act_loss(
  logits, labels, q_halt_logits, q_continue_logits, target_q_continue, halted, steps, loss_type: str = "stablemax"
):
  """The reference ACT loss for one call.

  Args:
    logits: [batch, seq, vocab]; labels: int [batch, seq] (-100 ignored).
    q_halt_logits, q_continue_logits: fp32 [batch]; target_q_continue: fp32 [batch] or None (evaluation).
    halted: bool [batch] (slots that halted this call); steps: int [batch].
  Returns:
    (total loss summed over the batch, metrics dict of sums). Divide the loss by the global batch size.
  """
  valid, correct, counts, seq_correct = sequence_correctness(logits, labels)
  per_token = token_loss_fn(loss_type)(logits, labels)
  lm_loss = jnp.sum(per_token.sum(-1) / counts)
  q_halt_loss = jnp.sum(optax.sigmoid_binary_cross_entropy(q_halt_logits, seq_correct.astype(jnp.float32)))
  total = lm_loss + 0.5 * q_halt_loss
  metrics = {"lm_loss": lm_loss, "q_halt_loss": q_halt_loss}
  if target_q_continue is not None:
    q_continue_loss = jnp.sum(optax.sigmoid_binary_cross_entropy(q_continue_logits, target_q_continue))
    total = total + 0.5 * q_continue_loss
    metrics["q_continue_loss"] = q_continue_loss
  counted = halted & (valid.sum(-1) > 0)
  metrics.update(
    count=counted.sum().astype(jnp.float32),
    accuracy=jnp.where(counted, correct.sum(-1) / counts, 0.0).sum(),
    exact_accuracy=(counted & seq_correct).sum().astype(jnp.float32),
    q_halt_accuracy=(counted & ((q_halt_logits >= 0) == seq_correct)).sum().astype(jnp.float32),
    steps=jnp.where(counted, steps, 0).sum().astype(jnp.float32),
  )
  return total, metrics


def halting_q_loss(q_halt_logits, q_continue_logits, depth, target):
  """The ACT Q loss of RL (`hrm_jax/rl/trainer.py`): BCE of the Q head against a sequence return along the
  recorded ACT rollout. The halt logit is trained at the segment where the sampler halted, the continue logits
  at the earlier segments (where it chose to go on), all towards the row's return.

  Args:
    q_halt_logits, q_continue_logits: fp32 [batch, segments] logits of every segment;
    depth: int [batch] segments run (1..segments); target: fp32 [batch] return in [0, 1].
  Returns:
    (mean over rows of each row's mean BCE over its supervised logits, metrics `q_loss`, `q_halt_accuracy`).
  """
  m = jnp.arange(q_halt_logits.shape[1])[None, :]
  halt_here = m == (depth[:, None] - 1)
  continued = m < (depth[:, None] - 1)
  t = target[:, None].astype(jnp.float32)
  bce_halt = optax.sigmoid_binary_cross_entropy(q_halt_logits, jnp.broadcast_to(t, q_halt_logits.shape))
  bce_cont = optax.sigmoid_binary_cross_entropy(q_continue_logits, jnp.broadcast_to(t, q_continue_logits.shape))
  total = jnp.sum(jnp.where(halt_here, bce_halt, 0.0) + jnp.where(continued, bce_cont, 0.0), axis=1)
  count = jnp.sum(halt_here, axis=1) + jnp.sum(continued, axis=1)
  loss = jnp.mean(total / jnp.maximum(count, 1))
  halt_logit = jnp.sum(jnp.where(halt_here, q_halt_logits, 0.0), axis=1)
  accuracy = jnp.mean(((halt_logit >= 0) == (target >= 0.5)).astype(jnp.float32))
  return loss, {"q_loss": loss, "q_halt_accuracy": accuracy}


def normalise_metrics(sums: dict, global_batch: int) -> dict:
  """Reference logging: `*loss` keys / global batch, the rest / count (count itself kept)."""
  count = max(float(sums.get("count", 0.0)), 1.0)
  out = {}
  for k, v in sums.items():
    v = float(v)
    if k == "count":
      out[k] = v
    elif k.endswith("loss"):
      out[k] = v / global_batch
    else:
      out[k] = v / count
  return out


def packed_act_loss(
  logits,
  labels,
  segment_ids,
  q_read,
  q_halt_logits,
  q_continue_logits,
  target_q_continue,
  halted,
  steps,
  loss_type: str = "stablemax",
):
  """`act_loss` for packed rows: every packed sequence counts as the sequence it would be alone in a row.

  The LM loss is normalised per packed sequence (its mean token loss), the Q head is read at each sequence's
  `q_read` position and trained towards that sequence's exact correctness (halt) and its bootstrapped target
  (continue), and the metrics count sequences, so a packed batch's loss equals the loss of the same sequences
  unpacked (tests/train/test_packed_training.py).

  Args:
    logits [batch, seq, vocab]; labels, segment_ids (1, 2, ...; 0 = padding), q_read (1 at each sequence's Q
    position): int [batch, seq]; q_halt_logits, q_continue_logits, target_q_continue (or None): fp32
    [batch, seq]; halted bool [batch] and steps int [batch] per row (the ACT unit).
  Returns:
    (total loss summed over sequences, metrics dict of sums). Divide the loss by the global batch size.
  """
  b, s = labels.shape
  valid = labels != IGNORE_LABEL
  correct = valid & (jnp.argmax(logits, axis=-1) == labels)
  per_token = token_loss_fn(loss_type)(logits, labels)
  # Per-sequence sums by segment: ids row * (s + 1) + segment over b * (s + 1) buckets.
  ids = (jnp.arange(b)[:, None] * (s + 1) + segment_ids.astype(jnp.int32)).reshape(-1)
  n = b * (s + 1)

  def per_seq(x):
    return jax.ops.segment_sum(x.reshape(-1).astype(jnp.float32), ids, num_segments=n)

  counts, hits, loss_sums = per_seq(valid), per_seq(correct), per_seq(per_token)
  seq_of_token = lambda table: table[ids].reshape(b, s)  # noqa: E731  (each token's sequence value)
  counts_t = jnp.maximum(seq_of_token(counts), 1.0)
  seq_correct_t = seq_of_token(hits) == seq_of_token(counts)
  read = (q_read > 0) & (segment_ids > 0)
  lm_loss = jnp.sum(jnp.where(read, seq_of_token(loss_sums) / counts_t, 0.0))
  bce = optax.sigmoid_binary_cross_entropy
  q_halt_loss = jnp.sum(jnp.where(read, bce(q_halt_logits, seq_correct_t.astype(jnp.float32)), 0.0))
  total = lm_loss + 0.5 * q_halt_loss
  metrics = {"lm_loss": lm_loss, "q_halt_loss": q_halt_loss}
  if target_q_continue is not None:
    q_continue_loss = jnp.sum(jnp.where(read, bce(q_continue_logits, target_q_continue), 0.0))
    total = total + 0.5 * q_continue_loss
    metrics["q_continue_loss"] = q_continue_loss
  counted = read & halted[:, None] & (seq_of_token(counts) > 0)
  metrics.update(
    count=counted.sum().astype(jnp.float32),
    accuracy=jnp.where(counted, seq_of_token(hits) / counts_t, 0.0).sum(),
    exact_accuracy=(counted & seq_correct_t).sum().astype(jnp.float32),
    q_halt_accuracy=(counted & ((q_halt_logits >= 0) == seq_correct_t)).sum().astype(jnp.float32),
    steps=jnp.where(counted, steps[:, None], 0).sum().astype(jnp.float32),
  )
  return total, metrics
