"""Shared defaults for the config files (imported by them; not a config itself)."""
import ml_collections


def model(**overrides) -> ml_collections.ConfigDict:
  """The reference HRM's architecture (hrm_v1.yaml) in native mode; configs override what they change."""
  m = ml_collections.ConfigDict(dict(
      arch="hrm", vocab_size=8192, seq_len=128, hidden_size=512, num_heads=8, expansion=4.0,
      H_layers=4, L_layers=4, H_cycles=2, L_cycles=2, pos_encodings="rope", rope_theta=10000.0,
      rms_norm_eps=1e-5, puzzle_emb_ndim=0, num_puzzle_identifiers=1, task_conditioning=False,
      num_languages=6, num_tasks=6, attention="bidirectional", q_position="first", halt_max_steps=16,
      halt_exploration_prob=0.1, grad_steps=2, forward_dtype="float32", quant="none", remat_policy="none",
      scan_layers=False))
  m.update(overrides)
  return m


def code_model(**overrides) -> ml_collections.ConfigDict:
  """The code-generation mode: causal attention, language/task prefix tokens, ACT depth at the last prompt token."""
  return model(**dict(dict(attention="causal", task_conditioning=True, q_position="last_prompt"), **overrides))


def optimizer(**overrides) -> ml_collections.ConfigDict:
  """The reference optimizer (Adam-atan2, b=(0.9, 0.95), wd 0.1, warm-up then constant)."""
  o = ml_collections.ConfigDict(dict(
      name="adam_atan2", learning_rate=1e-4, warmup_steps=2000, lr_min_ratio=1.0, b1=0.9, b2=0.95,
      weight_decay=0.1, grad_clip_norm=0.0, puzzle_emb_lr=1e-2, puzzle_emb_weight_decay=0.1))
  o.update(overrides)
  return o


def train(**overrides) -> ml_collections.ConfigDict:
  t = ml_collections.ConfigDict(dict(
      seed=0, batch_size=768, eval_batch_size=64, num_steps=100_000, log_every=100, eval_every=0,
      checkpoint_every=1000, keep_checkpoints=3, loss_type="stablemax", dynamic_halting=False,
      eval_halt_max_steps=0, sample_prompts=2, sample_max_new_tokens=64, microbatches=1))
  t.update(overrides)
  return t


def data(**overrides) -> ml_collections.ConfigDict:
  from hrm_jax.data_pipelines import input_pipeline
  d = input_pipeline.default_data_config()
  d.update(overrides)
  return d


def mesh(**overrides) -> ml_collections.ConfigDict:
  """Device mesh (data, fsdp, tensor; -1 = the rest) and logical axis rules: hrm_jax/train/sharding.py."""
  from hrm_jax.train import sharding
  return sharding.mesh_config(**overrides)
