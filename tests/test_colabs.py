"""The notebooks run top to bottom (their code cells, minus shell lines, executed in order)."""

import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_quickstart_runs_top_to_bottom(monkeypatch, tmp_path):
  monkeypatch.setenv("HRM_JAX_REPO", ROOT)
  monkeypatch.setenv("HRM_JAX_COLAB_STEPS", "3")
  monkeypatch.setenv(
    "HRM_JAX_COLAB_OVERRIDES", "--config.data.num_train=200 --config.data.num_eval=8 --config.train.log_every=1"
  )
  monkeypatch.chdir(tmp_path)
  nb = json.load(open(os.path.join(ROOT, "colabs", "quickstart.ipynb")))
  scope: dict = {}
  for cell in nb["cells"]:
    if cell["cell_type"] != "code":
      continue
    source = "".join(line for line in cell["source"] if not line.lstrip().startswith(("!", "%")))
    exec(compile(source, "quickstart.ipynb", "exec"), scope)
  assert "summary" in scope and "eval" in scope["summary"]
  assert isinstance(scope["out"], list)
