"""Supervised training: the loop (trainer), the jitted step (step), sharding, checkpoints, metrics."""
