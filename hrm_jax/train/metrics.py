"""Metric writers (CLU: TensorBoard + console) and a progress line with throughput and ETA."""
from __future__ import annotations

import time

from clu import metric_writers
import jax


def create_writer(workdir: str) -> metric_writers.MetricWriter:
  """TensorBoard event files under <workdir>/tensorboard, written by process 0 only."""
  return metric_writers.create_default_writer(
      f"{workdir}/tensorboard", just_logging=jax.process_index() > 0, asynchronous=True)


def _format_seconds(seconds: float) -> str:
  seconds = int(max(seconds, 0))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


class Progress:
  """Prints `step N/M (p%) | metrics | steps/s | ETA` lines; times exclude the first (compiling) step."""

  def __init__(self, total_steps: int, start_step: int, tokens_per_step: int = 0):
    self.total = total_steps
    self.tokens_per_step = tokens_per_step
    self.t0 = None
    self.s0 = start_step

  def start(self, step: int) -> None:
    self.t0, self.s0 = time.perf_counter(), step

  def line(self, step: int, metrics: dict[str, float]) -> str:
    parts = [f"step {step}/{self.total} ({100.0 * step / max(self.total, 1):.0f}%)"]
    parts += [f"{k} {v:.4g}" for k, v in metrics.items()]
    if self.t0 is not None and step > self.s0:
      elapsed = time.perf_counter() - self.t0
      rate = (step - self.s0) / elapsed
      parts.append(f"{rate:.2f} steps/s")
      if self.tokens_per_step:
        parts.append(f"{rate * self.tokens_per_step:,.0f} tok/s")
      parts.append(f"ETA {_format_seconds((self.total - step) / max(rate, 1e-9))}")
    return " | ".join(parts)
