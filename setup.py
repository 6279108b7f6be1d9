"""Package discovery for the source roots (metadata, pins and package data live in setup.cfg).

The folder mapping is why this file exists: `data_pipelines/`, `export/` and `configs/` sit at the repository's
top level, as the design card fixes, and are installed as `hrm_jax.data_pipelines`, `hrm_jax.export` and
`hrm_jax.configs` (so `hrm-jax train --config configs/tiny_cpu.py` works from any directory of an installed copy).
"""

import setuptools

ROOTS = {
  "hrm_jax": "hrm_jax",
  "hrm_jax.data_pipelines": "data_pipelines",
  "hrm_jax.export": "export",
  "hrm_jax.configs": "configs",
}


def _packages():
  found = []
  for name, path in ROOTS.items():
    found.append(name)
    found += [f"{name}.{sub}" for sub in setuptools.find_packages(path)]
  return found


setuptools.setup(packages=_packages(), package_dir=ROOTS)
