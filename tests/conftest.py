"""Shared fixtures: tiny model configs that compile in seconds on a CPU."""

import os
import shutil
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax
import pytest

from hrm_jax.models import hrm

# Most XLA optimisation off for every program the session compiles (JAX's disable_most_optimizations: LLVM at
# level 0 without its expensive passes), here, in the xdist workers and in the subprocesses, which inherit
# JAX_DISABLE_MOST_OPTIMIZATIONS: CPU compiles take ~30% less time and the programs compute the same things (the
# tests check results, not speed; benchmarks run outside pytest with the defaults).
#
# One JAX persistent compilation cache per test session (a fresh directory, removed at the end): the tiny models
# compile to the same programs in many tests and in the CLI subprocesses they start (which inherit the
# environment), so each program is compiled once per session. Caching changes no results: an entry is keyed by
# the program, the compile options (these included), the devices and XLA_FLAGS. A cache the caller set is used as it is.
_CACHE_ENV = "JAX_COMPILATION_CACHE_DIR"
_SESSION_CACHE = "HRM_JAX_TEST_SESSION_CACHE"  # set when this session made the directory (removed at the end)


def pytest_configure(config):
  if not hasattr(config, "workerinput"):  # the controller, before the workers start (they inherit os.environ)
    if not os.environ.get(_CACHE_ENV):
      os.environ[_CACHE_ENV] = os.environ[_SESSION_CACHE] = tempfile.mkdtemp(prefix="hrm_jax_test_xla_cache_")
    os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
  os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.3")
  jax.config.update("jax_disable_most_optimizations", os.environ.get("JAX_DISABLE_MOST_OPTIMIZATIONS") == "1")
  jax.config.update("jax_compilation_cache_dir", os.environ[_CACHE_ENV])
  jax.config.update(
    "jax_persistent_cache_min_compile_time_secs", float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"])
  )


def pytest_unconfigure(config):
  if not hasattr(config, "workerinput") and os.environ.get(_SESSION_CACHE):
    shutil.rmtree(os.environ.pop(_SESSION_CACHE), ignore_errors=True)
    os.environ.pop(_CACHE_ENV, None)


def tiny_config(**overrides) -> hrm.HRMConfig:
  base = dict(
    vocab_size=32,
    seq_len=12,
    hidden_size=32,
    num_heads=4,
    expansion=2.0,
    H_layers=1,
    L_layers=1,
    H_cycles=2,
    L_cycles=2,
    halt_max_steps=3,
    puzzle_emb_ndim=32,
    num_puzzle_identifiers=5,
  )
  base.update(overrides)
  return hrm.HRMConfig(**base)


def tiny_causal_config(**overrides) -> hrm.HRMConfig:
  base = dict(puzzle_emb_ndim=0, task_conditioning=True, attention="causal", q_position="last_prompt")
  base.update(overrides)
  return tiny_config(**base)


def random_batch(cfg: hrm.HRMConfig, batch_size: int, seed: int = 0, prompt_length: int = 4) -> dict:
  k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
  inputs = jax.random.randint(k1, (batch_size, cfg.seq_len), 1, cfg.vocab_size)
  labels = jax.random.randint(k2, (batch_size, cfg.seq_len), 0, cfg.vocab_size)
  return {
    "inputs": inputs,
    "labels": labels,
    "puzzle_identifiers": jax.random.randint(k3, (batch_size,), 0, cfg.num_puzzle_identifiers),
    "language_id": jax.numpy.arange(batch_size) % cfg.num_languages,
    "task_id": jax.numpy.arange(batch_size) % cfg.num_tasks,
    "prompt_length": jax.numpy.full((batch_size,), prompt_length),
  }


@pytest.fixture
def tiny():
  return tiny_config()


@pytest.fixture(scope="session")
def ray_local():
  """One local Ray instance per test process (starting one costs ~5 s): the orchestration and RL executor tests
  share it. Real Ray, no cluster: `ray.init()` on this machine with the dashboard off."""
  import ray  # in the dev extra: a missing Ray fails the test, it does not skip it

  os.environ.setdefault("RAY_AUTH_MODE", "disabled")
  ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
  yield ray
  ray.shutdown()
