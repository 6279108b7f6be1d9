"""The continuous-batching engine: rows decoded together give what the sampler gives each prompt alone."""

import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import tiny_causal_config

from hrm_jax.inference import sampler
from hrm_jax.models import hrm
from hrm_jax.serve.engine import Engine, Request, sample_rows


def _run(engine, requests, timeout=120):
  """Submits requests (staggered: each after the previous one's first token) and waits for all to finish."""
  finished = {i: threading.Event() for i in range(len(requests))}
  started = {i: threading.Event() for i in range(len(requests))}
  results = {}

  def callback(i):
    def on_event(ev):
      started[i].set()
      if ev.kind in ("done", "error"):
        results[i] = ev
        finished[i].set()

    return on_event

  for i, kwargs in enumerate(requests):
    engine.submit(Request(on_event=callback(i), **kwargs))
    started[i].wait(timeout)  # the next request joins while this one decodes
  for e in finished.values():
    assert e.wait(timeout)
  return [results[i] for i in range(len(requests))]


@pytest.fixture(scope="module")
def model_and_engine():
  cfg = tiny_causal_config(vocab_size=64, seq_len=40, hidden_size=32, num_heads=4, halt_max_steps=2)
  model, variables = hrm.init_params(cfg, jax.random.key(3))
  engine = Engine(model, variables, eos_id=1, decode=lambda ids: " ".join(map(str, ids)), max_batch=2).start()
  yield model, variables, engine
  engine.stop()


def test_batched_rows_match_the_sampler_alone(model_and_engine):
  model, variables, engine = model_and_engine
  prompts = [[5, 9, 2, 33], [7] * 11, [12, 4, 60, 8, 8, 21, 3], [40, 41]]  # 4 prompts, 2 rows: two wait
  n = 10
  gen = sampler.Generator(model, variables, sampler.SamplingConfig(max_new_tokens=n, temperature=0.0, stop_ids=(1,)))
  expected = [gen.generate([p], [4], [0])[0] for p in prompts]
  before = dict(engine.stats)
  results = _run(engine, [dict(prompt=p, max_tokens=n, language_id=4) for p in prompts])
  for want, got in zip(expected, results):
    assert got.kind == "done"
    assert got.text == " ".join(map(str, want))
    assert got.completion_tokens == len(want) and got.finish_reason == ("length" if len(want) == n else "stop")
  assert engine.stats["max_rows"] >= 2  # rows really decoded together
  assert engine.stats["steps"] - before["steps"] < sum(len(w) for w in expected)


def test_a_seed_gives_the_same_tokens_alone_or_in_a_batch(model_and_engine):
  _, _, engine = model_and_engine
  sampled = dict(prompt=[3, 4, 5], max_tokens=8, temperature=1.0, top_p=0.9, seed=11)
  alone = _run(engine, [sampled])[0]
  crowd = _run(
    engine,
    [
      dict(prompt=[9, 9], max_tokens=8, temperature=1.0, seed=1),
      sampled,
      dict(prompt=[2, 30, 31, 7], max_tokens=8, temperature=0.5, seed=2),
    ],
  )
  assert crowd[1].text == alone.text
  other_seed = _run(engine, [dict(sampled, seed=12)])[0]
  assert other_seed.text != alone.text


def test_stop_strings_end_a_row_and_are_not_returned(model_and_engine):
  _, _, engine = model_and_engine
  full = _run(engine, [dict(prompt=[5, 6, 7], max_tokens=8)])[0].text
  words = full.split(" ")
  assert len(words) >= 4, full
  stop = " ".join(words[2:4])
  deltas = []
  done = threading.Event()
  result = {}

  def on_event(ev):
    if ev.kind == "delta":
      deltas.append(ev.text)
    else:
      result["ev"] = ev
      done.set()

  engine.submit(Request(prompt=[5, 6, 7], max_tokens=8, stop=(stop,), on_event=on_event))
  assert done.wait(60)
  assert result["ev"].finish_reason == "stop"
  assert result["ev"].text == full[: full.index(stop)]
  assert "".join(deltas) == result["ev"].text  # streamed text never showed the stop string


def test_the_cache_pool_grows_with_the_rows_in_use_and_shrinks_back():
  cfg = tiny_causal_config(vocab_size=64, seq_len=40, hidden_size=32, num_heads=4, halt_max_steps=2)
  model, variables = hrm.init_params(cfg, jax.random.key(5))
  gen = sampler.Generator(model, variables, sampler.SamplingConfig(max_new_tokens=12, temperature=0.0, stop_ids=()))
  engine = Engine(model, variables, eos_id=-1, decode=lambda ids: " ".join(map(str, ids)), max_batch=4, shrink_after=3)
  done, results = threading.Event(), {}

  def collect(i):
    def on_event(ev):
      if ev.kind in ("done", "error"):
        results[i] = ev
        if len(results) == 4:
          done.set()

    return on_event

  long = [9, 8, 7]
  engine.submit(Request(prompt=long, max_tokens=12, on_event=collect(0)))
  for i in range(1, 4):
    engine.submit(Request(prompt=[3, 4 + i], max_tokens=2, on_event=collect(i)))
  engine.start()  # all four are waiting: the first iteration admits them together
  try:
    assert done.wait(120)
    assert engine.stats["max_rows"] == 4 and engine._pool_rows() == 1 and engine.stats["resizes"] >= 4
    assert results[0].text == " ".join(map(str, gen.generate([long])[0]))  # moved rows kept their caches
  finally:
    engine.stop()


def test_requests_that_do_not_fit_are_refused(model_and_engine):
  _, _, engine = model_and_engine
  with pytest.raises(ValueError, match="exceeds the context of 40 tokens"):
    engine.submit(Request(prompt=[3] * 30, max_tokens=20, on_event=print))


def test_sample_rows_per_row_settings():
  logits = jnp.asarray(np.random.default_rng(0).normal(size=(4, 50)), jnp.float32)
  keys = jax.vmap(jax.random.key)(jnp.arange(4))
  greedy = jnp.argmax(logits, -1)
  sample = jax.jit(sample_rows)
  out = sample(
    logits, keys, jnp.asarray([0.0, 1.0, 1.0, 1.0]), jnp.asarray([1.0, 1.0, 1e-6, 1.0]), jnp.asarray([0, 1, 0, 0])
  )
  # row 0 greedy, row 1 top_k=1, row 2 top_p ~ 0: all the argmax; row 3 is a real sample
  np.testing.assert_array_equal(out[:3], greedy[:3])
  n = 40
  row = jnp.broadcast_to(logits[3], (n, 50))
  many = jax.vmap(jax.random.key)(jnp.arange(n))
  draws = np.asarray(sample(row, many, jnp.ones(n), jnp.ones(n), jnp.zeros(n, jnp.int32)))
  assert len(set(draws.tolist())) > 5
  top3 = set(np.argsort(-np.asarray(logits[3]))[:3].tolist())
  draws_k = np.asarray(sample(row, many, jnp.ones(n), jnp.ones(n), jnp.full((n,), 3, jnp.int32)))
  assert set(draws_k.tolist()) <= top3


def test_sample_rows_draws_from_the_softmax():
  logits = jnp.asarray([[2.0, 1.0, 0.0, -1.0, -30.0]] * 4000, jnp.float32)
  keys = jax.vmap(jax.random.key)(jnp.arange(4000))
  ones = jnp.ones((4000,), jnp.float32)
  draws = np.asarray(sample_rows(logits, keys, ones, ones, jnp.zeros((4000,), jnp.int32)))
  freq = np.bincount(draws, minlength=5) / len(draws)
  np.testing.assert_allclose(freq, np.asarray(jax.nn.softmax(logits[0])), atol=0.03)
  hot = np.asarray(sample_rows(logits, keys, ones * 0.5, ones, jnp.zeros((4000,), jnp.int32)))
  assert (hot == 0).mean() > freq[0] + 0.1  # a lower temperature sharpens
  nucleus = np.asarray(sample_rows(logits, keys, ones, ones * 0.7, jnp.zeros((4000,), jnp.int32)))
  assert set(nucleus.tolist()) == {0, 1}  # 0.665 < 0.7 <= 0.909: the two most likely tokens
