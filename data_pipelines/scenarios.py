"""LiveCodeBench's four scenarios as training records (reference/benchmarks.md, section B5).

From problems with a Python reference solution (`LcbProblem.extra["solution"]`):
  codegen                 statement (+ starter code) -> the solution
  self_repair             statement + a broken program + real feedback from running it -> the solution.
                          Broken programs come from one AST mutation of the solution (a comparison flipped,
                          an arithmetic operator swapped, a constant moved by one, a statement dropped) and are
                          kept only when running them on the tests actually fails; the feedback is built from
                          the first failing test, as LiveCodeBench builds it (wrong answer: input, output,
                          expected; runtime error: input, expected, error).
  test_output_prediction  (functional problems) statement + starter code + `assert f(args) == # TODO` -> the
                          completed assertion
  code_execution          (functional problems) the solution + `assert Solution().f(args) == ??` -> the literal
The prompt wording is ours (LiveCodeBench's exact prompts live in lcb_runner/prompts at 28fef95).
`filter_by_cutoff` is the temporal filter: it keeps problems released on or before a training cut-off.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import json
import random
from collections.abc import Sequence

from hrm_jax.data_pipelines import lcb_sample_build
from hrm_jax.data_pipelines.livecodebench import LcbProblem

SCENARIOS = ("codegen", "self_repair", "test_output_prediction", "code_execution")


@dataclasses.dataclass(frozen=True)
class CutoffReport:
  cutoff: str
  kept: int
  removed: tuple[str, ...]  # question_ids released after the cut-off

  def line(self) -> str:
    return (
      f"temporal filter --cutoff {self.cutoff}: kept {self.kept}, removed {len(self.removed)} released "
      f"after it{': ' + ', '.join(self.removed[:10]) if self.removed else ''}"
      f"{' ...' if len(self.removed) > 10 else ''}"
    )


def filter_by_cutoff(problems: Sequence[LcbProblem], cutoff: str) -> tuple[list[LcbProblem], CutoffReport]:
  """Problems whose contest_date is on or before `cutoff` (YYYY-MM-DD), and a report of what was removed."""
  try:
    limit = datetime.date.fromisoformat(cutoff)
  except ValueError as e:
    raise ValueError(f"--cutoff must be YYYY-MM-DD, got {cutoff!r}") from e
  kept, removed = [], []
  for p in problems:
    date = datetime.date.fromisoformat(p.contest_date[:10])
    (kept if date <= limit else removed).append(p)
  return kept, CutoffReport(cutoff, len(kept), tuple(p.question_id for p in removed))


def _base(problem: LcbProblem, task: str, statement: str, solution: str, suffix: str = "") -> dict:
  return {
    "question_title": problem.question_title,
    "question_content": statement,
    "platform": problem.platform,
    "question_id": problem.question_id + suffix,
    "contest_id": problem.contest_id,
    "contest_date": problem.contest_date,
    "starter_code": "",
    "difficulty": problem.difficulty,
    "public_test_cases": json.dumps([dataclasses.asdict(t) for t in problem.public_tests]),
    "private_test_cases": json.dumps([dataclasses.asdict(t) for t in problem.private_tests]),
    "metadata": json.dumps(problem.metadata),
    "language": "python",
    "solution": solution,
    "task": task,
  }


def _solution(problem: LcbProblem) -> str:
  sol = problem.extra.get("solution")
  if not isinstance(sol, str) or not sol.strip():
    raise ValueError(f"problem {problem.question_id}: no reference `solution`")
  return sol


def codegen_record(problem: LcbProblem) -> dict:
  statement = problem.question_content
  if problem.starter_code:
    statement += f"\n\nUse this starter code:\n{problem.starter_code}"
  else:
    statement += "\n\nRead the input from standard input and write the answer to standard output."
  return _base(problem, "codegen", statement, _solution(problem))


def _call_args(test_input: str) -> str:
  return ", ".join(repr(json.loads(line)) for line in test_input.split("\n"))


def test_output_prediction_records(problem: LcbProblem, max_tests: int = 2) -> list[dict]:
  """One record per test (up to max_tests): complete `assert f(args) == ...` with the expected value."""
  if not problem.is_functional:
    return []
  out = []
  for i, t in enumerate((problem.public_tests + problem.private_tests)[:max_tests]):
    call = f"{problem.func_name}({_call_args(t.input)})"
    statement = (
      f"{problem.question_content}\n\n{problem.starter_code}\n\n"
      f"Complete the test case with the value the function returns:\nassert {call} == # TODO"
    )
    out.append(
      _base(problem, "test_output_prediction", statement, f"assert {call} == {json.loads(t.output)!r}", f"/top{i}")
    )
  return out


def code_execution_records(problem: LcbProblem, max_tests: int = 2) -> list[dict]:
  """One record per test: given the code and a call, give the literal it evaluates to."""
  if not problem.is_functional:
    return []
  out = []
  for i, t in enumerate((problem.public_tests + problem.private_tests)[:max_tests]):
    call = f"Solution().{problem.func_name}({_call_args(t.input)})"
    statement = (
      f"[PYTHON]\n{_solution(problem)}\nassert {call} == ??\n[/PYTHON]\nReplace ?? with the literal value of the call."
    )
    out.append(_base(problem, "code_execution", statement, f"{json.loads(t.output)!r}", f"/exec{i}"))
  return out


# ---------------------------------------------------------------------------------------------------------
# Error injection for self-repair.

_CMP_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
_BIN_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv}


def _mutation_sites(tree: ast.AST) -> list[tuple[str, ast.AST]]:
  sites = []
  for node in ast.walk(tree):
    if isinstance(node, ast.Compare) and type(node.ops[0]) in _CMP_SWAP:
      sites.append(("compare", node))
    elif isinstance(node, ast.BinOp) and type(node.op) in _BIN_SWAP:
      sites.append(("binop", node))
    elif isinstance(node, ast.Constant) and type(node.value) is int:
      sites.append(("constant", node))
    elif isinstance(node, (ast.FunctionDef, ast.For, ast.While, ast.If)) and len(node.body) > 1:
      sites.append(("drop", node))
  return sites


def mutate(code: str, rng: random.Random) -> tuple[str, str] | None:
  """(mutated code, description) from one random AST mutation of `code`, or None if nothing applies."""
  tree = ast.parse(code)
  sites = _mutation_sites(tree)
  if not sites:
    return None
  kind, node = rng.choice(sites)
  if kind == "compare":
    node.ops[0] = _CMP_SWAP[type(node.ops[0])]()
    what = "comparison changed"
  elif kind == "binop":
    node.op = _BIN_SWAP[type(node.op)]()
    what = "arithmetic operator changed"
  elif kind == "constant":
    node.value = node.value + rng.choice((-1, 1))
    what = "constant off by one"
  else:
    del node.body[rng.randrange(1, len(node.body))]
    what = "statement removed"
  mutated = ast.unparse(tree) + "\n"
  return (mutated, what) if ast.dump(ast.parse(mutated)) != ast.dump(ast.parse(code)) else None


def feedback_text(test: dict, result: dict) -> str:
  """LiveCodeBench-shaped feedback for the first failing test (our wording)."""
  shown_input = test["input"] if len(test["input"]) < 400 else test["input"][:400] + "..."
  if result["kind"] == "wrong_answer":
    return (
      f"The program gave a wrong answer.\nInput:\n{shown_input}\nYour output:\n{result['got']}\n"
      f"Expected:\n{test['output']}"
    )
  if result["kind"] == "time_limit":
    return f"The program ran out of time.\nInput:\n{shown_input}\nExpected:\n{test['output']}"
  return f"The program raised an error.\nInput:\n{shown_input}\nExpected:\n{test['output']}\nError:\n{result['error']}"


def self_repair_records(
  problems: Sequence[LcbProblem], seed: int, per_problem: int = 2, timeout: float = 300.0
) -> list[dict]:
  """Up to `per_problem` repair records per problem, each from a mutant that really fails its tests."""
  candidates = []
  for p in problems:
    rng = random.Random(f"{seed}/self_repair/{p.question_id}")
    seen = set()
    for _ in range(per_problem * 4):
      m = mutate(_solution(p), rng)
      if m is not None and m[0] not in seen:
        seen.add(m[0])
        candidates.append((p, m[0]))
  tests_of = {p.question_id: [dataclasses.asdict(t) for t in p.public_tests + p.private_tests] for p in problems}
  jobs = [
    {"code": code, "tests": tests_of[p.question_id], "func_name": p.func_name, "stop_at_first_failure": True}
    for p, code in candidates
  ]
  results = lcb_sample_build.run_python_tests_batch(jobs, timeout=timeout, per_test_seconds=1.0) if jobs else []
  out, count = [], {}
  for (p, code), res in zip(candidates, results):
    failing = [i for i, r in enumerate(res) if r is not True]
    if not failing or count.get(p.question_id, 0) >= per_problem:
      continue
    k = count.get(p.question_id, 0)
    count[p.question_id] = k + 1
    first = failing[0]
    feedback = feedback_text(tests_of[p.question_id][first], res[first])
    statement = (
      f"{p.question_content}\n\nThis program was written for the problem above:\n{code}\n{feedback}\nFix the program."
    )
    out.append(_base(p, "self_repair", statement, _solution(p), f"/repair{k}"))
  return out


def scenario_records(problems: Sequence[LcbProblem], scenarios: Sequence[str] = SCENARIOS, seed: int = 0) -> list[dict]:
  """All records of the chosen scenarios, problem order first, scenario order second (deterministic)."""
  for s in scenarios:
    if s not in SCENARIOS:
      raise ValueError(f"unknown scenario {s!r}; expected some of {SCENARIOS}")
  out = []
  if "codegen" in scenarios:
    out += [codegen_record(p) for p in problems]
  if "test_output_prediction" in scenarios:
    out += [r for p in problems for r in test_output_prediction_records(p)]
  if "code_execution" in scenarios:
    out += [r for p in problems for r in code_execution_records(p)]
  if "self_repair" in scenarios:
    out += self_repair_records(problems, seed)
  return out
