"""`hrm-jax setup-toolchains`: fetch, once and online, what the six languages' tests need offline.

Installs missing system packages with apt-get (as root, on Debian/Ubuntu), downloads the Java jars from
Maven Central, installs jest and babel from npm, vendors the Rust crates, warms the Go build cache, and
prints what each language has and lacks. A rerun skips what is present and takes a few seconds.
Exit status 0 when every requested language is complete, 1 otherwise (the report names the fix).
"""

from __future__ import annotations

import argparse
import json
import time

from hrm_jax.sandbox import toolchains


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument(
    "--cache-dir", default=None, help=f"cache directory (default: ${toolchains.ENV_VAR} or {toolchains.DEFAULT_ROOT})"
  )
  parser.add_argument(
    "--languages",
    default=",".join(toolchains.LANGUAGES),
    help="comma-separated subset of: " + ", ".join(toolchains.LANGUAGES),
  )
  parser.add_argument("--check", action="store_true", help="only report; fetch and install nothing")
  parser.add_argument("--no-apt", action="store_true", help="never run apt-get; report missing packages instead")
  parser.add_argument("--json", default=None, metavar="FILE", help="also write the report as JSON to FILE")


def parse_languages(text: str) -> tuple[str, ...]:
  chosen = tuple(name.strip() for name in text.split(",") if name.strip())
  unknown = [name for name in chosen if name not in toolchains.LANGUAGES]
  if unknown or not chosen:
    raise SystemExit(
      f"--languages: unknown {', '.join(unknown) or '(empty)'}; choose from {', '.join(toolchains.LANGUAGES)}"
    )
  return chosen


def run(args: argparse.Namespace) -> int:
  root = toolchains.toolchains_root(args.cache_dir)
  languages = parse_languages(args.languages)
  start = time.perf_counter()
  if args.check:
    result = toolchains.SetupResult(statuses=toolchains.check(root, languages), seconds={}, errors={})
  else:
    result = toolchains.setup(root, languages, use_apt=not args.no_apt, log=lambda line: print(line, flush=True))
  total = time.perf_counter() - start
  print(toolchains.format_report(result.statuses, root, result.seconds, result.errors))
  size = toolchains.disk_usage(root) if root.exists() else 0
  print(f"cache size: {size / 2**20:.1f} MiB; took {total:.1f} s")
  ok = all(status.ok for status in result.statuses.values())
  if args.json:
    report = {
      "root": str(root),
      "ok": ok,
      "seconds": round(total, 3),
      "cache_bytes": size,
      "languages": {
        name: {"ok": s.ok, "found": s.found, "missing": s.missing, "seconds": result.seconds.get(name)}
        for name, s in result.statuses.items()
      },
      "errors": result.errors,
    }
    with open(args.json, "w") as f:
      json.dump(report, f, indent=2)
  if not ok:
    print(
      f"some toolchains are incomplete: fix the MISSING lines above (most are fixed by running "
      f"`{toolchains.FIX}` as root with network access to the package registries)"
    )
  return 0 if ok else 1
