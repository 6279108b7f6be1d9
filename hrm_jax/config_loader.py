"""Loading ml_collections config files (`get_config()`), with `--config.a.b=value` overrides.

A config file is Python that defines `get_config(arg: str | None = None) -> ConfigDict`; `path:arg` passes
`arg` (as ml_collections' config_flags does). Overrides are typed by the field they replace; an unknown field
or a value of the wrong type is an error naming the field.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys

import ml_collections

OVERRIDE_PREFIX = "--config."


def packaged_configs_dir() -> str | None:
  """The installed package's copy of `configs/` (the checkout's folder in an editable install)."""
  spec = importlib.util.find_spec("hrm_jax.configs")
  if spec is None or not spec.submodule_search_locations:
    return None
  return list(spec.submodule_search_locations)[0]


def resolve_config_path(path: str) -> str:
  """`path` relative to the current directory first, then to the installed package's configs
  (`configs/tiny_cpu.py` and `tiny_cpu.py` both name the bundled file from anywhere)."""
  if os.path.exists(path) or os.path.isabs(path):
    return path
  packaged = packaged_configs_dir()
  if packaged is not None:
    relative = path[len("configs/") :] if path.startswith("configs/") else path
    candidate = os.path.join(packaged, relative)
    if os.path.exists(candidate):
      return candidate
  return path


def load_config_file(spec: str) -> ml_collections.ConfigDict:
  path, _, arg = spec.partition(":")
  path = resolve_config_path(path)
  if not os.path.exists(path):
    packaged = packaged_configs_dir()
    where = f" (nor under the installed configs, {packaged})" if packaged else ""
    raise FileNotFoundError(f"--config {path}: no such file{where}")
  module_name = "_hrm_jax_config_" + os.path.splitext(os.path.basename(path))[0]
  module_spec = importlib.util.spec_from_file_location(module_name, path)
  module = importlib.util.module_from_spec(module_spec)
  sys.modules[module_name] = module
  config_dir = os.path.dirname(os.path.abspath(path))
  sys.path.insert(0, config_dir)  # config files may import their siblings (configs/common.py)
  try:
    module_spec.loader.exec_module(module)
  finally:
    sys.path.remove(config_dir)
  if not hasattr(module, "get_config"):
    raise AttributeError(f"--config {path}: the file defines no get_config()")
  config = module.get_config(arg) if arg else module.get_config()
  if not isinstance(config, ml_collections.ConfigDict):
    raise TypeError(f"--config {path}: get_config() returned {type(config).__name__}, not a ConfigDict")
  return config


def _parse_value(text: str):
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    return text  # a bare string


def apply_overrides(config: ml_collections.ConfigDict, overrides: list[str]) -> ml_collections.ConfigDict:
  """Applies `--config.a.b=value` items (also `--config.a.b value`)."""
  items = list(overrides)
  i = 0
  while i < len(items):
    item = items[i]
    if not item.startswith(OVERRIDE_PREFIX):
      raise ValueError(f"unrecognised argument {item!r} (overrides look like --config.train.num_steps=100)")
    key, eq, value = item[len(OVERRIDE_PREFIX) :].partition("=")
    if not eq:
      if i + 1 >= len(items):
        raise ValueError(f"--config.{key} needs a value")
      value = items[i + 1]
      i += 1
    i += 1
    *parents, leaf = key.split(".")
    node = config
    for j, part in enumerate(parents):
      if part not in node:
        raise KeyError(f"--config.{key}: no field config.{'.'.join(parents[: j + 1])}")
      node = node[part]
    if leaf not in node:
      raise KeyError(f"--config.{key}: no field config.{key}; fields there: {sorted(node.keys())}")
    new = _parse_value(value)
    old = node[leaf]
    if isinstance(old, float) and isinstance(new, int) and not isinstance(new, bool):
      new = float(new)
    if isinstance(old, str) and not isinstance(new, str):
      new = value
    if isinstance(old, tuple) and isinstance(new, list):
      new = tuple(new)
    try:
      node[leaf] = new
    except TypeError as e:
      raise TypeError(f"--config.{key}={value!r}: {e}") from e
  return config


def load(spec: str, overrides: list[str] | None = None) -> ml_collections.ConfigDict:
  return apply_overrides(load_config_file(spec), overrides or [])
