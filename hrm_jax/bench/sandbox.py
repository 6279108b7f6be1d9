"""Sandbox and harness timings: `python -m hrm_jax.bench.sandbox [--exercises DIR] [--problems FILE]`.

Prints a Markdown table of:
  * start-up overhead of one sandboxed run of a trivial program (`/bin/true`, `python -I -c pass`) against the
    same program started with plain `subprocess.run` (median over --repeats runs);
  * wall time of the Polyglot oracle per language with 1 and 2 workers (needs the toolchain layer and the
    exercises; the first pass over a language is "cold" for the OS file cache, later ones warm);
  * wall time of the LiveCodeBench oracle (codegeneration) over --problems with 1 and 2 workers.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from hrm_jax.evals import livecodebench, polyglot
from hrm_jax.sandbox import runner


def _median_ms(fn, repeats: int) -> float:
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return 1000 * statistics.median(times)


def startup_rows(repeats: int) -> list[list[str]]:
  rows = []
  for name, argv in (("/bin/true", ["/bin/true"]), ("python -I -c pass", [sys.executable, "-I", "-c", "pass"])):
    sandboxed = _median_ms(lambda argv=argv: runner.run(argv), repeats)
    bare = _median_ms(lambda argv=argv: subprocess.run(argv, check=True), repeats)
    rows.append([f"start-up: {name}", f"{sandboxed:.1f} ms", f"{bare:.1f} ms (bare)", f"+{sandboxed - bare:.1f} ms"])
  return rows


def polyglot_rows(exercises_dir: pathlib.Path) -> list[list[str]]:
  rows = []
  for language in polyglot.LANGUAGES:
    exercises = polyglot.find_exercises(exercises_dir, [language])
    if not exercises:
      continue
    cells = []
    for workers in (1, 2):
      with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary, _ = polyglot.evaluate(exercises, None, pathlib.Path(out), oracle=True, workers=workers)
        cells.append(f"{time.perf_counter() - start:.1f} s ({summary['overall']['pass_rate_1']:.0f}%)")
    rows.append([f"polyglot oracle: {language} ({len(exercises)} exercises)", *cells, ""])
  return rows


def livecodebench_rows(problems_file: pathlib.Path) -> list[list[str]]:
  problems = livecodebench.load_problems(problems_file)
  cells = []
  for workers in (1, 2):
    start = time.perf_counter()
    summary, _ = livecodebench.evaluate(problems, "codegeneration", None, oracle=True, workers=workers)
    cells.append(f"{time.perf_counter() - start:.1f} s (pass@1 {summary['overall']['pass@1']:.2f})")
  return [[f"livecodebench oracle: {len(problems)} problems", *cells, ""]]


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--exercises", type=pathlib.Path, help="Polyglot root (<lang>/exercises/practice/...)")
  parser.add_argument("--problems", type=pathlib.Path, help="LiveCodeBench JSONL with `solution` fields")
  parser.add_argument("--repeats", type=int, default=20)
  args = parser.parse_args(argv)
  print(f"sandbox isolation: {runner.isolation().description}\n")
  rows = startup_rows(args.repeats)
  if args.exercises:
    rows += polyglot_rows(args.exercises)
  if args.problems:
    rows += livecodebench_rows(args.problems)
  print("| measurement | sandboxed / 1 worker | bare / 2 workers | overhead |\n|---|---|---|---|")
  for row in rows:
    print("| " + " | ".join(row) + " |")
  return 0


if __name__ == "__main__":
  sys.exit(main())
