"""Benchmarks: `python -m hrm_jax.bench.<name>` prints a table of measured figures."""
