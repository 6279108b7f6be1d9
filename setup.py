"""Package discovery for the three source roots (metadata and pins live in setup.cfg).

`data_pipelines/` and `export/` sit at the repository's top level, as the design card fixes, and are
installed as `hrm_jax.data_pipelines` and `hrm_jax.export`.
"""
import setuptools

ROOTS = {"hrm_jax": "hrm_jax", "hrm_jax.data_pipelines": "data_pipelines", "hrm_jax.export": "export"}


def _packages():
  found = []
  for name, path in ROOTS.items():
    found.append(name)
    found += [f"{name}.{sub}" for sub in setuptools.find_packages(path)]
  return found


setuptools.setup(packages=_packages(), package_dir=ROOTS)
