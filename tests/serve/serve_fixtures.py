"""A tiny untrained causal model served on loopback, shared by the serving tests of one worker.

Test modules import the fixtures: `from serve_fixtures import served, tiny_workdir  # noqa: F401`."""

import pytest


@pytest.fixture(scope="session")
def tiny_workdir(tmp_path_factory):
  from hrm_jax.bench.serve import tiny_workdir

  return tiny_workdir(str(tmp_path_factory.mktemp("serve") / "tiny"), seq_len=256)


@pytest.fixture(scope="session")
def served(tiny_workdir, tmp_path_factory):
  """(base URL, Server): 4 rows, a 256-token context, every request logged."""
  from hrm_jax import serve
  from hrm_jax.bench.serve import ServerThread

  log = str(tmp_path_factory.mktemp("serve-log") / "requests.jsonl")
  app, server = serve.load(
    tiny_workdir, model_name="tiny", max_batch=4, warmup=False, default_max_tokens=16, log_path=log
  )
  with ServerThread(app) as srv:
    yield srv.url, server
  server.engine.stop()


@pytest.fixture(scope="session")
def served_2k(tmp_path_factory):
  """A tiny model with a 2048-token context: aider's system prompt alone is about 900 of our tokens."""
  from hrm_jax import serve
  from hrm_jax.bench.serve import ServerThread
  from hrm_jax.bench.serve import tiny_workdir as make

  workdir = make(str(tmp_path_factory.mktemp("serve2k") / "tiny2k"), seq_len=2048)
  log = str(tmp_path_factory.mktemp("serve2k-log") / "requests.jsonl")
  app, server = serve.load(workdir, model_name="tiny2k", max_batch=2, warmup=False, default_max_tokens=24, log_path=log)
  with ServerThread(app) as srv:
    yield srv.url, server
  server.engine.stop()
