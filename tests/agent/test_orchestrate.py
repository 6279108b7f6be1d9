"""The orchestrator on a real local Ray instance: ordering, retries of killed / hung / failing workers, logs,
overhead, merging, and the command line with scripted agents in real sandbox sessions."""

import json
import os

import pytest

from hrm_jax.agent import orchestrate
from hrm_jax.bench.orchestrate import FixedCostWorker


def _sub(i, duration, **payload):
  return orchestrate.SubTask(f"s{i}", "work", payload={"duration_s": duration, **payload})


def test_results_ordered_complete_killed_and_failed_workers_retried(ray_local, tmp_path):
  # Later sub-tasks are shorter, so they finish first: the report must still be in sub-task order.
  subtasks = [_sub(i, 0.6 - 0.1 * i) for i in range(6)]
  subtasks[2] = _sub(2, 0.4, die_on_attempts=[1])  # its process is killed mid-task on the first attempt
  subtasks[4] = _sub(4, 0.2, fail_on_attempts=[1])  # fails once (and may be killed with s2: its actor dies)
  with orchestrate.Orchestrator(
    FixedCostWorker("sleep"), actors=2, per_actor=3, max_attempts=3, log_dir=tmp_path
  ) as orch:
    report = orch.run(subtasks)
  assert [r.subtask_id for r in report.results] == [s.id for s in subtasks]
  assert all(r.ok for r in report.results)
  assert report.results[2].attempt == 2 and report.results[4].attempt >= 2
  statuses = sorted((r.subtask_id, r.attempt, r.status) for r in report.attempts)
  assert ("s2", 1, "killed") in statuses and ("s4", 1, "failed") in statuses
  # Every attempt, killed ones included, is logged; a killed actor's other sub-tasks may be retried too.
  logged = sorted(os.listdir(tmp_path / "attempts"))
  assert len(logged) == len(report.attempts) >= 8
  assert all(json.loads((tmp_path / "attempts" / f).read_text())["subtask_id"] for f in logged)
  assert not [f for f in os.listdir(tmp_path / "attempts") if f.startswith(".")]  # no temporary file left
  assert report.retries == len(report.attempts) - len(subtasks)
  # Overhead: ideal = work / min(N, slots); the run cannot beat it.
  work = sum(0.6 - 0.1 * i for i in range(6))
  ideal, over = orchestrate.overhead(report.wall_s, work, len(subtasks), report.slots)
  assert ideal == pytest.approx(work / 6)
  assert 0.0 < over < 1.0 and report.wall_s > ideal


def test_hung_worker_times_out_and_budget_caps_retries(ray_local, tmp_path):
  with orchestrate.Orchestrator(
    FixedCostWorker("sleep"), actors=1, per_actor=2, max_attempts=5, retry_budget=2, timeout_s=3.0
  ) as orch:
    report = orch.run([_sub(0, 0.1, hang_on_attempts=[1]), _sub(1, 0.1)])
    assert all(r.ok for r in report.results) and report.results[0].attempt == 2
    assert [a.status for a in report.attempts if a.subtask_id == "s0"] == ["timeout", "finished"]
    failing = orch.run([_sub(2, 0.1, fail_on_attempts=[1, 2, 3, 4])])
  assert not failing.results[0].ok and failing.retries == 2 and len(failing.attempts) == 3  # the budget stopped it


def test_merge_clean_conflicting_and_deleted():
  base = {"m.py": "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n", "old.py": "x\n", "keep.py": "k\n"}

  def result(name, edits, ok=True):
    return orchestrate.WorkerResult(name, 1, ok=ok, edits=edits)

  clean = orchestrate.merge_edits(
    base,
    [
      result("t0", {"m.py": "a = 10\nb = 2\nc = 3\nd = 4\ne = 5\n"}),
      result("t1", {"m.py": "a = 1\nb = 2\nc = 3\nd = 4\ne = 50\n", "old.py": None}),
      result("t2", {"keep.py": "broken\n"}, ok=False),  # failed workers' edits are not merged
    ],
  )
  assert clean.files["m.py"] == "a = 10\nb = 2\nc = 3\nd = 4\ne = 50\n" and "old.py" not in clean.files
  assert clean.files["keep.py"] == "k\n" and not clean.conflicts and clean.sources["m.py"] == ["t0", "t1"]
  clash = orchestrate.merge_edits(
    base,
    [
      result("t0", {"m.py": base["m.py"].replace("c = 3", "c = 30")}),
      result("t1", {"m.py": base["m.py"].replace("c = 3", "c = 31")}),
    ],
  )
  assert list(clash.conflicts) == ["m.py"] and orchestrate.CONFLICT_MARKER.search(clash.files["m.py"])


def test_split_task_structures():
  task = orchestrate.Task("Fix it.", {"a.py": "", "b.go": "", "c.py": ""}, failing_tests=("t::x", "t::y"))
  assert [s.focus for s in orchestrate.split_task(task, "files")] == [("a.py",), ("b.go",), ("c.py",)]
  assert len(orchestrate.split_task(task, "tests")) == 2
  by_language = orchestrate.split_task(task, "languages")
  assert [(s.language, s.focus) for s in by_language] == [("go", ("b.go",)), ("python", ("a.py", "c.py"))]
  planned = orchestrate.split_task(
    task, "plan", plan=lambda _: "Plan:\n- fix parsing [a.py, nope.py]\n2. fix go [b.go]\nok"
  )
  assert [s.focus for s in planned] == [("a.py",), ("b.go",)] and "fix parsing" in planned[0].statement
  with pytest.raises(orchestrate.TaskError, match="failing_tests"):
    orchestrate.split_task(orchestrate.Task("x", {}), "tests")


@pytest.mark.slow
def test_cli_scripted_agents_in_sandboxes_merge(ray_local, tmp_path, capsys):
  from hrm_jax import cli

  files = {"calc.py": "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a + b\n", "README": "calc\n"}
  fixed_add = files["calc.py"].replace("return a - b", "return a + b")
  fixed_mul = files["calc.py"].replace("return a + b\n", "return a * b\n").replace("return a - b", "return a - b")
  task = {
    "statement": "Fix calc.py.",
    "files": files,
    "subtasks": [{"statement": "fix add", "focus": ["calc.py"]}, {"statement": "fix mul", "focus": ["calc.py"]}],
    "oracle": {
      "t000": [{"tool": "write_file", "args": {"path": "calc.py", "content": fixed_add}}, {"answer": "fixed add"}],
      "t001": [{"tool": "write_file", "args": {"path": "calc.py", "content": fixed_mul}}, {"answer": "fixed mul"}],
    },
  }
  (tmp_path / "task.json").write_text(json.dumps(task))
  out = tmp_path / "out"
  code = cli.main(
    [
      "orchestrate",
      "--task",
      str(tmp_path / "task.json"),
      "--split",
      "given",
      "--agent",
      "oracle",
      "--out",
      str(out),
      "--actors",
      "1",
      "--per-actor",
      "2",
    ]
  )
  assert code == 0
  merged = (out / "merged" / "calc.py").read_text()
  assert "return a + b" in merged and "return a * b" in merged  # both workers' edits, merged three-way
  summary = json.loads((out / "summary.json").read_text())
  assert summary["ok"] == 2 and summary["conflicts"] == [] and summary["changed_files"] == ["calc.py"]
  episodes = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
  assert [e["id"] for e in episodes] == ["t000.1", "t001.1"] and all(e["steps"] for e in episodes)
  journal = [json.loads(line) for line in (out / "journal" / "t001.1.jsonl").read_text().splitlines()]
  assert {"call": "write_file", "path": "calc.py", "content": fixed_mul}.items() <= journal[0].items()
  assert (
    cli.main(["orchestrate", "--task", str(tmp_path / "missing.json"), "--agent", "oracle", "--out", str(out)]) == 2
  )
  assert "not found" in capsys.readouterr().err
