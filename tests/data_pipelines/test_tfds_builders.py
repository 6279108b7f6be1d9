"""TFDS builders: build the bundled datasets as array_record and read them back with tfds.data_source."""

import tensorflow_datasets as tfds

from hrm_jax.data_pipelines import input_pipeline as ip
from hrm_jax.data_pipelines import tfds_builders


def test_lcb_sample_and_tool_use_round_trip(tmp_path):
  cfg = ip.default_data_config()
  for name, source in (("hrm_jax_lcb_sample", "livecodebench_sample"), ("hrm_jax_tool_use", "tool_use")):
    tfds_builders.prepare(name, str(tmp_path))
    for split in ("train", "eval"):
      data = tfds.data_source(name, data_dir=str(tmp_path), split=split)
      records = ip.load_source_records(cfg, source, split)
      assert len(data) == len(records) > 0
      by_id = {r["question_id"]: r for r in records}
      got = [data[i] for i in range(len(data))]  # TFDS orders examples by a hash of their key
      assert {g["question_id"].decode() for g in got} == set(by_id)
      for g in got[:5]:
        want = by_id[g["question_id"].decode()]
        assert g["question_content"].decode() == want["question_content"]
        assert g["solution"].decode() == want["solution"] and g["task"].decode() == want["task"]
  files = [p.name for p in tmp_path.rglob("*") if p.is_file()]
  assert any("array_record" in f for f in files)
