"""TFDS builders for the bundled datasets, written as array_record so `tfds.data_source` reads them offline.

    from hrm_jax.data_pipelines import tfds_builders
    tfds_builders.prepare("hrm_jax_lcb_sample", data_dir="/tmp/tfds")       # builds once, no network
    source = tfds.data_source("hrm_jax_lcb_sample", data_dir="/tmp/tfds", split="train")
    source[0]["question_content"]                                           # random access (bytes)

Builders: hrm_jax_lcb_sample (the 60 LiveCodeBench-format problems as codegen records), hrm_jax_procedural
(procedural tasks from the default data config: 20000 train, 200 eval), hrm_jax_tool_use (tool-use actions).
Each example holds the record's string fields (`RECORD_FIELDS`). Splits are the input pipeline's.
"""

from __future__ import annotations

import os

import tensorflow_datasets as tfds
from etils import epath

from hrm_jax.data_pipelines import input_pipeline

RECORD_FIELDS = (
  "question_id",
  "question_title",
  "question_content",
  "platform",
  "contest_id",
  "contest_date",
  "starter_code",
  "difficulty",
  "public_test_cases",
  "private_test_cases",
  "metadata",
  "language",
  "solution",
  "task",
)


class _RecordsBuilder(tfds.core.GeneratorBasedBuilder):
  """Builds the train/eval records of one input-pipeline source."""

  SOURCE = ""
  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release (hrm-jax)."}

  def _info(self) -> tfds.core.DatasetInfo:
    # DatasetInfo directly (not dataset_info_from_configs): TFDS would look for metadata files next to the
    # module, which our package mapping (data_pipelines -> hrm_jax.data_pipelines) hides from it.
    return tfds.core.DatasetInfo(
      builder=self,
      description=(
        f"hrm-jax bundled data (Apache-2.0): the `{self.SOURCE}` source of data_pipelines/input_pipeline.py."
      ),
      features=tfds.features.FeaturesDict({f: tfds.features.Text() for f in RECORD_FIELDS}),
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # everything is bundled: no download
    return {split: self._generate_examples(split) for split in input_pipeline.SPLITS}

  def _generate_examples(self, split):
    cfg = input_pipeline.default_data_config()
    for i, record in enumerate(input_pipeline.load_source_records(cfg, self.SOURCE, split)):
      yield f"{i:06d}", {f: str(record.get(f, "")) for f in RECORD_FIELDS}


_HERE = epath.Path(os.path.dirname(os.path.abspath(__file__)))


class HrmJaxLcbSample(_RecordsBuilder):
  SOURCE = "livecodebench_sample"
  pkg_dir_path = _HERE


class HrmJaxProcedural(_RecordsBuilder):
  SOURCE = "procedural"
  pkg_dir_path = _HERE


class HrmJaxToolUse(_RecordsBuilder):
  SOURCE = "tool_use"
  pkg_dir_path = _HERE


BUILDERS = {
  "hrm_jax_lcb_sample": HrmJaxLcbSample,
  "hrm_jax_procedural": HrmJaxProcedural,
  "hrm_jax_tool_use": HrmJaxToolUse,
}


def prepare(name: str, data_dir: str) -> tfds.core.DatasetBuilder:
  """Builds dataset `name` into `data_dir` as array_record (once; later calls reuse it)."""
  if name not in BUILDERS:
    raise ValueError(f"unknown TFDS builder {name!r}; expected one of {sorted(BUILDERS)}")
  builder = BUILDERS[name](data_dir=data_dir, file_format="array_record")
  builder.download_and_prepare()
  return builder
