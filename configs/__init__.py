"""Config files (`get_config()`), installed as `hrm_jax.configs`; load them with `hrm_jax.config_loader`."""
