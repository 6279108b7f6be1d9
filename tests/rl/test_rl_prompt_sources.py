"""RL prompts follow the data pipeline's curriculum (sources and weights per stage) and the difficulty stages of
rl.curriculum, in the same "step:..." grammar; LiveCodeBench problems are scored by the evaluation harness in the
sandbox."""

import os

import numpy as np
import pytest

from hrm_jax import config_loader
from hrm_jax.data_pipelines import rl_prompts
from hrm_jax.rl import execution, rewards
from hrm_jax.tokenizer import load_tokenizer

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "configs")


def _source(curriculum: str = "", mixture: str = "", difficulty: str = "") -> rl_prompts.PromptSource:
  config = config_loader.load(
    os.path.join(CONFIGS, "gspo_tiny.py"),
    ["--config.data.num_train=40", "--config.data.num_eval=10", "--config.data.seq_len=4096"],
  )
  config.data.curriculum = curriculum
  config.data.mixture = mixture
  config.rl.curriculum = difficulty
  return rl_prompts.PromptSource(config, load_tokenizer(), room=4000)


def _is_lcb(record: dict) -> bool:
  return "family" not in record


def test_prompts_follow_the_data_curriculum_stages():
  source = _source(curriculum="0:procedural=1;3:livecodebench_sample=1;5:procedural=1,livecodebench_sample=1")
  records, prompts, indices = source.train_batch(0, 8, seed=0)
  assert not any(_is_lcb(r) for r in records)
  records, prompts, indices = source.train_batch(3, 8, seed=0)
  assert all(_is_lcb(r) for r in records) and all(len(p) <= 4000 for p in prompts)
  # a row's problem is found again from (step, index), as the trainer does when it scores a rollout
  assert [source.record(3, i)["question_id"] for i in indices] == [r["question_id"] for r in records]
  mixed, _, mixed_indices = source.train_batch(7, 64, seed=0)
  share = np.mean([_is_lcb(r) for r in mixed])
  assert 0.3 < share < 0.7
  assert [source.record(7, i)["question_id"] for i in mixed_indices] == [r["question_id"] for r in mixed]
  again, _, _ = source.train_batch(7, 64, seed=0)  # a function of (seed, step) only
  assert [r["question_id"] for r in again] == [r["question_id"] for r in mixed]
  # held-out problems come from every source of the schedule, in turn
  heldout, _ = source.eval_problems(6)
  assert [_is_lcb(r) for r in heldout] == [False, True] * 3


def test_difficulty_stages_use_the_curriculum_grammar():
  source = _source(difficulty="0:max_ops=1;4:min_ops=2,max_ops=2")
  assert [(s.start_step, s.min_ops, s.max_ops) for s in source.stages] == [(0, 1, 1), (4, 2, 2)]
  easy, _, _ = source.train_batch(3, 16, seed=0)
  hard, _, hard_indices = source.train_batch(4, 16, seed=0)
  assert {r["num_ops"] for r in easy} == {1} and {r["num_ops"] for r in hard} == {2}
  assert [source.record(4, i)["question_id"] for i in hard_indices] == [r["question_id"] for r in hard]
  # "" = one stage with the data config's range (gspo_tiny: 1..2)
  assert [(s.start_step, s.min_ops, s.max_ops) for s in _source().stages] == [(0, 1, 2)]
  # errors name the field; the grammar (and its messages) is the data curriculum's
  data = _source().data
  for text, message in (
    ("3:max_ops=1", "rl.curriculum: stages must start at step 0"),
    ("0:1:2", "rl.curriculum: stage 0: expected min_ops=A and/or max_ops=B"),
    ("0:max_ops=1;max_ops=2", "rl.curriculum: expected 'step:min_ops=A,max_ops=B' parts"),
    ("0:min_ops=3,max_ops=2", "rl.curriculum: stage 0 needs 1 <= min_ops <= max_ops"),
  ):
    with pytest.raises(ValueError, match=message):
      rl_prompts.parse_difficulty(text, data)


def test_sources_without_executable_tests_are_refused():
  with pytest.raises(ValueError, match="data.curriculum names source 'polyglot_edit'"):
    _source(curriculum="0:procedural=1;4:polyglot_edit=1")
  with pytest.raises(ValueError, match="data.mixture names source 'code_corpus'"):
    _source(mixture="procedural=1,code_corpus=1")


def test_livecodebench_problems_are_graded_in_the_sandbox():
  source = _source(mixture="livecodebench_sample=1")
  records, _ = source._load("train", 1, 9, "livecodebench_sample")
  record = next(r for r in records if r.get("solution"))
  right, wrong, broken, fenced = execution.execute_many(
    [
      (record, record["solution"]),
      (record, "print(12345)\n"),
      (record, "def (:\n"),
      (record, "Here it is:\n```python\n" + record["solution"] + "```\n"),
    ],
    execution.ExecutionConfig(workers=2),
  )
  assert right.status == rewards.STATUS_PASSED and right.tests_passed == right.tests_total > 0
  assert wrong.status == rewards.STATUS_FAILED and wrong.tests_passed == 0 and wrong.compiled
  assert broken.status == rewards.STATUS_COMPILE_ERROR and not broken.compiled
  assert fenced.status == rewards.STATUS_PASSED
