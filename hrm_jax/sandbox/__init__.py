"""Execution sandbox: per-language build and test commands, offline toolchains, isolated runs with limits for
the whole run (mechanisms, the attacks the security suite checks and their outcomes: docs/sandbox.md)."""
