"""The device mesh, logical axis rules and the shardings of the train state and of batches.

One `jax.sharding.Mesh` with the axes (`data`, `fsdp`, `tensor`), sizes from `config.mesh` (-1: the devices
left over). Parameters carry logical axis names (hrm_jax/models: `vocab`, `embed`, `qkv`, `heads`, `mlp`, ...)
and activations are constrained by logical names (`batch`, `seq`, `embed`, `heads`, `kv`, `mlp`, `vocab`);
`config.mesh.logical_axis_rules` maps them to mesh axes, first matching rule whose mesh axes are still free
(the MaxText convention, flax.linen.spmd). So:
  * data parallel:   data=-1                  (batch over `data`, parameters replicated)
  * FSDP (ZeRO-3):   fsdp=-1                  (batch and the `embed` dimension of every weight over `fsdp`)
  * tensor parallel: tensor=N                 (heads, mlp and vocab dimensions over `tensor`)
A dimension that the mesh axis does not divide is replicated instead (reported once), so odd vocabularies
(the native mode's 11 tokens) still run.

Optimizer states follow their parameters (matched by the parameter path that ends the state leaf's path);
the ACT carry and batches are sharded on their leading (batch) dimension.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import ml_collections
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

MESH_AXES = ("data", "fsdp", "tensor")

# (logical name, mesh axes): the first rule whose mesh axes are still unused in the array wins.
DEFAULT_RULES: tuple[tuple[str, Any], ...] = (
  ("batch", ("data", "fsdp")),
  ("vocab", "tensor"),
  ("heads", "tensor"),
  ("qkv", "tensor"),
  ("mlp", "tensor"),
  ("embed", "fsdp"),
  ("layers", None),
  ("seq", None),
  ("kv", None),
  ("norm", None),
  ("puzzle", None),
)


def mesh_config(**overrides) -> ml_collections.ConfigDict:
  """`config.mesh` defaults: all devices data-parallel, the rules above."""
  m = ml_collections.ConfigDict(dict(data=-1, fsdp=1, tensor=1, logical_axis_rules=DEFAULT_RULES))
  m.update(overrides)
  return m


def _rules(config_mesh) -> tuple[tuple[str, Any], ...]:
  rules = config_mesh.get("logical_axis_rules", DEFAULT_RULES) if config_mesh is not None else DEFAULT_RULES
  out = []
  for rule in rules:
    if len(rule) != 2:
      raise ValueError(f"config.mesh.logical_axis_rules: {rule!r} is not a (logical_name, mesh_axes) pair")
    name, axes = rule
    axes = tuple(axes) if isinstance(axes, list) else axes
    for a in axes if isinstance(axes, tuple) else (axes,):
      if a is not None and a not in MESH_AXES:
        raise ValueError(f"config.mesh.logical_axis_rules: {rule!r} names mesh axis {a!r}; axes are {MESH_AXES}")
    out.append((name, axes))
  return tuple(out)


def mesh_shape(config_mesh, num_devices: int) -> tuple[int, int, int]:
  """(data, fsdp, tensor) sizes; one of them may be -1 (the devices left over)."""
  sizes = [int(config_mesh.get(a, 1)) if config_mesh is not None else (-1 if a == "data" else 1) for a in MESH_AXES]
  if sizes.count(-1) > 1:
    raise ValueError(f"config.mesh: at most one of {MESH_AXES} may be -1, got {sizes}")
  known = math.prod(s for s in sizes if s != -1)
  if -1 in sizes:
    if num_devices % known:
      raise ValueError(f"config.mesh {dict(zip(MESH_AXES, sizes))}: {known} does not divide {num_devices} devices")
    sizes[sizes.index(-1)] = num_devices // known
  if math.prod(sizes) != num_devices:
    raise ValueError(
      f"config.mesh {dict(zip(MESH_AXES, sizes))} has {math.prod(sizes)} devices, but {num_devices} are present"
    )
  return tuple(sizes)


@dataclasses.dataclass
class MeshContext:
  """The mesh and the logical axis rules; `with ctx:` makes activation constraints apply while tracing."""

  mesh: Mesh
  rules: tuple[tuple[str, Any], ...]
  _active: list = dataclasses.field(default_factory=list, repr=False)

  def __enter__(self):
    stack = contextlib.ExitStack()
    stack.enter_context(jax.set_mesh(self.mesh))
    stack.enter_context(nn.logical_axis_rules(self.rules))
    self._active.append(stack)
    return self

  def __exit__(self, *exc):
    return self._active.pop().__exit__(*exc)

  def describe(self) -> str:
    return " x ".join(f"{a}={n}" for a, n in self.mesh.shape.items()) + f" ({self.mesh.size} devices)"


def create_mesh(config_mesh=None, devices: Sequence[jax.Device] | None = None) -> MeshContext:
  devices = list(devices if devices is not None else jax.devices())
  shape = mesh_shape(config_mesh, len(devices))
  try:  # topology-aware device order on TPU/GPU slices
    from jax.experimental import mesh_utils

    grid = mesh_utils.create_device_mesh(shape, devices)
  except Exception:  # CPU and other platforms without a topology: process-major order
    grid = np.asarray(devices, dtype=object).reshape(shape)
  auto = (jax.sharding.AxisType.Auto,) * len(MESH_AXES)
  return MeshContext(Mesh(grid, MESH_AXES, axis_types=auto), _rules(config_mesh))


def _divisible_spec(spec: P, shape: Sequence[int], mesh: Mesh) -> P:
  """Replicates the dimensions that their mesh axes do not divide."""
  out = []
  for dim, axes in zip(shape, tuple(spec) + (None,) * (len(shape) - len(spec))):
    names = axes if isinstance(axes, tuple) else (axes,)
    size = math.prod(mesh.shape[a] for a in names if a is not None)
    out.append(axes if size and dim % size == 0 else None)
  return P(*out)


def logical_to_sharding(logical: P, shape: Sequence[int], ctx: MeshContext) -> NamedSharding:
  spec = nn.logical_to_mesh_axes(tuple(logical), ctx.rules)
  return NamedSharding(ctx.mesh, _divisible_spec(spec, shape, ctx.mesh))


def _dict_keys(path) -> tuple[str, ...]:
  return tuple(str(k.key) for k in path if isinstance(k, jax.tree_util.DictKey))


def like_params_shardings(tree, params_logical_axes, ctx: MeshContext):
  """Shardings for parameters and parameter-shaped trees (optimizer moments): a leaf takes the logical axes of
  the parameter whose path ends its own (and has its rank); any other leaf is replicated."""
  param_specs = {}
  for path, spec in jax.tree_util.tree_flatten_with_path(
    params_logical_axes["params"], is_leaf=lambda x: isinstance(x, P)
  )[0]:
    param_specs[_dict_keys(path)] = spec
  replicated = NamedSharding(ctx.mesh, P())

  def param_like(path, leaf):
    keys = _dict_keys(path)
    for start in range(len(keys)):
      spec = param_specs.get(keys[start:])
      if spec is not None and len(spec) == leaf.ndim:
        return logical_to_sharding(spec, leaf.shape, ctx)
    return replicated

  return jax.tree_util.tree_map_with_path(param_like, tree)


def state_shardings(state, params_logical_axes, ctx: MeshContext):
  """Shardings for a TrainState (arrays or shape structs): parameters by their logical axes, optimizer
  leaves like the parameter whose path ends theirs (same shape), the carry by batch, the rest replicated."""
  replicated = NamedSharding(ctx.mesh, P())

  def batch_leading(leaf):
    if leaf.ndim == 0:
      return replicated
    return logical_to_sharding(P("batch", *([None] * (leaf.ndim - 1))), leaf.shape, ctx)

  return state.replace(
    step=replicated,
    first_nonfinite_step=replicated,
    params=like_params_shardings(state.params, params_logical_axes, ctx),
    opt_state=like_params_shardings(state.opt_state, params_logical_axes, ctx),
    carry=jax.tree.map(batch_leading, state.carry),
  )


def batch_sharding(ctx: MeshContext, ndim: int = 1) -> NamedSharding:
  return NamedSharding(ctx.mesh, nn.logical_to_mesh_axes(("batch",) + (None,) * (ndim - 1), ctx.rules))


def global_batch(ctx: MeshContext, local: dict[str, np.ndarray]) -> dict[str, jax.Array]:
  """This process's rows of the batch -> global arrays sharded over the batch axes (every process calls)."""
  return {
    k: jax.make_array_from_process_local_data(batch_sharding(ctx, np.ndim(v)), np.asarray(v)) for k, v in local.items()
  }
