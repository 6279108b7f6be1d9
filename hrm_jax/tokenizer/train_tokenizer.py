"""Trains the code tokenizer (byte-level BPE, 8192 ids) on the six languages' sources found on this machine.

    python -m hrm_jax.tokenizer.train_tokenizer --out hrm_jax/tokenizer/code_bpe_8k.json

Deterministic: files come from `hrm_jax.tokenizer.sources` sorted by key, are split into train/held-out
by a hash of the key, are taken in hash order up to a fixed byte cap per language, and the BPE trainer
is deterministic for a given input. It prints the corpus it used and bytes/token per language on the
held-out files, and writes the same figures beside the vocabulary (`<out stem>.report.json`).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence

import tokenizers
from tokenizers import decoders, models, pre_tokenizers, trainers

from hrm_jax.tokenizer import LANGUAGES, SPECIAL_TOKENS, VOCAB_SIZE, load_tokenizer
from hrm_jax.tokenizer import sources as sources_lib

HELDOUT_BUCKETS = 20  # 1 file in 20 (by key hash) is held out for the bytes/token report.


@dataclasses.dataclass
class LanguageCorpus:
  language: str
  train: list[str]
  heldout: list[str]
  train_keys: list[str]
  heldout_keys: list[str]
  files_found: int
  skipped: int  # unreadable (not UTF-8) or too large

  @property
  def train_bytes(self) -> int:
    return sum(len(t.encode("utf-8")) for t in self.train)

  @property
  def heldout_bytes(self) -> int:
    return sum(len(t.encode("utf-8")) for t in self.heldout)


def _key_hash(key: str) -> int:
  return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")


def select_corpus(
  language: str, files: Sequence[sources_lib.SourceFile], *, train_bytes: int, heldout_bytes: int, max_file_bytes: int
) -> LanguageCorpus:
  """Splits `files` by key hash into train/held-out and reads each side, in hash order, up to its cap."""
  corpus = LanguageCorpus(language, [], [], [], [], files_found=len(files), skipped=0)
  budget = {"train": train_bytes, "heldout": heldout_bytes}
  for f in sorted(files, key=lambda f: (_key_hash(f.key), f.key)):
    side = "heldout" if _key_hash("heldout:" + f.key) % HELDOUT_BUCKETS == 0 else "train"
    if budget[side] <= 0:
      if budget["train"] <= 0 and budget["heldout"] <= 0:
        break
      continue
    if f.size > max_file_bytes:
      corpus.skipped += 1
      continue
    try:
      text = f.load()
    except (UnicodeDecodeError, ValueError, OSError):
      corpus.skipped += 1
      continue
    if not text.strip():
      continue
    getattr(corpus, side).append(text)
    getattr(corpus, side + "_keys").append(f.key)
    budget[side] -= len(text.encode("utf-8"))
  return corpus


def new_tokenizer() -> tokenizers.Tokenizer:
  """An untrained byte-level BPE: GPT-2 style pre-split (keeps whitespace runs), byte-level decode."""
  tok = tokenizers.Tokenizer(models.BPE())
  tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
  tok.decoder = decoders.ByteLevel()
  return tok


def train_bpe(texts: Iterable[str], vocab_size: int = VOCAB_SIZE) -> tokenizers.Tokenizer:
  """Trains on `texts`; SPECIAL_TOKENS get ids 0..N-1 in order, then the 256 byte symbols, then merges."""
  tok = new_tokenizer()
  trainer = trainers.BpeTrainer(
    vocab_size=vocab_size,
    min_frequency=2,
    special_tokens=list(SPECIAL_TOKENS),
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    show_progress=False,
  )
  tok.train_from_iterator(texts, trainer=trainer)
  # Registered again as added tokens (same ids) so that encode() matches them as wholes inside text.
  tok.add_special_tokens([tokenizers.AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
  return tok


def bytes_per_token(tokenizer, texts: Sequence[str]) -> float:
  n_bytes = sum(len(t.encode("utf-8")) for t in texts)
  n_tokens = sum(len(ids) for ids in tokenizer.encode_batch(texts))
  return n_bytes / max(n_tokens, 1)


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--out", required=True, help="path of the tokenizer JSON to write")
  parser.add_argument("--train_bytes_per_language", type=int, default=4_000_000)
  parser.add_argument("--heldout_bytes_per_language", type=int, default=300_000)
  parser.add_argument("--max_file_bytes", type=int, default=200_000, help="skip larger (generated) files")
  parser.add_argument("--vocab_size", type=int, default=VOCAB_SIZE)
  args = parser.parse_args(argv)

  start = time.time()
  corpora = []
  for language in LANGUAGES:
    files = sources_lib.find_sources(language)
    if not files:
      print(f"error: no {language} sources found on this machine (see hrm_jax/tokenizer/sources.py)", file=sys.stderr)
      return 1
    corpora.append(
      select_corpus(
        language,
        files,
        train_bytes=args.train_bytes_per_language,
        heldout_bytes=args.heldout_bytes_per_language,
        max_file_bytes=args.max_file_bytes,
      )
    )
  print(f"corpus read in {time.time() - start:.1f}s")
  # Interleave languages file by file so no language dominates the start of the stream.
  ordered = []
  for i in range(max(len(c.train) for c in corpora)):
    ordered += [c.train[i] for c in corpora if i < len(c.train)]

  start = time.time()
  backend = train_bpe(ordered, args.vocab_size)
  train_seconds = time.time() - start
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  backend.save(args.out, pretty=False)
  tok = load_tokenizer(args.out)

  rows = []
  print(f"trained vocab_size={tok.vocab_size} in {train_seconds:.1f}s -> {args.out}")
  print(f"{'language':<11} {'found':>7} {'train files':>11} {'train MB':>8} {'held-out files':>14} {'bytes/token':>11}")
  for c in corpora:
    bpt = bytes_per_token(tok, c.heldout)
    roots = sorted({k.split("/", 1)[0] for k in c.train_keys})
    rows.append(
      dict(
        language=c.language,
        files_found=c.files_found,
        train_files=len(c.train),
        train_bytes=c.train_bytes,
        heldout_files=len(c.heldout),
        heldout_bytes=c.heldout_bytes,
        heldout_bytes_per_token=round(bpt, 4),
        skipped_files=c.skipped,
        roots=roots,
      )
    )
    print(
      f"{c.language:<11} {c.files_found:>7} {len(c.train):>11} {c.train_bytes / 1e6:>8.2f} "
      f"{len(c.heldout):>14} {bpt:>11.3f}"
    )
  stem, _ = os.path.splitext(args.out)
  with open(stem + ".report.json", "w") as f:
    json.dump(
      dict(
        vocab_size=tok.vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        train_seconds=round(train_seconds, 1),
        args=vars(args),
        languages=rows,
      ),
      f,
      indent=1,
    )
    f.write("\n")
  return 0


if __name__ == "__main__":
  sys.exit(main())
