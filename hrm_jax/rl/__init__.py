"""Reinforcement learning from execution feedback: objectives, rewards, rollouts, trainer."""
