"""Code corpus reader (dedup, filters, language detection) and the hub loaders' offline behaviour."""

import pytest

from hrm_jax.data_pipelines import code_corpus as C
from hrm_jax.data_pipelines import hub


def _tree(tmp_path):
  (tmp_path / "a").mkdir()
  (tmp_path / "a" / "x.py").write_text("print(1)\n")
  (tmp_path / "a" / "copy.py").write_text("print(1)\n")  # duplicate content
  (tmp_path / "a" / "m.go").write_text("package m\n")
  (tmp_path / "a" / "test").mkdir()
  (tmp_path / "a" / "test" / "t.rs").write_text("fn t() {}\n")
  (tmp_path / "a" / "notes.txt").write_text("not code\n")
  (tmp_path / "a" / "bad.js").write_bytes(b"\xff\xfe\x00")  # not UTF-8
  return str(tmp_path / "a")


def test_dedup_filters_and_languages(tmp_path):
  root = _tree(tmp_path)
  report = C.CorpusReport()
  files = C.read_corpus(dirs=[root], report=report)
  assert sorted((f.language, f.key) for f in files) == [
    ("go", "a/m.go"),
    ("python", "a/copy.py"),
    ("rust", "a/test/t.rs"),
  ]
  assert report.duplicates == 1 and report.unreadable == 1 and report.kept == 3 and "duplicates" in report.line()
  kept = C.read_corpus(dirs=[root], exclude=["*/test/*"], languages=("rust", "python"))
  assert [f.key for f in kept] == ["a/copy.py"]
  only = C.read_corpus(dirs=[root], include=["*.go"])
  assert [f.language for f in only] == ["go"]
  with pytest.raises(FileNotFoundError):
    C.read_corpus(dirs=[str(tmp_path / "missing")])


def test_machine_sources_by_default():
  report = C.CorpusReport()
  files = C.read_corpus(languages=("python",), max_files_per_language=20, report=report)
  assert 0 < len(files) <= 20 and all(f.key.startswith("stdlib/") for f in files)
  assert len({f.sha256 for f in files}) == len(files)


def test_chunks_are_whole_lines_and_cover_the_file():
  text = "".join(f"line {i}\n" for i in range(200)) + "x" * 2500 + "\n"
  chunks = C.chunk_lines(text, 300)
  assert "".join(chunks) == text and all(len(c) <= 300 for c in chunks)
  f = C.CorpusFile("go", "k/a.go", "package a\n", "0" * 64)
  (record,) = C.to_training_records(f)
  assert record["solution"] == "package a\n" and "Go source file" in record["question_content"]


def test_hub_offline_gives_a_clear_error(monkeypatch, tmp_path):
  monkeypatch.setenv("HF_HUB_OFFLINE", "1")
  with pytest.raises(hub.DataUnavailableError, match="code_generation_lite"):
    hub.fetch_livecodebench("release_v1", cache_dir=str(tmp_path))
  assert hub.livecodebench_files("release_v3") == ("test.jsonl", "test2.jsonl", "test3.jsonl")
  assert hub.livecodebench_files("v2_v3") == ("test2.jsonl", "test3.jsonl")
  with pytest.raises(ValueError):
    hub.livecodebench_files("v9")
