"""Execution sandbox: per-language build and test commands, offline toolchains, isolated runs."""
