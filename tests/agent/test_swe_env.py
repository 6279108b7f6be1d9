"""SWE-smith instances as environments: the oracle resolves, the empty agent does not, grading cannot be gamed."""

import json

import pytest

from hrm_jax import cli
from hrm_jax.agent import loop, swe
from hrm_jax.data_pipelines import swe_smith

pytestmark = pytest.mark.slow  # builds the 31-instance fixture once (cached), runs sandboxed pytest per instance


@pytest.fixture(scope="module")
def fixture():
  path, repos = swe_smith.bundled()
  instances = swe_smith.read_instances(path)
  return path, repos, instances


def test_bundled_fixture_has_30_instances_over_3_repositories(fixture):
  _, _, instances = fixture
  assert len(instances) >= 30
  assert len({i.repo for i in instances}) >= 3
  kinds = {swe.bug_type(i) for i in instances}
  assert {"lm_rewrite", "pr_mirror"} <= kinds and any(k.startswith("func_pm_") for k in kinds)


def _one_per_repo(fixture, tmp_path):
  path, repos, instances = fixture
  chosen = {}
  for inst in instances:
    chosen.setdefault(inst.repo, inst)
  subset = tmp_path / "subset.jsonl"
  lines = [json.loads(l) for l in open(path)]
  subset.write_text(
    "".join(json.dumps(o) + "\n" for o in lines if o["instance_id"] in {i.instance_id for i in chosen.values()})
  )
  return str(subset), repos


@pytest.mark.parametrize("agent, rate", [("oracle", 1.0), ("empty", 0.0)])
def test_oracle_resolves_everything_and_empty_nothing(fixture, tmp_path, agent, rate):
  subset, repos = _one_per_repo(fixture, tmp_path)
  out = tmp_path / agent
  assert cli.main(["eval", "swe", "--instances", subset, "--repos", repos, "--agent", agent, "--out", str(out)]) == 0
  report = json.loads((out / "report.json").read_text())
  assert report["instances"] == 3 and report["resolved_rate"] == rate and len(report["by_repo"]) == 3
  assert (out / "summary.png").stat().st_size > 1000 and "Resolved" in (out / "report.md").read_text()
  rows = json.loads((out / "results.json").read_text())["instances"]
  for row in rows:
    case = out / row["instance_id"]
    assert (case / "tests.log").read_text() and json.loads((case / "episode.json").read_text())["meta"]
    assert all(s == ("PASSED" if agent == "oracle" else "FAILED") for s in row["FAIL_TO_PASS"].values())
    assert all(s == "PASSED" for s in row["PASS_TO_PASS"].values())
  if agent == "oracle":  # finished episodes are tool-use training data
    from hrm_jax.data_pipelines import tool_use

    assert len(tool_use.read_jsonl(str(out / "episodes.jsonl"))) == 3


def test_editing_the_tests_does_not_resolve(fixture, tmp_path):
  _, repos, instances = fixture
  inst = instances[0]
  test_file = inst.fail_to_pass[0].split("::")[0]
  # make every test trivially pass by rewriting the test file: grading restores the tests first
  cheat = loop.ScriptedPolicy(
    [loop.Action(tool="write_file", args={"path": test_file, "content": "def test_x():\n  pass\n"})]
  )
  row = swe.run_instance(inst, repos, lambda _: cheat, loop.Budgets(max_steps=2), tmp_path)
  assert row["applied"] and not row["resolved"] and row["patch_lines"] > 0
  assert all(s != "PASSED" for s in row["FAIL_TO_PASS"].values())


def test_missing_repositories_are_named(fixture, tmp_path, capsys):
  path, _, _ = fixture
  assert (
    cli.main(
      ["eval", "swe", "--instances", path, "--repos", str(tmp_path), "--agent", "empty", "--out", str(tmp_path / "o")]
    )
    == 2
  )
  assert "repositories are not under" in capsys.readouterr().err
  assert cli.main(["eval", "swe", "--instances", path, "--agent", "endpoint", "--out", str(tmp_path / "o")]) == 2


def test_the_same_environment_in_a_swerex_session(fixture, tmp_path):
  pytest.importorskip("swerex")
  # SWE-ReX's local deployment runs on this host (no isolation): only the oracle's own commands (write the gold
  # fix, git apply) and the fixture's tests run in it.
  path, repos, _ = fixture
  out = tmp_path / "rex"
  args = ["eval", "swe", "--instances", path, "--repos", repos, "--agent", "oracle", "--session", "swerex-local"]
  assert cli.main(args + ["--limit", "1", "--out", str(out)]) == 0
  report = json.loads((out / "report.json").read_text())
  assert report["instances"] == 1 and report["resolved_rate"] == 1.0
