"""Procedural programming tasks in six languages: seeded, verifiable, with difficulty knobs (curriculum stage 1).

Every task is a LiveCodeBench-schema record (reference/benchmarks.md, section B2: `question_title`,
`question_content`, `platform`, `question_id`, `contest_id`, `contest_date`, `starter_code`, `difficulty`,
`public_test_cases`, `private_test_cases`, `metadata`) plus our fields `language`, `solution`, `task` (one of
`hrm_jax.tokenizer.TASKS`) and `family`. The solution is a deterministic function of the statement, so a
small model can learn the mapping exactly. Families:

  arith    (codegen)          "Write a Go function `f(x)` that returns (x + 3) * 2." -> a one-line body
  string   (codegen)          "... takes a string s, reverses it, then upper-cases it ..." -> one line per step
  predict  (code_execution)   "What does this Rust code print?" + a few assignments -> the printed number
  repair   (self_repair)      the arith spec + a function with one injected bug -> the corrected function

Knobs: `min_ops`/`max_ops` (operations per task: expression length, string steps, program length),
`max_constant`. Splits are stratified by construction: a task belongs to the held-out split when the hash of its
content key (language, family, statement) falls below `eval_fraction`, so every stratum (language x family x
number of operations) is split in the same proportion, and small strata (there are only a few dozen one-operation
arith tasks per language) are not swallowed by whichever split is drawn first. Each split's stream draws
candidates from `random.Random("<seed>/<split>/<index>/<attempt>")` and keeps those of its split, so the splits
never share a task (`assert_disjoint`) and both see the generator's mix of difficulties.

Tests are functional (LiveCodeBench encoding: one JSON value per argument line, JSON output, `func_name` in
metadata) except for `predict`, whose test is stdin-style (empty input, expected stdout). `build_test_program`
renders a self-checking program per language and `run_record_tests` runs it with the real toolchain.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Sequence

from hrm_jax.tokenizer import LANGUAGES

FAMILIES = ("arith", "string", "predict", "repair")
FAMILY_TASK = {"arith": "codegen", "string": "codegen", "predict": "code_execution", "repair": "self_repair"}
SPLITS = ("train", "eval")
DISPLAY_NAME = {
  "cpp": "C++",
  "go": "Go",
  "java": "Java",
  "javascript": "JavaScript",
  "python": "Python",
  "rust": "Rust",
}
CONTEST_DATE = "2026-01-01T00:00:00"


@dataclasses.dataclass(frozen=True)
class ProceduralConfig:
  """Knobs of the generator. `min_ops..max_ops` sets program length: ops per expression / steps / lines."""

  languages: tuple[str, ...] = LANGUAGES
  families: tuple[str, ...] = FAMILIES
  min_ops: int = 1
  max_ops: int = 2
  max_constant: int = 9
  num_eval: int = 200
  eval_fraction: float = 0.1  # share of the task space (by content-key hash, in every stratum) held out
  seed: int = 0
  num_public_tests: int = 2
  num_private_tests: int = 4

  def __post_init__(self):
    for lang in self.languages:
      if lang not in LANGUAGES:
        raise ValueError(f"ProceduralConfig.languages: unknown language {lang!r}; expected some of {LANGUAGES}")
    for fam in self.families:
      if fam not in FAMILIES:
        raise ValueError(f"ProceduralConfig.families: unknown family {fam!r}; expected some of {FAMILIES}")
    if not self.languages or not self.families:
      raise ValueError("ProceduralConfig: languages and families must be non-empty")
    if not 1 <= self.min_ops <= self.max_ops:
      raise ValueError(f"ProceduralConfig: need 1 <= min_ops <= max_ops, got {self.min_ops}, {self.max_ops}")
    if self.max_constant < 2:
      raise ValueError(f"ProceduralConfig.max_constant must be >= 2, got {self.max_constant}")
    if not 0.0 < self.eval_fraction < 1.0:
      raise ValueError(f"ProceduralConfig.eval_fraction must be in (0, 1), got {self.eval_fraction}")


# ----------------------------------------------------------------------------------------------------------
# Integer expressions (identical infix syntax and semantics in all six languages: + - * on small ints).

_PRECEDENCE = {"+": 1, "-": 1, "*": 2}


@dataclasses.dataclass(frozen=True)
class Expr:
  """`text` is valid C/Go/Java/JS/Python/Rust; `prec` is the precedence of its top operator (3 = atom)."""

  text: str
  prec: int


def _apply(expr: Expr, op: str, const: int, const_left: bool) -> Expr:
  p = _PRECEDENCE[op]
  if const_left:
    # c - (x + 1) needs parentheses; c + x * 2 does not.
    right = expr.text if expr.prec > p or (expr.prec == p and op != "-") else f"({expr.text})"
    return Expr(f"{const} {op} {right}", p)
  left = expr.text if expr.prec >= p else f"({expr.text})"
  return Expr(f"{left} {op} {const}", p)


def random_expr(rng: random.Random, num_ops: int, max_constant: int) -> Expr:
  expr = Expr("x", 3)
  for _ in range(num_ops):
    op = rng.choice("+-*")
    expr = _apply(expr, op, rng.randint(2, max_constant), const_left=rng.random() < 0.25)
  return expr


def eval_expr(text: str, x: int) -> int:
  """Value of an expression over `x` (only digits, x, + - * and parentheses ever reach here)."""
  return eval(text, {"__builtins__": {}}, {"x": x})  # pylint: disable=eval-used


# ----------------------------------------------------------------------------------------------------------
# Per-language rendering.


def arith_function(language: str, expr: str) -> str:
  """The reference solution of an arith task: `f(x)` returning `expr`."""
  return {
    "python": f"def f(x):\n    return {expr}\n",
    "javascript": f"function f(x) {{\n  return {expr};\n}}\n",
    "cpp": f"int f(int x) {{\n  return {expr};\n}}\n",
    "java": f"static int f(int x) {{\n  return {expr};\n}}\n",
    "go": f"func f(x int) int {{\n\treturn {expr}\n}}\n",
    "rust": f"fn f(x: i64) -> i64 {{\n    {expr}\n}}\n",
  }[language]


STRING_STEPS = ("reverse", "upper", "suffix", "double")
_STEP_WORDS = {"reverse": "reverses it", "upper": "converts it to upper case", "double": "repeats it twice"}


def _string_step(language: str, step: str, arg: str) -> str:
  lit = json.dumps(arg)
  table = {
    "python": {"reverse": "s = s[::-1]", "upper": "s = s.upper()", "suffix": f"s = s + {lit}", "double": "s = s * 2"},
    "javascript": {
      "reverse": 's = s.split("").reverse().join("");',
      "upper": "s = s.toUpperCase();",
      "suffix": f"s = s + {lit};",
      "double": "s = s.repeat(2);",
    },
    "cpp": {
      "reverse": "std::reverse(s.begin(), s.end());",
      "upper": "for (char& c : s) c = std::toupper(c);",
      "suffix": f"s = s + {lit};",
      "double": "s = s + s;",
    },
    "java": {
      "reverse": "s = new StringBuilder(s).reverse().toString();",
      "upper": "s = s.toUpperCase();",
      "suffix": f"s = s + {lit};",
      "double": "s = s.repeat(2);",
    },
    "go": {
      "reverse": "r := []rune(s)\n\tslices.Reverse(r)\n\ts = string(r)",
      "upper": "s = strings.ToUpper(s)",
      "suffix": f"s = s + {lit}",
      "double": "s = strings.Repeat(s, 2)",
    },
    "rust": {
      "reverse": "s = s.chars().rev().collect();",
      "upper": "s = s.to_uppercase();",
      "suffix": f"s = s + {lit};",
      "double": "s = s.repeat(2);",
    },
  }
  return table[language][step]


def string_function(language: str, steps: Sequence[tuple[str, str]]) -> str:
  """The reference solution of a string task: `f(s)` applying `steps` [(step, arg)] in order."""
  body = [_string_step(language, step, arg) for step, arg in steps]
  if language == "go" and sum(step == "reverse" for step, _ in steps) > 1:
    # `r := ...` may be declared once per scope in Go; later reversals reuse r.
    first = True
    for i, (step, _) in enumerate(steps):
      if step == "reverse":
        if not first:
          body[i] = body[i].replace("r := []rune(s)", "r = []rune(s)", 1)
        first = False
  if language == "python":
    return "def f(s):\n" + "".join(f"    {line}\n" for line in body) + "    return s\n"
  if language == "javascript":
    return "function f(s) {\n" + "".join(f"  {line}\n" for line in body) + "  return s;\n}\n"
  if language == "cpp":
    return "std::string f(std::string s) {\n" + "".join(f"  {line}\n" for line in body) + "  return s;\n}\n"
  if language == "java":
    return "static String f(String s) {\n" + "".join(f"  {line}\n" for line in body) + "  return s;\n}\n"
  if language == "go":
    return "func f(s string) string {\n" + "".join(f"\t{line}\n" for line in body) + "\treturn s\n}\n"
  return (
    "fn f(s: &str) -> String {\n    let mut s = s.to_string();\n"
    + "".join(f"    {line}\n" for line in body)
    + "    s\n}\n"
  )


def apply_string_steps(s: str, steps: Sequence[tuple[str, str]]) -> str:
  for step, arg in steps:
    s = {"reverse": lambda v: v[::-1], "upper": str.upper, "suffix": lambda v: v + arg, "double": lambda v: v * 2}[
      step
    ](s)
  return s


def describe_string_steps(steps: Sequence[tuple[str, str]]) -> str:
  words = [f"appends {json.dumps(arg)}" if step == "suffix" else _STEP_WORDS[step] for step, arg in steps]
  return ", then ".join(words)


def predict_snippet(language: str, start: int, ops: Sequence[tuple[str, int]]) -> str:
  """A few statements that assign and update `x`, then print it (the body of a main function)."""
  lines = {
    "python": [f"x = {start}"] + [f"x = x {op} {c}" for op, c in ops] + ["print(x)"],
    "javascript": [f"let x = {start};"] + [f"x = x {op} {c};" for op, c in ops] + ["console.log(x);"],
    "cpp": [f"int x = {start};"] + [f"x = x {op} {c};" for op, c in ops] + ["std::cout << x << std::endl;"],
    "java": [f"int x = {start};"] + [f"x = x {op} {c};" for op, c in ops] + ["System.out.println(x);"],
    "go": [f"x := {start}"] + [f"x = x {op} {c}" for op, c in ops] + ["fmt.Println(x)"],
    "rust": [f"let mut x = {start};"] + [f"x = x {op} {c};" for op, c in ops] + ['println!("{}", x);'],
  }[language]
  return "\n".join(lines) + "\n"


def predict_value(start: int, ops: Sequence[tuple[str, int]]) -> int:
  x = start
  for op, c in ops:
    x = x + c if op == "+" else x - c if op == "-" else x * c
  return x


# ----------------------------------------------------------------------------------------------------------
# Task generation.


def _tests(inputs: Sequence[object], outputs: Sequence[object]) -> list[dict]:
  return [{"input": json.dumps(i), "output": json.dumps(o), "testtype": "functional"} for i, o in zip(inputs, outputs)]


def _random_word(rng: random.Random, lo: int = 1, hi: int = 5) -> str:
  return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(lo, hi)))


def _distinct_ints(rng: random.Random, n: int, lo: int = -20, hi: int = 20) -> list[int]:
  return rng.sample(range(lo, hi + 1), n)


def _make_task(cfg: ProceduralConfig, rng: random.Random) -> dict:
  language = rng.choice(cfg.languages)
  family = rng.choice(cfg.families)
  num_ops = rng.randint(cfg.min_ops, cfg.max_ops)
  name = DISPLAY_NAME[language]
  n_tests = cfg.num_public_tests + cfg.num_private_tests
  metadata = {"func_name": "f"}
  if family in ("arith", "repair"):
    expr = random_expr(rng, num_ops, cfg.max_constant)
    xs = _distinct_ints(rng, n_tests)
    tests = _tests(xs, [eval_expr(expr.text, x) for x in xs])
    solution = arith_function(language, expr.text)
    if family == "arith":
      statement = f"Write a {name} function `f(x)` that returns {expr.text}."
    else:
      buggy = _inject_bug(rng, expr.text, xs)
      statement = (
        f"This {name} function should return {expr.text} but it has a bug. Fix it.\n{arith_function(language, buggy)}"
      )
  elif family == "string":
    steps = []
    for _ in range(num_ops):
      step = rng.choice(STRING_STEPS)
      steps.append((step, _random_word(rng, 1, 2) if step == "suffix" else ""))
    words = sorted({_random_word(rng) for _ in range(n_tests * 2)})[:n_tests]
    rng.shuffle(words)
    tests = _tests(words, [apply_string_steps(w, steps) for w in words])
    solution = string_function(language, steps)
    statement = (
      f"Write a {name} function `f(s)` that takes a string s, {describe_string_steps(steps)}, and returns the result."
    )
  else:  # predict
    start = rng.randint(0, cfg.max_constant)
    ops = [(rng.choice("+-*"), rng.randint(2, cfg.max_constant)) for _ in range(num_ops)]
    value = predict_value(start, ops)
    statement = f"What does this {name} code print?\n{predict_snippet(language, start, ops)}"
    solution = f"{value}\n"
    tests = [{"input": "", "output": f"{value}\n", "testtype": "stdin"}]
    metadata = {"program": predict_snippet(language, start, ops)}
    n_tests = 1
  public = tests[: max(1, min(cfg.num_public_tests, len(tests)))] if family != "predict" else tests
  private = tests[len(public) :] if family != "predict" else []
  difficulty = ("easy", "medium", "hard")[min(num_ops, 3) - 1]
  return {
    "question_title": f"{family} ({name}, {num_ops} op{'s' if num_ops > 1 else ''})",
    "question_content": statement,
    "platform": "procedural",
    "question_id": "",  # filled by the caller (depends on split and index)
    "contest_id": "procedural",
    "contest_date": CONTEST_DATE,
    "starter_code": "",
    "difficulty": difficulty,
    "public_test_cases": json.dumps(public),
    "private_test_cases": json.dumps(private),
    "metadata": json.dumps(metadata),
    "language": language,
    "solution": solution,
    "task": FAMILY_TASK[family],
    "family": family,
    "num_ops": num_ops,
  }


def _inject_bug(rng: random.Random, expr: str, xs: Sequence[int]) -> str:
  """One mutation of `expr` (an operator swapped or a constant changed) that changes some test output."""
  positions = [i for i, ch in enumerate(expr) if ch in "+-*" or ch.isdigit()]
  for _ in range(100):
    i = rng.choice(positions)
    ch = expr[i]
    if ch.isdigit():
      if i + 1 < len(expr) and expr[i + 1].isdigit():
        continue
      new = str((int(ch) + rng.randint(1, 8)) % 10)
      if new in "01":
        continue
    else:
      new = rng.choice([o for o in "+-*" if o != ch])
    mutated = expr[:i] + new + expr[i + 1 :]
    if any(eval_expr(mutated, x) != eval_expr(expr, x) for x in xs):
      return mutated
  raise RuntimeError(f"could not inject a visible bug into {expr!r}")


def content_key(record: dict) -> str:
  """What makes two tasks the same task: language, family and statement (sha256 hex)."""
  text = "\x00".join((record["language"], record["family"], record["question_content"]))
  return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_of(record: dict, eval_fraction: float) -> str:
  """ "eval" when the content key's hash falls below `eval_fraction` (uniform over every stratum), else "train"."""
  return "eval" if int(content_key(record)[:16], 16) / 16**16 < eval_fraction else "train"


def _task(cfg: ProceduralConfig, split: str, index: int, attempt: int) -> dict:
  rng = random.Random(f"{cfg.seed}/{split}/{index}/{attempt}")
  record = _make_task(cfg, rng)
  record["question_id"] = f"proc-{split}-{cfg.seed}-{index}"
  return record


class ProceduralTasks:
  """The raw task stream of one split: `tasks[i]` is deterministic in (config, split, i) for any i >= 0.

  Candidates of the other split (by `split_of`) are redrawn. Streams may repeat a task; `generate` keeps the
  first occurrence of each.
  """

  def __init__(self, cfg: ProceduralConfig, split: str):
    if split not in SPLITS:
      raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    self.cfg = cfg
    self.split = split
    self.redrawn = 0  # candidates of the other split, redrawn

  def __getitem__(self, index: int) -> dict:
    if index < 0:
      raise IndexError(f"negative task index {index}")
    for attempt in range(10_000):
      record = _task(self.cfg, self.split, index, attempt)
      if split_of(record, self.cfg.eval_fraction) == self.split:
        return record
      self.redrawn += 1
    raise RuntimeError(
      f"{self.split} task {index}: 10000 draws all belong to the other split; widen the "
      "config's knobs or move eval_fraction away from 0 or 1"
    )


@dataclasses.dataclass
class GenerationStats:
  drawn: int = 0
  duplicates: int = 0  # stream draws equal to an earlier task of the same split (skipped)
  redrawn: int = 0  # draws that belong to the other split (redrawn)


def generate(cfg: ProceduralConfig, split: str, num: int, stats: GenerationStats | None = None) -> list[dict]:
  """The first `num` distinct tasks of `split`'s stream (eval: use num = cfg.num_eval).

  Raises RuntimeError when the knobs allow too few distinct tasks (e.g. one language, one op).
  """
  tasks = ProceduralTasks(cfg, split)
  out, seen, index = [], set(), 0
  while len(out) < num:
    if index >= 20 * num + 1000:
      raise RuntimeError(
        f"only {len(out)} distinct {split} tasks in {index} draws (wanted {num}); widen "
        "ProceduralConfig's knobs (max_ops, max_constant, languages, families)"
      )
    record = tasks[index]
    index += 1
    key = content_key(record)
    if key in seen:
      continue
    seen.add(key)
    out.append(record)
  if stats is not None:
    stats.drawn, stats.duplicates, stats.redrawn = index, index - len(out), tasks.redrawn
  return out


def assert_disjoint(train: Sequence[dict], heldout: Sequence[dict]) -> None:
  """Raises AssertionError naming a shared task if the two lists overlap by content key or question_id."""
  train_keys = {content_key(r): r["question_id"] for r in train}
  for r in heldout:
    key = content_key(r)
    if key in train_keys:
      raise AssertionError(f"held-out task {r['question_id']} equals train task {train_keys[key]}")
  shared_ids = {r["question_id"] for r in train} & {r["question_id"] for r in heldout}
  if shared_ids:
    raise AssertionError(f"question_id shared by train and held-out: {sorted(shared_ids)[:5]}")


# ----------------------------------------------------------------------------------------------------------
# Verification with the real toolchains.


def _literal(language: str, value: object) -> str:
  if isinstance(value, bool) or not isinstance(value, (int, str)):
    raise TypeError(f"procedural tests hold ints and strings only, got {value!r}")
  return json.dumps(value)


def _functional_cases(record: dict) -> list[tuple[list[object], object]]:
  cases = json.loads(record["public_test_cases"]) + json.loads(record["private_test_cases"])
  return [([json.loads(line) for line in c["input"].split("\n")], json.loads(c["output"])) for c in cases]


def build_test_program(record: dict, code: str | None = None) -> tuple[str, str]:
  """(file name, source) of a program that runs `code` (default: the record's solution) against the record's
  tests and exits 0 when all pass (functional) or prints the program's output (predict)."""
  language = record["language"]
  code = record["solution"] if code is None else code
  if record["family"] == "predict":
    body = json.loads(record["metadata"])["program"]
    return _wrap_main(language, "", body)
  checks = []
  for i, (args, expected) in enumerate(_functional_cases(record)):
    call = f"f({', '.join(_literal(language, a) for a in args)})"
    exp = _literal(language, expected)
    cond = {
      "python": f"{call} == {exp}",
      "javascript": f"{call} === {exp}",
      "cpp": f"{call} == {exp}",
      "java": f"java.util.Objects.equals({call}, {exp})",
      "go": f"{call} == {exp}",
      "rust": f"{call} == {exp}",
    }[language]
    fail = {
      "python": f"if not ({cond}):\n    print('FAIL {i}'); failed += 1",
      "javascript": f"if (!({cond})) {{ console.log('FAIL {i}'); failed++; }}",
      "cpp": f'if (!({cond})) {{ std::cout << "FAIL {i}" << std::endl; failed++; }}',
      "java": f'if (!({cond})) {{ System.out.println("FAIL {i}"); failed++; }}',
      "go": f'if !({cond}) {{\n\tfmt.Println("FAIL {i}")\n\tfailed++\n}}',
      "rust": f'if !({cond}) {{ println!("FAIL {i}"); failed += 1; }}',
    }[language]
    checks.append(fail)
  init = {
    "python": "failed = 0",
    "javascript": "let failed = 0;",
    "cpp": "int failed = 0;",
    "java": "int failed = 0;",
    "go": "failed := 0",
    "rust": "let mut failed = 0;",
  }[language]
  finish = {
    "python": "import sys\nsys.exit(1 if failed else 0)",
    "javascript": "process.exit(failed ? 1 : 0);",
    "cpp": "return failed ? 1 : 0;",
    "java": "System.exit(failed > 0 ? 1 : 0);",
    "go": "if failed > 0 {\n\tos.Exit(1)\n}",
    "rust": "std::process::exit(if failed > 0 { 1 } else { 0 });",
  }[language]
  return _wrap_main(language, code, "\n".join([init] + checks + [finish]) + "\n")


def _indent(text: str, prefix: str) -> str:
  return "".join(prefix + line if line.strip() else line for line in text.splitlines(keepends=True))


def _wrap_main(language: str, code: str, body: str) -> tuple[str, str]:
  if language == "python":
    return "main.py", f"{code}\n{body}"
  if language == "javascript":
    return "main.js", f"{code}\n{body}"
  if language == "cpp":
    return "main.cpp", (
      "#include <algorithm>\n#include <cctype>\n#include <iostream>\n#include <string>\n\n"
      f"{code}\nint main() {{\n{_indent(body, '  ')}}}\n"
    )
  if language == "java":
    return "Main.java", (
      f"public class Main {{\n{_indent(code, '  ')}\n"
      f"  public static void main(String[] args) {{\n{_indent(body, '    ')}  }}\n}}\n"
    )
  if language == "go":
    return "main.go", (
      'package main\n\nimport (\n\t"fmt"\n\t"os"\n\t"slices"\n\t"strings"\n)\n\n'
      "var _ = fmt.Sprint\nvar _ = os.Exit\nvar _ = slices.Reverse[[]rune]\nvar _ = strings.ToUpper\n\n"
      f"{code}\nfunc main() {{\n{_indent(body, chr(9))}}}\n"
    )
  if language == "rust":
    return "main.rs", f"{code}\nfn main() {{\n{_indent(body, '    ')}}}\n"
  raise ValueError(f"unknown language {language!r}")


def toolchain_commands(language: str, source: str) -> list[list[str]]:
  """Commands (build then run, in the program's directory) for one single-file program."""
  return {
    "python": [["python3", source]],
    "javascript": [["node", source]],
    "cpp": [["g++", "-std=c++17", "-O0", "-o", "main", source], ["./main"]],
    "java": [["java", source]],  # the JDK's single-file source launcher (JEP 330)
    "go": [["go", "run", source]],
    "rust": [["rustc", "--edition", "2021", "-O", "-o", "main", source], ["./main"]],
  }[language]


@dataclasses.dataclass
class RunResult:
  passed: bool
  stdout: str
  stderr: str
  returncode: int


def run_record_tests(record: dict, code: str | None = None, timeout: float = 60.0) -> RunResult:
  """Builds and runs the record's test program with the real toolchain (no sandbox: trusted code only).

  For `predict` tasks, passes when the program's stdout equals the expected output and `code`
  (default: the record's solution) equals it too.
  """
  filename, program = build_test_program(record, code)
  tool = toolchain_commands(record["language"], filename)[0][0]
  if shutil.which(tool) is None:
    raise FileNotFoundError(f"toolchain for {record['language']} not found on PATH: {tool}")
  with tempfile.TemporaryDirectory(prefix="hrm_proc_") as workdir:
    with open(os.path.join(workdir, filename), "w") as f:
      f.write(program)
    env = dict(
      os.environ,
      GOCACHE=os.environ.get("GOCACHE", os.path.join(tempfile.gettempdir(), "hrm_gocache")),
      GOFLAGS="-mod=mod",
      GO111MODULE="off",
    )
    proc = None
    for argv in toolchain_commands(record["language"], filename):
      proc = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env)
      if proc.returncode != 0:
        return RunResult(False, proc.stdout, proc.stderr, proc.returncode)
  assert proc is not None
  if record["family"] == "predict":
    expected = json.loads(record["public_test_cases"])[0]["output"]
    answer = record["solution"] if code is None else code
    ok = proc.stdout == expected and answer.strip() == expected.strip()
    return RunResult(ok, proc.stdout, proc.stderr, proc.returncode)
  return RunResult(True, proc.stdout, proc.stderr, proc.returncode)
