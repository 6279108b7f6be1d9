"""Export of trained models to StableHLO and TFLite/LiteRT. Installed as hrm_jax.export."""
