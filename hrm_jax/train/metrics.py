"""Metric writers (TensorBoard event files + console) and a progress line with throughput and ETA.

`create_writer` returns, by `config.train.metric_writer`:
  * "tensorboard": `EventFileWriter`, `clu.metric_writers.MetricWriter`'s methods written with the `tensorboard`
    package's protos and record framing, without TensorFlow;
  * "clu": CLU's default writer (TensorFlow summaries, asynchronous);
  * "auto" (the default): "tensorboard" for a workdir on this machine's file system; "clu" for a workdir URL
    (gs://...) when TensorFlow is installed, whose file system layer writes to cloud storage.
Both write event files that TensorBoard reads the same way (tests/train/test_metric_writers.py). Local runs avoid
TensorFlow because CLU's `metric_writers` package (and TensorBoard's own writer, when installed) imports it:
~5 s and several hundred MB per training process only to write scalars, and accelerator images often ship JAX
and TensorBoard without TensorFlow. (MaxText, too, writes its TensorBoard scalars without TensorFlow.)
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from hrm_jax.train.config import METRIC_WRITERS


def tensorflow_available() -> bool:
  """True when TensorFlow imports (checked without importing it when it is absent)."""
  import importlib.util

  try:
    return importlib.util.find_spec("tensorflow") is not None
  except (ImportError, ValueError):
    return False


WRITERS = METRIC_WRITERS


def create_writer(workdir: str, backend: str = "auto"):
  """A metric writer for `<workdir>/tensorboard`, writing from process 0 only.

  backend: "tensorboard" (`EventFileWriter`, no TensorFlow), "clu" (CLU's TensorFlow writer) or "auto" (CLU's
  for a workdir URL when TensorFlow is installed, else `EventFileWriter`).
  """
  import jax

  logdir = os.path.join(workdir, "tensorboard")
  main = jax.process_index() == 0
  if backend not in WRITERS:
    raise ValueError(f"metric writer backend {backend!r}: choose {', '.join(WRITERS)}")
  if backend == "clu" or (backend == "auto" and "://" in workdir and tensorflow_available()):
    try:
      from clu import metric_writers
    except ImportError as e:
      if backend == "clu":
        raise
      print(f"TensorBoard: CLU's writer is unavailable ({e}); writing event files without TensorFlow", flush=True)
    else:
      return metric_writers.create_default_writer(logdir, just_logging=not main, asynchronous=True)
  return EventFileWriter(logdir if main else None)


class EventFileWriter:
  """`clu.metric_writers.MetricWriter`'s methods on `tensorboard.summary.writer.event_file_writer`.

  Scalars are written as `simple_value`s, texts with the text plugin's metadata, hyperparameters with the
  hparams plugin's session summary: what TensorFlow's writer produces for the same calls, as TensorBoard's
  scalar, text and hparams dashboards read them. `logdir=None` writes nothing (processes other than 0).
  """

  def __init__(self, logdir: str | None):
    self._writer = None
    suffix = f".{socket.gethostname()}.hrm-jax"
    if logdir is not None and "://" in logdir:  # remote storage: TensorBoard's writer and its file system layer
      from tensorboard.summary.writer.event_file_writer import EventFileWriter as _Writer

      try:
        self._writer = _Writer(logdir, filename_suffix=suffix)
      except ImportError as e:  # e.g. gs:// without TensorFlow or gcsfs
        raise ValueError(f"TensorBoard events in {logdir}: {e} (pip install 'hrm-jax[gcs]' for gs://)") from None
    elif logdir is not None:
      self._writer = _LocalEventFile(logdir, suffix)

  def _write(self, step: int, values: list) -> None:
    if self._writer is None or not values:
      return
    from tensorboard.compat.proto import event_pb2, summary_pb2

    summary = summary_pb2.Summary(value=values)
    self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))

  def write_scalars(self, step: int, scalars: Mapping[str, Any]) -> None:
    from tensorboard.compat.proto import summary_pb2

    self._write(step, [summary_pb2.Summary.Value(tag=k, simple_value=float(np.asarray(v))) for k, v in scalars.items()])

  def write_texts(self, step: int, texts: Mapping[str, str]) -> None:
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.text import metadata as text_metadata
    from tensorboard.util import tensor_util

    values = []
    for k, v in texts.items():
      meta = text_metadata.create_summary_metadata(display_name=k, description="")
      values.append(summary_pb2.Summary.Value(tag=k, metadata=meta, tensor=tensor_util.make_tensor_proto(str(v))))
    self._write(step, values)

  def write_hparams(self, hparams: Mapping[str, Any]) -> None:
    if self._writer is None:
      return
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.hparams import summary_v2

    flat = {k: (v if isinstance(v, (bool, int, float, str)) else str(v)) for k, v in hparams.items()}
    self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=0, summary=summary_v2.hparams_pb(flat)))

  def write_summaries(self, step: int, values: Mapping[str, Any], metadata=None) -> None:
    self.write_scalars(step, {k: v for k, v in values.items() if np.ndim(v) == 0})

  def write_images(self, step: int, images: Mapping[str, Any]) -> None:
    del step, images  # no image summaries are written by this project

  def write_histograms(self, step: int, arrays: Mapping[str, Any], num_buckets=None) -> None:
    del step, arrays, num_buckets

  def flush(self) -> None:
    if self._writer is not None:
      self._writer.flush()

  def close(self) -> None:
    if self._writer is not None:
      self._writer.close()
      self._writer = None


class _LocalEventFile:
  """An event file on this machine: TensorBoard's record framing (`RecordWriter`) over a plain file, flushed after
  every event. TensorBoard's own `EventFileWriter` opens its file through `tensorboard.compat.tf`, which imports
  TensorFlow whenever it is installed (seconds per process) and, once resolved, stays so for the process."""

  def __init__(self, logdir: str, suffix: str):
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    os.makedirs(logdir, exist_ok=True)
    # TensorBoard's file naming: `events.out.tfevents.<time>.<host>.<pid>...` (the reader lists `*tfevents*`)
    name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.{id(self)}{suffix}"
    self._file = open(os.path.join(logdir, name), "wb")  # noqa: SIM115 (closed by close())
    self._records = RecordWriter(self._file)
    self.add_event(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

  def add_event(self, event) -> None:
    self._records.write(event.SerializeToString())
    self._file.flush()

  def flush(self) -> None:
    self._file.flush()

  def close(self) -> None:
    self._file.close()


def _format_seconds(seconds: float) -> str:
  seconds = int(max(seconds, 0))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


class Progress:
  """Prints `step N/M (p%) | metrics | steps/s | tok/s | ETA` lines; times exclude the first (compiling) step.

  tok/s counts the tokens trained on (`count_tokens`: non-padding input tokens, so packed and unpacked runs
  compare), or `tokens_per_step` per step when nothing is counted."""

  def __init__(self, total_steps: int, start_step: int, tokens_per_step: int = 0):
    self.total = total_steps
    self.tokens_per_step = tokens_per_step
    self.t0 = None
    self.s0 = start_step
    self.tokens = 0

  def start(self, step: int) -> None:
    self.t0, self.s0, self.tokens = time.perf_counter(), step, 0

  def count_tokens(self, n: int) -> None:
    """Adds the tokens of a step that ran after `start` (call it after the step)."""
    if self.t0 is not None:
      self.tokens += int(n)

  def rates(self, step: int) -> dict[str, float]:
    """steps/s (and tokens/s) since `start`, for the metric writer; empty before two timed steps."""
    if self.t0 is None or step <= self.s0:
      return {}
    elapsed = time.perf_counter() - self.t0
    rate = (step - self.s0) / elapsed
    out = {"steps_per_sec": rate}
    if self.tokens:
      out["tokens_per_sec"] = self.tokens / elapsed
    elif self.tokens_per_step:
      out["tokens_per_sec"] = rate * self.tokens_per_step
    return out

  def line(self, step: int, metrics: dict[str, float]) -> str:
    parts = [f"step {step}/{self.total} ({100.0 * step / max(self.total, 1):.0f}%)"]
    parts += [f"{k} {v:.4g}" for k, v in metrics.items()]
    rates = self.rates(step)
    if rates:
      parts.append(f"{rates['steps_per_sec']:.2f} steps/s")
      if "tokens_per_sec" in rates:
        parts.append(f"{rates['tokens_per_sec']:,.0f} tok/s")
      parts.append(f"ETA {_format_seconds((self.total - step) / max(rates['steps_per_sec'], 1e-9))}")
    return " | ".join(parts)
