"""Shared defaults for the config files (imported by them; not a config itself)."""

import ml_collections


def model(**overrides) -> ml_collections.ConfigDict:
  """The reference HRM's architecture (hrm_v1.yaml) in native mode: `HRMConfig`'s defaults
  (hrm_jax/models/config.py); configs override what they change."""
  from hrm_jax import config_fields
  from hrm_jax.models.config import HRMConfig

  return config_fields.config_dict(HRMConfig, **overrides)


def code_model(**overrides) -> ml_collections.ConfigDict:
  """The code-generation mode: causal attention, language/task prefix tokens, ACT depth at the last prompt token."""
  return model(**dict(dict(attention="causal", task_conditioning=True, q_position="last_prompt"), **overrides))


def optimizer(**overrides) -> ml_collections.ConfigDict:
  """The reference optimizer: `OptimizerConfig`'s defaults (hrm_jax/train/config.py) with `overrides`."""
  from hrm_jax import config_fields
  from hrm_jax.train.config import OptimizerConfig

  return config_fields.config_dict(OptimizerConfig, **overrides)


def train(**overrides) -> ml_collections.ConfigDict:
  """The trainer's settings: `TrainConfig`'s defaults (hrm_jax/train/config.py) with `overrides`."""
  from hrm_jax import config_fields
  from hrm_jax.train.config import TrainConfig

  return config_fields.config_dict(TrainConfig, **overrides)


def data(**overrides) -> ml_collections.ConfigDict:
  from hrm_jax.data_pipelines import input_pipeline

  d = input_pipeline.default_data_config()
  d.update(overrides)
  return d


def mesh(**overrides) -> ml_collections.ConfigDict:
  """Device mesh (data, fsdp, tensor; -1 = the rest) and logical axis rules: hrm_jax/train/sharding.py."""
  from hrm_jax.train import sharding

  return sharding.mesh_config(**overrides)
