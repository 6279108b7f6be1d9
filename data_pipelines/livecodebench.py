"""LiveCodeBench `code_generation_lite` records: read, validate, decode tests, encode tests.

Schema (reference/benchmarks.md, section B2; every field a string in the JSONL): question_title,
question_content, platform, question_id, contest_id, contest_date (ISO datetime), starter_code, difficulty
(easy|medium|hard), public_test_cases (JSON list of {input, output, testtype}), private_test_cases (the same
list as JSON, or base64(zlib(pickle(JSON string)))), metadata (JSON object; `func_name` for call-based
problems). Fields outside the schema (our bundled sample's `solution`) are kept in `LcbProblem.extra`.
This is the one reader of the format: the input pipeline, the evaluation harness (`hrm_jax.evals.livecodebench`)
and the RL rewards all parse records here.

The private-test pickle comes from the internet, so it is loaded with `RestrictedUnpickler`, which builds
only plain str/list/dict values (and the int/float/bool/None inside them) and refuses every global or
object-constructing opcode with `UnsafePickleError`: a pickle that would run code is rejected, never run.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import logging
import pickle
import zlib
from collections.abc import Iterator

from hrm_jax.data_pipelines import jsonl

REQUIRED_FIELDS = (
  "question_title",
  "question_content",
  "platform",
  "question_id",
  "contest_id",
  "contest_date",
  "starter_code",
  "difficulty",
  "public_test_cases",
  "private_test_cases",
  "metadata",
)
DIFFICULTIES = ("easy", "medium", "hard")
TEST_TYPES = ("stdin", "functional")


class RecordError(ValueError):
  """A malformed record; the message names the file, the line and the field."""


class UnsafePickleError(pickle.UnpicklingError):
  """The private-test pickle asked for something other than plain str/list/dict data."""


@dataclasses.dataclass(frozen=True)
class TestCase:
  input: str
  output: str
  testtype: str


@dataclasses.dataclass(frozen=True)
class LcbProblem:
  question_title: str
  question_content: str
  platform: str
  question_id: str
  contest_id: str
  contest_date: str
  starter_code: str
  difficulty: str
  public_tests: tuple[TestCase, ...]
  private_tests: tuple[TestCase, ...]
  metadata: dict
  extra: dict = dataclasses.field(default_factory=dict)

  @property
  def func_name(self) -> str | None:
    """The method/function name for call-based problems; None for stdin problems."""
    return self.metadata.get("func_name") or None

  @property
  def is_functional(self) -> bool:
    return self.func_name is not None

  @property
  def tests(self) -> tuple[TestCase, ...]:
    """Every test, public first, then private (the order LiveCodeBench grades in)."""
    return self.public_tests + self.private_tests

  @property
  def solution(self) -> str | None:
    """Our `solution` field (a reference Python program), when the record has one."""
    value = self.extra.get("solution")
    return value if isinstance(value, str) and value.strip() else None


class RestrictedUnpickler(pickle.Unpickler):
  """Unpickles plain data only: any global lookup (the way a pickle reaches callables) is refused."""

  def find_class(self, module: str, name: str):
    raise UnsafePickleError(f"refused pickle global {module}.{name}")

  def persistent_load(self, pid):
    raise UnsafePickleError(f"refused pickle persistent id {pid!r}")


_PLAIN_SCALARS = (str, int, float, bool, type(None))


def _check_plain(value, path: str = "value") -> None:
  if isinstance(value, _PLAIN_SCALARS):
    return
  if isinstance(value, list):
    for i, v in enumerate(value):
      _check_plain(v, f"{path}[{i}]")
    return
  if isinstance(value, dict):
    for k, v in value.items():
      if not isinstance(k, str):
        raise UnsafePickleError(f"{path} has a non-string key {k!r}")
      _check_plain(v, f"{path}[{k!r}]")
    return
  raise UnsafePickleError(f"{path} is a {type(value).__name__}; only plain str/list/dict data is allowed")


def safe_unpickle(data: bytes):
  """`pickle.loads` restricted to plain data (no globals, no REDUCE/BUILD of objects, no tuples/sets)."""
  try:
    value = RestrictedUnpickler(io.BytesIO(data)).load()
  except UnsafePickleError:
    raise
  except Exception as e:  # malformed pickle: truncated, bad opcode, ...
    raise UnsafePickleError(f"not a valid pickle of plain data: {type(e).__name__}: {e}") from e
  _check_plain(value)
  return value


def encode_private_tests(tests: list[dict]) -> str:
  """LiveCodeBench's compressed encoding: base64(zlib(pickle(json.dumps(tests))))."""
  return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests), protocol=4))).decode("ascii")


def decode_private_tests(field: str) -> list[dict]:
  """The private tests of a record: plain JSON, or base64 -> zlib -> restricted unpickle -> JSON."""
  try:
    value = json.loads(field)
  except json.JSONDecodeError:
    try:
      raw = zlib.decompress(base64.b64decode(field, validate=True))
    except (ValueError, zlib.error) as e:
      raise RecordError(f"private_test_cases is neither JSON nor base64(zlib(pickle)): {e}") from e
    value = safe_unpickle(raw)
    if isinstance(value, str):
      value = json.loads(value)
  if not isinstance(value, list):
    raise RecordError(f"private_test_cases decodes to {type(value).__name__}, expected a list of tests")
  return value


def _tests(value, field: str) -> tuple[TestCase, ...]:
  if not isinstance(value, list):
    raise RecordError(f"{field}: expected a list of tests, got {type(value).__name__}")
  out = []
  for i, t in enumerate(value):
    if not isinstance(t, dict) or not {"input", "output"} <= set(t):
      raise RecordError(f"{field}[{i}]: expected an object with input, output and testtype")
    testtype = t.get("testtype", "stdin")
    if not isinstance(t["input"], str) or not isinstance(t["output"], str) or testtype not in TEST_TYPES:
      raise RecordError(f"{field}[{i}]: input/output must be strings and testtype one of {TEST_TYPES}")
    out.append(TestCase(t["input"], t["output"], testtype))
  return tuple(out)


def parse_record(obj) -> LcbProblem:
  """Validates one decoded JSON object; raises RecordError naming the field."""
  if not isinstance(obj, dict):
    raise RecordError(f"expected a JSON object, got {type(obj).__name__}")
  missing = [f for f in REQUIRED_FIELDS if f not in obj]
  if missing:
    raise RecordError(f"missing field(s) {', '.join(missing)}")
  for f in REQUIRED_FIELDS:
    if not isinstance(obj[f], str):
      raise RecordError(f"field {f} must be a string, got {type(obj[f]).__name__}")
  if obj["difficulty"] not in DIFFICULTIES:
    raise RecordError(f"field difficulty must be one of {DIFFICULTIES}, got {obj['difficulty']!r}")
  if not obj["question_id"] or not obj["question_content"].strip():
    raise RecordError("fields question_id and question_content must be non-empty")
  date = obj["contest_date"]
  if len(date) < 10 or date[4] != "-" or date[7] != "-" or not (date[:4] + date[5:7] + date[8:10]).isdigit():
    raise RecordError(f"field contest_date must be an ISO date/datetime, got {date!r}")
  try:
    public = json.loads(obj["public_test_cases"])
  except json.JSONDecodeError as e:
    raise RecordError(f"field public_test_cases is not JSON: {e}") from e
  try:
    private = decode_private_tests(obj["private_test_cases"])
  except UnsafePickleError as e:  # the message leads: "refused pickle global posix.system (...)"
    raise RecordError(f"{e} (field private_test_cases; only plain str/list/dict data is allowed)") from e
  except RecordError as e:
    raise RecordError(f"field {e}") from e
  try:
    metadata = json.loads(obj["metadata"] or "{}")
  except json.JSONDecodeError as e:
    raise RecordError(f"field metadata is not JSON: {e}") from e
  if not isinstance(metadata, dict):
    raise RecordError("field metadata must be a JSON object")
  extra = {k: v for k, v in obj.items() if k not in REQUIRED_FIELDS}
  return LcbProblem(
    question_title=obj["question_title"],
    question_content=obj["question_content"],
    platform=obj["platform"],
    question_id=obj["question_id"],
    contest_id=obj["contest_id"],
    contest_date=date,
    starter_code=obj["starter_code"],
    difficulty=obj["difficulty"],
    public_tests=_tests(public, "public_test_cases"),
    private_tests=_tests(private, "private_test_cases"),
    metadata=metadata,
    extra=extra,
  )


def iter_jsonl(path: str) -> Iterator[tuple[int, LcbProblem | RecordError]]:
  """(line number, problem or the RecordError for that line) for every non-blank line of `path`.

  Lines are read one at a time (`jsonl.iter_json_lines`), so a line that is not UTF-8 or not JSON is a bad
  record naming `path:line`."""
  for lineno, obj in jsonl.iter_json_lines(path):
    if isinstance(obj, jsonl.JsonLineError):
      yield lineno, RecordError(str(obj))
      continue
    try:
      yield lineno, parse_record(obj)
    except RecordError as e:
      yield lineno, RecordError(f"{path}:{lineno}: {e}")


def read_jsonl(path: str, max_bad: int = 0) -> list[LcbProblem]:
  """All problems of a JSONL file: the one LiveCodeBench reader (the data pipeline, the evaluator and the RL
  rewards read records through it). More than `max_bad` malformed lines raise RecordError: the line's own
  error when it is the only one (`path:line: reason`), else a count and the first ten."""
  problems, bad = [], []
  for _, item in iter_jsonl(path):
    (bad if isinstance(item, RecordError) else problems).append(item)
  if len(bad) > max_bad:
    if len(bad) == 1:
      raise bad[0]
    shown = "\n  ".join(str(e) for e in bad[:10])
    raise RecordError(f"{path}: {len(bad)} malformed record(s) (threshold {max_bad}):\n  {shown}")
  for error in bad:
    logging.getLogger(__name__).warning("skipped (within max_bad=%d): %s", max_bad, error)
  seen = set()
  for p in problems:
    if p.question_id in seen:
      raise RecordError(f"{path}: duplicate question_id {p.question_id!r}")
    seen.add(p.question_id)
  return problems


def to_training_record(problem: LcbProblem) -> dict:
  """A record for the input pipeline: the LCB fields + language "python", task "codegen", `solution`."""
  solution = problem.extra.get("solution")
  if not isinstance(solution, str) or not solution.strip():
    raise RecordError(f"problem {problem.question_id}: no reference `solution` field to train on")
  return {
    "question_title": problem.question_title,
    "question_content": problem.question_content,
    "platform": problem.platform,
    "question_id": problem.question_id,
    "contest_id": problem.contest_id,
    "contest_date": problem.contest_date,
    "starter_code": problem.starter_code,
    "difficulty": problem.difficulty,
    "public_test_cases": json.dumps([dataclasses.asdict(t) for t in problem.public_tests]),
    "private_test_cases": json.dumps([dataclasses.asdict(t) for t in problem.private_tests]),
    "metadata": json.dumps(problem.metadata),
    "language": "python",
    "solution": solution,
    "task": "codegen",
  }
