"""The supervised training loop (big_vision style: one readable function, resumable from its workdir).

    hrm-jax train --config configs/tiny_cpu.py --workdir /tmp/hrm_tiny

Each step is one ACT call and one optimizer update, compiled once (`jax.jit` with the state donated); the ACT
carry stays in the train state across steps, as in the reference. Every `checkpoint_every` steps the state and
the Grain iterator position are saved together (Orbax, async); a run restarted with the same workdir resumes
exactly. Metrics go to TensorBoard (`metrics.create_writer`: event files written without TensorFlow for a local
workdir, CLU's writer with `config.train.metric_writer=clu`) and to the console with throughput and ETA. At the end the model is evaluated on
the held-out split (full ACT rollouts under one while_loop) and a short table is printed with a sample generation.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from typing import Any

import grain
import jax
import ml_collections
import numpy as np

from hrm_jax import losses
from hrm_jax.models import hrm
from hrm_jax.train import checkpoint as checkpoint_lib
from hrm_jax.train import distributed, optimizers, sharding
from hrm_jax.train import metrics as metrics_lib
from hrm_jax.train import step as step_lib
from hrm_jax.train.config import TrainConfig
from hrm_jax.train.stop import StopSignal

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"  # one JSON line per logged step (process 0), appended across resumptions
EVAL_FILE = "eval.json"  # the final evaluation's metrics (process 0)


class TrainingError(RuntimeError):
  """A run stopped for a reason the user must act on (the message says which)."""


class WorkdirError(ValueError):
  """The workdir cannot be created or written; the message is `workdir W: <reason>`."""


def check_workdir(workdir: str) -> None:
  """Creates `workdir` if needed and checks that files can be written there (before any model is built)."""
  try:
    os.makedirs(workdir, exist_ok=True)
  except FileExistsError:
    raise WorkdirError(f"workdir {workdir}: exists and is not a directory") from None
  except OSError as e:
    raise WorkdirError(f"workdir {workdir}: cannot be created ({e.strerror or e})") from None
  probe = os.path.join(workdir, f".write-probe-{os.getpid()}")
  try:
    with open(probe, "w") as f:
      f.write("ok")
    os.remove(probe)
  except OSError as e:
    raise WorkdirError(f"workdir {workdir}: not writable ({e.strerror or e})") from None


def _truncate_metrics(workdir: str, step: int) -> None:
  """Drops metrics.jsonl lines past `step` (the resumed step), so a resumed run never logs a step twice."""
  path = os.path.join(workdir, METRICS_FILE)
  if not os.path.exists(path):
    return
  with open(path) as f:
    lines = f.readlines()
  kept = []
  for line in lines:
    try:
      if json.loads(line)["step"] <= step:
        kept.append(line if line.endswith("\n") else line + "\n")
    except (ValueError, KeyError, TypeError):
      continue  # a line cut short by a crash
  if len(kept) != len(lines):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
      f.writelines(kept)
    os.replace(tmp, path)


@dataclasses.dataclass
class Datasets:
  """Factories for the data: `train()` an infinite batched iterator (checkpointable), `eval()` a finite one."""

  train: Callable[[], grain.DatasetIterator]
  eval: Callable[[], Any] | None = None


def model_config(config: ml_collections.ConfigDict) -> hrm.HRMConfig:
  return hrm.HRMConfig.from_config(config.model)


def build_model(config: ml_collections.ConfigDict) -> hrm.HRMCore:
  cfg = model_config(config)
  dot_general_cls = None
  if cfg.quant != "none":
    from hrm_jax import quant  # AQT is only imported by quantized runs

    dot_general_cls = quant.dot_general_cls(cfg.quant)
  return hrm.HRMCore(cfg, dot_general_cls=dot_general_cls)


def default_datasets(config: ml_collections.ConfigDict) -> Datasets:
  """Datasets from `config.data` through the Grain input pipeline, sharded by process.

  `config.data.source == "copy_task"` is the synthetic in-memory task (hrm_jax/train/synthetic_data.py).
  """
  if config.data.source == "copy_task":
    from hrm_jax.train import synthetic_data

    def make(split, batch_size, repeat):
      return lambda: iter(
        synthetic_data.make_dataset(
          config.data,
          config.model,
          split,
          batch_size,
          config.train.seed,
          jax.process_index(),
          jax.process_count(),
          repeat,
        )
      )

    has_eval = config.data.num_eval > 0
    return Datasets(
      train=make("train", config.train.batch_size, True),
      eval=make("eval", config.train.eval_batch_size, False) if has_eval else None,
    )
  from hrm_jax.data_pipelines import input_pipeline

  prefix_slots = 0
  if config.data.packing:  # each packed sequence carries its own conditioning slots (hrm.HRMCore.embed)
    cfg = hrm.HRMConfig.from_config(config.model)
    hrm.check_packable(cfg)
    prefix_slots = cfg.prefix_len

  def train():
    # make_dataset takes the per-process batch: the global batch is split over the processes.
    ds = input_pipeline.make_dataset(
      config.data,
      "train",
      batch_size=config.train.batch_size // jax.process_count(),
      seed=config.train.seed,
      shard_index=jax.process_index(),
      shard_count=jax.process_count(),
      repeat=True,
      prefix_slots=prefix_slots,
    )
    return iter(ds)

  def evaluate():
    ds = input_pipeline.make_dataset(
      config.data,
      "eval",
      batch_size=config.train.eval_batch_size // jax.process_count(),
      seed=config.train.seed,
      shard_index=jax.process_index(),
      shard_count=jax.process_count(),
      repeat=False,
    )
    return iter(ds)

  return Datasets(train=train, eval=evaluate)


def _pad_batch(batch: dict, size: int) -> dict:
  """Pads a short final eval batch to `size` rows; padded rows have no labels and are not counted."""
  n = next(iter(batch.values())).shape[0]
  if n == size:
    return batch
  out = {}
  for k, v in batch.items():
    fill = -100 if k == "labels" else 0
    pad = np.full((size - n,) + v.shape[1:], fill, v.dtype)
    out[k] = np.concatenate([v, pad])
  return out


def _model_batch(batch: dict) -> dict:
  return {k: np.asarray(v) for k, v in batch.items()}


def evaluate(
  model: hrm.HRMCore,
  params,
  batches,
  config: ml_collections.ConfigDict,
  eval_fn=None,
  max_steps: int | None = None,
  mesh: sharding.MeshContext | None = None,
  should_stop=None,
) -> dict[str, float]:
  """Reference-style evaluation over finite `batches`: metrics divided by the number of counted sequences.

  `should_stop()` is checked between batches: when it answers True the evaluation ends and returns {}.

  With a `mesh`, each process's batches are its rows of the global eval batch (every process must call)."""
  cfg = model.cfg
  max_steps = max_steps or config.train.eval_halt_max_steps or cfg.halt_max_steps
  if eval_fn is None:
    eval_fn = jax.jit(
      lambda p, b, m: step_lib.eval_step(model, config.train.loss_type, p, b, m, config.train.dynamic_halting)
    )
  local_size = config.train.eval_batch_size // (jax.process_count() if mesh is not None else 1)
  totals: dict[str, float] = {}
  for batch in batches:
    if should_stop is not None and should_stop():
      return {}
    batch = _pad_batch(_model_batch(batch), local_size)
    if mesh is not None:
      with mesh:
        sums = jax.device_get(eval_fn(params, sharding.global_batch(mesh, batch), max_steps))
    else:
      sums = jax.device_get(eval_fn(params, batch, max_steps))
    for k, v in sums.items():
      totals[k] = totals.get(k, 0.0) + float(v)
  if not totals:
    return {}
  count = max(totals.get("count", 0.0), 1.0)
  return {k: (v if k in ("count", "sequences") else v / count) for k, v in totals.items()}


def _init_from_location(path: str) -> tuple[str, int | None]:
  """(workdir, step or None) named by `config.train.init_from`: a workdir, its checkpoints/ directory, or one
  step's directory checkpoints/<step>."""
  path = os.path.normpath(path)
  parent, name = os.path.split(path)
  if name.isdigit() and os.path.basename(parent) == "checkpoints":
    return os.path.dirname(parent), int(name)
  if name == "checkpoints" and not os.path.exists(os.path.join(path, CONFIG_FILE)):
    return parent, None
  return path, None


def init_params_from(path: str, abstract_params) -> Any:
  """The parameters of the checkpoint `config.train.init_from` names, read by the one checkpointer's
  inference reader (`checkpoint.load_for_inference`, the source run's own config) and checked against this run's
  parameters (`abstract_params`: the same names and shapes; dtypes are cast). ValueError naming the field when
  the path holds no readable checkpoint or the parameters do not fit."""
  where = f"config.train.init_from={path!r}"
  workdir, step = _init_from_location(path)
  try:
    _, source, _ = checkpoint_lib.load_for_inference(workdir, step)
  except FileNotFoundError as e:
    raise ValueError(f"{where}: {e}") from None
  got = checkpoint_lib.leaf_shapes(source["params"])
  want = checkpoint_lib.leaf_shapes(abstract_params)
  for name in sorted(set(got) | set(want)):
    if name not in got:
      raise ValueError(f"{where}: parameter {'/'.join(name)} of this configuration is not in that checkpoint")
    if name not in want:
      raise ValueError(f"{where}: that checkpoint's parameter {'/'.join(name)} is not in this configuration")
    if got[name] != want[name]:
      raise ValueError(
        f"{where}: parameter {'/'.join(name)} has shape {got[name]} there but {want[name]} in this configuration"
      )
  return jax.tree.map(lambda x, a: np.asarray(x, a.dtype), source["params"], abstract_params)


def _save_config(workdir: str, config: ml_collections.ConfigDict) -> None:
  path = os.path.join(workdir, CONFIG_FILE)
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    f.write(config.to_json_best_effort(indent=2))
  os.replace(tmp, path)  # atomic: a crash never leaves a half-written config


def load_config(workdir: str) -> ml_collections.ConfigDict:
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.exists(path):
    raise FileNotFoundError(f"{path} not found: is {workdir!r} a training workdir?")
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def train_and_evaluate(
  config: ml_collections.ConfigDict,
  workdir: str,
  datasets: Datasets | None = None,
  sample_fn: Callable[..., list[tuple[str, str]]] | None = None,
  stop_at_step: int | None = None,
  stop: StopSignal | None = None,
) -> dict[str, Any]:
  """Trains `config.train.num_steps` steps (resuming from `workdir`), then evaluates.

  `stop_at_step` ends this run early (after saving) as a preemption would, without changing the config (the
  learning-rate schedule still spans num_steps). `stop`: a StopSignal already installed by the caller (the
  CLI installs one first thing); otherwise one is installed here for the whole run. Returns a summary dict:
  final train metrics, eval metrics, the logged metrics per step, and samples; a run ended by a signal
  returns {"stopped_at": step, "history": ...}.
  """
  tc = TrainConfig.from_config(config.train)
  check_workdir(workdir)
  own = stop is None
  stop = (stop or StopSignal()).install()
  try:
    return _train_and_evaluate(config, tc, workdir, datasets, sample_fn, stop_at_step, stop)
  finally:
    if own:
      stop.restore()


def _train_and_evaluate(
  config, tc: TrainConfig, workdir, datasets, sample_fn, stop_at_step, stop: StopSignal
) -> dict[str, Any]:
  model = build_model(config)
  cfg = model.cfg
  datasets = datasets or default_datasets(config)
  if tc.batch_size % jax.process_count():
    raise ValueError(f"config.train.batch_size={tc.batch_size} must divide by the {jax.process_count()} processes")
  microbatches = tc.microbatches
  mesh = sharding.create_mesh(config.get("mesh"))
  log = distributed.log

  train_iter = datasets.train()
  with mesh:
    first = sharding.global_batch(mesh, _model_batch(next(train_iter)))
  rng = jax.random.key(tc.seed)
  init_rng, step_rng = jax.random.split(rng)
  tx = optimizers.make_optimizer(config.optimizer, tc.num_steps)

  def init_state(key, batch):
    _, variables = hrm.init_params(cfg, key, dot_general_cls=model.dot_general_cls)
    return step_lib.create_train_state(model, variables["params"], tx, batch)

  # Shardings from the logical axis names of the parameters (config.mesh.logical_axis_rules); the state is
  # created directly in its sharded layout.
  abstract_state = jax.eval_shape(init_state, init_rng, first)
  param_axes = hrm.logical_axes(cfg, model.dot_general_cls)
  state_sharding = sharding.state_shardings(abstract_state, param_axes, mesh)
  batch_sharding = jax.tree.map(lambda x: x.sharding, first)
  with mesh:
    state = jax.jit(init_state, out_shardings=state_sharding)(init_rng, first)
  log(
    f"hrm-jax: {cfg.arch} model, {hrm.count_params({'params': state.params}):,} parameters "
    f"(hidden {cfg.hidden_size}, {cfg.H_layers}+{cfg.L_layers} layers, {cfg.H_cycles}x{cfg.L_cycles} cycles, "
    f"{cfg.attention} attention, halt_max_steps {cfg.halt_max_steps}); mesh {mesh.describe()}, "
    f"{jax.process_count()} process(es)"
  )

  ckpt = checkpoint_lib.Checkpointer(workdir, keep=tc.keep_checkpoints)
  train_iter = datasets.train()  # fresh iterator: its state is what the checkpoint restores
  restored = ckpt.restore(state, train_iter)
  if restored is not None:
    state, start = restored.state, restored.step
    ignored = f" (config.train.init_from={tc.init_from!r} ignored: resuming wins)" if tc.init_from else ""
    log(f"Resumed from {ckpt.directory} at step {start}{ignored}")
  else:
    start = 0
    if tc.init_from:  # the given run's parameters, this run's fresh optimizer state and schedule (step 0)
      params = init_params_from(tc.init_from, abstract_state.params)
      with mesh:
        state = jax.jit(lambda p, b: step_lib.create_train_state(model, p, tx, b), out_shardings=state_sharding)(
          jax.device_put(params, state_sharding.params), first
        )
      log(f"Initialised the parameters from {tc.init_from} (config.train.init_from); fresh optimizer, step 0")
  if distributed.is_main_process():
    _save_config(workdir, config)
    _truncate_metrics(workdir, start)

  writer = metrics_lib.create_writer(workdir, tc.metric_writer)  # before compiling: a workdir it cannot reach fails now
  replicated = jax.sharding.NamedSharding(mesh.mesh, jax.sharding.PartitionSpec())
  train_fn = jax.jit(
    lambda s, b: step_lib.train_step(model, tx, tc.loss_type, tc.batch_size, step_rng, s, b, microbatches),
    in_shardings=(state_sharding, batch_sharding),
    out_shardings=(state_sharding, replicated),
    donate_argnums=(0,),
  )
  t0 = time.perf_counter()
  with mesh:
    compiled = train_fn.lower(state, first).compile()
  compile_s = time.perf_counter() - t0
  memory = compiled.memory_analysis()
  mem_text = ""
  if memory is not None:
    total = sum(
      getattr(memory, a, 0) or 0 for a in ("temp_size_in_bytes", "argument_size_in_bytes", "output_size_in_bytes")
    )
    mem_text = f", step memory {total / 2**20:.1f} MiB per device"
  log(f"Compiled the train step in {compile_s:.1f}s{mem_text}")

  tokens_per_step = tc.batch_size * cfg.seq_len
  progress = metrics_lib.Progress(tc.num_steps, start, tokens_per_step)
  if jax.process_count() > 1:  # every process must take the same decision
    from jax.experimental import multihost_utils

    if np.any(multihost_utils.process_allgather(np.int32(bool(stop)))) and not stop:
      stop.reason = "peer process"
  if stop and start < tc.num_steps:  # the signal came while building or compiling: nothing new to save
    ckpt.close()
    kept = f"step {start} in {ckpt.directory}" if restored is not None else "nothing (no step was trained)"
    log(f"Stopping ({stop.reason}) before the first step: the run keeps {kept}.")
    return {"stopped_at": start, "history": []}

  history: list[dict[str, float]] = []
  pending: list[dict] = []
  step = start
  try:
    for step in range(start, tc.num_steps):
      host_batch = _model_batch(next(train_iter))
      batch = sharding.global_batch(mesh, host_batch)
      state, metrics = compiled(state, batch)
      pending.append(metrics)
      if step == start:
        progress.start(step + 1)
      else:  # tokens trained on (not padding, not packed sequences' conditioning slots), all processes
        progress.count_tokens(np.count_nonzero(host_batch["inputs"]) * jax.process_count())
      last = step + 1 == tc.num_steps
      if (step + 1) % tc.log_every == 0 or last or bool(stop) or step + 1 == stop_at_step:
        host = jax.device_get(pending)
        pending = []
        bad = int(jax.device_get(state.first_nonfinite_step))
        if bad >= 0:
          good = ckpt.latest_step()
          raise TrainingError(
            f"non-finite loss or gradient at step {bad}; its update was skipped. Last good checkpoint: "
            f"{'step ' + str(good) if good is not None else 'none'} in {ckpt.directory}. Lower "
            f"config.optimizer.learning_rate or check the data."
          )
        summed = {k: float(np.sum([m[k] for m in host])) for k in host[0]}
        means = {k: float(np.mean([m[k] for m in host])) for k in ("loss", "grad_norm")}
        report = losses.normalise_metrics(
          {k: v for k, v in summed.items() if k not in ("loss", "grad_norm")}, tc.batch_size * len(host)
        )
        report.update(means)
        writer.write_scalars(
          step + 1,
          {
            **{f"train/{k}": v for k, v in report.items()},
            **{f"perf/{k}": v for k, v in progress.rates(step + 1).items()},
          },
        )
        history.append({"step": step + 1, **report})
        if distributed.is_main_process():
          with open(os.path.join(workdir, METRICS_FILE), "a") as f:
            f.write(json.dumps({"step": step + 1, **report}) + "\n")
        shown = {k: report[k] for k in ("loss", "lm_loss", "accuracy", "exact_accuracy", "steps") if k in report}
        log(progress.line(step + 1, shown))
      if stop_at_step is not None and step + 1 >= stop_at_step:
        stop.reason = stop.reason or "stop_at_step"
      if jax.process_count() > 1:  # a signal seen by any process stops all of them at the same step
        from jax.experimental import multihost_utils

        flags = multihost_utils.process_allgather(np.int32(bool(stop)))
        if np.any(flags) and not stop:
          stop.reason = "peer process"
      if (step + 1) % tc.checkpoint_every == 0 or last or bool(stop):
        ckpt.save(step + 1, state, train_iter, force=True)
      ckpt.check()  # a background save that failed (disk full) stops the run now
      if bool(stop):
        ckpt.close()
        log(f"Stopping ({stop.reason}): saved step {step + 1} to {ckpt.directory}.")
        writer.flush()
        return {"stopped_at": step + 1, "history": history}
      if tc.eval_every and (step + 1) % tc.eval_every == 0 and not last and datasets.eval is not None:
        ev = evaluate(model, state.params, datasets.eval(), config, mesh=mesh)
        writer.write_scalars(step + 1, {f"eval/{k}": v for k, v in ev.items()})
        log("eval " + " | ".join(f"{k} {v:.4g}" for k, v in ev.items()))
    ckpt.close()
  except checkpoint_lib.CheckpointSaveError as e:  # one line for the user, not Orbax's tracebacks
    raise TrainingError(str(e)) from None

  summary: dict[str, Any] = {"history": history, "train": history[-1] if history else {}}
  if datasets.eval is not None:
    # One process cannot leave the evaluation's collectives alone: a signal interrupts it on a single process.
    interruptible = (lambda: bool(stop)) if jax.process_count() == 1 else None
    ev = evaluate(model, state.params, datasets.eval(), config, mesh=mesh, should_stop=interruptible)
    if stop:
      writer.flush()
      log(
        f"Stopping ({stop.reason}) during the final evaluation: training is complete and saved "
        f"(step {tc.num_steps} in {ckpt.directory}); the evaluation was skipped."
      )
      return {"stopped_at": tc.num_steps, "history": history}
    writer.write_scalars(tc.num_steps, {f"eval/{k}": v for k, v in ev.items()})
    summary["eval"] = ev
    if distributed.is_main_process():
      with open(os.path.join(workdir, EVAL_FILE), "w") as f:
        json.dump(ev, f)
  if sample_fn is not None:
    summary["samples"] = sample_fn(model, {"params": state.params}, config)
  writer.flush()
  summary["params"] = state.params
  return summary


def _in_main_thread() -> bool:
  import threading

  return threading.current_thread() is threading.main_thread()


def format_summary(summary: dict[str, Any]) -> str:
  """The short table the main job ends with."""
  rows = []
  train = summary.get("train", {})
  ev = summary.get("eval", {})

  def row(name, key):
    t = f"{train[key]:.4f}" if key in train else "-"
    e = f"{ev[key]:.4f}" if key in ev else "-"
    rows.append(f"| {name:<20} | {t:>10} | {e:>10} |")

  row("LM loss / sequence", "lm_loss")
  row("token accuracy", "accuracy")
  row("exact match", "exact_accuracy")
  row("ACT steps (mean)", "steps")
  row("generation exact", "generation_exact_match")
  lines = ["| metric               |      train |       eval |", "|" + "-" * 22 + "|" + "-" * 12 + "|" + "-" * 12 + "|"]
  lines += rows
  for prompt, completion in summary.get("samples", []):
    lines += ["", "Sample prompt:", prompt, "Sample generation:", completion]
  return "\n".join(lines)
