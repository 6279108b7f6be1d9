import itertools
import math

import pytest

from hrm_jax.evals.pass_at_k import mean_pass_at_k, pass_at_k


def _enumerate(n, c, k):
  samples = [True] * c + [False] * (n - c)
  subsets = list(itertools.combinations(range(n), k))
  return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_matches_direct_enumeration(n):
  for c in range(n + 1):
    for k in range(1, n + 1):
      assert math.isclose(pass_at_k(n, c, k), _enumerate(n, c, k), abs_tol=1e-12), (n, c, k)


def test_known_values_and_errors():
  assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
  assert pass_at_k(10, 0, 5) == 0.0
  assert pass_at_k(10, 6, 5) == 1.0
  with pytest.raises(ValueError):
    pass_at_k(3, 4, 1)
  with pytest.raises(ValueError):
    pass_at_k(3, 1, 4)


def test_mean_requires_enough_samples():
  assert mean_pass_at_k([(10, 3), (10, 0)], 1) == pytest.approx(0.15)
  assert mean_pass_at_k([(10, 3), (4, 0)], 5) is None
  assert mean_pass_at_k([], 1) is None
