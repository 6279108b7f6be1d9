"""The code tokenizer: a byte-level BPE over six languages' real source, with special tokens.

    from hrm_jax.tokenizer import load_tokenizer, LANGUAGES, TASKS
    tok = load_tokenizer()                 # the shipped vocabulary, cached
    ids = tok.encode("def f(x):\\n  return x\\n")
    assert tok.decode(ids) == "def f(x):\\n  return x\\n"

Special tokens hold fixed ids at the start of the vocabulary, in the order of `SPECIAL_TOKENS`
(`<|pad|>` = 0, `<|eos|>` = 1, ...). Each is one id, matched as a whole in `encode` and kept by `decode`,
so `decode(encode(x)) == x` for every string. The training script is `hrm_jax/tokenizer/train_tokenizer.py`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Sequence

import tokenizers

LANGUAGES = ("cpp", "go", "java", "javascript", "python", "rust")  # index = language_id
TASKS = ("codegen", "self_repair", "test_output_prediction", "code_execution", "edit", "tool_use")  # index = task_id

PAD = "<|pad|>"
EOS = "<|eos|>"
BOS = "<|bos|>"
ROLES = ("problem", "code", "tests", "feedback", "tool_call", "tool_result", "answer")
# Aider's SEARCH/REPLACE edit-block markers (aider/coders/editblock_prompts.py, see reference/benchmarks.md).
EDIT_SEARCH = "<<<<<<< SEARCH"
EDIT_DIVIDER = "======="
EDIT_REPLACE = ">>>>>>> REPLACE"

SPECIAL_TOKENS: tuple[str, ...] = (
  (PAD, EOS, BOS)
  + tuple(f"<|lang:{lang}|>" for lang in LANGUAGES)
  + tuple(f"<|{role}|>" for role in ROLES)
  + (EDIT_SEARCH, EDIT_DIVIDER, EDIT_REPLACE)
)
VOCAB_SIZE = 8192
DEFAULT_VOCAB_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "code_bpe_8k.json")


@dataclasses.dataclass(frozen=True)
class CodeTokenizer:
  """Thin, typed wrapper over a `tokenizers.Tokenizer` with our special-token conventions."""

  backend: tokenizers.Tokenizer
  path: str

  @property
  def vocab_size(self) -> int:
    return self.backend.get_vocab_size(with_added_tokens=True)

  @property
  def pad_id(self) -> int:
    return self.token_id(PAD)

  @property
  def eos_id(self) -> int:
    return self.token_id(EOS)

  @property
  def bos_id(self) -> int:
    return self.token_id(BOS)

  def token_id(self, token: str) -> int:
    """The id of a single token (special or ordinary); KeyError if it is not one token of the vocabulary."""
    token_id = self.backend.token_to_id(token)
    if token_id is None:
      raise KeyError(f"{token!r} is not a single token of the vocabulary {self.path}")
    return token_id

  def encode(self, text: str) -> list[int]:
    """Token ids of `text`; special-token strings inside `text` become their single ids."""
    return self.backend.encode(text, add_special_tokens=False).ids

  def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
    """`encode` for many strings at once (the backend parallelises across them)."""
    return [e.ids for e in self.backend.encode_batch(list(texts), add_special_tokens=False)]

  def decode(self, ids: Sequence[int]) -> str:
    """The exact text of `ids`, special tokens included (`decode(encode(x)) == x`)."""
    return self.backend.decode([int(i) for i in ids], skip_special_tokens=False)


def check_special_tokens(backend: tokenizers.Tokenizer, path: str) -> None:
  """Raises ValueError unless every special token holds its fixed id (its index in SPECIAL_TOKENS)."""
  for expected_id, token in enumerate(SPECIAL_TOKENS):
    got = backend.token_to_id(token)
    if got != expected_id:
      raise ValueError(
        f"{path}: special token {token!r} has id {got}, expected {expected_id}; "
        "retrain with `python -m hrm_jax.tokenizer.train_tokenizer`"
      )


@functools.lru_cache(maxsize=8)
def _load(path: str) -> CodeTokenizer:
  if not os.path.isfile(path):
    raise FileNotFoundError(f"tokenizer file not found: {path}")
  backend = tokenizers.Tokenizer.from_file(path)
  check_special_tokens(backend, path)
  return CodeTokenizer(backend=backend, path=path)


def load_tokenizer(path: str | None = None) -> CodeTokenizer:
  """Loads (once per path, then cached) a tokenizer file; default: the shipped `code_bpe_8k.json`."""
  return _load(os.path.abspath(path or DEFAULT_VOCAB_FILE))
