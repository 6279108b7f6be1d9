"""The Grain input pipeline: layout, determinism, exact resumption, sharding, drop reporting."""
import numpy as np
import pytest

from hrm_jax.data_pipelines import input_pipeline as ip
from hrm_jax.tokenizer import LANGUAGES, TASKS, load_tokenizer


def _cfg(**overrides):
  cfg = ip.default_data_config()
  cfg.num_train = 300
  cfg.num_eval = 50
  for k, v in overrides.items():
    cfg[k] = v
  return cfg


def _take(it, n):
  return [next(it) for _ in range(n)]


def _rows(batches):
  return [tuple(row) for b in batches for row in b["inputs"]]


def test_batch_fields_shapes_and_label_layout():
  cfg = _cfg()
  tok = load_tokenizer()
  batch = next(iter(ip.make_dataset(cfg, "train", batch_size=8, seed=0, repeat=True)))
  assert set(batch) == {"inputs", "labels", "prompt_length", "language_id", "task_id", "puzzle_identifiers"}
  assert batch["inputs"].shape == batch["labels"].shape == (8, 128)
  for key in batch:
    assert batch[key].dtype == np.int32 and batch[key].shape[0] == 8
  assert (batch["puzzle_identifiers"] == 0).all()
  for row in range(8):
    inputs, labels, p = batch["inputs"][row], batch["labels"][row], int(batch["prompt_length"][row])
    n = int(np.nonzero(inputs)[0].max()) + 1
    assert inputs[0] == tok.token_id("<|problem|>") and inputs[p - 1] == tok.token_id("<|code|>")
    assert inputs[n - 1] == tok.eos_id and (inputs[n:] == 0).all()
    assert (labels[: p - 1] == -100).all() and (labels[n - 1:] == -100).all()
    np.testing.assert_array_equal(labels[p - 1:n - 1], inputs[p:n])
    assert 0 <= batch["language_id"][row] < len(LANGUAGES) and 0 <= batch["task_id"][row] < len(TASKS)


def test_prompt_matches_encode_prompt():
  cfg = _cfg()
  tok = load_tokenizer()
  records = ip.load_records(cfg, "eval")
  batch = next(iter(ip.make_dataset(cfg, "eval", batch_size=4, seed=0, repeat=False)))
  for row, record in enumerate(records[:4]):
    prompt = ip.encode_prompt(tok, record)
    assert len(prompt) == batch["prompt_length"][row]
    np.testing.assert_array_equal(batch["inputs"][row][: len(prompt)], prompt)
    response = tok.decode(batch["inputs"][row][len(prompt):]).split("<|eos|>")[0]
    assert response == record["solution"]
    assert batch["language_id"][row] == LANGUAGES.index(record["language"])
    assert batch["task_id"][row] == TASKS.index(record["task"])


def test_deterministic_by_seed():
  cfg = _cfg()
  a = _take(iter(ip.make_dataset(cfg, "train", batch_size=4, seed=3, repeat=True)), 5)
  b = _take(iter(ip.make_dataset(cfg, "train", batch_size=4, seed=3, repeat=True)), 5)
  c = _take(iter(ip.make_dataset(cfg, "train", batch_size=4, seed=4, repeat=True)), 5)
  assert _rows(a) == _rows(b) and _rows(a) != _rows(c)


def test_iterator_state_resumes_on_exactly_the_next_batch_across_epochs():
  cfg = _cfg(num_train=30)
  it = iter(ip.make_dataset(cfg, "train", batch_size=7, seed=0, repeat=True))
  _take(it, 3)
  state = it.get_state()
  expected = _take(it, 6)  # crosses the epoch boundary (30 examples, 7 per batch)
  resumed = iter(ip.make_dataset(cfg, "train", batch_size=7, seed=0, repeat=True))
  resumed.set_state(state)
  got = _take(resumed, 6)
  for e, g in zip(expected, got):
    for key in e:
      np.testing.assert_array_equal(e[key], g[key])
  # Epochs are reshuffled: the second pass is a permutation of the first, in another order.
  rows = _rows(_take(iter(ip.make_dataset(cfg, "train", batch_size=10, seed=0, repeat=True)), 6))
  assert sorted(rows[:30]) == sorted(rows[30:60]) and rows[:30] != rows[30:60]


def test_shards_partition_the_split():
  cfg = _cfg()
  full = _rows(ip.make_dataset(cfg, "eval", batch_size=8, seed=0, repeat=False))
  shards = [_rows(ip.make_dataset(cfg, "eval", batch_size=8, seed=0, shard_index=i, shard_count=2, repeat=False))
            for i in range(2)]
  assert len(full) == cfg.num_eval
  assert len(shards[0]) + len(shards[1]) == len(full)
  assert sorted(shards[0] + shards[1]) == sorted(full)
  train = [set(_rows(_take(iter(ip.make_dataset(cfg, "train", batch_size=10, seed=1, shard_index=i, shard_count=2,
                                                 repeat=False)), 15))) for i in range(2)]
  assert len(train[0]) + len(train[1]) == len(train[0] | train[1])  # no example in both shards
  with pytest.raises(ValueError, match="shard_index"):
    ip.make_dataset(cfg, "eval", batch_size=8, seed=0, shard_index=2, shard_count=2, repeat=False)


def test_eval_single_pass_keeps_the_last_partial_batch():
  cfg = _cfg(num_eval=50)
  sizes = [b["inputs"].shape[0] for b in ip.make_dataset(cfg, "eval", batch_size=16, seed=0, repeat=False)]
  assert sizes == [16, 16, 16, 2]


def test_too_long_examples_are_dropped_and_counted(caplog):
  cfg = _cfg(seq_len=40)
  with caplog.at_level("WARNING"):
    report = ip.dataset_report(cfg, "train")
  assert report.dropped_too_long > 0 and report.kept + report.dropped_too_long == report.records == 300
  assert "dropped" in caplog.text or report.line()
  for b in _take(iter(ip.make_dataset(cfg, "train", batch_size=16, seed=0, repeat=True)), 5):
    assert b["inputs"].shape == (16, 40)
    assert (b["inputs"][:, -1] == 0).all() or (b["labels"][:, -1] == -100).all()


def test_bad_config_fields_are_named():
  with pytest.raises(ValueError, match="data.source"):
    ip.load_records(_cfg(source="nope"), "train")
  with pytest.raises(ValueError, match="split"):
    ip.load_records(_cfg(), "validation")
  with pytest.raises(ValueError, match="ProceduralConfig.languages"):
    ip.load_records(_cfg(languages="python,cobol"), "train")


@pytest.mark.slow
def test_multiprocess_workers_give_the_same_batches():
  cfg = _cfg()
  plain = _take(iter(ip.make_dataset(cfg, "train", batch_size=8, seed=0, repeat=True)), 6)
  cfg.worker_count = 2
  it = iter(ip.make_dataset(cfg, "train", batch_size=8, seed=0, repeat=True))
  workers = _take(it, 6)
  assert _rows(plain) == _rows(workers)
  state = it.get_state()
  expected = _take(it, 2)
  again = iter(ip.make_dataset(cfg, "train", batch_size=8, seed=0, repeat=True))
  again.set_state(state)
  assert _rows(_take(again, 2)) == _rows(expected)
