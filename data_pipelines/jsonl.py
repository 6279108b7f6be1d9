"""Reading JSON Lines files one line at a time, so that a bad line is named `path:line` and can be tolerated.

Each line is decoded from UTF-8 on its own (a file opened in text mode fails on the first undecodable byte
with no line number, and the rest of the file is lost); blank lines are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


class JsonLineError(ValueError):
  """A line that is not UTF-8 or not JSON; the message starts with `path:line:`."""


def iter_json_lines(path: str) -> Iterator[tuple[int, Any]]:
  """(line number, parsed JSON value, or a JsonLineError naming `path:line`) for every non-blank line."""
  with open(path, "rb") as f:
    for lineno, raw in enumerate(f, start=1):
      try:
        line = raw.decode("utf-8")
      except UnicodeDecodeError as e:
        yield lineno, JsonLineError(f"{path}:{lineno}: not UTF-8 ({e.reason} at byte {e.start} of the line)")
        continue
      if not line.strip():
        continue
      try:
        yield lineno, json.loads(line)
      except json.JSONDecodeError as e:
        yield lineno, JsonLineError(f"{path}:{lineno}: not JSON: {e}")
