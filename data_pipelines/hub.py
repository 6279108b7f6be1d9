"""Fetching the full public datasets from the Hugging Face hub (when the network allows).

    path = hub.fetch_livecodebench("release_v2", cache_dir="~/.cache/hrm-jax/lcb")   # list of JSONL paths
    problems = [p for f in path for p in livecodebench.read_jsonl(f)]
    path = hub.fetch_swe_smith(cache_dir=...)                                        # SWE-bench/SWE-smith

Files are downloaded with `huggingface_hub` (installed with `tokenizers`); LiveCodeBench's
code_generation_lite release tags map to cumulative JSONL files (reference/benchmarks.md B1). Without network
access (or with HF_HUB_OFFLINE=1) a `DataUnavailableError` says what could not be fetched and how to point the
readers at a local copy instead; everything in this package is tested on local files.
"""

from __future__ import annotations

import os

LCB_REPO = "livecodebench/code_generation_lite"
LCB_FILES = ("test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl", "test6.jsonl")
SWE_SMITH_REPO = "SWE-bench/SWE-smith"


class DataUnavailableError(RuntimeError):
  """A public dataset could not be fetched (no network, hub unreachable, or offline mode)."""


def livecodebench_files(version_tag: str) -> tuple[str, ...]:
  """The JSONL files of a code_generation_lite tag: release_vN (cumulative), vN (one file), vA_vB (range)."""
  if version_tag in ("release_latest",):
    return LCB_FILES
  if version_tag.startswith("release_v") and version_tag[9:].isdigit():
    n = int(version_tag[9:])
    if 1 <= n <= len(LCB_FILES):
      return LCB_FILES[:n]
  if version_tag.startswith("v"):
    parts = version_tag[1:].split("_v")
    if all(p.isdigit() for p in parts) and 1 <= len(parts) <= 2:
      lo, hi = int(parts[0]), int(parts[-1])
      if 1 <= lo <= hi <= len(LCB_FILES):
        return LCB_FILES[lo - 1 : hi]
  raise ValueError(
    f"unknown LiveCodeBench version tag {version_tag!r} (release_v1..release_v6, release_latest, v1..v6, vA_vB)"
  )


def _download(repo_id: str, filename: str, cache_dir: str | None) -> str:
  try:
    from huggingface_hub import hf_hub_download
  except ImportError as e:
    raise DataUnavailableError("huggingface_hub is not installed (pip install huggingface_hub)") from e
  try:
    return hf_hub_download(
      repo_id=repo_id,
      filename=filename,
      repo_type="dataset",
      cache_dir=os.path.expanduser(cache_dir) if cache_dir else None,
    )
  except Exception as e:  # offline mode, DNS failure, HTTP errors: all mean "not available here"
    raise DataUnavailableError(
      f"could not fetch {filename} from the Hugging Face dataset {repo_id} ({type(e).__name__}: {e}). "
      "Download it where the hub is reachable and pass the local file to the reader "
      "(e.g. data.lcb_path=/path/test.jsonl)"
    ) from e


def fetch_livecodebench(version_tag: str = "release_latest", cache_dir: str | None = None) -> list[str]:
  """Local paths of the code_generation_lite JSONL files of `version_tag` (downloaded if needed)."""
  return [_download(LCB_REPO, name, cache_dir) for name in livecodebench_files(version_tag)]


def fetch_swe_smith(filename: str = "data/train-00000-of-00001.parquet", cache_dir: str | None = None) -> str:
  """A local path of one SWE-smith data file (downloaded if needed)."""
  return _download(SWE_SMITH_REPO, filename, cache_dir)
