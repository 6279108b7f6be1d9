"""`hrm-jax setup-toolchains`: the report, the exit status, and a quick idempotent rerun."""

from __future__ import annotations

import json
import pathlib
import time

from hrm_jax import cli
from hrm_jax.sandbox import toolchains


def test_check_on_an_empty_cache_reports_each_missing_piece_with_its_fix(tmp_path, capsys):
  report_file = tmp_path / "report.json"
  code = cli.main(
    [
      "setup-toolchains",
      "--check",
      "--cache-dir",
      str(tmp_path / "cache"),
      "--languages",
      "java,javascript,go",
      "--json",
      str(report_file),
    ]
  )
  out = capsys.readouterr().out
  assert code == 1
  for language in ("java", "javascript", "go"):
    assert f"hrm-jax setup-toolchains --languages {language}" in out
    assert f"{language:<11} MISSING" in out
  report = json.loads(report_file.read_text())
  assert report["ok"] is False and set(report["languages"]) == {"java", "javascript", "go"}
  assert any("junit-platform-console-standalone-1.10.0.jar" in line for line in report["languages"]["java"]["missing"])
  assert not (tmp_path / "cache").exists()  # --check fetches and creates nothing


def test_unknown_language_is_rejected(capsys):
  try:
    cli.main(["setup-toolchains", "--check", "--languages", "java,cobol"])
  except SystemExit as exit_:
    assert "cobol" in str(exit_.code)
  else:
    raise AssertionError("expected SystemExit for an unknown language")
  capsys.readouterr()


def test_rerun_on_the_configured_cache_is_quick_and_complete(tmp_path, capsys):
  """CI runs setup-toolchains before the tests, so this rerun must find everything and fetch nothing."""
  report_file = tmp_path / "report.json"
  start = time.perf_counter()
  code = cli.main(["setup-toolchains", "--no-apt", "--json", str(report_file)])
  seconds = time.perf_counter() - start
  out = capsys.readouterr().out
  assert code == 0, out
  assert seconds < 60, out
  report = json.loads(report_file.read_text())
  assert report["ok"] and set(report["languages"]) == set(toolchains.LANGUAGES)
  assert report["root"] == str(toolchains.toolchains_root())
  assert report["cache_bytes"] > 10 * 2**20
  for language in toolchains.LANGUAGES:
    assert f"{language:<11} OK" in out
  assert "GET " not in out and "npm install" not in out and "cargo vendor" not in out


def test_missing_system_tools_map_to_debian_packages(monkeypatch):
  present = {"make", "c++", "javac", "java", "node"}
  monkeypatch.setattr(toolchains, "which", lambda name: pathlib.Path("/usr/bin", name) if name in present else None)
  monkeypatch.setattr(toolchains, "boost_date_time_present", lambda: False)
  wanted = toolchains.missing_debian_packages(["cpp", "go", "java", "javascript", "python"])
  assert wanted == ["cmake", "golang-go", "libboost-date-time-dev", "npm"]
  monkeypatch.setattr(toolchains.os, "geteuid", lambda: 1000)
  try:
    toolchains.install_debian_packages(wanted, log=lambda line: None)
  except toolchains.ToolchainMissingError as error:
    assert "apt-get install cmake golang-go libboost-date-time-dev npm" in str(error)
  else:
    raise AssertionError("a non-root install must be refused with the command to run")
