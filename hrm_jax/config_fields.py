"""Typed config sections: every key declared once, as a field of a frozen dataclass.

Config files are ml_collections ConfigDicts (`configs/*.py`, overridable with `--config.a.b=value`); library
code reads them through a dataclass per section (`HRMConfig` for `config.model`, `TrainConfig` for
`config.train`, the RL sections' configs), built by `from_mapping`, which names the section and field of any
unknown key or wrongly typed value. `config_dict` turns a dataclass's defaults into the ConfigDict a config
file starts from, so defaults are written in one place (the dataclass), not repeated in `configs/common.py`.

This module imports no JAX: loading a config stays cheap.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import ml_collections

T = TypeVar("T")


def _field_types(cls) -> dict[str, Any]:
  hints = typing.get_type_hints(cls)
  return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _coerce(value: Any, annotation: Any, where: str) -> Any:
  """`value` as `annotation` (int -> float widening, list -> tuple); a clear error otherwise."""
  origin = typing.get_origin(annotation)
  if origin in (typing.Union, types.UnionType):
    options = typing.get_args(annotation)
    if value is None and type(None) in options:
      return None
    errors = []
    for option in options:
      if option is type(None):
        continue
      try:
        return _coerce(value, option, where)
      except ValueError as e:
        errors.append(str(e))
    raise ValueError(errors[0] if errors else f"{where}={value!r}: unexpected value")
  if origin is tuple or annotation is tuple:
    if isinstance(value, (list, tuple)):
      return tuple(value)
    raise ValueError(f"{where}={value!r}: expected a tuple")
  if annotation is float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
      return float(value)
    raise ValueError(f"{where}={value!r}: expected a number")
  if annotation is int:
    if isinstance(value, int) and not isinstance(value, bool):
      return value
    if isinstance(value, float) and value.is_integer():
      return int(value)
    raise ValueError(f"{where}={value!r}: expected an integer")
  if annotation is bool:
    if isinstance(value, bool):
      return value
    raise ValueError(f"{where}={value!r}: expected True or False")
  if annotation is str:
    if isinstance(value, str):
      return value
    raise ValueError(f"{where}={value!r}: expected a string")
  return value  # other annotations (nested structures) are taken as given


def from_mapping(cls: type[T], mapping: Mapping[str, Any] | ml_collections.ConfigDict | None, section: str) -> T:
  """`cls(**mapping)` with every key checked: an unknown key or a wrongly typed value raises ValueError
  naming `config.<section>.<key>`; missing keys take the dataclass's defaults. Calls `validate()` if the
  class has one."""
  values = dict(mapping.items()) if mapping is not None else {}
  types_ = _field_types(cls)
  unknown = sorted(set(values) - set(types_))
  if unknown:
    raise ValueError(f"config.{section} has unknown field(s) {unknown}; known fields: {sorted(types_)}")
  kwargs = {k: _coerce(v, types_[k], f"config.{section}.{k}") for k, v in values.items()}
  obj = cls(**kwargs)
  if hasattr(obj, "validate"):
    obj.validate()
  return obj


def config_dict(cls, **overrides) -> ml_collections.ConfigDict:
  """A ConfigDict holding every field of `cls` at its default, then `overrides` (each must be a field)."""
  defaults = {
    f.name: (f.default if f.default is not dataclasses.MISSING else f.default_factory())
    for f in dataclasses.fields(cls)
    if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
  }
  unknown = sorted(set(overrides) - set(defaults))
  if unknown:
    raise ValueError(f"{cls.__name__} has no field(s) {unknown}; known fields: {sorted(defaults)}")
  defaults.update(overrides)
  return ml_collections.ConfigDict(defaults)


def require(condition: bool, section: str, field: str, value: Any, why: str) -> None:
  """Raises ValueError `config.<section>.<field>=<value>: <why>` unless `condition`."""
  if not condition:
    raise ValueError(f"config.{section}.{field}={value!r}: {why}")
