"""Every notebook in colabs/ runs top to bottom in a real Jupyter kernel (nbclient, kernel python3 from ipykernel),
at the reduced size the notebooks read from the environment; each notebook is its own test (they spread over
xdist workers) and a new notebook is picked up without editing this file.

Environment the notebooks read (docs/notebooks.md): HRM_JAX_COLAB_SMOKE=1 (the smallest size that still runs every
cell), HRM_JAX_REPO (the checkout), and the quickstart's HRM_JAX_COLAB_STEPS / HRM_JAX_COLAB_OVERRIDES.
"""

import glob
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "colabs", "*.ipynb")))
SMOKE_ENV = {
  "HRM_JAX_COLAB_SMOKE": "1",
  "HRM_JAX_REPO": ROOT,
  "HRM_JAX_COLAB_STEPS": "3",
  # tiny_cpu shrunk (quickstart and the RL notebook's supervised start): compile time dominates at this size
  "HRM_JAX_COLAB_OVERRIDES": "--config.data.num_train=200 --config.data.num_eval=8 --config.train.log_every=1 "
  "--config.model.hidden_size=32 --config.model.H_layers=1 --config.model.L_layers=1",
  "JAX_PLATFORMS": "cpu",
}


def test_the_colabs_folder_holds_the_notebooks():
  names = {os.path.basename(p) for p in NOTEBOOKS}
  assert {"quickstart.ipynb", "model_anatomy.ipynb", "quantize_and_export.ipynb", "rl_gspo.ipynb"} <= names


def _errors(nb) -> list[str]:
  return [
    f"{o.get('ename')}: {o.get('evalue')}"
    for cell in nb.cells
    if cell.cell_type == "code"
    for o in cell.get("outputs", [])
    if o.get("output_type") == "error"
  ]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
  import nbclient
  import nbformat

  for key, value in SMOKE_ENV.items():
    monkeypatch.setenv(key, value)  # the kernel process inherits this environment
  monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' tempfile.mkdtemp workdirs: nothing left in /tmp
  nb = nbformat.read(path, as_version=4)
  # a temp copy is executed (the saved outputs in colabs/ stay as they are); cwd = tmp_path
  client = nbclient.NotebookClient(
    nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
  )
  client.execute()
  nbformat.write(nb, str(tmp_path / os.path.basename(path)))
  assert not _errors(nb)
  code_cells = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
  assert all(c.get("execution_count") for c in code_cells), "a code cell did not run"
