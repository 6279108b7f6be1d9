"""hrm-jax: the Hierarchical Reasoning Model in JAX/Flax, for code generation and tool use."""

__version__ = "0.1.0"
