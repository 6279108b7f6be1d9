"""Time the offline test commands on the bundled Polyglot exercises' reference solutions, per language.

    python -m hrm_jax.bench.toolchains_oracle [--exercises DIR] [--repeats N]

For each exercise: copy it to a fresh directory, install the reference solution, prepare it and run its test
command ("cold": no build outputs in the exercise yet; the toolchain caches are as setup-toolchains left
them), then run the same command again in the same directory ("warm": cmake build dir, Rust target dir,
jest cache, Go cache copy already there). Runs are sequential, with plain subprocess and no sandbox, so
the figures are the toolchains' own cost. Prints a table of seconds per language (sum over exercises; the
cold figure includes `prepare_exercise`, which for Go copies the warm build cache).
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

from hrm_jax.sandbox import languages

DEFAULT_EXERCISES = pathlib.Path(languages.__file__).resolve().parents[2] / "data_pipelines" / "data" / "polyglot"


def time_command(language: str, exercise: pathlib.Path) -> tuple[float, int]:
  command = languages.test_command(language, exercise)
  start = time.perf_counter()
  done = subprocess.run(
    command.argv,
    cwd=exercise,
    env=command.env,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
    timeout=command.timeout_s,
  )
  return time.perf_counter() - start, done.returncode


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument(
    "--exercises",
    type=pathlib.Path,
    default=DEFAULT_EXERCISES,
    help="a Polyglot tree: <lang>/exercises/practice/<name>",
  )
  parser.add_argument(
    "--repeats", type=int, default=1, help="repeat the whole measurement N times (the mean is printed)"
  )
  args = parser.parse_args(argv)
  exercises = sorted(args.exercises.glob("*/exercises/practice/*"))
  if not exercises:
    parser.error(f"--exercises {args.exercises}: no <lang>/exercises/practice/<name> directories")
  totals: collections.Counter[tuple[str, str]] = collections.Counter()
  counts: collections.Counter[str] = collections.Counter()
  failures: list[str] = []
  for _ in range(args.repeats):
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="hrm-jax-bench-"))
    try:
      seen: collections.Counter[str] = collections.Counter()
      for exercise in exercises:
        language = languages.language_of_exercise(exercise)
        seen[language] += 1
        work = scratch / language / exercise.name
        shutil.copytree(exercise, work)
        languages.install_reference_solution(work)
        start = time.perf_counter()
        languages.prepare_exercise(language, work)
        prepare_s = time.perf_counter() - start
        for phase in ("cold", "warm"):
          seconds, code = time_command(language, work)
          if phase == "cold":
            seconds += prepare_s
          if code != 0:
            failures.append(f"{language}/{exercise.name} ({phase}): exit code {code}")
          totals[(language, phase)] += seconds
      counts = seen
    finally:
      shutil.rmtree(scratch, ignore_errors=True)
  rows = sorted(counts)
  print(f"{'language':<11} {'exercises':>9} {'cold s':>8} {'warm s':>8} {'cold s/ex':>9} {'warm s/ex':>9}")
  total_cold = total_warm = 0.0
  for language in rows:
    cold = totals[(language, "cold")] / args.repeats
    warm = totals[(language, "warm")] / args.repeats
    total_cold += cold
    total_warm += warm
    n = counts[language]
    print(f"{language:<11} {n:>9} {cold:>8.1f} {warm:>8.1f} {cold / n:>9.2f} {warm / n:>9.2f}")
  print(f"{'total':<11} {sum(counts.values()):>9} {total_cold:>8.1f} {total_warm:>8.1f}")
  for failure in failures:
    print("FAILED:", failure)
  return 1 if failures else 0


if __name__ == "__main__":
  sys.exit(main())
