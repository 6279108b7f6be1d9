"""`hrm-jax train`: supervised training and evaluation from a config file."""

from __future__ import annotations

import argparse
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--config", required=True, help="config file (path[:arg]); e.g. configs/tiny_cpu.py")
  parser.add_argument(
    "--workdir",
    default=None,
    help="checkpoints, TensorBoard logs and config; rerun with the same workdir to resume "
    "(default: workdirs/<config name>)",
  )
  from hrm_jax.train import distributed

  distributed.add_arguments(parser)
  parser.set_defaults(overrides=[])  # --config.a.b=value overrides (collected by hrm_jax/cli.py)


def sample_and_score(model, params, config):
  """Greedy generations for held-out problems: (prompt, completion) pairs and generation exact match."""
  from hrm_jax.data_pipelines import input_pipeline
  from hrm_jax.inference import sampler
  from hrm_jax.tokenizer import LANGUAGES, TASKS, load_tokenizer

  tok = load_tokenizer()
  records = input_pipeline.load_records(config.data, "eval")[: config.train.generation_eval_size]
  if not records:
    return [], None
  new_tokens = config.train.sample_max_new_tokens
  sampling = sampler.SamplingConfig(max_new_tokens=new_tokens, stop_ids=(tok.eos_id,))
  gen = sampler.Generator(model, params, sampling)
  prompts, keep = [], []
  for r in records:
    p = input_pipeline.encode_prompt(tok, r)
    if len(p) + new_tokens <= model.cfg.seq_len:
      prompts.append(p)
      keep.append(r)
  if not prompts:
    return [], None
  language_ids = [LANGUAGES.index(r.get("language", "python")) for r in keep]
  task_ids = [TASKS.index(r.get("task", "codegen")) for r in keep]
  outs = gen.generate(prompts, language_ids, task_ids)
  texts = [tok.decode(o) for o in outs]
  exact = sum(t.strip() == r["solution"].strip() for t, r in zip(texts, keep)) / len(keep)
  shown = [(tok.decode(prompts[i]), texts[i]) for i in range(min(config.train.sample_prompts, len(keep)))]
  return shown, exact


def run(args) -> int:
  from hrm_jax.train.stop import StopSignal

  # SIGTERM from here on ends the run cleanly (whatever was trained is saved, exit 0), even during start-up
  # (JAX is not imported yet) and compilation.
  stop = StopSignal().install()
  try:
    return _run(args, stop)
  finally:
    stop.restore()


def _run(args, stop) -> int:
  from hrm_jax import config_loader

  if stop:
    print(f"hrm-jax train: stopped ({stop.reason}) during start-up; nothing was trained", flush=True)
    return 0
  from hrm_jax.models.config import HRMConfig
  from hrm_jax.train import distributed, trainer
  from hrm_jax.train.config import OptimizerConfig, TrainConfig

  try:
    distributed.initialize(distributed.options_from(args))
  except ValueError as e:
    print(f"hrm-jax train: {e}", file=sys.stderr)
    return 2

  try:
    config = config_loader.load(args.config, args.overrides)
    # Every section the trainer reads, checked now: a bad field is named before anything is compiled.
    HRMConfig.from_config(config.model)
    TrainConfig.from_config(config.train)
    OptimizerConfig.from_config(config.optimizer)
  except (FileNotFoundError, KeyError, TypeError, ValueError, AttributeError) as e:
    print(f"hrm-jax train: config error: {e}", file=sys.stderr)
    return 2
  workdir = args.workdir or os.path.join("workdirs", os.path.splitext(os.path.basename(args.config.split(":")[0]))[0])
  generation = {}

  def samples(model, params, cfg):
    shown, exact = sample_and_score(model, params, cfg)
    generation["exact"] = exact
    return shown

  try:
    synthetic = config.data.source == "copy_task"  # no records to sample prompts from
    trainer.check_workdir(workdir)
    summary = trainer.train_and_evaluate(config, workdir, sample_fn=None if synthetic else samples, stop=stop)
  except trainer.WorkdirError as e:
    print(f"hrm-jax train: {e}", file=sys.stderr)
    return 2
  except trainer.TrainingError as e:
    print(f"hrm-jax train: {e}", file=sys.stderr)
    return 1
  except ValueError as e:
    print(f"hrm-jax train: {e}", file=sys.stderr)
    return 2
  if "stopped_at" in summary:
    return 0
  if generation.get("exact") is not None:
    summary.setdefault("eval", {})["generation_exact_match"] = generation["exact"]
  distributed.log()
  distributed.log(trainer.format_summary(summary))
  distributed.log(f"\nWorkdir: {os.path.abspath(workdir)} (checkpoints/, tensorboard/, config.json, metrics.jsonl)")
  return 0
