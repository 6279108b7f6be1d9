"""The unbiased pass@k estimator (Chen et al. 2021, "Evaluating Large Language Models Trained on Code").

pass@k = 1 - C(n - c, k) / C(n, k) for n samples of which c are correct: the probability that a random
k-subset of the samples holds at least one correct one. Computed as 1 - prod_{i=n-c+1}^{n} (1 - k / i), which
is numerically stable; it is 1 when n - c < k. LiveCodeBench averages it over problems and reports a k only if
every problem has n >= k (lcb_runner/evaluation/pass_k_utils.py, as summarised in benchmarks.md B4).
"""

from __future__ import annotations

from collections.abc import Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
  """Unbiased pass@k for one problem with `n` samples, `c` of them correct."""
  if not 0 <= c <= n:
    raise ValueError(f"need 0 <= correct <= samples, got correct={c}, samples={n}")
  if not 1 <= k <= n:
    raise ValueError(f"need 1 <= k <= samples, got k={k}, samples={n}")
  if n - c < k:
    return 1.0
  product = 1.0
  for i in range(n - c + 1, n + 1):
    product *= 1.0 - k / i
  return 1.0 - product


def mean_pass_at_k(counts: Sequence[tuple[int, int]], k: int) -> float | None:
  """Mean pass@k over problems given (samples, correct) pairs; None if some problem has fewer than k samples."""
  if not counts or any(n < k for n, _ in counts):
    return None
  return sum(pass_at_k(n, c, k) for n, c in counts) / len(counts)
