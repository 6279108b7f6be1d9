"""Find real source code of the six languages on this machine: the toolchains' own library sources.

Each language maps to a list of `SourceFile`s (a stable key relative to its root, plus a loader), so the
tokenizer trainer and the code-corpus reader see the same files in the same order on any machine that has
the same toolchain versions. Nothing here downloads anything.

Where each language's sources come from (first root that exists wins, the rest are added after it):
  cpp         /usr/include/c++ (libstdc++ headers, most without a file extension) and *.hpp under /usr/include
  go          `go env GOROOT`/src/**/*.go
  java        the JDK's lib/src.zip (of the `javac` on PATH, else any JDK under /usr/lib/jvm)
  javascript  `npm root -g`/**/*.js (npm and corepack ship as plain JavaScript; node's own lib/ is compiled in)
  python      the running interpreter's standard library (site-packages excluded)
  rust        `rustc --print sysroot`/lib/rustlib/src/rust/library/**/*.rs when rust-src is installed, else
              the standard library's source pages that the rust-docs component ships (html/src/**/*.rs.html,
              decoded back to plain Rust), else ~/.cargo/registry/src/**/*.rs
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import html
import os
import re
import shutil
import subprocess
import sysconfig
import zipfile
from collections.abc import Callable, Iterable

LANGUAGES = ("cpp", "go", "java", "javascript", "python", "rust")


@dataclasses.dataclass(frozen=True)
class SourceFile:
  """One source file: `key` is stable across machines (root name + relative path); `load()` returns text."""

  language: str
  key: str
  size: int
  load: Callable[[], str] = dataclasses.field(compare=False, repr=False)


def _read_text(path: str) -> str:
  with open(path, "rb") as f:
    return f.read().decode("utf-8")


def _command_output(argv: list[str]) -> str | None:
  if shutil.which(argv[0]) is None:
    return None
  try:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout.strip()
  except (subprocess.SubprocessError, OSError):
    return None
  return out or None


def _walk(root: str, accept: Callable[[str], bool], skip_dirs: Iterable[str] = ()) -> list[str]:
  """Regular files under `root` (sorted relative paths) accepted by `accept(relpath)`."""
  skip = set(skip_dirs)
  found = []
  for dirpath, dirnames, filenames in os.walk(root):
    dirnames[:] = sorted(d for d in dirnames if d not in skip and not d.startswith("."))
    for name in filenames:
      full = os.path.join(dirpath, name)
      if os.path.islink(full) or not os.path.isfile(full):
        continue
      rel = os.path.relpath(full, root)
      if accept(rel):
        found.append(rel)
  return sorted(found)


def _files_under(language: str, label: str, root: str, accept, skip_dirs=()) -> list[SourceFile]:
  out = []
  for rel in _walk(root, accept, skip_dirs):
    full = os.path.join(root, rel)
    out.append(SourceFile(language, f"{label}/{rel}", os.path.getsize(full), functools.partial(_read_text, full)))
  return out


_RUSTDOC_CODE = re.compile(r'<pre class="rust"><code>(.*?)</code></pre>', re.S)
_RUSTDOC_LINE_ANCHOR = re.compile(r"<a href=#\d+ id=\d+ data-nosnippet>\d+</a>")
_TAG = re.compile(r"<[^>]+>")


def rustdoc_source_page_to_text(page: str) -> str:
  """Recovers the plain Rust source from a rustdoc `src/**/*.rs.html` page (line anchors and spans removed)."""
  match = _RUSTDOC_CODE.search(page)
  if match is None:
    raise ValueError('not a rustdoc source page: no <pre class="rust"><code> block')
  body = _RUSTDOC_LINE_ANCHOR.sub("", match.group(1))
  return html.unescape(_TAG.sub("", body))


def _load_rustdoc(path: str) -> str:
  return rustdoc_source_page_to_text(_read_text(path))


def _load_zip_member(zip_path: str, member: str) -> str:
  with zipfile.ZipFile(zip_path) as zf:
    return zf.read(member).decode("utf-8")


def cpp_sources() -> list[SourceFile]:
  files = []
  if os.path.isdir("/usr/include/c++"):
    # libstdc++ headers: `vector`, `bits/stl_vector.h`, ...; skip precompiled headers.
    files += _files_under("cpp", "usr-include-c++", "/usr/include/c++", lambda rel: not rel.endswith(".gch"))
  if os.path.isdir("/usr/include"):
    files += _files_under(
      "cpp",
      "usr-include",
      "/usr/include",
      lambda rel: rel.endswith((".hpp", ".hh", ".cpp", ".cc")) and not rel.startswith("c++/"),
    )
  return files


def go_sources() -> list[SourceFile]:
  goroot = _command_output(["go", "env", "GOROOT"])
  if not goroot or not os.path.isdir(os.path.join(goroot, "src")):
    return []
  return _files_under("go", "goroot-src", os.path.join(goroot, "src"), lambda rel: rel.endswith(".go"))


def _is_zip(path: str) -> bool:
  try:
    return os.path.isfile(path) and zipfile.is_zipfile(path)
  except OSError:  # e.g. Debian's openjdk-17 ships a src.zip symlink loop
    return False


def _jdk_src_zips() -> list[str]:
  """The src.zip of the JDK behind `javac`, else the first readable one under /usr/lib/jvm (by name)."""
  candidates = []
  javac = shutil.which("javac")
  if javac:
    home = os.path.dirname(os.path.dirname(os.path.realpath(javac)))
    candidates += [os.path.join(home, "lib", "src.zip"), os.path.join(home, "src.zip")]
  candidates += sorted(glob.glob("/usr/lib/jvm/*/lib/src.zip"))
  return [p for p in candidates if _is_zip(p)][:1]


def java_sources() -> list[SourceFile]:
  files = []
  for zip_path in _jdk_src_zips():
    with zipfile.ZipFile(zip_path) as zf:
      members = [info for info in zf.infolist() if info.filename.endswith(".java") and not info.is_dir()]
    for info in sorted(members, key=lambda i: i.filename):
      files.append(
        SourceFile(
          "java",
          f"jdk-src.zip/{info.filename}",
          info.file_size,
          functools.partial(_load_zip_member, zip_path, info.filename),
        )
      )
  return files


def javascript_sources() -> list[SourceFile]:
  root = _command_output(["npm", "root", "-g"]) or "/usr/lib/node_modules"
  if not os.path.isdir(root):
    return []
  return _files_under(
    "javascript", "npm-global", root, lambda rel: rel.endswith((".js", ".mjs", ".cjs")) and not rel.endswith(".min.js")
  )


def python_sources() -> list[SourceFile]:
  stdlib = sysconfig.get_paths()["stdlib"]
  return _files_under(
    "python",
    "stdlib",
    stdlib,
    lambda rel: rel.endswith(".py"),
    skip_dirs=("site-packages", "dist-packages", "__pycache__"),
  )


def rust_sources() -> list[SourceFile]:
  sysroot = _command_output(["rustc", "--print", "sysroot"])
  if sysroot:
    library = os.path.join(sysroot, "lib", "rustlib", "src", "rust", "library")
    if os.path.isdir(library):
      return _files_under("rust", "rust-src", library, lambda rel: rel.endswith(".rs"))
    docs = os.path.join(sysroot, "share", "doc", "rust", "html", "src")
    if os.path.isdir(docs):
      out = []
      for rel in _walk(docs, lambda r: r.endswith(".rs.html")):
        full = os.path.join(docs, rel)
        out.append(
          SourceFile(
            "rust", f"rustdoc-src/{rel[: -len('.html')]}", os.path.getsize(full), functools.partial(_load_rustdoc, full)
          )
        )
      return out
  registry = os.path.expanduser("~/.cargo/registry/src")
  if os.path.isdir(registry):
    return _files_under("rust", "cargo-registry", registry, lambda rel: rel.endswith(".rs"))
  return []


FINDERS: dict[str, Callable[[], list[SourceFile]]] = {
  "cpp": cpp_sources,
  "go": go_sources,
  "java": java_sources,
  "javascript": javascript_sources,
  "python": python_sources,
  "rust": rust_sources,
}


def find_sources(language: str) -> list[SourceFile]:
  """All source files found for `language`, sorted by key. Raises KeyError naming the valid languages."""
  if language not in FINDERS:
    raise KeyError(f"unknown language {language!r}; expected one of {LANGUAGES}")
  return sorted(FINDERS[language](), key=lambda f: f.key)
