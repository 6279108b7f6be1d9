"""A six-language code corpus from local directories, deduplicated by content hash, filterable by path.

    files = read_corpus()                                  # the toolchains' library sources on this machine
    files = read_corpus(dirs=["/src/a", "/src/b"], exclude=["*/test/*", "*_test.go"])

By default the files are the ones the tokenizer trains on (`hrm_jax.tokenizer.sources`: libstdc++ headers,
GOROOT/src, the JDK's src.zip, npm's JavaScript, the Python stdlib, Rust's std). With `dirs`, the language of
a file comes from its extension (`EXTENSIONS`). Licence-agnostic: nothing is filtered by licence, but
`include` / `exclude` shell patterns (fnmatch, on the file's key) let a user keep only what they may use.
Identical contents are kept once (the first by sorted key); every drop is counted in the returned report.
Records for training (`to_training_records`) split each file into chunks of whole lines: the prompt names
the file and language, the response is the chunk.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import hashlib
import os
from collections.abc import Sequence

from hrm_jax.tokenizer import LANGUAGES
from hrm_jax.tokenizer import sources as sources_lib

EXTENSIONS = {
  ".cc": "cpp",
  ".cpp": "cpp",
  ".cxx": "cpp",
  ".hpp": "cpp",
  ".hh": "cpp",
  ".h": "cpp",
  ".go": "go",
  ".java": "java",
  ".js": "javascript",
  ".mjs": "javascript",
  ".cjs": "javascript",
  ".py": "python",
  ".rs": "rust",
}
DISPLAY = {"cpp": "C++", "go": "Go", "java": "Java", "javascript": "JavaScript", "python": "Python", "rust": "Rust"}


@dataclasses.dataclass(frozen=True)
class CorpusFile:
  language: str
  key: str
  text: str
  sha256: str


@dataclasses.dataclass
class CorpusReport:
  found: int = 0
  kept: int = 0
  duplicates: int = 0
  filtered: int = 0
  too_large: int = 0
  unreadable: int = 0

  def line(self) -> str:
    return (
      f"code corpus: {self.found} files found, kept {self.kept}; dropped {self.duplicates} duplicates, "
      f"{self.filtered} by path filters, {self.too_large} too large, {self.unreadable} unreadable"
    )


def _read(path: str) -> str:
  with open(path, "rb") as f:
    return f.read().decode("utf-8")


def _dir_sources(directory: str, languages: Sequence[str]) -> list[sources_lib.SourceFile]:
  out = []
  root = os.path.abspath(directory)
  label = os.path.basename(root.rstrip(os.sep)) or "root"
  for dirpath, dirnames, filenames in os.walk(root):
    dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    for name in sorted(filenames):
      language = EXTENSIONS.get(os.path.splitext(name)[1])
      full = os.path.join(dirpath, name)
      if language in languages and os.path.isfile(full) and not os.path.islink(full):
        rel = os.path.relpath(full, root)
        out.append(
          sources_lib.SourceFile(language, f"{label}/{rel}", os.path.getsize(full), functools.partial(_read, full))
        )
  return out


def read_corpus(
  dirs: Sequence[str] | None = None,
  languages: Sequence[str] = LANGUAGES,
  include: Sequence[str] = (),
  exclude: Sequence[str] = (),
  max_file_bytes: int = 200_000,
  max_files_per_language: int | None = None,
  report: CorpusReport | None = None,
) -> list[CorpusFile]:
  """Corpus files sorted by (language, key); see the module docstring. `report` receives the counts."""
  for lang in languages:
    if lang not in LANGUAGES:
      raise ValueError(f"unknown language {lang!r}; expected some of {LANGUAGES}")
  report = report if report is not None else CorpusReport()
  if dirs:
    for d in dirs:
      if not os.path.isdir(d):
        raise FileNotFoundError(f"code corpus directory not found: {d}")
    candidates = [f for d in dirs for f in _dir_sources(d, languages)]
  else:
    candidates = [f for lang in languages for f in sources_lib.find_sources(lang)]
  candidates.sort(key=lambda f: (f.language, f.key))
  report.found = len(candidates)
  seen, out, per_language = set(), [], {}
  for f in candidates:
    if (include and not any(fnmatch.fnmatch(f.key, p) for p in include)) or any(
      fnmatch.fnmatch(f.key, p) for p in exclude
    ):
      report.filtered += 1
      continue
    if max_files_per_language is not None and per_language.get(f.language, 0) >= max_files_per_language:
      continue
    if f.size > max_file_bytes:
      report.too_large += 1
      continue
    try:
      text = f.load()
    except (UnicodeDecodeError, ValueError, OSError):
      report.unreadable += 1
      continue
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if digest in seen:
      report.duplicates += 1
      continue
    seen.add(digest)
    per_language[f.language] = per_language.get(f.language, 0) + 1
    out.append(CorpusFile(f.language, f.key, text, digest))
  report.kept = len(out)
  return out


def chunk_lines(text: str, max_chars: int) -> list[str]:
  """Consecutive chunks of whole lines, each at most max_chars (a longer single line is cut)."""
  chunks, current = [], ""
  for line in text.splitlines(keepends=True):
    while len(line) > max_chars:
      if current:
        chunks.append(current)
        current = ""
      chunks.append(line[:max_chars])
      line = line[max_chars:]
    if len(current) + len(line) > max_chars and current:
      chunks.append(current)
      current = ""
    current += line
  if current:
    chunks.append(current)
  return chunks


def to_training_records(f: CorpusFile, max_chars: int = 1000) -> list[dict]:
  out = []
  for i, chunk in enumerate(chunk_lines(f.text, max_chars)):
    out.append(
      {
        "question_title": f.key,
        "question_content": f"{DISPLAY[f.language]} source file {f.key}, part {i + 1}:",
        "platform": "code_corpus",
        "question_id": f"{f.sha256[:16]}/{i}",
        "contest_id": "code_corpus",
        "contest_date": "2026-01-01T00:00:00",
        "starter_code": "",
        "difficulty": "easy",
        "public_test_cases": "[]",
        "private_test_cases": "[]",
        "metadata": "{}",
        "language": f.language,
        "solution": chunk,
        "task": "codegen",
      }
    )
  return out
