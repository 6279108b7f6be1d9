"""Builds and checks the bundled LiveCodeBench-format sample (`data/livecodebench_sample.jsonl`).

    python -m hrm_jax.data_pipelines.lcb_sample_build --out data_pipelines/data/livecodebench_sample.jsonl
    python -m hrm_jax.data_pipelines.lcb_sample_build --check data_pipelines/data/livecodebench_sample.jsonl

Building runs each reference solution (lcb_sample_problems.py) on its hand-written public examples, stops
if any output differs, and derives the private tests' outputs from the solution on seeded random inputs.
Private tests are stored as LiveCodeBench stores them: base64(zlib(pickle(JSON string))).
Checking runs every record's `solution` on all its tests in a separate Python process (`run_python_tests`),
with LiveCodeBench's calling conventions and output comparison (reference/benchmarks.md, section B3).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import subprocess
import sys

from hrm_jax.data_pipelines import livecodebench
from hrm_jax.data_pipelines.lcb_sample_problems import PROBLEMS, SampleProblem

NUM_PRIVATE = 6
PLATFORM = "hrm-jax"
LICENSE_NOTE = (
  "Written for hrm-jax and released under Apache-2.0 with the project. The record schema follows "
  "LiveCodeBench's code_generation_lite; the problems are original."
)

# Runs in a child process: reads a JSON list of {"code", "tests", "func_name"} jobs on stdin, prints, per job,
# the list of per-test results: true, or {"kind": wrong_answer|runtime_error|time_limit, "got"|"error": text}. The import prelude mirrors LiveCodeBench's (B3).
HARNESS = r"""
import ast, builtins, io, json, resource, signal, sys
from string import *; from re import *; from datetime import *; from collections import *; from heapq import *
from bisect import *; from copy import *; from math import *; from random import *; from statistics import *
from itertools import *; from functools import *; from operator import *; from io import *; from json import *
from typing import *
import string, re, datetime, collections, heapq, bisect, copy, math, random, statistics, itertools, functools
import operator, typing
PRELUDE = dict(globals())
class TimeLimit(Exception):
  pass
def on_alarm(signum, frame):
  raise TimeLimit()
signal.signal(signal.SIGALRM, on_alarm)
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
def same_output(got, want):
  g = [l.strip() for l in got.strip().split("\n")]
  w = [l.strip() for l in want.strip().split("\n")]
  return g == w
def run_job(code, tests, func_name, stop_at_first_failure):
  results = []
  for t in tests:
    signal.setitimer(signal.ITIMER_REAL, PER_TEST_SECONDS)
    try:
      if func_name:
        env = dict(PRELUDE)
        exec(code, env)
        target = getattr(env["Solution"](), func_name) if "class Solution" in code else env[func_name]
        args = [json.loads(line) for line in t["input"].split("\n")]
        got = target(*args)
        if isinstance(got, tuple):
          got = list(got)
        want = json.loads(t["output"])
        results.append(True if got == want else {"kind": "wrong_answer", "got": json.dumps(got)})
      else:
        env = dict(PRELUDE, __name__="__main__")
        old_in, old_out = sys.stdin, sys.stdout
        sys.stdin, sys.stdout = io.StringIO(t["input"]), io.StringIO()
        try:
          try:
            exec(code, env)
          except SystemExit:
            pass
          got = sys.stdout.getvalue()
        finally:
          sys.stdin, sys.stdout = old_in, old_out
        results.append(True if same_output(got, t["output"]) else {"kind": "wrong_answer", "got": got})
    except TimeLimit:
      results.append({"kind": "time_limit", "error": "Time Limit Exceeded"})
    except MemoryError:
      results.append({"kind": "runtime_error", "error": "MemoryError: memory limit exceeded"})
    except Exception as e:
      results.append({"kind": "runtime_error", "error": f"{type(e).__name__}: {e}"})
    finally:
      signal.setitimer(signal.ITIMER_REAL, 0)
    if stop_at_first_failure and results[-1] is not True:
      break
  return results
jobs = json.loads(sys.stdin.read())
PER_TEST_SECONDS = float(sys.argv[1])
print(json.dumps([run_job(j['code'], j['tests'], j['func_name'], j['stop']) for j in jobs]))
"""


def run_python_tests_batch(jobs: list[dict], timeout: float = 120.0, per_test_seconds: float = 2.0) -> list[list]:
  """For each job {"code", "tests", "func_name"[, "stop_at_first_failure"]}: per-test results, True or a dict
  {"kind": "wrong_answer" | "runtime_error" | "time_limit", "got" or "error": text}.

  One child Python process runs all jobs, each test under a `per_test_seconds` alarm ("Time Limit Exceeded")
  and a 2 GiB address-space limit. Only for our own or mutated reference solutions: it is not a sandbox.
  """
  payload = json.dumps(
    [
      {
        "code": j["code"],
        "tests": j["tests"],
        "func_name": j.get("func_name") or "",
        "stop": bool(j.get("stop_at_first_failure")),
      }
      for j in jobs
    ]
  )
  proc = subprocess.run(
    [sys.executable, "-c", HARNESS, str(per_test_seconds)],
    input=payload,
    capture_output=True,
    text=True,
    timeout=timeout,
  )
  if proc.returncode != 0:
    raise RuntimeError(f"test harness failed: {proc.stderr[-2000:]}")
  return json.loads(proc.stdout)


def run_python_tests(code: str, tests: list[dict], func_name: str | None, timeout: float = 30.0) -> list:
  """Per-test results of `code` on `tests` (see run_python_tests_batch)."""
  return run_python_tests_batch([{"code": code, "tests": tests, "func_name": func_name}], timeout)[0]


def _functional_input(args: list) -> str:
  return "\n".join(json.dumps(a) for a in args)


def _solution_outputs(problem: SampleProblem, inputs: list[str]) -> list[str]:
  """Outputs of the reference solution on `inputs`, computed in the harness (expected values unknown)."""
  job = {"code": problem.solution, "func_name": problem.func_name}
  if problem.func_name:
    probe = (
      "import json\nfrom typing import *\nfrom collections import *\nfrom bisect import *\nfrom math import *\n"
      + problem.solution
      + "\nimport sys\n_s = Solution()\n_out = []\n"
      + "for _line in json.loads(sys.argv[1]):\n"
      + f"    _r = getattr(_s, {problem.func_name!r})(*[json.loads(l) for l in _line.split(chr(10))])\n"
      + "    _out.append(json.dumps(list(_r) if isinstance(_r, tuple) else _r))\n"
      + "print(json.dumps(_out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe, json.dumps(inputs)], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
      raise RuntimeError(f"{problem.qid}: reference solution failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)
  outputs = []
  for text in inputs:
    proc = subprocess.run([sys.executable, "-c", job["code"]], input=text, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
      raise RuntimeError(f"{problem.qid}: reference solution failed on {text!r}: {proc.stderr[-2000:]}")
    outputs.append(proc.stdout)
  return outputs


def build_record(problem: SampleProblem) -> dict:
  testtype = "functional" if problem.func_name else "stdin"
  public = [{"input": i, "output": o, "testtype": testtype} for i, o in problem.public]
  results = run_python_tests(problem.solution, public, problem.func_name)
  if results != [True] * len(public):
    raise ValueError(f"{problem.qid}: reference solution disagrees with its public examples: {results}")
  rng = random.Random(f"lcb-sample/{problem.qid}")
  seen = {t["input"] for t in public}
  inputs = []
  for _ in range(200):
    if len(inputs) == NUM_PRIVATE:
      break
    raw = problem.gen(rng)
    text = _functional_input(raw) if problem.func_name else raw
    if text not in seen:
      seen.add(text)
      inputs.append(text)
  outputs = _solution_outputs(problem, inputs)
  private = [{"input": i, "output": o, "testtype": testtype} for i, o in zip(inputs, outputs)]
  return {
    "question_title": problem.title,
    "question_content": problem.content,
    "platform": PLATFORM,
    "question_id": problem.qid,
    "contest_id": f"{PLATFORM}-sample-{problem.date[:7]}",
    "contest_date": f"{problem.date}T00:00:00",
    "starter_code": problem.starter,
    "difficulty": problem.difficulty,
    "public_test_cases": json.dumps(public),
    "private_test_cases": livecodebench.encode_private_tests(private),
    "metadata": json.dumps({"func_name": problem.func_name} if problem.func_name else {}),
    "solution": problem.solution,
  }


def check_file(path: str) -> list[str]:
  """Failures (one line each) of every record's `solution` on its public + private tests; [] when all pass."""
  problems = livecodebench.read_jsonl(path)
  jobs = [
    {
      "code": p.extra["solution"],
      "tests": [dataclasses.asdict(t) for t in p.public_tests + p.private_tests],
      "func_name": p.func_name,
    }
    for p in problems
  ]
  failures = []
  for p, results in zip(problems, run_python_tests_batch(jobs)):
    failures += [f"{p.question_id} test {i}: {r}" for i, r in enumerate(results) if r is not True]
  return failures


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--out", help="write the JSONL here")
  parser.add_argument("--check", help="run every solution of this JSONL on its tests")
  args = parser.parse_args(argv)
  if args.out:
    records = [build_record(p) for p in PROBLEMS]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
      for r in records:
        f.write(json.dumps(r, sort_keys=True) + "\n")
    print(f"wrote {len(records)} problems to {args.out}")
  if args.check:
    failures = check_file(args.check)
    for line in failures:
      print(line)
    print(f"{args.check}: {'all tests pass' if not failures else f'{len(failures)} failing tests'}")
    return 1 if failures else 0
  return 0


if __name__ == "__main__":
  sys.exit(main())
