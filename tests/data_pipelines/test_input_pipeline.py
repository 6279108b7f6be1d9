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
    assert (labels[: p - 1] == -100).all() and (labels[n - 1 :] == -100).all()
    np.testing.assert_array_equal(labels[p - 1 : n - 1], inputs[p:n])
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
    response = tok.decode(batch["inputs"][row][len(prompt) :]).split("<|eos|>")[0]
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
  shards = [
    _rows(ip.make_dataset(cfg, "eval", batch_size=8, seed=0, shard_index=i, shard_count=2, repeat=False))
    for i in range(2)
  ]
  assert len(full) == cfg.num_eval
  assert len(shards[0]) + len(shards[1]) == len(full)
  assert sorted(shards[0] + shards[1]) == sorted(full)
  train = [
    set(
      _rows(
        _take(
          iter(ip.make_dataset(cfg, "train", batch_size=10, seed=1, shard_index=i, shard_count=2, repeat=False)), 15
        )
      )
    )
    for i in range(2)
  ]
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
  from absl import flags

  if not flags.FLAGS.is_parsed():  # the application's job (hrm-jax's entry point does it), not the library's
    with pytest.raises(ValueError, match="worker_count=2 starts Grain worker processes"):
      ip.make_dataset(cfg, "train", batch_size=8, seed=0, repeat=True)
    flags.FLAGS.mark_as_parsed()
  it = iter(ip.make_dataset(cfg, "train", batch_size=8, seed=0, repeat=True))
  workers = _take(it, 6)
  assert _rows(plain) == _rows(workers)
  state = it.get_state()
  expected = _take(it, 2)
  again = iter(ip.make_dataset(cfg, "train", batch_size=8, seed=0, repeat=True))
  again.set_state(state)
  assert _rows(_take(again, 2)) == _rows(expected)


def test_mixture_follows_its_weights():
  cfg = _cfg(seq_len=512, mixture="procedural=0.75,tool_use=0.25")
  it = iter(ip.make_dataset(cfg, "train", batch_size=20, seed=0, repeat=True))
  task_ids = np.concatenate([next(it)["task_id"] for _ in range(10)])
  share = float((task_ids == TASKS.index("tool_use")).mean())
  assert abs(share - 0.25) < 0.03
  with pytest.raises(ValueError, match="data.mixture"):
    ip.make_dataset(_cfg(mixture="procedural=1,nope=2"), "train", batch_size=2, seed=0, repeat=True)


def test_curriculum_switches_sources_at_the_step_boundary_and_resumes():
  cfg = _cfg(seq_len=512, curriculum="0:procedural=1;3:tool_use=1")
  it = iter(ip.make_dataset(cfg, "train", batch_size=4, seed=0, repeat=True))
  tool = TASKS.index("tool_use")
  batches = _take(it, 3)
  assert all((b["task_id"] != tool).all() for b in batches)
  state = it.get_state()
  later = _take(it, 2)
  assert all((b["task_id"] == tool).all() for b in later)
  again = iter(ip.make_dataset(cfg, "train", batch_size=4, seed=0, repeat=True))
  again.set_state(state)
  assert _rows(_take(again, 2)) == _rows(later)
  plan = _cfg(curriculum="plan", curriculum_total_steps=100)
  assert [s for s, _ in ip.parse_curriculum(plan)] == [0, 25, 50, 75]
  with pytest.raises(ValueError, match="data.curriculum"):
    ip.parse_curriculum(_cfg(curriculum="5:procedural=1"))


def _labels_stay_in_segment(labels, segment_ids, inputs) -> bool:
  """Every non-ignored label at position t is the next input of the same (non-padding) segment."""
  labels, seg, inputs = map(np.asarray, (labels, segment_ids, inputs))
  b, t = np.nonzero(labels[:, :-1] != -100)
  ok = (seg[b, t] == seg[b, t + 1]) & (seg[b, t] != 0) & (labels[b, t] == inputs[b, t + 1])
  return bool(ok.all() and (labels[:, -1] == -100).all())


def _model_mask(batch):
  """The attention mask the model applies to a packed batch (hrm.attention_context), [b, seq, seq]."""
  from hrm_jax.models import hrm

  cfg = hrm.HRMConfig(seq_len=batch["inputs"].shape[1], attention="causal", q_position="last_prompt")
  return np.asarray(hrm.attention_context(cfg, batch, 0, cfg.total_len)["mask"])[:, 0]


def test_packing_keeps_segments_apart_and_resumes():
  cfg = _cfg(packing=True)
  it = iter(ip.make_dataset(cfg, "train", batch_size=4, seed=0, repeat=True))
  batch = next(it)
  assert set(batch) == {"inputs", "labels", "segment_ids", "positions", "language_ids", "task_ids", "q_read"}
  seg = batch["segment_ids"]
  assert seg.shape == (4, 128) and seg.max() >= 2  # several examples share a row
  assert _labels_stay_in_segment(batch["labels"], seg, batch["inputs"])
  mask = _model_mask(batch)
  b, q, k = np.nonzero(mask & (seg != 0)[:, :, None])  # real tokens see only earlier tokens of their own task
  assert (seg[b, q] == seg[b, k]).all() and (k <= q).all()
  for row in range(4):  # positions restart at 0 in each segment
    for s in range(1, seg[row].max() + 1):
      np.testing.assert_array_equal(batch["positions"][row][seg[row] == s], np.arange((seg[row] == s).sum()))
  state = it.get_state()
  expected = _take(it, 2)
  again = iter(ip.make_dataset(cfg, "train", batch_size=4, seed=0, repeat=True))
  again.set_state(state)
  for e, g in zip(expected, _take(again, 2)):
    for key in e:
      np.testing.assert_array_equal(e[key], g[key])


def test_segment_mask_rejects_cross_segment_pairs():
  seg = np.array([[1, 1, 2, 2, 0]])
  batch = {"inputs": np.array([[4, 5, 7, 8, 0]]), "segment_ids": seg, "positions": np.array([[0, 1, 0, 1, 0]])}
  mask = _model_mask(batch)
  assert mask[0, 1, 0] and not mask[0, 2, 1] and not mask[0, 0, 1] and not mask[0, 3, 4]
  assert not _labels_stay_in_segment(np.array([[5, 7, -100, -100, -100]]), seg, batch["inputs"])


_SHARD_SCRIPT = """
import hashlib, json, sys
from hrm_jax.data_pipelines import input_pipeline as ip
cfg = ip.default_data_config(); cfg.num_train = 300; cfg.num_eval = 50
index, count = int(sys.argv[1]), int(sys.argv[2])
rows = [hashlib.sha1(row.tobytes()).hexdigest() for b in ip.make_dataset(cfg, "eval", batch_size=8, seed=0,
        shard_index=index, shard_count=count, repeat=False) for row in b["inputs"]]
print(json.dumps(rows))
"""


@pytest.mark.slow
def test_two_processes_partition_the_split():
  import json
  import subprocess
  import sys

  procs = [
    subprocess.Popen([sys.executable, "-c", _SHARD_SCRIPT, str(i), "2"], stdout=subprocess.PIPE, text=True)
    for i in range(2)
  ]
  shards = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
  whole = [
    json.loads(
      subprocess.run(
        [sys.executable, "-c", _SHARD_SCRIPT, "0", "1"], capture_output=True, text=True, timeout=300, check=True
      ).stdout
    )
  ]
  assert not set(shards[0]) & set(shards[1])  # no overlap
  assert sorted(shards[0] + shards[1]) == sorted(whole[0])  # no loss
  assert len(whole[0]) == 50


def test_length_buckets_give_a_few_fixed_shapes_and_drop_no_tokens():
  cfg = _cfg(length_buckets="48,64")
  plain = _take(iter(ip.make_dataset(_cfg(), "train", batch_size=4, seed=0, repeat=True)), 30)
  bucketed = _take(iter(ip.make_dataset(cfg, "train", batch_size=4, seed=0, repeat=True)), 30)
  shapes = {b["inputs"].shape[1] for b in bucketed}
  assert shapes <= {48, 64, 128} and len(shapes) >= 2
  for p, b in zip(plain, bucketed):
    n = b["inputs"].shape[1]
    np.testing.assert_array_equal(p["inputs"][:, :n], b["inputs"])
    np.testing.assert_array_equal(p["labels"][:, :n], b["labels"])
    assert (p["inputs"][:, n:] == 0).all() and (p["labels"][:, n:] == -100).all()
  with pytest.raises(ValueError, match="length_buckets"):
    ip.parse_buckets(_cfg(length_buckets="64,512"))
