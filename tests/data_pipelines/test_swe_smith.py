"""SWE-smith: the fixture repository's instances are real (F2P fail on the bug branch, the reverse patch fixes
them), the reader validates, training records carry the fix."""

import json
import os
import subprocess

import pytest

from hrm_jax.data_pipelines import swe_smith as S

pytestmark = pytest.mark.slow  # the module fixture runs pytest on 13 branches (~25 s on 2 cores)


@pytest.fixture(scope="module")
def fixture_repo(tmp_path_factory):
  directory = str(tmp_path_factory.mktemp("swe") / "minicalc")
  instances = S.build_fixture(directory)
  path = os.path.join(os.path.dirname(directory), "instances.jsonl")
  with open(path, "w") as f:
    for inst in instances:
      f.write(json.dumps(inst) + "\n")
  return directory, path


def test_fixture_has_ten_valid_instances(fixture_repo):
  directory, path = fixture_repo
  instances = S.read_instances(path)
  assert len(instances) >= 10
  for inst in instances:
    assert inst.fail_to_pass and inst.pass_to_pass and inst.files
    assert not set(inst.fail_to_pass) & set(inst.pass_to_pass)
    assert S.INSTANCE_ID.match(inst.instance_id)


def test_reverse_patch_fixes_the_bug(fixture_repo):
  directory, path = fixture_repo
  for inst in S.read_instances(path)[:2]:
    subprocess.run(["git", "checkout", "-q", inst.base_commit], cwd=directory, check=True)
    status = S.run_pytest(directory)
    assert all(status[t] != "PASSED" for t in inst.fail_to_pass)
    fix = S.reverse_patch(inst.patch)
    subprocess.run(["git", "apply"], input=fix, text=True, cwd=directory, check=True)
    status = S.run_pytest(directory)
    assert all(status[t] == "PASSED" for t in inst.fail_to_pass + inst.pass_to_pass)
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=directory, check=True)
  subprocess.run(["git", "checkout", "-q", "main"], cwd=directory, check=True)


def test_training_record(fixture_repo):
  directory, path = fixture_repo
  inst = S.read_instances(path)[0]
  record = S.to_training_record(inst, S.buggy_files(directory, inst))
  assert inst.problem_statement in record["question_content"] and inst.files[0] in record["question_content"]
  assert record["solution"].startswith("diff --git") and record["task"] == "edit"
  assert json.loads(record["metadata"])["FAIL_TO_PASS"] == list(inst.fail_to_pass)


@pytest.mark.parametrize(
  "mutate, reason",
  [
    (lambda o: o.pop("patch"), "missing field"),
    (lambda o: o.update(instance_id="not an id"), "instance_id"),
    (lambda o: o.update(patch="just text"), "patch"),
    (lambda o: o.update(FAIL_TO_PASS=[]), "FAIL_TO_PASS"),
    (lambda o: o.update(PASS_TO_PASS="[1, 2]"), "PASS_TO_PASS"),
  ],
)
def test_malformed_instances_name_the_field(fixture_repo, tmp_path, mutate, reason):
  _, path = fixture_repo
  good = json.loads(open(path).readline())
  bad = dict(good)
  mutate(bad)
  with pytest.raises(S.InstanceError, match=reason):
    S.parse_instance(bad)
  f = tmp_path / "x.jsonl"
  f.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
  with pytest.raises(S.InstanceError, match=f"{f}:2"):
    S.read_instances(str(f))
  assert len(S.read_instances(str(f), max_bad=1)) == 1


def test_hf_style_string_lists_and_json_list_files(fixture_repo, tmp_path):
  _, path = fixture_repo
  obj = json.loads(open(path).readline())
  obj["FAIL_TO_PASS"] = json.dumps(obj["FAIL_TO_PASS"])
  f = tmp_path / "list.json"
  f.write_text(json.dumps([obj]))
  inst = S.read_instances(str(f))[0]
  assert isinstance(inst.fail_to_pass, tuple) and inst.fail_to_pass
