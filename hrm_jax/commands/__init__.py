"""Sub-commands of the `hrm-jax` command line (see hrm_jax/cli.py)."""
