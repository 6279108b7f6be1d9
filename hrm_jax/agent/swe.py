"""SWE-smith task instances as agent environments, scored as SWE-bench scores, without Docker.

    hrm-jax eval swe --instances F.jsonl|bundled [--repos DIR] --agent ours|endpoint|oracle|empty --out DIR
        [--model WORKDIR | --endpoint URL --model NAME] [--max-steps 20] [--workers 1] [--limit N]
        [--session sandbox|swerex-local|swerex-docker|swerex-modal [--swerex-image IMAGE]]

For each instance: its repository (`<repos>/<owner>__<repo>.<commit8>`, data_pipelines/swe_smith.py) is cloned
at the buggy commit into a fresh session (`--session`: the project's sandbox by default, so the agent's commands
never run on the host; or a SWE-ReX deployment),
the agent works on the problem statement with the tools (hrm_jax/agent/tools.py), and its diff (`git diff`
against the buggy commit, new files included) is taken. Grading starts again from a clean clone in a new
sandbox: the diff is applied, the test files are restored to the instance's version (as SWE-bench resets the
test files of its test patch), and pytest runs the FAIL_TO_PASS and PASS_TO_PASS tests. Resolved = every
FAIL_TO_PASS test passes and every PASS_TO_PASS test still passes.

Agents: `oracle` applies the gold fix (the reverse of the bug patch) through the tools (so it must resolve
every instance), `empty` changes nothing (so it resolves none), `ours` is our model (`--model WORKDIR`, the
sampler), `endpoint` any OpenAI-compatible server (`--endpoint URL --model NAME`).
Outputs in --out: results.json (per instance), report.json / report.md (resolved rate, by repository and bug
kind, episodes per hour), summary.png, episodes.jsonl (finished episodes in the tool-use schema: training data)
and <instance>/ with the episode, the diff, the test log and the result.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from hrm_jax.agent import loop
from hrm_jax.agent.sessions import STATE_DIR, SandboxSession
from hrm_jax.data_pipelines import swe_smith

AGENTS = ("ours", "endpoint", "oracle", "empty")
TEST_TIMEOUT_S = 300.0
TASK = (
  "{statement}\n\nThe repository is checked out in the working directory. Change the code so the issue is "
  "fixed; the repository's tests (pytest) are run on your changes afterwards."
)


def _git(directory: str, *args: str) -> str:
  """git on a trusted repository (the instance's own; never the agent's workspace)."""
  proc = subprocess.run(
    ["git", *args],
    cwd=directory,
    capture_output=True,
    text=True,
    timeout=120,
    env=dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_SYSTEM=os.devnull),
  )
  if proc.returncode != 0:
    raise RuntimeError(f"git {' '.join(args)} in {directory}: {proc.stderr.strip()}")
  return proc.stdout


def checkout(repo: str, commit: str, target: str) -> str:
  """A fresh clone of `repo` at `commit` in `target`, with the session's state directory git-ignored."""
  _git(os.path.dirname(target), "clone", "-q", "--no-hardlinks", repo, target)
  _git(target, "checkout", "-q", commit)
  with open(os.path.join(target, ".git", "info", "exclude"), "a") as f:
    f.write(f"\n{STATE_DIR}/\n")
  return target


def oracle_policy(instance: swe_smith.SweSmithInstance) -> loop.ScriptedPolicy:
  fix = swe_smith.reverse_patch(instance.patch)
  return loop.ScriptedPolicy(
    [
      loop.Action(tool="write_file", args={"path": f"{STATE_DIR}/gold.diff", "content": fix}),
      loop.Action(tool="git", args={"command": f"apply {STATE_DIR}/gold.diff"}),
      loop.Action(answer="Applied the fix."),
    ],
    name="oracle",
  )


def empty_policy() -> loop.ScriptedPolicy:
  return loop.ScriptedPolicy([loop.Action(answer="No change.")], name="empty")


def parse_pytest(output: str) -> dict[str, str]:
  """{test id: PASSED | FAILED | ERROR} from `pytest -rA` output (as SWE-smith's pytest log parser reads it)."""
  status = {}
  for line in output.splitlines():
    m = re.match(r"^(PASSED|FAILED|ERROR) (\S+)", line)
    if m:
      status[m.group(2)] = m.group(1)
  return status


SESSIONS = ("sandbox", "swerex-local", "swerex-docker", "swerex-modal")


def open_session(kind: str, tree: str, grading: bool = False, **config):
  """A session of `kind` (SESSIONS) holding a copy of `tree`. swerex-local runs on this host: NOT isolated."""
  if kind == "sandbox":
    return SandboxSession(copy_tree=tree, toolchains=not grading)
  from hrm_jax.agent.sessions import SweRexSession  # pylint: disable=import-outside-toplevel

  return SweRexSession(kind.split("-", 1)[1], copy_tree=tree, **config)


def grade(
  instance: swe_smith.SweSmithInstance, repo: str, diff: str, scratch: str, session_kind: str = "sandbox", **config
) -> dict:
  """Applies `diff` to a clean checkout in a new session, restores the test files and runs F2P and P2P."""
  clean = checkout(repo, instance.base_commit, os.path.join(scratch, "grade"))
  tests = sorted(set(instance.fail_to_pass) | set(instance.pass_to_pass))
  test_files = sorted({t.split("::")[0] for t in tests})
  session = open_session(session_kind, clean, grading=True, **config)
  try:
    applied = True
    log = ""
    if diff.strip():
      session.write_file(f"{STATE_DIR}/model.diff", diff)
      obs = session.run(f"git apply --whitespace=nowarn {STATE_DIR}/model.diff", timeout_s=60)
      applied = obs.exit_code == 0
      log += f"$ git apply model.diff\n{obs.output}\n"
    if applied:
      restore = "git checkout -q HEAD -- " + " ".join(test_files)
      obs = session.run(
        f"{restore} && python3 -m pytest -q -rA -p no:cacheprovider " + " ".join(tests), timeout_s=TEST_TIMEOUT_S
      )
      log += f"$ {restore} && pytest -rA <{len(tests)} tests>\n{obs.output}"
      status = parse_pytest(obs.output)
    else:
      status = {}
  finally:
    session.close()
  f2p = {t: status.get(t, "MISSING") for t in instance.fail_to_pass}
  p2p = {t: status.get(t, "MISSING") for t in instance.pass_to_pass}
  resolved = applied and all(s == "PASSED" for s in f2p.values()) and all(s == "PASSED" for s in p2p.values())
  return {"applied": applied, "resolved": resolved, "FAIL_TO_PASS": f2p, "PASS_TO_PASS": p2p, "log": log}


def run_instance(
  instance: swe_smith.SweSmithInstance,
  repos_root: str,
  make_policy,
  budgets: loop.Budgets,
  out_dir: pathlib.Path,
  session_kind: str = "sandbox",
  **config,
) -> dict:
  """One instance: episode, diff, grade (each in a fresh session of `session_kind`); writes <out>/<instance id>/
  and returns the result row. `config` goes to SWE-ReX deployments (e.g. image=...)."""
  repo = swe_smith.repo_path(repos_root, instance)
  start = time.monotonic()
  scratch = tempfile.mkdtemp(prefix="hrm_jax_swe_")
  here = out_dir / instance.instance_id
  here.mkdir(parents=True, exist_ok=True)
  try:
    work = checkout(repo, instance.base_commit, os.path.join(scratch, "work"))
    session = open_session(session_kind, work, **config)
    try:
      policy = make_policy(instance)
      episode = loop.run_episode(
        policy,
        session,
        TASK.format(statement=instance.problem_statement),
        budgets=budgets,
        episode_id=instance.instance_id,
        test_command="python3 -m pytest -q -p no:cacheprovider {target}",
      )
      obs = session.run("git add -A && git -c core.pager=cat diff --cached --binary HEAD", timeout_s=60)
      diff = obs.output if obs.exit_code == 0 else ""
    finally:
      session.close()
    result = grade(instance, repo, diff, scratch, session_kind, **config)
  finally:
    shutil.rmtree(scratch, ignore_errors=True)
  row = {
    "instance_id": instance.instance_id,
    "repo": instance.repo,
    "bug_type": bug_type(instance),
    "resolved": result["resolved"],
    "applied": result["applied"],
    "patch_lines": diff.count("\n"),
    "steps": len(episode.trajectory["steps"]),
    "stop_reason": episode.stop_reason,
    "tokens": episode.trajectory["meta"]["tokens"],
    "wall_s": round(time.monotonic() - start, 2),
    "FAIL_TO_PASS": result["FAIL_TO_PASS"],
    "PASS_TO_PASS": result["PASS_TO_PASS"],
  }
  (here / "episode.json").write_text(json.dumps(episode.trajectory, indent=1))
  (here / "model.diff").write_text(diff)
  (here / "tests.log").write_text(result["log"])
  (here / "result.json").write_text(json.dumps(row, indent=1))
  return dict(row, _episode=episode)


def bug_type(instance: swe_smith.SweSmithInstance) -> str:
  """The bug kind from the instance id (`<repo>.<commit8>.<kind>__<hash>`)."""
  m = re.match(r"^.+\.[0-9a-f]{8}\.([\w-]+)__\w+$", instance.instance_id)
  return m.group(1) if m else "unknown"


def summarize(rows: list[dict], agent: str, wall_s: float) -> dict:
  def rate(group):
    return {
      "instances": len(group),
      "resolved": sum(r["resolved"] for r in group),
      "resolved_rate": round(sum(r["resolved"] for r in group) / len(group), 4) if group else 0.0,
    }

  by = lambda key: {k: rate([r for r in rows if r[key] == k]) for k in sorted({r[key] for r in rows})}
  return {
    "agent": agent,
    **rate(rows),
    "by_repo": by("repo"),
    "by_bug_type": by("bug_type"),
    "applied": sum(r["applied"] for r in rows),
    "wall_s": round(wall_s, 2),
    "episodes_per_hour": round(len(rows) / wall_s * 3600, 1) if wall_s > 0 else None,
    "mean_steps": round(sum(r["steps"] for r in rows) / len(rows), 2) if rows else 0.0,
  }


def write_reports(summary: dict, rows: list[dict], out_dir: pathlib.Path) -> None:
  (out_dir / "results.json").write_text(json.dumps({"summary": summary, "instances": rows}, indent=1))
  (out_dir / "report.json").write_text(json.dumps(summary, indent=1))
  lines = [
    f"# SWE instances: agent `{summary['agent']}`",
    "",
    f"Resolved {summary['resolved']} / {summary['instances']} ({summary['resolved_rate']:.1%}); "
    f"{summary['episodes_per_hour']} episodes/hour; mean {summary['mean_steps']} tool calls.",
    "",
    "| repository | instances | resolved | rate |",
    "|---|---:|---:|---:|",
  ]
  lines += [
    f"| {k} | {v['instances']} | {v['resolved']} | {v['resolved_rate']:.1%} |" for k, v in summary["by_repo"].items()
  ]
  lines += ["", "| bug kind | instances | resolved | rate |", "|---|---:|---:|---:|"]
  lines += [
    f"| {k} | {v['instances']} | {v['resolved']} | {v['resolved_rate']:.1%} |"
    for k, v in summary["by_bug_type"].items()
  ]
  (out_dir / "report.md").write_text("\n".join(lines) + "\n")
  import matplotlib  # pylint: disable=import-outside-toplevel

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

  groups = list(summary["by_repo"].items()) + list(summary["by_bug_type"].items())
  fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(groups)), 3.5))
  ax.bar(
    [k.rsplit("/", 1)[-1].split(".")[0] for k, _ in groups],
    [v["resolved_rate"] for _, v in groups],
    color=["#4477aa"] * len(summary["by_repo"]) + ["#cc6677"] * len(summary["by_bug_type"]),
  )
  ax.set_ylim(0, 1)
  ax.set_ylabel("resolved rate")
  ax.set_title(
    f"agent {summary['agent']}: {summary['resolved']}/{summary['instances']} resolved "
    "(blue: repository, red: bug kind)",
    fontsize=9,
  )
  plt.setp(ax.get_xticklabels(), rotation=30, ha="right", fontsize=8)
  fig.tight_layout()
  fig.savefig(out_dir / "summary.png", dpi=100)
  plt.close(fig)


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument(
    "--instances",
    required=True,
    help="SWE-smith instances (JSONL or JSON list), or `bundled` (the 31 fixture instances)",
  )
  parser.add_argument(
    "--repos",
    default=None,
    help="directory holding each instance's repository as <owner>__<repo>.<commit8> "
    "(default with `bundled`: the built fixture)",
  )
  parser.add_argument("--agent", required=True, choices=AGENTS)
  parser.add_argument("--model", help="ours: a training workdir; endpoint: the model name the server serves")
  parser.add_argument("--endpoint", help="endpoint: an OpenAI-compatible server, http://HOST:PORT/v1")
  parser.add_argument("--out", required=True, type=pathlib.Path)
  parser.add_argument("--max-steps", type=int, default=20, help="tool calls per episode")
  parser.add_argument("--max-tokens", type=int, default=20_000, help="policy tokens per episode")
  parser.add_argument("--wall-s", type=float, default=600.0, help="seconds per episode")
  parser.add_argument("--temperature", type=float, default=0.0)
  parser.add_argument("--workers", type=int, default=1, help="instances at once")
  parser.add_argument(
    "--session",
    default="sandbox",
    choices=SESSIONS,
    help="where the agent's commands and the tests run: the project's sandbox (default) or a SWE-ReX "
    "deployment (swerex-local is NOT isolated: trusted agents only)",
  )
  parser.add_argument("--swerex-image", default="python:3.11", help="image for swerex-docker / swerex-modal")
  parser.add_argument("--limit", type=int, default=0, help="the first N instances only")


def run(args) -> int:
  say = lambda line: print(line, file=sys.stderr, flush=True)
  if args.agent == "ours" and not args.model:
    say("--agent ours needs --model WORKDIR")
    return 2
  if args.agent == "endpoint" and not (args.endpoint and args.model):
    say("--agent endpoint needs --endpoint URL and --model NAME")
    return 2
  if args.instances == "bundled" and not os.path.exists(args.instances):
    path, repos = swe_smith.bundled(progress=say)
    repos = args.repos or repos
  else:
    path, repos = args.instances, args.repos
    if not repos:
      say("--repos DIR is needed with an instances file (each repository as DIR/<owner>__<repo>.<commit8>)")
      return 2
  try:
    instances = swe_smith.read_instances(path)
  except FileNotFoundError:
    say(f"--instances: {path} not found")
    return 2
  except swe_smith.InstanceError as error:
    say(str(error))
    return 2
  if args.limit:
    instances = instances[: args.limit]
  missing = sorted(
    {
      swe_smith.repo_path(repos, i)
      for i in instances
      if not os.path.isdir(os.path.join(swe_smith.repo_path(repos, i), ".git"))
    }
  )
  if missing:
    say(
      f"{len(missing)} repositories are not under {repos}: {', '.join(os.path.basename(m) for m in missing[:5])}"
      f"{' ...' if len(missing) > 5 else ''}. SWE-smith's repositories are the mirrors named in each "
      "instance's `repo` field (swesmith/<owner>__<repo>.<commit8> on GitHub): clone them into --repos "
      "(this needs the network), with their bug branches fetched."
    )
    return 2
  if args.agent == "oracle":
    make_policy = oracle_policy
  elif args.agent == "empty":
    make_policy = lambda _: empty_policy()
  elif args.agent == "ours":
    policy = loop.ModelPolicy(args.model, temperature=args.temperature)
    lock = threading.Lock()

    class Locked:  # one generator, one episode step at a time
      name = policy.name

      def __call__(self, *a):
        with lock:
          return policy(*a)

    make_policy = lambda _: Locked()
  else:
    make_policy = lambda _: loop.EndpointPolicy(args.endpoint, args.model, temperature=args.temperature)
  budgets = loop.Budgets(max_steps=args.max_steps, max_tokens=args.max_tokens, wall_s=args.wall_s)
  args.out.mkdir(parents=True, exist_ok=True)
  start = time.monotonic()
  rows = []
  episodes_path = str(args.out / "episodes.jsonl")
  with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
    config = {} if args.session in ("sandbox", "swerex-local") else {"image": args.swerex_image}
    futures = {
      pool.submit(run_instance, inst, repos, make_policy, budgets, args.out, args.session, **config): inst
      for inst in instances
    }
    for n, future in enumerate(concurrent.futures.as_completed(futures), start=1):
      row = future.result()
      episode = row.pop("_episode")
      if episode.finished:
        loop.write_episode(episodes_path, episode)
      rows.append(row)
      say(
        f"[{n}/{len(instances)}] {row['instance_id']}: {'RESOLVED' if row['resolved'] else 'unresolved'} "
        f"({row['steps']} calls, {row['stop_reason']}, {row['wall_s']}s)"
      )
  rows.sort(key=lambda r: r["instance_id"])
  summary = summarize(rows, args.agent, time.monotonic() - start)
  write_reports(summary, rows, args.out)
  print((args.out / "report.md").read_text())
  return 0
