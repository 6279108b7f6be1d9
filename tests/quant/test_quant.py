"""AQT quantization: QAT through the trainer at int8/int4, integer freezing, the frozen model == the QAT model."""

import functools
import re

import configs_for_tests as cft
import jax
import numpy as np
import pytest
from conftest import random_batch, tiny_causal_config

from hrm_jax import quant
from hrm_jax.models import hrm, layers
from hrm_jax.train import trainer


def segment(model, variables, z_H, z_L, batch):
  return jax.jit(lambda v, zh, zl, b: hrm.forward_segment(model, v, zh, zl, b))(variables, z_H, z_L, batch)


@pytest.mark.slow
@pytest.mark.parametrize("bits", ["int8", "int4"])
def test_qat_trains_through_the_trainer(tmp_path, bits):
  config = cft.tiny_train_config(num_steps=10)
  config.model.quant = bits
  summary = trainer.train_and_evaluate(config, str(tmp_path), cft.copy_task_datasets(config))
  losses = [h["loss"] for h in summary["history"]]
  grad_norms = [h["grad_norm"] for h in summary["history"]]
  assert np.all(np.isfinite(losses)) and np.all(np.isfinite(grad_norms)) and min(grad_norms) > 0
  assert np.mean(losses[-3:]) < np.mean(losses[:3])
  model = trainer.build_model(config)
  assert model.dot_general_cls is not None
  assert set(summary["params"]) == set(hrm.init_params(model.cfg, jax.random.key(0))[1]["params"])


@pytest.mark.parametrize("bits,limit", [("int8", 127), ("int4", 7)])
def test_freeze_stores_integers_with_per_channel_scales(bits, limit):
  cfg = tiny_causal_config()
  _, v = hrm.init_params(cfg, jax.random.key(0))
  frozen = quant.freeze(v["params"], bits)
  qkv = frozen["L_level"]["layers_0"]["self_attn"]["qkv_proj"]["kernel"]
  assert qkv[quant.INT_KEY].dtype == np.int8 and np.abs(qkv[quant.INT_KEY]).max() == limit
  assert qkv[quant.SCALE_KEY].shape == (1, qkv[quant.INT_KEY].shape[1])
  emb = frozen["embed_tokens"]["embedding"]
  assert emb[quant.SCALE_KEY].shape == (cfg.vocab_size, 1)
  assert isinstance(frozen["q_head"]["kernel"], np.ndarray)  # Q head stays fp32
  w = np.asarray(v["params"]["L_level"]["layers_0"]["self_attn"]["qkv_proj"]["kernel"])
  back = np.asarray(quant.dequantize(frozen)["L_level"]["layers_0"]["self_attn"]["qkv_proj"]["kernel"])
  step = np.abs(w).max(axis=0) / (limit + 0.5)
  assert np.all(np.abs(back - w) <= step / 2 + 1e-7)
  assert quant.nbytes(quant.freeze(v["params"], "int8", "all")) < 0.3 * quant.nbytes(v["params"])


@pytest.mark.parametrize("bits", ["int8", "int4"])
def test_qat_quantizes_and_frozen_weights_must_not_be_requantized(bits):
  cfg = tiny_causal_config()
  qat, v = hrm.init_params(cfg, jax.random.key(1), dot_general_cls=quant.dot_general_cls(bits))
  frozen = {"params": quant.dequantize(quant.freeze(v["params"], bits, scope="blocks"))}
  batch = random_batch(cfg, 2)
  z = qat.apply(v, 2, cfg.total_len, method=hrm.HRMCore.initial_state)
  _, logits_qat, _ = segment(qat, v, *z, batch)
  assert set(v) == {"params"}  # AQT (deterministic rounding) adds no variable collection and needs no rng
  _, logits_float, _ = segment(hrm.HRMCore(cfg), v, *z, batch)
  assert np.max(np.abs(np.asarray(logits_float) - np.asarray(logits_qat))) > 1e-3  # AQT really quantizes
  # re-quantizing a frozen weight would rescale it by (2^(b-1)-1)/(2^(b-1)-0.5): serving reads the integers
  # as stored instead (layers.int_matmul, next test)
  _, logits_requant, _ = segment(qat, frozen, *z, batch)
  assert np.max(np.abs(np.asarray(logits_requant) - np.asarray(logits_qat))) > 5e-3


@pytest.mark.parametrize("bits", ["int8", "int4", "w4a8g16", "int4g16"])
def test_integer_weights_multiplied_as_integers_match_the_qat_model(bits):
  """A frozen tree NOT dequantized: every block projection runs `layers.int_matmul` on the stored int8 values
  (activations quantized per row at the model's bits, AQT's numerics), as the served/exported models do; per-group
  recipes ("...g16") store one scale per (group of 16 inputs, output column) and quantize the activations per
  (row, group), as AQT's sub-channel tiling does in training."""
  cfg = tiny_causal_config(quant=bits)
  qat, v = hrm.init_params(cfg, jax.random.key(1), dot_general_cls=quant.dot_general_cls(bits))
  frozen = {"params": quant.freeze(v["params"], bits, scope="blocks")}
  batch = random_batch(cfg, 2)
  z = qat.apply(v, 2, cfg.total_len, method=hrm.HRMCore.initial_state)
  _, logits_qat, (qh_qat, _) = segment(qat, v, *z, batch)
  _, logits_int, (qh_int, _) = segment(hrm.HRMCore(cfg), frozen, *z, batch)
  # Integer accumulation rounds differently from AQT's float path by ~1e-7, which can move one activation across a
  # bucket edge; through the recurrence that changes one position by up to ~0.03 (measured: 1 of 24 positions).
  diff = np.abs(np.asarray(logits_int) - np.asarray(logits_qat))
  assert np.mean(diff <= 5e-4) > 0.9 and diff.max() < 0.1
  np.testing.assert_allclose(np.asarray(qh_int), np.asarray(qh_qat), atol=5e-3)


def test_int_matmul_reads_integers_and_matches_the_float_product():
  rng = np.random.default_rng(0)
  w = rng.standard_normal((64, 48)).astype(np.float32)
  q, scale = quant.quantize_array(w, 8, axis=0)
  for rows in (1, 2, 5):  # 1 row takes the padded path
    x = rng.standard_normal((rows, 64)).astype(np.float32)
    got = np.asarray(layers.int_matmul(jax.numpy.asarray(x), q, scale))
    ref = x @ (q.astype(np.float32) * scale)
    assert got.shape == (rows, 48)
    # only the activations' rounding separates them: |error| <= sum |w_q| * step / 2 per output
    bound = np.abs(q.astype(np.float32) * scale).sum(0) * (np.abs(x).max(1, keepdims=True) / 127.5) / 2
    assert np.all(np.abs(got - ref) <= bound + 1e-5)
    assert np.max(np.abs(got - ref)) > 0  # the activations really were quantized
  hlo = jax.jit(layers.int_matmul).lower(x, q, scale).as_text()
  assert re.search(r"dot_general.*xi8>.*xi8>.*xi32>", hlo)  # the weights enter the product as int8


def test_unknown_quantization_is_named():
  with pytest.raises(ValueError, match="int3"):
    quant.dot_general_cls("int3")


@pytest.mark.parametrize(
  "name,expected",
  [
    ("int8", quant.Recipe(8, 8, 0)),
    ("int4", quant.Recipe(4, 4, 0)),
    ("w4a8", quant.Recipe(4, 8, 0)),
    ("int4g16", quant.Recipe(4, 4, 16)),
    ("w4a8g32", quant.Recipe(4, 8, 32)),
  ],
)
def test_recipe_names(name, expected):
  assert quant.recipe(name) == expected and expected.name == name


@pytest.mark.parametrize("name", ["int3", "w4", "w4a8g0", "int4g", "INT4", "w2a8"])
def test_bad_recipe_names_are_refused_with_the_grammar(name):
  with pytest.raises(ValueError, match=r"w<4\|8>a<4\|8>"):
    quant.recipe(name)


def _aqt_product(name, x, w):
  """x [m, k] @ w [k, n] through the recipe's AqtDotGeneral (as the model's Linear calls it)."""
  dg = quant.dot_general_cls(name)()
  return np.asarray(dg.apply({}, jax.numpy.asarray(x), jax.numpy.asarray(w), (((1,), (0,)), ((), ())), None))


def test_recipes_quantize_activations_and_weights_per_group_as_the_reference():
  """w<b>a<b>g<G>: x rounded to a-bit integers per row and per group of G inputs, w to b-bit integers per group of G
  inputs and per column; the product summed over groups. The reference rounds each operand with
  quant.fake_quantize_array (AQT's IntSymmetric numerics) and multiplies the floats."""
  rng = np.random.default_rng(0)
  x = rng.standard_normal((6, 64)).astype(np.float32)
  x[:, :16] *= 8.0  # one group of inputs much larger than the rest: per-group scales pay off
  w = rng.standard_normal((64, 24)).astype(np.float32)
  exact = x @ w
  errors = {}
  for name in ("int4", "w4a8", "int4g16", "w4a8g16"):
    r = quant.recipe(name)
    got = _aqt_product(name, x, w)
    ref = quant.fake_quantize_array(x, r.act_bits, 1, r.group_size) @ quant.fake_quantize_array(
      w, r.weight_bits, 0, r.group_size
    )
    close = np.isclose(got, ref, rtol=1e-4, atol=1e-3)
    assert close.mean() > 0.97, name  # a rounding edge may fall the other way (reciprocal vs division)
    errors[name] = float(np.abs(got - exact).mean())
  assert errors["w4a8"] < errors["int4"] and errors["int4g16"] < errors["int4"]
  assert errors["w4a8g16"] < min(errors["w4a8"], errors["int4g16"])


def test_int4_recipe_is_aqt_fully_quantized_and_groups_carry_gradients():
  from aqt.jax.v2 import config as aqt_config_lib
  from aqt.jax.v2.flax import aqt_flax

  rng = np.random.default_rng(1)
  x = rng.standard_normal((4, 32)).astype(np.float32)
  w = rng.standard_normal((32, 8)).astype(np.float32)
  cfg = aqt_config_lib.fully_quantized(fwd_bits=4, bwd_bits=8, use_stochastic_rounding=False)
  x, w = jax.numpy.asarray(x), jax.numpy.asarray(w)
  reference = aqt_flax.AqtDotGeneral(cfg, prng_name=None).apply({}, x, w, (((1,), (0,)), ((), ())), None)
  np.testing.assert_array_equal(_aqt_product("int4", x, w), np.asarray(reference))
  dg = quant.dot_general_cls("w4a8g16")()
  grad = jax.grad(lambda w_: jax.numpy.sum(dg.apply({}, x, w_, (((1,), (0,)), ((), ())), None) ** 2))(w)
  assert np.all(np.isfinite(grad)) and np.abs(np.asarray(grad)).min() > 0  # straight-through to every weight


def test_group_size_must_divide():
  with pytest.raises(ValueError, match="group size 24 does not divide"):
    _aqt_product("int4g24", np.ones((2, 64), np.float32), np.ones((64, 4), np.float32))
  with pytest.raises(ValueError, match="group size 24 does not divide"):
    quant.freeze({"L_level": {"kernel": np.ones((64, 4), np.float32)}}, "int4g24")
  w = np.random.default_rng(2).standard_normal((64, 4)).astype(np.float32)
  assert quant.recipe("w4a8").weight_bits == 4  # w4a8 freezes as int4 weights (activations: the layers' act_bits)
  frozen = quant.freeze({"L_level": {"kernel": w}}, "w4a8")["L_level"]["kernel"]
  assert np.abs(frozen[quant.INT_KEY]).max() == 7


def test_freeze_per_group_stores_one_scale_per_group_and_column():
  cfg = tiny_causal_config()
  _, v = hrm.init_params(cfg, jax.random.key(0))
  frozen = quant.freeze(v["params"], "w4a8g16")
  qkv = frozen["L_level"]["layers_0"]["self_attn"]["qkv_proj"]["kernel"]
  assert qkv[quant.SCALE_KEY].shape == (cfg.hidden_size // 16, qkv[quant.INT_KEY].shape[1])
  assert np.abs(qkv[quant.INT_KEY]).max() == 7
  emb = frozen["embed_tokens"]["embedding"]
  assert emb[quant.SCALE_KEY].shape == (cfg.vocab_size, cfg.hidden_size // 16)
  # dequantized == the weight-only fake quantization the quality bench measures (same groups, same numerics)
  back = quant.dequantize(frozen)
  ref = quant.fake_quantize(v["params"], "w4a8g16")
  for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(ref)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  # the served model reads the per-group embedding rows as stored
  ids = jax.numpy.arange(cfg.vocab_size)[None]
  table = layers.Embed(cfg.vocab_size, cfg.hidden_size, jax.nn.initializers.zeros)
  np.testing.assert_allclose(
    np.asarray(table.apply({"params": {"embedding": emb}}, ids))[0], ref["embed_tokens"]["embedding"], rtol=1e-6
  )


@pytest.mark.parametrize("name", ["int4g16", "w4a8g16", "w8a8g32"])
def test_int_matmul_per_group_equals_the_aqt_product(name):
  """The served integer product of a per-group frozen weight == the recipe's AQT product of the float weight."""
  r = quant.recipe(name)
  rng = np.random.default_rng(3)
  w = rng.standard_normal((64, 24)).astype(np.float32)
  q, scale = quant.quantize_array(w, r.weight_bits, 0, r.group_size)
  for rows in (1, 5):
    x = rng.standard_normal((rows, 64)).astype(np.float32)
    x[:, :16] *= 8.0
    got = np.asarray(layers.int_matmul(jax.numpy.asarray(x), q, scale, r.act_bits))
    close = np.isclose(got, _aqt_product(name, x, w), rtol=1e-4, atol=1e-4)
    assert close.mean() > 0.97, name  # a rounding edge may fall the other way (reciprocal vs division)
  hlo = jax.jit(functools.partial(layers.int_matmul, act_bits=r.act_bits)).lower(x, q, scale).as_text()
  assert re.search(r"dot_general.*xi8>.*xi8>.*xi32>", hlo)  # still an integer product


def test_model_config_takes_every_recipe_and_names_the_field():
  config = cft.tiny_train_config()
  config.model.quant = "w4a8g16"
  cfg = hrm.HRMConfig.from_config(config.model)
  assert cfg.act_bits == 8 and trainer.build_model(config).dot_general_cls is not None
  config.model.quant = "int4"
  assert hrm.HRMConfig.from_config(config.model).act_bits == 4
  config.model.quant = "int3"
  with pytest.raises(ValueError, match=r"config\.model\.quant='int3': expected none, int8, int4 or w<4\|8>a<4\|8>"):
    hrm.HRMConfig.from_config(config.model)
  config.model.quant = "w4a8g12"  # 12 divides neither hidden_size 16 nor the MLP width
  with pytest.raises(ValueError, match=r"config\.model\.quant='w4a8g12': group size 12 must divide hidden_size"):
    hrm.HRMConfig.from_config(config.model)
