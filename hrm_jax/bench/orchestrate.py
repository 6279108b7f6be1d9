"""Orchestration overhead on Ray: N = 1, 8, 32, 64 concurrent workers with work of known duration.

    python -m hrm_jax.bench.orchestrate [--workers 1,8,32,64] [--rounds 3] [--duration-s 1.0]
        [--kinds sandbox,episode] [--episode-tokens 16] [--out FILE.json]

Three kinds of work (workers mostly wait, so the run fits 2 cores):
  * sleep: each sub-task sleeps DURATION in the worker (no sandbox): what the orchestration alone costs;
  * sandbox: each sub-task is one sandboxed run of fixed cost (`sleep DURATION` in the project's sandbox, as
    a test run of known length); the worker returns an edit (one file) so results travel back as agents' do;
  * episode: each sub-task is one agent episode (`AgentWorker`, a sandbox session) whose policy is the tiny
    untrained model behind ONE shared `hrm-jax serve` (continuous batching; greedy, so every episode asks the
    same thing and its work is known): the model replies once with --episode-tokens tokens and the episode ends.
N workers run `rounds` sub-tasks each (N x rounds in all) on min(N, 4) Ray actors with N slots. The known
duration of one sub-task is its mean busy time measured at N = 1 (`calibrated`). Then
    ideal = N x rounds x calibrated / min(N, slots),  overhead = (wall - ideal) / wall.
Where it goes (means per sub-task, seconds): `queue` = start in the worker - submission (Ray scheduling plus
waiting for a slot), `return` = arrival at the driver - end in the worker (result serialisation and transfer),
`work+` = busy time - calibrated (work inflated by contention on the shared cores: sandbox start-up, and for
episodes the model server's queueing, `model+` = policy seconds - policy seconds at N = 1). `coordination` is the
overhead with the work as it took under load (ideal = the sub-tasks' summed busy time / min(N, slots)): what the
orchestration itself (scheduling, transfer, the driver's loop) costs, apart from contention for the cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import signal
import statistics
import sys
import tempfile
import time

from hrm_jax.agent import loop, orchestrate


@dataclasses.dataclass(frozen=True)
class FixedCostWorker:
  """Work of known duration: payload {"duration_s"} seconds of `sleep` in the sandbox (mode sandbox) or in the
  worker itself (mode sleep). payload {"die_on_attempts": [1]} makes the worker's process kill itself (SIGKILL)
  on those attempts: a worker killed mid-task, for the fault tests; "hang_on_attempts" never returns (timeouts),
  "fail_on_attempts" returns a failure."""

  mode: str = "sandbox"

  def __call__(self, subtask: orchestrate.SubTask, attempt: int) -> orchestrate.WorkerResult:
    started = time.time()
    duration = float(subtask.payload.get("duration_s", 1.0))
    if attempt in subtask.payload.get("die_on_attempts", ()):
      time.sleep(duration / 2)
      os.kill(os.getpid(), signal.SIGKILL)  # this actor's own process
    if attempt in subtask.payload.get("hang_on_attempts", ()):
      time.sleep(3600)  # a hung worker: the orchestrator's timeout ends it
    if attempt in subtask.payload.get("fail_on_attempts", ()):
      return orchestrate.WorkerResult(
        subtask.id, attempt, ok=False, status="failed", error="scripted failure", started_at=started
      )
    if self.mode == "sandbox":
      from hrm_jax.sandbox import runner  # pylint: disable=import-outside-toplevel

      result = runner.run(["sleep", f"{duration:g}"], limits=runner.Limits(wall_s=duration + 30))
      ok, detail = result.ok, f"{result.outcome.value} in {result.wall_s:.3f}s"
    else:
      time.sleep(duration)
      ok, detail = True, "slept"
    return orchestrate.WorkerResult(
      subtask.id,
      attempt,
      ok=ok,
      edits={f"out/{subtask.id}.txt": f"{subtask.id} attempt {attempt}: {detail}\n"},
      error="" if ok else detail,
      started_at=started,
    )


def _subtasks(n: int, rounds: int, duration: float, kind: str) -> list[orchestrate.SubTask]:
  statement = "List the files, then answer."
  return [
    orchestrate.SubTask(
      f"w{w:02d}r{r}",
      statement,
      files={"a.py": "x = 1\n"} if kind == "episode" else {},
      payload={"duration_s": duration},
    )
    for r in range(rounds)
    for w in range(n)
  ]


def _stats(report: orchestrate.RunReport, calibrated: float, policy_base: float) -> dict:
  rs = report.attempts
  mean = lambda xs: statistics.fmean(xs) if xs else 0.0
  return {
    "queue_s": mean([r.started_at - r.submitted_at for r in rs]),
    "return_s": mean([r.received_at - r.ended_at for r in rs]),
    "work_plus_s": mean([r.busy_s - calibrated for r in rs]),
    "model_plus_s": mean([r.stats.get("policy_s", 0.0) - policy_base for r in rs]) if policy_base else 0.0,
    "result_kb": mean([r.result_bytes / 1024 for r in rs]),
    "ok": sum(r.ok for r in report.results),
  }


def run_kind(kind: str, workers: list[int], rounds: int, duration: float, worker, say) -> list[dict]:
  rows, calibrated, policy_base = [], None, 0.0
  for n in workers:
    actors = min(n, 4)
    per_actor = math.ceil(n / actors)
    with orchestrate.Orchestrator(
      worker,
      actors=actors,
      per_actor=per_actor,
      max_attempts=1,
      timeout_s=600,
      log_dir=tempfile.mkdtemp(prefix="hrm_jax_orch_bench_"),
    ) as orch:
      if calibrated is None:  # N = 1 measures the known duration of one sub-task (after a warm-up sub-task)
        orch.run(_subtasks(1, 1, duration, kind))
      report = orch.run(_subtasks(n, rounds, duration, kind))
      slots = orch.slots
    if calibrated is None:
      calibrated = statistics.fmean(r.busy_s for r in report.attempts)
      policy_base = statistics.fmean(r.stats.get("policy_s", 0.0) for r in report.attempts)
    ideal, over = orchestrate.overhead(report.wall_s, n * rounds * calibrated, n, slots)
    # The same with the work as it took under load: what coordination alone (scheduling, transfer) costs.
    busy = sum(r.busy_s for r in report.attempts)
    _, coordination = orchestrate.overhead(report.wall_s, busy, n, slots)
    row = {
      "coordination": coordination,
      "kind": kind,
      "workers": n,
      "slots": slots,
      "subtasks": n * rounds,
      "calibrated_s": calibrated,
      "wall_s": report.wall_s,
      "ideal_s": ideal,
      "overhead": over,
      **_stats(report, calibrated, policy_base),
    }
    rows.append(row)
    say(
      f"{kind:8s} N={n:3d} slots={slots:3d} wall {report.wall_s:7.2f}s ideal {ideal:7.2f}s overhead {over:6.1%} "
      f"coordination {coordination:6.1%} | queue {row['queue_s']:.3f}s "
      f"return {row['return_s']:.3f}s work+ {row['work_plus_s']:.3f}s model+ {row['model_plus_s']:.3f}s | ok {row['ok']}/{n * rounds}"
    )
  return rows


def table(rows: list[dict]) -> str:
  lines = [
    "| work | N | slots | sub-tasks | known duration s | wall s | ideal s | overhead | coordination | queue s | return s | work+ s | model+ s | ok |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ]
  for r in rows:
    lines.append(
      f"| {r['kind']} | {r['workers']} | {r['slots']} | {r['subtasks']} | {r['calibrated_s']:.3f} | {r['wall_s']:.2f} | {r['ideal_s']:.2f} | "
      f"{r['overhead']:.1%} | {r['coordination']:.1%} | {r['queue_s']:.3f} | {r['return_s']:.3f} | {r['work_plus_s']:.3f} | {r['model_plus_s']:.3f} | {r['ok']}/{r['subtasks']} |"
    )
  return "\n".join(lines)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workers", default="1,8,32,64")
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--duration-s", type=float, default=1.0)
  parser.add_argument("--kinds", default="sleep,sandbox,episode")
  parser.add_argument("--episode-tokens", type=int, default=16)
  parser.add_argument("--address", default=None, help="a Ray cluster; default: ray.init() here")
  parser.add_argument("--out", default=None, help="also write the rows as JSON")
  args = parser.parse_args(argv)
  say = lambda line: print(line, file=sys.stderr, flush=True)
  workers = [int(x) for x in args.workers.split(",") if x]
  orchestrate.connect(args.address)
  rows = []
  for kind in [k for k in args.kinds.split(",") if k]:
    if kind in ("sandbox", "sleep"):
      rows += run_kind(kind, workers, args.rounds, args.duration_s, FixedCostWorker(kind), say)
    elif kind == "episode":
      from hrm_jax import serve  # pylint: disable=import-outside-toplevel
      from hrm_jax.bench.serve import tiny_workdir  # pylint: disable=import-outside-toplevel

      workdir = tiny_workdir(tempfile.mkdtemp(prefix="hrm_jax_orch_model_"))
      app, _ = serve.load(workdir, model_name="tiny", max_batch=min(64, max(workers)))
      with serve.ServerThread(app) as server:
        spec = orchestrate.PolicySpec("endpoint", server.url + "/v1", "tiny", max_tokens=args.episode_tokens)
        worker = orchestrate.AgentWorker(spec, "sandbox", loop.Budgets(max_steps=4, wall_s=600))
        rows += run_kind(kind, workers, args.rounds, 0.0, worker, say)
    else:
      parser.error(f"--kinds: unknown kind {kind!r} (sleep, sandbox, episode)")
  print(table(rows))
  if args.out:
    orchestrate.atomic_write(args.out, json.dumps(rows, indent=1))
  return 0


if __name__ == "__main__":
  sys.exit(main())
