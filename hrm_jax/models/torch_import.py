"""Converting a reference PyTorch state_dict into our parameters: the HRM (sapientinc/HRM) or, with
`arch="trm"`, the Tiny Recursive Model (SamsungSAILMontreal/TinyRecursiveModels, `models/recursive_reasoning/
trm.py`: the same key names and layouts, with one `L_level` network and no `H_level`).

Key names and layouts from hrm-spec.md section 1.9 / 5.4: keys live under `model.inner.` (compiled checkpoints
add `_orig_mod.` in front); linear weights are [out, in] and become Flax kernels [in, out]; the fused QKV keeps
its [Q heads | K heads | V heads] layout and gate_up its [gate | up] layout, so a transpose is all they need.
TRM's `puzzle_emb_len` (16 prefix tokens by default) is a config field; the state_dict does not record it.
Readers: `.pt` (PyTorch, `weights_only=True`: no code runs), `.safetensors` and `.npz` (`allow_pickle=False`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import jax
import numpy as np

from hrm_jax.models import hrm

PREFIXES = ("_orig_mod.", "model.inner.")
LAYER_PARTS = {
  "self_attn.qkv_proj": ("self_attn", "qkv_proj"),
  "self_attn.o_proj": ("self_attn", "o_proj"),
  "mlp.gate_up_proj": ("mlp", "gate_up_proj"),
  "mlp.down_proj": ("mlp", "down_proj"),
}


def read_state_dict(path: str) -> dict[str, np.ndarray]:
  """Reads a state_dict from .pt/.pth, .safetensors or .npz into NumPy arrays (no pickled code executed)."""
  ext = os.path.splitext(path)[1].lower()
  if not os.path.exists(path):
    raise FileNotFoundError(f"{path}: no such file")
  if ext in (".pt", ".pth", ".bin"):
    try:
      import torch
    except ImportError as e:
      raise ImportError(
        f"{path}: reading PyTorch files needs torch (pip install -e '.[torch]'); "
        "or convert it to .safetensors/.npz first"
      ) from e
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
      obj = obj["state_dict"]
    return {k: v.detach().to(torch.float32).numpy() for k, v in obj.items() if hasattr(v, "detach")}
  if ext == ".safetensors":
    from safetensors.numpy import load_file

    return dict(load_file(path))
  if ext == ".npz":
    with np.load(path, allow_pickle=False) as f:
      return {k: f[k] for k in f.files}
  raise ValueError(f"{path}: unknown checkpoint format {ext!r} (expected .pt, .safetensors or .npz)")


def _strip(key: str) -> str:
  changed = True
  while changed:
    changed = False
    for p in PREFIXES:
      if key.startswith(p):
        key, changed = key[len(p) :], True
  return key


def convert_state_dict(state_dict: Mapping[str, np.ndarray], cfg: hrm.HRMConfig) -> dict:
  """Maps reference keys onto our parameter tree for `cfg`; every shape is checked, every key accounted for."""
  _, variables = hrm.init_params(cfg, jax.random.key(0))
  template = jax.tree.map(np.asarray, variables["params"])
  out = jax.tree.map(lambda x: None, template)
  used = set()

  def put(path: tuple, value: np.ndarray, key: str):
    node_t, node_o = template, out
    for p in path[:-1]:
      if p not in node_t:
        raise KeyError(
          f"{key}: the config (arch={cfg.arch!r}) has no {'/'.join(path)} (check config.model.arch and the layer counts)"
        )
      node_t, node_o = node_t[p], node_o[p]
    leaf = path[-1]
    if leaf not in node_t:
      raise KeyError(f"{key}: the config has no {'/'.join(path)}")
    if node_t[leaf].shape != value.shape:
      raise ValueError(
        f"{key}: shape {value.shape} does not match {'/'.join(path)} {node_t[leaf].shape} "
        "in the config (hidden size, vocabulary or sequence length differ?)"
      )
    node_o[leaf] = value.astype(np.float32)

  for raw_key, value in state_dict.items():
    key = _strip(raw_key)
    value = np.asarray(value)
    if key in ("H_init", "L_init"):
      put((key,), value, raw_key)
    elif key == "embed_tokens.embedding_weight":
      put(("embed_tokens", "embedding"), value, raw_key)
    elif key == "embed_pos.embedding_weight":
      put(("embed_pos",), value, raw_key)
    elif key == "lm_head.weight":
      put(("lm_head", "kernel"), value.T, raw_key)
    elif key == "q_head.weight":
      put(("q_head", "kernel"), value.T, raw_key)
    elif key == "q_head.bias":
      put(("q_head", "bias"), value, raw_key)
    elif key == "puzzle_emb.weights":
      put(("puzzle_emb",), value, raw_key)
    elif key.startswith(("H_level.layers.", "L_level.layers.")) and key.endswith(".weight"):
      level, _, index, *rest = key[: -len(".weight")].split(".")
      part = ".".join(rest)
      if part.startswith("mlp_t."):
        raise KeyError(f"{raw_key}: TRM's mlp_t variant (an MLP over positions instead of attention) is not supported")
      if part not in LAYER_PARTS:
        raise KeyError(f"{raw_key}: unknown layer weight {part!r}")
      put((level, f"layers_{index}") + LAYER_PARTS[part] + ("kernel",), value.T, raw_key)
    elif key.startswith("puzzle_emb.local_"):
      continue  # training scratch buffers of the sparse embedding, not weights
    else:
      raise KeyError(f"{raw_key}: not a key of the reference HRM (hrm-spec.md 1.9) or TRM")
    used.add(key)

  missing = [
    ("/".join(getattr(p, "key", str(p)) for p in path))
    for path, leaf in jax.tree_util.tree_flatten_with_path(out, is_leaf=lambda x: x is None)[0]
    if leaf is None
  ]
  if missing:
    raise KeyError(f"the state_dict lacks weights for: {missing}")
  return {"params": out}


def reference_state_dict(params: Mapping, prefix: str = "_orig_mod.model.inner.") -> dict[str, np.ndarray]:
  """The inverse map: our params -> reference key names and [out, in] layouts (for parity checks/export)."""
  p = jax.tree.map(np.asarray, params["params"] if "params" in params else params)
  sd = {
    f"{prefix}H_init": p["H_init"],
    f"{prefix}L_init": p["L_init"],
    f"{prefix}embed_tokens.embedding_weight": p["embed_tokens"]["embedding"],
    f"{prefix}lm_head.weight": p["lm_head"]["kernel"].T,
    f"{prefix}q_head.weight": p["q_head"]["kernel"].T,
    f"{prefix}q_head.bias": p["q_head"]["bias"],
  }
  if "puzzle_emb" in p:
    sd[f"{prefix}puzzle_emb.weights"] = p["puzzle_emb"]
  if "embed_pos" in p:
    sd[f"{prefix}embed_pos.embedding_weight"] = p["embed_pos"]
  for level in ("H_level", "L_level"):
    for name, layer in p.get(level, {}).items():
      index = name.split("_")[-1]
      for part, (a, b) in LAYER_PARTS.items():
        sd[f"{prefix}{level}.layers.{index}.{part}.weight"] = layer[a][b]["kernel"].T
  return sd
