"""Inference: the KV-cached sampler (`sampler`) and the reference-native mode (`native`), both over the one HRM
core (`hrm_jax.models.hrm.segment`)."""
