"""Importing a reference-format state_dict (keys and layouts of sapientinc/HRM) and running native mode."""

import numpy as np
import pytest
from conftest import random_batch, tiny_config
from safetensors.numpy import save_file

from hrm_jax import cli
from hrm_jax.inference import native
from hrm_jax.models import hrm, torch_import


def reference_like_state_dict(cfg, seed=0, prefix="_orig_mod.model.inner."):
  """A state_dict with the reference's key names and [out, in] shapes, random values."""
  rng = np.random.default_rng(seed)
  d, v = cfg.hidden_size, cfg.vocab_size
  inter = 2 * 64  # swiglu_width(32, 2.0) = 128 -> gate_up is [2*128, d]
  from hrm_jax.models.layers import swiglu_width

  inter = swiglu_width(d, cfg.expansion)
  sd = {
    "H_init": rng.normal(size=d),
    "L_init": rng.normal(size=d),
    "embed_tokens.embedding_weight": rng.normal(size=(v, d)),
    "lm_head.weight": rng.normal(size=(v, d)),
    "q_head.weight": rng.normal(size=(2, d)),
    "q_head.bias": np.array([-5.0, -5.0]),
    "puzzle_emb.weights": rng.normal(size=(cfg.num_puzzle_identifiers, cfg.puzzle_emb_ndim)),
  }
  for level, n in (("H_level", cfg.H_layers), ("L_level", cfg.L_layers)):
    for i in range(n):
      sd[f"{level}.layers.{i}.self_attn.qkv_proj.weight"] = rng.normal(size=(3 * d, d)) / np.sqrt(d)
      sd[f"{level}.layers.{i}.self_attn.o_proj.weight"] = rng.normal(size=(d, d)) / np.sqrt(d)
      sd[f"{level}.layers.{i}.mlp.gate_up_proj.weight"] = rng.normal(size=(2 * inter, d)) / np.sqrt(d)
      sd[f"{level}.layers.{i}.mlp.down_proj.weight"] = rng.normal(size=(d, inter)) / np.sqrt(inter)
  return {prefix + k: val.astype(np.float32) for k, val in sd.items()}


@pytest.mark.parametrize("prefix", ["_orig_mod.model.inner.", "model.inner."])
def test_convert_maps_keys_and_transposes(prefix):
  cfg = tiny_config()
  sd = reference_like_state_dict(cfg, prefix=prefix)
  params = torch_import.convert_state_dict(sd, cfg)["params"]
  np.testing.assert_array_equal(
    params["H_level"]["layers_0"]["self_attn"]["qkv_proj"]["kernel"],
    sd[prefix + "H_level.layers.0.self_attn.qkv_proj.weight"].T,
  )
  np.testing.assert_array_equal(params["lm_head"]["kernel"], sd[prefix + "lm_head.weight"].T)
  back = torch_import.reference_state_dict({"params": params}, prefix=prefix)
  assert set(back) == set(sd)
  for k in sd:
    np.testing.assert_array_equal(back[k], sd[k])


def test_convert_errors_name_the_key():
  cfg = tiny_config()
  sd = reference_like_state_dict(cfg)
  bad = dict(sd)
  bad["_orig_mod.model.inner.lm_head.weight"] = np.zeros((3, 3), np.float32)
  with pytest.raises(ValueError, match="lm_head.weight: shape"):
    torch_import.convert_state_dict(bad, cfg)
  missing = {k: v for k, v in sd.items() if "L_init" not in k}
  with pytest.raises(KeyError, match="L_init"):
    torch_import.convert_state_dict(missing, cfg)


def test_imported_model_computes_the_reference_segment_by_hand(tmp_path):
  """The imported weights run through our segment give the same logits as a NumPy re-derivation of the
  reference's first-segment math from the raw [out, in] weights (hrm-spec.md 1.4-1.8)."""
  cfg = tiny_config(H_cycles=1, L_cycles=1, H_layers=1, L_layers=1)
  sd = reference_like_state_dict(cfg, seed=3, prefix="")
  params = torch_import.convert_state_dict(sd, cfg)
  model = hrm.HRMCore(cfg)
  batch = {k: np.asarray(v) for k, v in random_batch(cfg, 2).items()}
  out = native.run_segment(model, params, batch)

  def rms(x):
    return x / np.sqrt(np.mean(x * x, -1, keepdims=True) + 1e-5)

  def rope(x, pos):  # x [b, t, h, dh]
    dh = x.shape[-1]
    inv = 1.0 / 10000.0 ** (np.arange(0, dh, 2) / dh)
    ang = pos[:, None] * np.concatenate([inv, inv])[None]
    rot = np.concatenate([-x[..., dh // 2 :], x[..., : dh // 2]], -1)
    return x * np.cos(ang)[None, :, None] + rot * np.sin(ang)[None, :, None]

  def block(x, pre):
    b, t, d = x.shape
    h = cfg.num_heads
    qkv = (x @ sd[pre + "self_attn.qkv_proj.weight"].T).reshape(b, t, 3, h, d // h)
    pos = np.arange(t, dtype=np.float64)
    q, k, v = rope(qkv[:, :, 0], pos), rope(qkv[:, :, 1], pos), qkv[:, :, 2]
    s = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(d // h)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    a = np.einsum("bhqk,bkhd->bqhd", p, v).reshape(b, t, d) @ sd[pre + "self_attn.o_proj.weight"].T
    x = rms(x + a)
    gu = x @ sd[pre + "mlp.gate_up_proj.weight"].T
    g, u = np.split(gu, 2, -1)
    return rms(x + (g / (1 + np.exp(-g)) * u) @ sd[pre + "mlp.down_proj.weight"].T)

  d = cfg.hidden_size
  e = sd["embed_tokens.embedding_weight"][batch["inputs"]]
  pz = sd["puzzle_emb.weights"][batch["puzzle_identifiers"]][:, None, :]
  x = np.sqrt(d) * np.concatenate([pz, e], 1)
  zH = np.broadcast_to(sd["H_init"], x.shape)
  zL = np.broadcast_to(sd["L_init"], x.shape)
  zL = block(zL + zH + x, "L_level.layers.0.")
  zH = block(zH + zL, "H_level.layers.0.")
  logits = zH[:, 1:] @ sd["lm_head.weight"].T
  q = zH[:, 0] @ sd["q_head.weight"].T + sd["q_head.bias"]
  np.testing.assert_allclose(out["logits"], logits, atol=2e-4, rtol=1e-4)
  np.testing.assert_allclose(out["q_halt_logits"], q[:, 0], atol=2e-4, rtol=1e-4)


def test_import_cli_and_native_run(tmp_path, capsys):
  cfg = tiny_config()
  path = tmp_path / "ref.safetensors"
  save_file(reference_like_state_dict(cfg), str(path))
  config_file = tmp_path / "cfg.py"
  fields = ", ".join(
    f"{k}={getattr(cfg, k)!r}"
    for k in (
      "vocab_size",
      "seq_len",
      "hidden_size",
      "num_heads",
      "expansion",
      "H_layers",
      "L_layers",
      "H_cycles",
      "L_cycles",
      "halt_max_steps",
      "puzzle_emb_ndim",
      "num_puzzle_identifiers",
    )
  )
  config_file.write_text(
    f"import ml_collections\n\ndef get_config():\n  c = ml_collections.ConfigDict()\n"
    f"  c.model = ml_collections.ConfigDict(dict({fields}))\n  return c\n"
  )
  workdir = tmp_path / "imported"
  assert (
    cli.main(["import-torch", "--checkpoint", str(path), "--config", str(config_file), "--workdir", str(workdir)]) == 0
  )
  report = capsys.readouterr().out
  # The fields no state_dict determines are printed with the values the import took.
  assert f"halt_max_steps={cfg.halt_max_steps}" in report and f"H_cycles={cfg.H_cycles}" in report, report
  inputs = tmp_path / "inputs.npy"
  np.save(inputs, np.arange(2 * cfg.seq_len).reshape(2, cfg.seq_len) % cfg.vocab_size)
  out = tmp_path / "out.npz"
  assert cli.main(["native", "--workdir", str(workdir), "--inputs", str(inputs), "--out", str(out)]) == 0
  result = np.load(out)
  assert result["predictions"].shape == (2, cfg.seq_len)
  np.testing.assert_array_equal(result["steps"], [cfg.halt_max_steps] * 2)
  # The same numbers through the Python API.
  model, params = native.load(str(workdir))
  again = native.run_act(model, params, {"inputs": np.load(inputs)})
  np.testing.assert_allclose(again["logits"], result["logits"], rtol=1e-6)
  captured = capsys.readouterr()
  assert "prediction=" in captured.out
  if cfg.puzzle_emb_ndim > 0:
    assert "puzzle identifier 0" in captured.err
