"""Analytic model FLOPs per token (matmuls and attention; the usual 2 FLOPs per multiply-add).

An HRM segment applies L H_cycles*L_cycles times and H H_cycles times; training adds the ACT target pass (one
more forward segment, no backward; none with `no_ACT_continue`) and a backward through the graded applications
(`cfg.graded_applications`, 2x their forward).
"""

from __future__ import annotations

from hrm_jax.models import hrm
from hrm_jax.models.layers import swiglu_width


def block_forward_flops(cfg: hrm.HRMConfig, context: int) -> float:
  """One block application on one token attending over `context` positions."""
  d = cfg.hidden_size
  inter = swiglu_width(d, cfg.expansion)
  matmul = 2 * (d * 3 * d + d * d + d * 2 * inter + inter * d)
  attention = 2 * 2 * context * d  # scores + weighted sum
  return float(matmul + attention)


def segment_forward_flops(cfg: hrm.HRMConfig, context: int) -> float:
  blocks = sum(cfg.application_layers)  # blocks per application (HRM, TRM: one network, transformer)
  head = 2 * cfg.hidden_size * cfg.vocab_size
  # reverse_learning: one LM-head pass over z_L per H update (docs/model.md)
  feedback = cfg.num_H_applications * head if cfg.reverse_learning else 0
  return blocks * block_forward_flops(cfg, context) + head + feedback


def train_flops_per_token(cfg: hrm.HRMConfig) -> float:
  """One training call (segment forward + target-Q forward + backward of the graded applications)."""
  context = cfg.total_len if cfg.attention == "bidirectional" else cfg.total_len / 2
  forward = segment_forward_flops(cfg, context)
  target = forward if cfg.halt_max_steps > 1 and not cfg.no_ACT_continue else 0.0  # no_ACT_continue: no pass
  graded_blocks = sum(cfg.application_layers[-cfg.graded_applications :])
  head = 2 * cfg.hidden_size * cfg.vocab_size
  graded_h = sum(k == hrm.H_KIND for k in cfg.schedule[-cfg.graded_applications :]) if cfg.reverse_learning else 0
  backward = 2 * (graded_blocks * block_forward_flops(cfg, context) + head * (1 + graded_h))
  return forward + target + backward
