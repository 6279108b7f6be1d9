"""`hrm-jax data inspect | bench` end to end on the default data config and on a config file."""

import pytest

from hrm_jax import cli


@pytest.fixture
def small_config(tmp_path):
  config = tmp_path / "cfg.py"
  config.write_text(
    "import ml_collections\nfrom hrm_jax.data_pipelines import input_pipeline\n"
    "def get_config():\n  c = ml_collections.ConfigDict()\n"
    "  c.data = input_pipeline.default_data_config()\n  c.data.num_train = 200\n  return c\n"
  )
  return str(config)


def test_data_inspect_prints_reports_examples_and_statistics(small_config, capsys):
  assert (
    cli.main(["data", "inspect", "--config", small_config, "--num", "1", "--batches", "3", "--batch_size", "8"]) == 0
  )
  out = capsys.readouterr().out
  assert "data[procedural/train]" in out and ">>> response (trained on):" in out and "by task" in out


def test_data_inspect_with_config_and_override(small_config, capsys):
  config = small_config
  assert (
    cli.main(
      [
        "data",
        "inspect",
        "--config",
        str(config),
        "--config.data.seq_len=40",
        "--config.data.mixture",
        "procedural=0.5,tool_use=0.5",
        "--num",
        "0",
        "--batches",
        "2",
      ]
    )
    == 0
  )
  out = capsys.readouterr().out
  assert "seq_len=40" in out and "data[tool_use/train]" in out and "dropped" in out
  assert cli.main(["data", "inspect", "--config", str(config), "--config.data.nope=1"]) == 2


def test_data_bench_prints_rates(small_config, capsys):
  assert (
    cli.main(["data", "bench", "--config", small_config, "--batches", "5", "--batch_size", "8", "--workers", "0"]) == 0
  )
  out = capsys.readouterr().out
  assert "examples/s" in out and out.strip().splitlines()[-2].split()[0] == "0"


def test_data_inspect_cutoff_reports_removed_problems(small_config, capsys):
  assert (
    cli.main(
      [
        "data",
        "inspect",
        "--config",
        small_config,
        "--config.data.source=livecodebench_sample",
        "--config.data.seq_len=1024",
        "--cutoff",
        "2024-03-01",
        "--num",
        "0",
        "--batches",
        "1",
      ]
    )
    == 0
  )
  out = capsys.readouterr().out
  assert "temporal filter --cutoff 2024-03-01" in out and "removed" in out
  assert cli.main(["data", "inspect", "--cutoff", "March"]) == 2
