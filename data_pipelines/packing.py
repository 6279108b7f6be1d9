"""Attention masks for packed rows (input_pipeline with `packing=True`).

A packed row holds several examples; `segment_ids` numbers them 1, 2, ... and marks padding 0. A token may
attend only to tokens of its own segment (and, for the causal model, only to earlier ones), so no
information crosses examples. The model applies the same rule; these NumPy versions define and test it.
"""

from __future__ import annotations

import numpy as np


def segment_attention_mask(segment_ids: np.ndarray, causal: bool = True) -> np.ndarray:
  """bool[batch, seq, seq]: mask[b, q, k] is True where query q may attend to key k.

  Args:
    segment_ids: int[batch, seq], 0 = padding.
    causal: also require k <= q.
  """
  seg = np.asarray(segment_ids)
  same = (seg[:, :, None] == seg[:, None, :]) & (seg[:, :, None] != 0)
  if causal:
    n = seg.shape[1]
    same &= np.tril(np.ones((n, n), dtype=bool))[None]
  return same


def labels_stay_in_segment(labels: np.ndarray, segment_ids: np.ndarray, inputs: np.ndarray) -> bool:
  """True when every non-ignored label at position t is the next input of the same segment."""
  labels, seg, inputs = map(np.asarray, (labels, segment_ids, inputs))
  b, t = np.nonzero(labels[:, :-1] != -100)
  ok = (seg[b, t] == seg[b, t + 1]) & (seg[b, t] != 0) & (labels[b, t] == inputs[b, t + 1])
  last_ok = (labels[:, -1] == -100).all()
  return bool(ok.all() and last_ok)
