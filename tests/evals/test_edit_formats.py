"""The edit applier on aider's cases."""

import pytest

from hrm_jax.evals import edit_formats as ef

SRC = "def f():\n    x = 1\n    return x\n\n\ndef g():\n    x = 1\n    return x + 1\n"


def block(path, search, replace, fence="```"):
  return f"{path}\n{fence}python\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n{fence}\n"


def test_exact_match_replaces_first_occurrence_only():
  reply = "Here you go.\n\n" + block("a.py", "    x = 1\n", "    x = 2\n")
  result = ef.apply_search_replace(reply, {"a.py": SRC})
  assert result.well_formed
  assert result.files["a.py"].count("x = 2") == 1
  assert result.files["a.py"].index("x = 2") < result.files["a.py"].index("def g")


def test_whitespace_shifted_search_gets_file_indent():
  reply = block("a.py", "x = 1\nreturn x + 1\n", "x = 5\nreturn x * 2\n")
  result = ef.apply_search_replace(reply, {"a.py": SRC})
  assert result.well_formed
  assert "def g():\n    x = 5\n    return x * 2\n" in result.files["a.py"]


def test_inconsistent_indent_does_not_match():
  whole = "if a:\n    b\n  c\n"
  assert ef.replace_first_match(whole, "b\nc\n", "d\ne\n") is None


def test_dropped_leading_blank_line():
  reply = block("a.py", "\ndef g():\n    x = 1\n", "def g():\n    x = 7\n")
  result = ef.apply_search_replace(reply, {"a.py": SRC})
  assert result.well_formed
  assert "def g():\n    x = 7\n" in result.files["a.py"]


def test_elided_search_and_replace():
  reply = block("a.py", "def f():\n...\n    return x + 1\n", "def f0():\n...\n    return x + 100\n")
  result = ef.apply_search_replace(reply, {"a.py": SRC})
  assert result.well_formed, result.failed
  assert result.files["a.py"].startswith("def f0():\n")
  assert "return x + 100" in result.files["a.py"]


def test_elision_with_ambiguous_piece_fails():
  reply = block("a.py", "    x = 1\n...\n", "    x = 3\n...\n")
  assert ef.apply_search_replace(reply, {"a.py": SRC}).malformed


def test_missing_file_falls_back_to_other_chat_file():
  reply = block("wrong_name.py", "    return x + 1\n", "    return x + 2\n")
  result = ef.apply_search_replace(reply, {"a.py": SRC, "b.py": "pass\n"})
  assert result.well_formed
  assert "return x + 2" in result.files["a.py"]


def test_basename_and_decorated_filename_resolve():
  reply = block("**src/a.py**:", "    return x + 1\n", "    return 0\n").replace("**src/a.py**:", "`a.py`:")
  result = ef.apply_search_replace(reply, {"pkg/a.py": SRC})
  assert result.well_formed
  assert "return 0" in result.files["pkg/a.py"]


def test_empty_search_creates_new_file_and_appends():
  reply = block("new.py", "", "print(1)\n") + block("a.py", "", "# end\n")
  result = ef.apply_search_replace(reply, {"a.py": SRC})
  assert result.files["new.py"] == "print(1)\n"
  assert result.files["a.py"].endswith("# end\n")


def test_malformed_blocks():
  missing_divider = "a.py\n```\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n```\n"
  result = ef.apply_search_replace(missing_divider, {"a.py": SRC})
  assert result.malformed and "divider" in result.failed[0]
  missing_tail = "a.py\n```\n<<<<<<< SEARCH\nx\n=======\ny\n"
  assert ef.apply_search_replace(missing_tail, {"a.py": SRC}).malformed
  no_match = block("a.py", "nothing like this\n", "y\n")
  result = ef.apply_search_replace(no_match, {"a.py": SRC})
  assert result.malformed and "SearchReplaceNoExactMatch" in result.failed[0]


def test_partial_application_keeps_good_blocks():
  reply = block("a.py", "    return x\n", "    return -x\n") + block("a.py", "zzz\n", "y\n")
  result = ef.apply_search_replace(reply, {"a.py": SRC})
  assert result.malformed and len(result.failed) == 1
  assert "return -x" in result.files["a.py"]


def test_second_block_reuses_previous_filename():
  reply = (
    block("a.py", "    x = 1\n", "    x = 2\n") + "```\n<<<<<<< SEARCH\n    return x + 1\n=======\n"
    "    return 9\n>>>>>>> REPLACE\n```\n"
  )
  result = ef.apply_search_replace(reply, {"a.py": SRC, "b.py": ""})
  assert "return 9" in result.files["a.py"]


def test_whole_format():
  files = {"a.py": SRC, "b.py": "old\n"}
  reply = "Here:\n\nb.py\n```\nnew content\n```\n"
  assert ef.apply_whole(reply, files).files == {"b.py": "new content\n"}
  mention = "I changed `a.py`, see below.\n\n```\nprint(2)\n```\n"
  assert ef.apply_whole(mention, files).files == {"a.py": "print(2)\n"}
  assert ef.apply_whole("```\nx\n```\n", files).malformed
  assert ef.apply_whole("```python\nx = 1\n```\n", {"only.py": ""}).files == {"only.py": "x = 1\n"}


def test_render_round_trips():
  reply = ef.render_search_replace("a.py", "    return x\n", "    return 3\n")
  assert "return 3" in ef.apply_edits("diff", reply, {"a.py": SRC}).files["a.py"]
  assert ef.apply_edits("whole", ef.render_whole("a.py", "z\n"), {"a.py": SRC}).files == {"a.py": "z\n"}
  with pytest.raises(ValueError):
    ef.apply_edits("udiff", "", {})
