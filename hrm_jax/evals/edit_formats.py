"""aider's edit formats: SEARCH/REPLACE blocks (`diff`) and whole files (`whole`): parse, apply, judge.

Behaviour follows aider's EditBlockCoder and WholeFileCoder as summarised in benchmarks.md A5 (aider
`aider/coders/editblock_coder.py`, `wholefile_coder.py` at 5dc9490); the code here is our own.

`diff` matching, tried in order on the named file, then on every other file in the chat:
  a. exact line-sequence match (first occurrence only);
  b. leading-whitespace tolerant match (a window whose lines equal SEARCH after left-stripping, every
     non-blank line of the window carrying the same extra indent, which is added to REPLACE);
  c. if SEARCH has more than 2 lines and starts with a blank line: drop it and retry a and b;
  d. `...` elision: SEARCH and REPLACE split on lines that are only `...`; each SEARCH piece must occur
     exactly once and is replaced by its REPLACE piece.
An empty SEARCH creates a missing file or appends to an existing one.
"""

from __future__ import annotations

import dataclasses
import difflib
import pathlib
import re
from collections.abc import Mapping

HEAD = re.compile(r"^<{5,9} SEARCH>?\s*$")
DIVIDER = re.compile(r"^={5,9}\s*$")
TAIL = re.compile(r"^>{5,9} REPLACE\s*$")
FENCE = "```"
ELISION = re.compile(r"^\s*\.\.\.\n", re.MULTILINE)
MAX_FILENAME = 250


class MalformedEdit(ValueError):
  """The reply does not parse in the edit format (aider reflects this back and counts it as malformed)."""


@dataclasses.dataclass(frozen=True)
class EditBlock:
  path: str
  search: str
  replace: str


@dataclasses.dataclass
class ApplyResult:
  """Outcome of applying a reply: the new file contents (only changed/created files) and the failures."""

  files: dict[str, str]
  failed: list[str]  # One message per block that did not apply (or the parse error).
  malformed: bool

  @property
  def well_formed(self) -> bool:
    return not self.malformed


# ----------------------------------------------------------------------------------------------- parsing


def _clean_filename(line: str) -> str | None:
  line = line.strip()
  if line == "...":
    return None
  if line.startswith(FENCE):
    rest = line[len(FENCE) :].strip()
    return rest if ("." in rest or "/" in rest) else None
  name = line.rstrip(":").lstrip("#").strip().strip("`").strip("*").strip()
  return name or None


def _choose_filename(candidates: list[str], chat_files: list[str]) -> str | None:
  if not candidates:
    return None
  for name in candidates:
    if name in chat_files:
      return name
  by_base = {pathlib.PurePosixPath(f).name: f for f in chat_files}
  for name in candidates:
    if pathlib.PurePosixPath(name).name in by_base:
      return by_base[pathlib.PurePosixPath(name).name]
  for name in candidates:
    close = difflib.get_close_matches(name, chat_files, n=1, cutoff=0.8)
    if close:
      return close[0]
  for name in candidates:
    if "." in name:
      return name
  return candidates[0]


def _filename_before(lines: list[str], head: int, chat_files: list[str]) -> str | None:
  """Looks back up to 3 lines before a SEARCH marker, going on only past fence lines."""
  candidates = []
  for line in reversed(lines[max(0, head - 3) : head]):
    name = _clean_filename(line)
    if name:
      candidates.append(name)
    if not line.strip().startswith(FENCE):
      break
  return _choose_filename(candidates, chat_files)


def parse_search_replace(reply: str, chat_files: list[str]) -> list[EditBlock]:
  """Parses SEARCH/REPLACE blocks; raises MalformedEdit on a structural error."""
  lines = reply.splitlines(keepends=True)
  blocks: list[EditBlock] = []
  previous: str | None = None
  i = 0
  while i < len(lines):
    if not HEAD.match(lines[i].strip()):
      i += 1
      continue
    path = _filename_before(lines, i, chat_files) or previous
    if path is None:
      raise MalformedEdit(
        f"SEARCH block at line {i + 1} names no file (put the path alone on the line before the fence)"
      )
    i += 1
    search = []
    while i < len(lines) and not DIVIDER.match(lines[i].strip()):
      search.append(lines[i])
      i += 1
    if i >= len(lines):
      raise MalformedEdit(f"SEARCH block for {path} has no ======= divider")
    i += 1
    replace = []
    while i < len(lines) and not (TAIL.match(lines[i].strip()) or DIVIDER.match(lines[i].strip())):
      replace.append(lines[i])
      i += 1
    if i >= len(lines):
      raise MalformedEdit(f"SEARCH block for {path} has no >>>>>>> REPLACE end marker")
    i += 1
    blocks.append(EditBlock(path, "".join(search), "".join(replace)))
    previous = path
  return blocks


# ----------------------------------------------------------------------------------------------- matching


def _lines(text: str) -> list[str]:
  if text and not text.endswith("\n"):
    text += "\n"
  return text.splitlines(keepends=True)


def _exact(whole: list[str], part: list[str], replace: list[str]) -> str | None:
  n = len(part)
  for i in range(len(whole) - n + 1):
    if whole[i : i + n] == part:
      return "".join(whole[:i] + replace + whole[i + n :])
  return None


def _common_indent(lines: list[str]) -> int:
  widths = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
  return min(widths) if widths else 0


def _whitespace_tolerant(whole: list[str], part: list[str], replace: list[str]) -> str | None:
  indent = _common_indent(part + replace)
  if indent:
    part = [line[indent:] if line.strip() else line for line in part]
    replace = [line[indent:] if line.strip() else line for line in replace]
  n = len(part)
  for i in range(len(whole) - n + 1):
    window = whole[i : i + n]
    if any(w.lstrip() != p.lstrip() for w, p in zip(window, part)):
      continue
    prefixes = {w[: len(w) - len(p)] for w, p in zip(window, part) if w.strip()}
    if len(prefixes) != 1:
      continue
    prefix = prefixes.pop()
    new = [prefix + line if line.strip() else line for line in replace]
    return "".join(whole[:i] + new + whole[i + n :])
  return None


def _exact_or_whitespace(whole: list[str], part: list[str], replace: list[str]) -> str | None:
  if not part:
    return None
  return _exact(whole, part, replace) or _whitespace_tolerant(whole, part, replace)


def _elided(whole: str, search: str, replace: str) -> str | None:
  """`...` elision; None if SEARCH has no `...` line or a piece does not match exactly once."""
  search_pieces = ELISION.split(search)
  replace_pieces = ELISION.split(replace)
  if len(search_pieces) == 1:
    return None
  if len(search_pieces) != len(replace_pieces):
    return None
  if ELISION.findall(search) != ELISION.findall(replace):
    return None
  for part, new in zip(search_pieces, replace_pieces):
    if not part and not new:
      continue
    if not part:
      if whole and not whole.endswith("\n"):
        whole += "\n"
      whole += new
      continue
    if whole.count(part) != 1:
      return None
    whole = whole.replace(part, new, 1)
  return whole


def replace_first_match(whole: str, search: str, replace: str) -> str | None:
  """aider's matching ladder (module docstring); the new content, or None if SEARCH does not match."""
  whole_lines, part, new = _lines(whole), _lines(search), _lines(replace)
  result = _exact_or_whitespace(whole_lines, part, new)
  if result is not None:
    return result
  if len(part) > 2 and not part[0].strip():
    result = _exact_or_whitespace(whole_lines, part[1:], new)
    if result is not None:
      return result
  return _elided("".join(whole_lines), "".join(part), "".join(new))


def _strip_wrapping(text: str, path: str) -> str:
  """Drops a leading line that names the file and a surrounding fence pair; ensures a final newline."""
  if not text:
    return text
  lines = text.splitlines()
  if lines and path and lines[0].strip().endswith(pathlib.PurePosixPath(path).name):
    lines = lines[1:]
  if len(lines) >= 2 and lines[0].startswith(FENCE) and lines[-1].startswith(FENCE):
    lines = lines[1:-1]
  result = "\n".join(lines)
  if result and not result.endswith("\n"):
    result += "\n"
  return result


def _apply_one(content: str | None, block: EditBlock) -> str | None:
  search = _strip_wrapping(block.search, block.path)
  replace = _strip_wrapping(block.replace, block.path)
  if content is None:
    return replace if not search.strip() else None
  if not search.strip():
    return content + ("" if not content or content.endswith("\n") else "\n") + replace
  return replace_first_match(content, search, replace)


def apply_search_replace(reply: str, files: Mapping[str, str]) -> ApplyResult:
  """Parses and applies a `diff`-format reply to `files` (path -> content). Blocks that match are applied even
  when others fail (as aider does); any failure or parse error marks the reply malformed."""
  try:
    blocks = parse_search_replace(reply, list(files))
  except MalformedEdit as error:
    return ApplyResult(files={}, failed=[str(error)], malformed=True)
  current = dict(files)
  changed: dict[str, str] = {}
  failed = []
  for block in blocks:
    targets = [block.path] + [p for p in current if p != block.path]
    for path in targets:
      content = current.get(path)
      if content is None and path != block.path:
        continue
      new = _apply_one(content, dataclasses.replace(block, path=path))
      if new is not None:
        current[path] = changed[path] = new
        break
    else:
      failed.append(
        f"SearchReplaceNoExactMatch: the SEARCH section for {block.path} must match existing "
        f"lines exactly:\n{block.search}"
      )
  return ApplyResult(files=changed, failed=failed, malformed=bool(failed))


# ----------------------------------------------------------------------------------------------- whole files


def parse_whole_files(reply: str, chat_files: list[str]) -> dict[str, str]:
  """Parses a `whole`-format reply into path -> new content; raises MalformedEdit when a block has no file."""
  lines = reply.splitlines(keepends=True)
  by_base = {pathlib.PurePosixPath(f).name: f for f in chat_files}
  chosen: dict[str, tuple[int, str]] = {}  # path -> (priority, content); explicit 3 > mention 2 > sole 1.
  i = 0
  while i < len(lines):
    if not lines[i].strip().startswith(FENCE):
      i += 1
      continue
    name = _clean_filename(lines[i - 1]) if i > 0 and not lines[i - 1].strip().startswith(FENCE) else None
    if name and len(name) > MAX_FILENAME:
      name = None
    if name and name not in chat_files and pathlib.PurePosixPath(name).name in by_base:
      name = by_base[pathlib.PurePosixPath(name).name]
    priority = 3
    if not name:
      mentioned = [m for m in re.findall(r"`([^`\s]+)`", "".join(lines[:i])) if m in chat_files]
      if mentioned:
        name, priority = mentioned[-1], 2
      elif len(chat_files) == 1:
        name, priority = chat_files[0], 1
      else:
        raise MalformedEdit(f"code block at line {i + 1} has no file name on the line before it")
    i += 1
    body = []
    while i < len(lines) and not lines[i].strip().startswith(FENCE):
      body.append(lines[i])
      i += 1
    i += 1
    if name not in chosen or priority >= chosen[name][0]:
      chosen[name] = (priority, "".join(body))
  return {name: content for name, (_, content) in chosen.items()}


def apply_whole(reply: str, files: Mapping[str, str]) -> ApplyResult:
  try:
    new_files = parse_whole_files(reply, list(files))
  except MalformedEdit as error:
    return ApplyResult(files={}, failed=[str(error)], malformed=True)
  return ApplyResult(files=new_files, failed=[], malformed=False)


EDIT_FORMATS = {"diff": apply_search_replace, "whole": apply_whole}


def apply_edits(edit_format: str, reply: str, files: Mapping[str, str]) -> ApplyResult:
  if edit_format not in EDIT_FORMATS:
    raise ValueError(f"unknown edit format {edit_format!r}; choose from {', '.join(EDIT_FORMATS)}")
  return EDIT_FORMATS[edit_format](reply, files)


def format_instructions(edit_format: str) -> str:
  """How the model must write its edits (our wording of the rules aider teaches, benchmarks.md A5)."""
  if edit_format == "whole":
    return (
      "Reply with the complete new content of every file you change. Put the file's path alone on a "
      "line, then the whole file inside a ``` fenced block. Never elide or abbreviate any part of a file."
    )
  if edit_format == "diff":
    return (
      "Describe every change as a SEARCH/REPLACE block: the file's path alone on a line, then a ``` "
      "fence, then a line `<<<<<<< SEARCH`, the exact existing lines to find, a line `=======`, the "
      "lines to put in their place, a line `>>>>>>> REPLACE`, and the closing ```. The SEARCH part must "
      "match the file character for character, including comments and indentation; only its first "
      "match is replaced, so include enough lines to be unique. Use several small blocks rather than "
      "one big one. An empty SEARCH part creates a new file."
    )
  raise ValueError(f"unknown edit format {edit_format!r}; choose from {', '.join(EDIT_FORMATS)}")


def render_search_replace(path: str, search: str, replace: str) -> str:
  """One SEARCH/REPLACE block in the canonical layout (used by the oracle and by tests)."""

  def ended(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"

  return f"{path}\n{FENCE}\n<<<<<<< SEARCH\n{ended(search)}=======\n{ended(replace)}>>>>>>> REPLACE\n{FENCE}\n"


def render_whole(path: str, content: str) -> str:
  return f"{path}\n{FENCE}\n{content if content.endswith(chr(10)) or not content else content + chr(10)}{FENCE}\n"
