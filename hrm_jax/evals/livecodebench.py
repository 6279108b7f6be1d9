"""LiveCodeBench harness: the four scenarios, graded in the sandbox by LiveCodeBench's rules.

Formats and rules from benchmarks.md part B (lcb_runner at 28fef95); prompts are our wording of LCB's.
  * codegeneration: statement -> program; graded on all tests (public first, then private).
  * selfrepair: a failed program + feedback from its first failure -> a repaired program.
  * testoutputprediction: statement + starter code + `assert f(args) == # TODO` -> the expected value.
  * codeexecution: program + `assert call == ??` -> the call's value.

Grading never executes model text in this process. Programs run inside the sandbox under a driver that
records, per test, the program's stdout (stdin problems) or return value as JSON (call-based problems); the
driver never sees the expected outputs, so a program cannot forge a pass, and the comparison happens here:
  * stdin: strip the whole output, split on newlines, strip each line; same line count; each line equal, or
    whitespace-split tokens all parse as `decimal.Decimal` and are equal (so `1.0` == `1`, no epsilon);
  * call-based: a returned tuple becomes a list, then `==` against `json.loads(expected)`.
Per-test timeout 6 s (LCB's default) via `signal.alarm`; the whole run gets (6 + 1) * tests + 5 s; the driver
stops at the first error or timeout. One deviation: a stdin program is executed as `__main__` once per test
rather than LCB's wrapping of the module into a function (they differ only for programs whose scoping depends
on that wrapping). Test-output predictions and code-execution answers are `eval`-ed only in the sandbox.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import decimal
import json
import pathlib
import re
import sys
from collections.abc import Sequence
from typing import Any

from hrm_jax.data_pipelines import livecodebench as lcb_reader
from hrm_jax.evals import generators as gen_lib
from hrm_jax.evals.pass_at_k import mean_pass_at_k
from hrm_jax.sandbox import pool, runner

SCENARIOS = ("codegeneration", "selfrepair", "testoutputprediction", "codeexecution")
TEST_TIMEOUT_S = 6.0  # lcb_runner --timeout default.
EXECUTION_TIMEOUT_S = 3.0  # code execution grading subprocess timeout.
SOLUTION_FIELD = "solution"  # Our field: the reference Python program, used by --oracle.
TRUNCATE = 300

# LiveCodeBench's import prelude (benchmarks.md B3).
PRELUDE_MODULES = (
  "string",
  "re",
  "datetime",
  "collections",
  "heapq",
  "bisect",
  "copy",
  "math",
  "random",
  "statistics",
  "itertools",
  "functools",
  "operator",
  "io",
  "sys",
  "json",
  "builtins",
  "typing",
)
PRELUDE = (
  "".join(f"from {m} import *\n" for m in PRELUDE_MODULES)
  + "".join(f"import {m}\n" for m in PRELUDE_MODULES)
  + "sys.setrecursionlimit(50000)\n"
)

# Prompts: our wording of the structure LCB uses (lcb_runner/prompts/*.py at 28fef95, benchmarks.md B5); the
# system message is the sentence benchmarks.md quotes. Byte-identical prompts need LCB's own files.
SYSTEM_MESSAGE = (
  "You are an expert Python programmer. You will be given a question (problem specification) "
  "and will generate a correct Python program that matches the specification and passes all "
  "tests."
)
FORMAT_STDIN = (
  "Write a complete Python program that reads its input from standard input and prints the answer "
  "to standard output; do not hard-code the sample cases. Put the whole program in one ```python "
  "fenced block as shown."
)
FORMAT_STARTER = (
  "Complete the starter code below (keep its class and method names) and put the whole solution "
  "in one ```python fenced block."
)

ERROR_CATEGORIES = (
  "passed",
  "no_code",
  "compile_error",
  "wrong_answer",
  "time_limit",
  "runtime_error",
  "memory_limit",
  "output_limit",
  "sandbox_error",
  "context_overflow",
)


def _generate(generator, prompts: Sequence[str]) -> tuple[list[str], list[int]]:
  """Replies ("" for prompts that do not fit the model's context and were not sent) and those prompts' indices."""
  replies, _ = gen_lib.generate_within_context(generator, prompts)
  return [r if r is not None else "" for r in replies], [i for i, r in enumerate(replies) if r is None]


def _overflow_grades(grades: list, overflowed: Sequence[int]) -> list:
  for i in overflowed:
    grades[i] = Grade(False, "context_overflow", {"error": "the prompt does not fit the model's context"})
  return grades


# Problems come from the one LiveCodeBench reader (`hrm_jax.data_pipelines.livecodebench`, restricted
# unpickler for the private tests); the harness reads its `tests` (public first, then private), `func_name`
# (call-based when set, as LCB chooses the mode) and `solution` (our field, used by --oracle).
Problem = lcb_reader.LcbProblem
TestCase = lcb_reader.TestCase


@dataclasses.dataclass(frozen=True)
class ExecutionProblem:
  """A code-execution item (execution-v2 schema): `input` is a call expression, `output` a literal."""

  id: str
  question_id: str
  difficulty: str
  platform: str
  contest_date: str
  code: str
  input: str
  output: str


@dataclasses.dataclass
class Grade:
  passed: bool
  category: str  # One of ERROR_CATEGORIES.
  metadata: dict  # First failure: inputs / output / expected / error (truncated), as LCB records it.


# ----------------------------------------------------------------------------------------------- loading


def _date(text: str) -> dt.date:
  return dt.datetime.fromisoformat(text.replace("Z", "")).date()


def _in_window(date_text: str, start: str | None, end: str | None) -> bool:
  if not (start or end):
    return True
  date = _date(date_text)
  return (not start or date >= dt.date.fromisoformat(start)) and (not end or date <= dt.date.fromisoformat(end))


def problem_from_record(record: dict, where: str = "") -> Problem:
  """One decoded code_generation record (for example a training record graded as an RL reward)."""
  try:
    return lcb_reader.parse_record(record)
  except lcb_reader.RecordError as error:
    raise lcb_reader.RecordError(f"{where}: {error}" if where else str(error)) from error


def load_problems(
  path: pathlib.Path, start_date: str | None = None, end_date: str | None = None, platform: str | None = None
) -> list[Problem]:
  """Reads code_generation(_lite) JSONL with the one reader, keeping problems whose contest_date is in
  [start, end] (inclusive) and, if given, on `platform`. A malformed record raises RecordError naming
  `path:line` (a refused private-test pickle: `path:line: refused pickle global MODULE.NAME`)."""
  return [
    p
    for p in lcb_reader.read_jsonl(str(path))
    if _in_window(p.contest_date, start_date, end_date) and (not platform or p.platform == platform)
  ]


def execution_problems_from_records(records: Sequence[dict]) -> list[ExecutionProblem]:
  return [
    ExecutionProblem(
      id=r["id"],
      question_id=str(r.get("question_id", r["id"])),
      difficulty=r.get("difficulty", "unknown"),
      platform=r.get("platform", "leetcode"),
      contest_date=r.get("contest_date", "1970-01-01T00:00:00"),
      code=r["code"],
      input=r["input"],
      output=r["output"],
    )
    for r in records
  ]


def execution_problems_from_codegen(problems: Sequence[Problem]) -> list[ExecutionProblem]:
  """Code-execution items derived from call-based problems with a reference solution: its first test."""
  items = []
  for p in problems:
    if p.func_name and p.solution and p.tests:
      args = ", ".join(line for line in p.tests[0].input.split("\n") if line.strip())
      items.append(
        ExecutionProblem(
          id=f"{p.question_id}_0",
          question_id=p.question_id,
          difficulty=p.difficulty,
          platform=p.platform,
          contest_date=p.contest_date,
          code=p.solution,
          input=f"Solution().{p.func_name}({args})",
          output=repr(json.loads(p.tests[0].output)),
        )
      )
  return items


# ----------------------------------------------------------------------------------------------- prompts


def codegen_prompt(problem: Problem) -> str:
  parts = [SYSTEM_MESSAGE, "", f"### Question:\n{problem.question_content}", ""]
  if problem.starter_code:
    parts += [f"### Format: {FORMAT_STARTER}", f"```python\n{problem.starter_code}\n```", ""]
  else:
    parts += [f"### Format: {FORMAT_STDIN}", "```python\n# YOUR CODE HERE\n```", ""]
  parts.append("### Answer: (use the provided format with backticks)\n")
  return "\n".join(parts)


def feedback_text(grade: Grade) -> str:
  m = grade.metadata
  if grade.category == "wrong_answer":
    return (
      f"Wrong Answer. Input: {m.get('inputs', '')!r} Your output: {m.get('output', '')!r} Expected: "
      f"{m.get('expected', '')!r}"
    )
  if grade.category == "time_limit":
    return f"Time Limit Exceeded. Input: {m.get('inputs', '')!r} Expected: {m.get('expected', '')!r}"
  if grade.category == "runtime_error":
    return f"Runtime Error. {m.get('error', '')} Input: {m.get('inputs', '')!r} Expected: {m.get('expected', '')!r}"
  if grade.category == "no_code":
    return "No code was found in the answer: enclose the program in a ```python fenced block."
  return f"{grade.category.replace('_', ' ').capitalize()}. {m.get('error', '')}"


def selfrepair_prompt(problem: Problem, code: str, grade: Grade) -> str:
  return "\n".join(
    [
      "You are an expert Python programmer. Below is a problem and a program that fails its tests, with "
      "feedback from the first failing test. Explain briefly (two or three sentences) what is wrong, then give "
      "the corrected program.",
      "",
      f"### Question:\n{problem.question_content}",
      "",
      f"### Answer:\n```python\n{code}\n```",
      "",
      f"### Format: {FORMAT_STDIN}",
      "```python\n# YOUR CODE HERE\n```",
      "",
      f"### Feedback: {feedback_text(grade)}",
      "",
      "### Answer: (use the provided format with backticks)\n",
    ]
  )


def _first_test_assert(problem: Problem) -> str:
  args = ", ".join(line for line in problem.tests[0].input.split("\n") if line.strip())
  return f"assert {problem.func_name}({args}) == # TODO"


def testoutput_prompt(problem: Problem) -> str:
  return "\n".join(
    [
      "You are an expert Python programmer. Given a problem, its function signature and the input of a test "
      "case, work out the output a correct solution returns and write the complete assertion, with that "
      "output as a literal, in a fenced code block.",
      "",
      f"Problem:\n{problem.question_content}",
      "",
      f"Function:\n```\n{problem.starter_code}\n```",
      "",
      "Please complete the following test case:",
      "",
      f"```\n{_first_test_assert(problem)}\n```",
      "",
      "# Your Answer\n",
    ]
  )


EXECUTION_EXAMPLE = (
  '[PYTHON]\ndef f(s):\n    s = s + s\n    return "b" + s + "a"\nassert f("hi") == ??\n'
  '[/PYTHON]\n[ANSWER]\nassert f("hi") == "bhihia"\n[/ANSWER]\n'
)


def execution_prompt(item: ExecutionProblem) -> str:
  return (
    "Below is a Python function and an assertion that calls it. Replace ?? with the literal value the "
    "call returns when the code is run exactly as written (even if the code looks wrong): a plain "
    "literal, no expressions or calls. Answer with the full assertion between [ANSWER] and [/ANSWER], "
    "as in the example, and nothing else.\n\n"
    f"{EXECUTION_EXAMPLE}\n[PYTHON]\n{item.code}\nassert {item.input} == ??\n[/PYTHON]\n[ANSWER]\n"
  )


# ----------------------------------------------------------------------------------------------- extraction


def extract_code(reply: str) -> str:
  """The code between the last two lines that contain ``` ("" when there are fewer than two)."""
  lines = reply.split("\n")
  fences = [i for i, line in enumerate(lines) if "```" in line]
  if len(fences) < 2:
    return ""
  return "\n".join(lines[fences[-2] + 1 : fences[-1]])


def extract_test_output(reply: str) -> str:
  """The last line starting with `assert`, else the first fenced block's content."""
  asserts = [line.strip() for line in reply.split("\n") if line.strip().startswith("assert")]
  if asserts:
    return asserts[-1]
  match = re.search(r"```(?:[a-zA-Z0-9]*)\n(.*?)```", reply, re.DOTALL)
  return match.group(1).strip() if match else ""


def extract_execution_answer(reply: str, cot: bool = False) -> str:
  text = reply
  if cot and "[ANSWER]" in text:
    text = text.split("[ANSWER]", 1)[1]
  if "==" in text:
    text = text.split("==", 1)[1]
  if "[/ANSWER]" in text:
    text = text.split("[/ANSWER]", 1)[0]
  else:
    text = text.split("\n", 1)[0]
  return text.strip()


# ----------------------------------------------------------------------------------------------- comparison


def _decimals(line: str) -> list[decimal.Decimal] | None:
  try:
    return [decimal.Decimal(token) for token in line.split()]
  except decimal.InvalidOperation:
    return None


def stdin_outputs_match(output: str, expected: str) -> bool:
  """LCB's stdin comparison: stripped lines, exact or token-wise Decimal equality per line."""
  got = [line.strip() for line in output.strip().split("\n")]
  want = [line.strip() for line in expected.strip().split("\n")]
  if len(got) != len(want):
    return False
  for a, b in zip(got, want):
    if a == b:
      continue
    da, db = _decimals(a), _decimals(b)
    if da is None or db is None or da != db:
      return False
  return True


def call_outputs_match(value_json: str, expected: str) -> bool:
  return json.loads(value_json) == json.loads(expected)


def _truncate(text: str) -> str:
  text = str(text)
  if len(text) <= TRUNCATE:
    return text
  half = TRUNCATE // 2
  return text[:half] + "...(truncated) ..." + text[-half:]


# ----------------------------------------------------------------------------------------------- driver

# Runs inside the sandbox: executes the program on each input and prints one JSON line of results. It never
# sees expected outputs. `value_json` refuses values that JSON would silently change (tuples below the top
# level, sets, non-string dict keys): such a value could never equal a JSON expected value under `==`.
DRIVER = r"""
import builtins, io, json, signal, sys
sys.set_int_max_str_digits(50000)
spec = json.load(open("spec.json"))
source = open("solution.py").read()
results = []

class Timeout(BaseException):
  pass

def on_alarm(signum, frame):
  raise Timeout()

signal.signal(signal.SIGALRM, on_alarm)

def plain(value):
  if value is None or isinstance(value, (bool, int, float, str)):
    return value
  if type(value) is list:
    return [plain(v) for v in value]
  if type(value) is dict and all(type(k) is str for k in value):
    return {k: plain(v) for k, v in value.items()}
  raise TypeError(f"{type(value).__name__} value cannot equal a JSON value")

def emit():
  sys.__stdout__.write("\n" + spec["marker"] + json.dumps(results) + "\n")
  sys.__stdout__.flush()

real_stdout, real_stdin, real_open = sys.stdout, sys.stdin, builtins.open
try:
  signal.alarm(int(spec["timeout"]))
  code = compile(spec["prelude"] + source, "solution.py", "exec")
  namespace = {"__name__": "solution"}
  if spec["fn_name"] is not None:
    exec(code, namespace)
    target = namespace["Solution"]().__getattribute__(spec["fn_name"]) if "class Solution" in source else \
        namespace[spec["fn_name"]]
  signal.alarm(0)
except Timeout:
  results.append({"status": "compile_error", "error": "TimeoutError: compile/setup exceeded the time limit"})
  emit(); sys.exit(0)
except BaseException as error:
  signal.alarm(0)
  results.append({"status": "compile_error", "error": f"{type(error).__name__}: {error}"})
  emit(); sys.exit(0)

for test_input in spec["inputs"]:
  captured = io.StringIO()
  try:
    signal.alarm(int(spec["timeout"]))
    if spec["fn_name"] is not None:
      args = [json.loads(line) for line in test_input.split("\n") if line.strip()]
      value = target(*args)
      if isinstance(value, tuple):
        value = list(value)
      signal.alarm(0)
      try:
        results.append({"status": "ok", "value_json": json.dumps(plain(value))})
      except (TypeError, ValueError):
        results.append({"status": "ok", "value_json": None, "repr": repr(value)[:1000]})
    else:
      fake_stdin = io.TextIOWrapper(io.BytesIO(test_input.encode()), encoding="utf-8")
      sys.stdin, sys.stdout = fake_stdin, captured
      builtins.open = lambda *a, **k: io.StringIO(test_input)
      try:
        exec(code, {"__name__": "__main__"})
      except SystemExit:
        pass
      finally:
        sys.stdin, sys.stdout, builtins.open = real_stdin, real_stdout, real_open
      signal.alarm(0)
      results.append({"status": "ok", "output": captured.getvalue()})
  except Timeout:
    sys.stdin, sys.stdout, builtins.open = real_stdin, real_stdout, real_open
    results.append({"status": "timeout"}); break
  except BaseException as error:
    signal.alarm(0)
    sys.stdin, sys.stdout, builtins.open = real_stdin, real_stdout, real_open
    results.append({"status": "runtime_error", "error": f"{type(error).__name__}: {error}"[:1000]}); break
emit()
"""


def _limits_for(num_tests: int, timeout_s: float) -> runner.Limits:
  wall = (timeout_s + 1) * num_tests + 5
  return runner.Limits(
    wall_s=wall, cpu_s=wall, memory_bytes=4 << 30, processes=32, output_bytes=max(4 << 20, 64 * 1024 * num_tests)
  )


def _driver_request(problem: Problem, code: str, timeout_s: float) -> pool.RunRequest:
  marker = "@@LCB_RESULTS@@"
  spec = {
    "inputs": [t.input for t in problem.tests],
    "fn_name": problem.func_name,
    "timeout": timeout_s,
    "prelude": PRELUDE,
    "marker": marker,
  }
  return pool.RunRequest(
    argv=[sys.executable, "-I", "driver.py"],
    limits=_limits_for(len(problem.tests), timeout_s),
    files={"driver.py": DRIVER, "solution.py": code, "spec.json": json.dumps(spec)},
  )


def _grade_from_run(problem: Problem, result: runner.RunResult) -> Grade:
  marker = "@@LCB_RESULTS@@"
  position = result.stdout.rfind(marker)
  if position < 0:
    category = {
      runner.Outcome.TIMEOUT: "time_limit",
      runner.Outcome.MEMORY_LIMIT: "memory_limit",
      runner.Outcome.OUTPUT_LIMIT: "output_limit",
      runner.Outcome.SANDBOX_ERROR: "sandbox_error",
    }.get(result.outcome, "runtime_error")
    return Grade(False, category, {"error": _truncate(result.detail or result.stderr[-TRUNCATE:])})
  try:
    records = json.loads(result.stdout[position + len(marker) :].strip().split("\n")[0])
  except json.JSONDecodeError:
    return Grade(False, "runtime_error", {"error": "the program corrupted the driver's result line"})
  for test, record in zip(problem.tests, records):
    meta = {"inputs": _truncate(test.input), "expected": _truncate(test.output)}
    status = record.get("status")
    if status == "compile_error":
      return Grade(False, "compile_error", {"error": _truncate(record.get("error", ""))})
    if status == "timeout":
      return Grade(False, "time_limit", {**meta, "error": "TimeoutError"})
    if status == "runtime_error":
      return Grade(False, "runtime_error", {**meta, "error": _truncate(record.get("error", ""))})
    if problem.func_name is not None:
      got = record["value_json"]
      ok = got is not None and call_outputs_match(got, test.output)
      got = got if got is not None else record.get("repr", "")
    else:
      ok = stdin_outputs_match(record["output"], test.output)
      got = record["output"]
    if not ok:
      return Grade(False, "wrong_answer", {**meta, "output": _truncate(got)})
  if len(records) < len(problem.tests):
    return Grade(False, "runtime_error", {"error": "the program ended the test driver early"})
  return Grade(True, "passed", {})


def grade_programs(
  items: Sequence[tuple[Problem, str]],
  workers: int = 1,
  timeout_s: float = TEST_TIMEOUT_S,
  backend: pool.Backend | str = "local",
) -> list[Grade]:
  """Grades (problem, code) pairs in the sandbox; empty code is `no_code`."""
  todo = [(i, p, c) for i, (p, c) in enumerate(items) if c.strip()]
  grades: list[Grade | None] = [Grade(False, "no_code", {"error": "no fenced code block"})] * len(items)
  results = pool.map_bounded(lambda t: pool.run_request(_driver_request(t[1], t[2], timeout_s), backend), todo, workers)
  for (i, problem, _), result in zip(todo, results):
    grades[i] = _grade_from_run(problem, result)
  return grades


def _eval_assert_request(code_prefix: str, lhs: str, rhs: str, timeout_s: float) -> pool.RunRequest:
  program = f"{PRELUDE}{code_prefix}\n_expected = ({lhs})\n_got = ({rhs})\nassert _expected == _got\n"
  return pool.RunRequest(
    argv=[sys.executable, "-I", "check.py"],
    files={"check.py": program},
    limits=runner.Limits(wall_s=timeout_s, cpu_s=timeout_s, memory_bytes=2 << 30),
  )


def _assert_rhs(answer: str) -> str | None:
  """The right-hand side of `assert X == Y` (via ast, as LCB does), or None when it does not parse."""
  try:
    tree = ast.parse(answer.strip())
  except SyntaxError:
    return None
  if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert):
    return None
  test = tree.body[0].test
  if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
    return None
  return ast.unparse(test.comparators[0])


def grade_test_outputs(
  items: Sequence[tuple[Problem, str]], workers: int = 1, backend: pool.Backend | str = "local"
) -> list[Grade]:
  """Test-output prediction: the predicted RHS, evaluated in the sandbox, must equal json.loads(expected)."""
  grades: list[Grade | None] = [None] * len(items)
  todo = []
  for i, (problem, answer) in enumerate(items):
    rhs = _assert_rhs(answer)
    if rhs is None:
      grades[i] = Grade(False, "no_code", {"error": f"no parsable assertion in {answer[:100]!r}"})
    else:
      expected = f"__import__('json').loads({problem.tests[0].output!r})"
      todo.append((i, _eval_assert_request("", expected, rhs, EXECUTION_TIMEOUT_S)))
  results = pool.map_bounded(lambda t: pool.run_request(t[1], backend), todo, workers)
  for (i, _), result in zip(todo, results):
    grades[i] = _execution_grade(result)
  return grades


def _execution_grade(result: runner.RunResult) -> Grade:
  if result.ok:
    return Grade(True, "passed", {})
  if result.outcome == runner.Outcome.RUNTIME_ERROR:
    category = "wrong_answer" if "AssertionError" in result.stderr else "runtime_error"
  else:
    category = {
      runner.Outcome.TIMEOUT: "time_limit",
      runner.Outcome.MEMORY_LIMIT: "memory_limit",
      runner.Outcome.OUTPUT_LIMIT: "output_limit",
    }.get(result.outcome, "sandbox_error")
  return Grade(False, category, {"error": _truncate(result.stderr[-TRUNCATE:] or result.detail)})


def grade_executions(
  items: Sequence[tuple[ExecutionProblem, str]], workers: int = 1, backend: pool.Backend | str = "local"
) -> list[Grade | None]:
  """Code execution: None marks a dropped generation (it repeats the input call); else the graded answer."""
  grades: list[Grade | None] = [None] * len(items)
  todo = []
  for i, (item, answer) in enumerate(items):
    if item.input in answer:
      continue
    if not answer.strip():
      grades[i] = Grade(False, "no_code", {"error": "empty answer"})
      continue
    todo.append((i, _eval_assert_request(item.code, item.output, answer, EXECUTION_TIMEOUT_S)))
  results = pool.map_bounded(lambda t: pool.run_request(t[1], backend), todo, workers)
  for (i, _), result in zip(todo, results):
    grades[i] = _execution_grade(result)
  return grades


# ----------------------------------------------------------------------------------------------- scenarios


def _fence(code: str) -> str:
  return f"```python\n{code.rstrip()}\n```\n"


def oracle_replies(scenario: str, problems: Sequence[Problem], prompts: Sequence[str]) -> dict[str, str]:
  """prompt -> reference reply for every prompt of the scenario (needs each problem's `solution`)."""
  missing = [p.question_id for p in problems if not p.solution]
  if missing and scenario != "codeexecution":
    raise ValueError(
      f"--oracle needs the '{SOLUTION_FIELD}' field (reference Python source) in every problem; "
      f"missing in: {', '.join(missing[:10])}"
    )
  table = {}
  for problem, prompt in zip(problems, prompts):
    if scenario in ("codegeneration", "selfrepair"):
      table[prompt] = _fence(problem.solution)
    elif scenario == "testoutputprediction":
      value = repr(json.loads(problem.tests[0].output))
      table[prompt] = "```\n" + _first_test_assert(problem).replace("# TODO", value) + "\n```\n"
  return table


@dataclasses.dataclass
class SampleRecord:
  question_id: str
  difficulty: str
  platform: str
  contest_date: str
  outputs: list[str]
  extracted: list[str]
  grades: list[dict]


def _sample_record(problem, outputs, extracted, grades) -> SampleRecord:
  return SampleRecord(
    problem.question_id,
    problem.difficulty,
    problem.platform,
    problem.contest_date,
    list(outputs),
    list(extracted),
    [dataclasses.asdict(g) if g is not None else None for g in grades],
  )


def run_codegeneration(problems, generator, n: int, workers: int, backend="local") -> list[SampleRecord]:
  prompts = [codegen_prompt(p) for p in problems]
  replies, overflowed = _generate(generator, [p for p in prompts for _ in range(n)])
  codes = [extract_code(r) for r in replies]
  grades = grade_programs(
    [(p, codes[i * n + j]) for i, p in enumerate(problems) for j in range(n)], workers, backend=backend
  )
  grades = _overflow_grades(grades, overflowed)
  return [
    _sample_record(p, replies[i * n : (i + 1) * n], codes[i * n : (i + 1) * n], grades[i * n : (i + 1) * n])
    for i, p in enumerate(problems)
  ]


def run_selfrepair(
  problems, generator, codegen: list[SampleRecord], workers: int, backend="local"
) -> list[SampleRecord]:
  """Repairs each failed original sample once; passed samples are kept (n = original samples)."""
  by_id = {r.question_id: r for r in codegen}
  asks, keep = [], {}
  for problem in problems:
    record = by_id.get(problem.question_id)
    if record is None:
      raise ValueError(f"self-repair: no code generation result for problem {problem.question_id}")
    for j, (code, grade) in enumerate(zip(record.extracted, record.grades)):
      if grade["passed"]:
        keep[(problem.question_id, j)] = (code, Grade(**grade))
      else:
        asks.append((problem, j, selfrepair_prompt(problem, code, Grade(**grade))))
  replies, overflowed = _generate(generator, [a[2] for a in asks])
  codes = [extract_code(r) for r in replies]
  grades = _overflow_grades(
    grade_programs([(a[0], c) for a, c in zip(asks, codes)], workers, backend=backend), overflowed
  )
  repaired = {(a[0].question_id, a[1]): (r, c, g) for a, r, c, g in zip(asks, replies, codes, grades)}
  records = []
  for problem in problems:
    n = len(by_id[problem.question_id].extracted)
    outs, exts, grs = [], [], []
    for j in range(n):
      if (problem.question_id, j) in keep:
        code, grade = keep[(problem.question_id, j)]
        outs.append("")
        exts.append(code)
        grs.append(grade)
      else:
        reply, code, grade = repaired[(problem.question_id, j)]
        outs.append(reply)
        exts.append(code)
        grs.append(grade)
    records.append(_sample_record(problem, outs, exts, grs))
  return records


def run_testoutputprediction(problems, generator, n: int, workers: int, backend="local") -> list[SampleRecord]:
  problems = [p for p in problems if p.func_name and p.tests]
  prompts = [testoutput_prompt(p) for p in problems]
  replies, overflowed = _generate(generator, [p for p in prompts for _ in range(n)])
  answers = [extract_test_output(r) for r in replies]
  grades = grade_test_outputs(
    [(p, answers[i * n + j]) for i, p in enumerate(problems) for j in range(n)], workers, backend
  )
  grades = _overflow_grades(grades, overflowed)
  return [
    _sample_record(p, replies[i * n : (i + 1) * n], answers[i * n : (i + 1) * n], grades[i * n : (i + 1) * n])
    for i, p in enumerate(problems)
  ]


def run_codeexecution(
  items: Sequence[ExecutionProblem], generator, n: int, workers: int, cot: bool = False, backend="local"
) -> list[SampleRecord]:
  prompts = [execution_prompt(item) for item in items]
  replies, overflowed = _generate(generator, [p for p in prompts for _ in range(n)])
  answers = [extract_execution_answer(r, cot) for r in replies]
  grades = grade_executions(
    [(item, answers[i * n + j]) for i, item in enumerate(items) for j in range(n)], workers, backend
  )
  grades = _overflow_grades(grades, overflowed)
  records = []
  for i, item in enumerate(items):
    sample_grades = grades[i * n : (i + 1) * n]
    if all(g is None for g in sample_grades):  # All dropped: all count as failures (LCB).
      sample_grades = [Grade(False, "wrong_answer", {"error": "answer repeats the input call"})] * n
    else:
      sample_grades = [g for g in sample_grades if g is not None]
    records.append(
      SampleRecord(
        item.id,
        item.difficulty,
        item.platform,
        item.contest_date,
        replies[i * n : (i + 1) * n],
        answers[i * n : (i + 1) * n],
        [dataclasses.asdict(g) for g in sample_grades],
      )
    )
  return records


def summarize(records: Sequence[SampleRecord], scenario: str) -> dict[str, Any]:
  """Metrics with stable keys: pass@1/pass@5 overall, by difficulty and by platform, error categories."""

  def metrics(rs):
    counts = [(len(r.grades), sum(g["passed"] for g in r.grades)) for r in rs]
    return {"problems": len(rs), "pass@1": mean_pass_at_k(counts, 1), "pass@5": mean_pass_at_k(counts, 5)}

  categories = {c: 0 for c in ERROR_CATEGORIES}
  for r in records:
    for g in r.grades:
      categories[g["category"]] = categories.get(g["category"], 0) + 1
  return {
    "benchmark": "livecodebench",
    "scenario": scenario,
    "overall": metrics(records),
    "by_difficulty": {
      d: metrics([r for r in records if r.difficulty == d]) for d in sorted({r.difficulty for r in records})
    },
    "by_platform": {p: metrics([r for r in records if r.platform == p]) for p in sorted({r.platform for r in records})},
    "error_categories": categories,
  }


def evaluate(
  problems: Sequence[Problem],
  scenario: str,
  generator: gen_lib.Generator | None,
  *,
  n: int = 1,
  workers: int = 1,
  oracle: bool = False,
  codegen_results: list[SampleRecord] | None = None,
  execution_items: Sequence[ExecutionProblem] | None = None,
  cot: bool = False,
  backend: pool.Backend | str = "local",
  strategy=None,
) -> tuple[dict, list[SampleRecord]]:
  """Runs one scenario end to end; returns (summary, per-problem records). strategy: a
  `hrm_jax.agent.search.SearchConfig` (codegeneration only): each answer comes from that search."""
  if scenario not in SCENARIOS:
    raise ValueError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
  if scenario == "codeexecution":
    items = list(execution_items) if execution_items is not None else execution_problems_from_codegen(problems)
    if oracle:
      generator = gen_lib.table_generator({execution_prompt(i): f"{i.output}\n" for i in items})
    records = run_codeexecution(items, generator, n, workers, cot, backend)
    return summarize(records, scenario), records
  if oracle:
    if scenario == "testoutputprediction":
      usable = [p for p in problems if p.func_name and p.tests]
      generator = gen_lib.table_generator(oracle_replies(scenario, usable, [testoutput_prompt(p) for p in usable]))
    else:
      generator = gen_lib.table_generator(oracle_replies(scenario, problems, [codegen_prompt(p) for p in problems]))
  if scenario == "codegeneration" and strategy is not None:
    from hrm_jax.agent import search  # pylint: disable=import-outside-toplevel

    records = search.lcb_codegeneration(problems, generator, strategy, n, workers, backend)
  elif scenario == "codegeneration":
    records = run_codegeneration(problems, generator, n, workers, backend)
  elif scenario == "testoutputprediction":
    records = run_testoutputprediction(problems, generator, n, workers, backend)
  else:
    if codegen_results is None:
      codegen_results = run_codegeneration(problems, generator, n, workers, backend)
    if oracle:
      base = oracle_replies("codegeneration", problems, [codegen_prompt(p) for p in problems])
      repair_table = dict(base)
      for record in codegen_results:
        problem = next(p for p in problems if p.question_id == record.question_id)
        for code, grade in zip(record.extracted, record.grades):
          repair_table[selfrepair_prompt(problem, code, Grade(**grade))] = _fence(problem.solution)
      generator = gen_lib.table_generator(repair_table)
    records = run_selfrepair(problems, generator, codegen_results, workers, backend)
  return summarize(records, scenario), records


def load_records(path: pathlib.Path) -> list[SampleRecord]:
  data = json.loads(pathlib.Path(path).read_text())
  return [SampleRecord(**r) for r in data["problems"]]
