"""Data pipelines (Grain): readers, scenarios, tokenization, packing and mixtures. Installed as hrm_jax.data_pipelines."""
