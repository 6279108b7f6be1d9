"""`hrm-jax eval polyglot|livecodebench`: score a model, a command or the reference solutions.

  hrm-jax eval polyglot --exercises DIR|bundled (--model WORKDIR | --generator CMD | --oracle) --out DIR
      [--workers N] [--languages cpp,go,...] [--edit-format diff|whole] [--tries 2]
  hrm-jax eval livecodebench --problems FILE (--model WORKDIR | --generator CMD | --oracle) --out DIR
      --scenario codegeneration|selfrepair|testoutputprediction|codeexecution [--n 1] [--workers N]
      [--start-date YYYY-MM-DD] [--end-date YYYY-MM-DD] [--platform P] [--codegen-results FILE]
      [--execution-problems FILE] [--cot] [--backend local|swerex-docker|swerex-modal|swerex-local]
  hrm-jax eval swe --instances FILE|bundled --agent ours|endpoint|oracle|empty --out DIR  (hrm_jax/agent/swe.py)
Polyglot and LiveCodeBench also take `--endpoint URL --model NAME` instead: any OpenAI-compatible server (`hrm-jax serve`, vLLM, ...),
and `--strategy sample|repair|mcts --budget K`: search at inference (hrm_jax/agent/search.py, docs/agents.md).
Each writes results.json (or per-exercise results), report.json, report.md and a PNG chart into --out.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys
import time

from hrm_jax.data_pipelines import livecodebench as lcb_reader
from hrm_jax.evals import generators as gen_lib
from hrm_jax.evals import livecodebench, polyglot, report
from hrm_jax.sandbox import runner


def _add_generator_arguments(parser: argparse.ArgumentParser) -> None:
  source = parser.add_mutually_exclusive_group(required=True)
  source.add_argument(
    "--model",
    metavar="WORKDIR",
    help="a training workdir of our model (with --endpoint: the model name the server serves)",
  )
  source.add_argument("--generator", metavar="CMD", help="a shell command: prompt on stdin, reply on stdout")
  source.add_argument("--oracle", action="store_true", help="use the reference solutions (must score 100%%)")
  parser.add_argument(
    "--endpoint",
    metavar="URL",
    help="an OpenAI-compatible server (e.g. `hrm-jax serve`, vLLM): http://HOST:PORT/v1; --model names its model",
  )
  parser.add_argument("--max-new-tokens", type=int, default=1024, help="--model / --endpoint")
  parser.add_argument("--temperature", type=float, default=0.0, help="--model / --endpoint")
  parser.add_argument("--out", required=True, type=pathlib.Path, help="results directory")
  parser.add_argument("--workers", type=int, default=1, help="sandboxed runs at once")
  parser.add_argument(
    "--strategy",
    choices=("sample", "repair", "mcts"),
    help="search at inference (hrm_jax/agent/search.py; livecodebench: codegeneration): each answer from "
    "--budget model calls, chosen by the public tests",
  )
  parser.add_argument("--budget", type=int, default=4, help="--strategy: model calls per answer")


def add_arguments(parser: argparse.ArgumentParser) -> None:
  sub = parser.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
  poly = sub.add_parser("polyglot", help="Aider Polyglot (aider's protocol)")
  poly.add_argument(
    "--exercises",
    required=True,
    help="a directory holding <lang>/exercises/practice/<exercise>/, or `bundled` for the "
    "exercises shipped in data_pipelines/data/polyglot",
  )
  poly.add_argument("--languages", default=",".join(polyglot.LANGUAGES), help="comma-separated list")
  poly.add_argument("--keywords", default="", help="comma-separated substrings of exercise names to keep")
  poly.add_argument("--edit-format", default="diff", choices=sorted(polyglot.edit_formats.EDIT_FORMATS))
  poly.add_argument("--tries", type=int, default=2)
  _add_generator_arguments(poly)
  lcb = sub.add_parser("livecodebench", help="LiveCodeBench (four scenarios)")
  lcb.add_argument("--problems", required=True, type=pathlib.Path, help="code_generation(_lite) JSONL")
  lcb.add_argument("--scenario", required=True, choices=livecodebench.SCENARIOS)
  lcb.add_argument("--n", type=int, default=1, help="samples per problem (pass@5 needs n >= 5)")
  lcb.add_argument("--start-date", help="keep problems with contest_date >= this (YYYY-MM-DD)")
  lcb.add_argument("--end-date", help="keep problems with contest_date <= this (YYYY-MM-DD)")
  lcb.add_argument("--platform", help="keep one platform (atcoder, leetcode, codeforces)")
  lcb.add_argument(
    "--codegen-results",
    type=pathlib.Path,
    help="selfrepair: a results.json of an earlier codegeneration run (else one is run first)",
  )
  lcb.add_argument(
    "--execution-problems",
    type=pathlib.Path,
    help="codeexecution: execution-v2 JSONL (else derived from call-based problems' solutions)",
  )
  lcb.add_argument("--cot", action="store_true", help="codeexecution: chain-of-thought answer extraction")
  lcb.add_argument(
    "--backend",
    default="local",
    choices=["local", "swerex-docker", "swerex-modal", "swerex-local"],
    help="where programs run: this machine's sandbox (default) or a SWE-ReX deployment (swerex-local is NOT isolated)",
  )
  lcb.add_argument("--swerex-image", default="python:3.11", help="image for swerex-docker / swerex-modal")
  _add_generator_arguments(lcb)
  from hrm_jax.agent import swe as swe_env  # pylint: disable=import-outside-toplevel

  swe_env.add_arguments(sub.add_parser("swe", help="SWE-smith instances as agent environments (resolved rate)"))


def _generator(args) -> tuple[gen_lib.Generator | None, str]:
  if args.endpoint:
    if not args.model:
      raise SystemExit("--endpoint needs --model NAME (the model the server serves), not --generator/--oracle")
    return (
      gen_lib.endpoint_generator(
        args.endpoint,
        args.model,
        max_tokens=args.max_new_tokens,
        temperature=args.temperature,
        concurrency=max(args.workers, 8),
      ),
      f"endpoint: {args.endpoint} model {args.model}",
    )
  if args.oracle:
    return None, "oracle"
  if getattr(args, "strategy", None) and args.model:  # fresh seeds per call and the Q head's value
    from hrm_jax.agent import search  # pylint: disable=import-outside-toplevel

    return (
      search.ModelSearchGenerator(args.model, max_new_tokens=args.max_new_tokens, temperature=args.temperature),
      f"model: {args.model} ({args.strategy}, budget {args.budget})",
    )
  if args.generator:
    return gen_lib.command_generator(args.generator), f"command: {args.generator}"
  return (
    gen_lib.model_generator(args.model, max_new_tokens=args.max_new_tokens, temperature=args.temperature),
    f"model: {args.model}",
  )


def _strategy(args):
  if not getattr(args, "strategy", None):
    return None
  from hrm_jax.agent import search  # pylint: disable=import-outside-toplevel

  try:
    return search.SearchConfig(args.strategy, args.budget)
  except ValueError as error:
    raise SystemExit(str(error)) from None


def _print_isolation() -> dict:
  iso = runner.isolation()
  print(f"sandbox isolation: {iso.description}", file=sys.stderr)
  return dataclasses.asdict(iso)


def _exercises_root(value: str) -> pathlib.Path:
  """`--exercises`: a directory, or `bundled` (data_pipelines/data/polyglot, wherever the package is installed)."""
  if value == "bundled" and not pathlib.Path(value).exists():
    from hrm_jax.data_pipelines import polyglot as polyglot_data  # pylint: disable=import-outside-toplevel

    return pathlib.Path(polyglot_data.BUNDLED_ROOT)
  return pathlib.Path(value)


def _say_context_overflows(count: int, total: int) -> None:
  if count:
    print(
      f"{count} of {total} cases: the prompt does not fit the model's context, so it was not sent "
      "(outcome context_overflow, counted in the report, never as well formed)",
      file=sys.stderr,
    )


def _run_polyglot(args) -> int:
  languages = [x for x in args.languages.split(",") if x]
  root = _exercises_root(args.exercises)
  try:
    exercises = polyglot.find_exercises(root, languages, [k for k in args.keywords.split(",") if k])
  except ValueError as error:
    print(f"--languages: {error}", file=sys.stderr)
    return 2
  if not exercises:
    print(
      f"no exercises under {root} for languages {languages} "
      "(expected <lang>/exercises/practice/<name>/.meta/config.json, or --exercises bundled)",
      file=sys.stderr,
    )
    return 2
  isolation = _print_isolation()
  generator, name = _generator(args)
  start = time.monotonic()
  summary, results = polyglot.evaluate(
    exercises,
    generator,
    args.out,
    workers=args.workers,
    edit_format=args.edit_format,
    tries=args.tries,
    oracle=args.oracle,
    model=name,
    progress=lambda line: print(line, file=sys.stderr),
    strategy=_strategy(args),
  )
  extra = {
    "model": name,
    "edit_format": args.edit_format,
    "wall_s": round(time.monotonic() - start, 2),
    "workers": args.workers,
    "sandbox": isolation,
  }
  paths = report.write_reports(summary, args.out, extra)
  print(paths["markdown"].read_text())
  _say_context_overflows(summary["overall"]["context_overflows"], len(results))
  if args.oracle:  # The reference solutions must pass everywhere: a miss is the harness's (or toolchain's).
    missed = [r for r in results if not (r.get("tests_outcomes") or [False])[-1]]
    if missed:
      print(f"oracle: {len(missed)} of {len(results)} exercises did not pass:", file=sys.stderr)
      for r in missed:
        print(
          f"  {r['testdir']}: {r.get('outcomes') or 'exception'}  ({args.out / r['testdir'] / polyglot.HISTORY_FILE})",
          file=sys.stderr,
        )
      return 1
  return 0


def _run_livecodebench(args) -> int:
  try:
    problems = livecodebench.load_problems(args.problems, args.start_date, args.end_date, args.platform)
  except FileNotFoundError as error:
    print(f"--problems: {error}", file=sys.stderr)
    return 2
  except (lcb_reader.RecordError, ValueError) as error:  # path:line: reason (a refused pickle among them)
    print(error, file=sys.stderr)
    return 2
  if not problems:
    print(f"no problems in {args.problems} within the date/platform filters", file=sys.stderr)
    return 2
  if args.strategy and args.scenario != "codegeneration":
    print(f"--strategy applies to --scenario codegeneration, not {args.scenario}", file=sys.stderr)
    return 2
  isolation = _print_isolation()
  generator, name = _generator(args)
  codegen = livecodebench.load_records(args.codegen_results) if args.codegen_results else None
  items = None
  if args.execution_problems:
    rows = [json.loads(line) for line in args.execution_problems.read_text().splitlines() if line.strip()]
    items = livecodebench.execution_problems_from_records(rows)
  backend = "local"
  if args.backend != "local":
    from hrm_jax.sandbox import swerex_backend  # pylint: disable=import-outside-toplevel

    deployment = args.backend.split("-", 1)[1]
    config = {} if deployment == "local" else {"image": args.swerex_image}
    backend = swerex_backend.SweRexBackend(deployment, **config)
    isolation = {"mode": backend.name, "description": f"SWE-ReX {deployment} deployment"}
    print(f"programs run in: {backend.name}", file=sys.stderr)
  start = time.monotonic()
  try:
    summary, records = livecodebench.evaluate(
      problems,
      args.scenario,
      generator,
      n=args.n,
      workers=args.workers,
      oracle=args.oracle,
      codegen_results=codegen,
      execution_items=items,
      cot=args.cot,
      backend=backend,
      strategy=_strategy(args),
    )
  finally:
    if not isinstance(backend, str):
      backend.close()
  args.out.mkdir(parents=True, exist_ok=True)
  (args.out / "results.json").write_text(
    json.dumps(
      {"scenario": args.scenario, "model": name, "problems": [dataclasses.asdict(r) for r in records]}, indent=1
    )
  )
  extra = {
    "model": name,
    "n": args.n,
    "strategy": args.strategy,
    "budget": args.budget if args.strategy else None,
    "wall_s": round(time.monotonic() - start, 2),
    "workers": args.workers,
    "start_date": args.start_date,
    "end_date": args.end_date,
    "sandbox": isolation,
  }
  paths = report.write_reports(summary, args.out, extra)
  print(paths["markdown"].read_text())
  _say_context_overflows(summary["error_categories"].get("context_overflow", 0), sum(len(r.grades) for r in records))
  return 0


def run(args: argparse.Namespace) -> int:
  if args.benchmark == "swe":
    from hrm_jax.agent import swe as swe_env  # pylint: disable=import-outside-toplevel

    return swe_env.run(args)
  if args.benchmark == "polyglot":
    return _run_polyglot(args)
  return _run_livecodebench(args)
