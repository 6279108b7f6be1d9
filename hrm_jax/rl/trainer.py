"""The RL loop: GSPO (or GRPO) from execution feedback on a supervised checkpoint, resumable from its workdir.

    hrm-jax train-rl --config configs/gspo_tiny.py --init WORKDIR_SFT --workdir /tmp/gspo

One RL step k:
  1. rollout batch k: `prompts_per_batch` problems from the curriculum stage of step k, G samples each
     (`rollout.RolloutSampler`: behaviour log-probs and ACT depth recorded at sampling time);
  2. the programs run in the sandbox (`execution.execute_many`, a bounded pool of sandboxed processes) on a
     background thread while, with `overlap_generation`, rollout batch k+1 is generated from the same
     parameters (so batch k+1 is one update further off-policy; its behaviour log-probs make that exact);
  3. rewards (`rewards.compute_rewards`, weights from the config) -> group-normalised advantages over the whole
     batch (`objectives.group_advantages_grid`), then `num_minibatches` optimizer updates on disjoint shuffled
     minibatches, so the later ones are off-policy and the importance ratios matter. Each update replays the
     recorded ACT depth (`rollout.replay_log_probs`) and adds the halting Q loss (below);
  4. progress line (mean reward, pass rate, compile rate, ratios, clip fraction), TensorBoard scalars;
     every `eval_every` steps greedy pass@1 on held-out problems; checkpoints every `checkpoint_every` steps.

ACT from sequence rewards (`halting_q_loss`): with return `R = passed * (1 - q_compute_penalty)^(depth - 1)`
(a per-segment discount: the same success found with fewer segments is worth more), the Q head's halt logit at
the segment where the sampler halted and its continue logits at the earlier segments (where it chose to go
on) are trained by binary cross-entropy towards R. Halting therefore learns whether stopping here gives a
passing program, and a penalty > 0 trades depth for reward. Rollouts explore depths
(`rl.rollout.halt_exploration_prob`), so the returns of depths the Q head would not choose are learnt too.

Sharding: the state (parameters, optimizer moments) is laid out on `config.mesh` by the parameters' logical axes,
as in supervised training, and each minibatch is split over the batch axes; one process (its local devices).

Curriculum, two schedules over RL steps (prompts of step k are drawn by a generator seeded with (seed, k), so they
do not depend on history):
  * the data pipeline's (`data.curriculum` "step:mixture;..." or `data.mixture`, `data_pipelines/input_pipeline.py`)
    decides from which source each prompt comes, with the stage's weights, its steps read as RL steps. RL needs
    executable tests, so the sources may be `procedural` and `livecodebench_sample` (RL_SOURCES); others are
    refused with an error naming the field;
  * `rl.curriculum` ("start:min_ops:max_ops" stages separated by commas) restricts procedural prompts from step
    `start` on to the problems whose difficulty knob `num_ops` lies in [min_ops, max_ops].
The problems are generated once with the data config's knobs, so each source's held-out split stays disjoint
from every stage.

Checkpoints (Orbax, `<workdir>/checkpoints`): the train state (params, optimizer state, step) and, as JSON,
the rollout state: the next step and the already-generated pending rollout batch, so a resumed run continues
exactly (same prompts, samples, minibatches). The state item has `params` at its top, so
`hrm_jax.train.trainer.load_for_inference` (and `hrm-jax generate`/`eval`) read RL workdirs too.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import time
from typing import Any, Sequence

import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import orbax.checkpoint as ocp

from hrm_jax.data_pipelines import input_pipeline
from hrm_jax.models import hrm
from hrm_jax.rl import execution
from hrm_jax.rl import objectives
from hrm_jax.rl import rewards as rewards_lib
from hrm_jax.rl import rollout as rollout_lib
from hrm_jax.train import metrics as metrics_lib
from hrm_jax.train import optimizers
from hrm_jax.train import sharding
from hrm_jax.train import trainer as sft_trainer

HISTORY_FILE = "rl_history.json"


@flax.struct.dataclass
class RLTrainState:
  """step: int32 scalar (optimizer updates); params: the "params" collection; opt_state: optax state."""
  step: jax.Array
  params: Any
  opt_state: Any


@dataclasses.dataclass(frozen=True)
class CurriculumStage:
  start_step: int
  min_ops: int
  max_ops: int


def parse_curriculum(text: str) -> list[CurriculumStage]:
  """`"0:1:1,10:1:2"` -> stages (start step, min_ops, max_ops), sorted; "" = one stage from the data config."""
  stages = []
  for part in (p.strip() for p in str(text).split(",") if p.strip()):
    try:
      start, lo, hi = (int(v) for v in part.split(":"))
    except ValueError as e:
      raise ValueError(f"rl.curriculum: stage {part!r} is not start:min_ops:max_ops") from e
    if start < 0 or not 1 <= lo <= hi:
      raise ValueError(f"rl.curriculum: stage {part!r} needs start >= 0 and 1 <= min_ops <= max_ops")
    stages.append(CurriculumStage(start, lo, hi))
  stages.sort(key=lambda s: s.start_step)
  if stages and stages[0].start_step != 0:
    raise ValueError(f"rl.curriculum: the first stage must start at step 0, got {stages[0].start_step}")
  return stages


# Sources whose records carry executable tests (`execution.execute`), in the order of their index code.
RL_SOURCES = ("procedural", "livecodebench_sample")
_INDEX_STRIDE = 1 << 32  # a rollout row's record index: source code * stride + index in that source's problems


def source_schedule(data: ml_collections.ConfigDict) -> list[tuple[int, list[tuple[str, float]]]]:
  """[(start RL step, [(source, weight)])] from `data.curriculum`, else `data.mixture`, else `data.source`;
  every source must be one of RL_SOURCES."""
  if str(data.get("curriculum", "")).strip():
    schedule, field = input_pipeline.parse_curriculum(data), "data.curriculum"
  elif str(data.get("mixture", "")).strip():
    schedule, field = [(0, input_pipeline.parse_mixture(data.mixture))], "data.mixture"
  else:
    schedule, field = [(0, [(str(data.source), 1.0)])], "data.source"
  for _, mixture in schedule:
    for name, _ in mixture:
      if name not in RL_SOURCES:
        raise ValueError(f"{field} names source {name!r}, which has no executable tests for RL rewards; RL prompts "
                         f"can come from {list(RL_SOURCES)}")
  return schedule


class PromptSource:
  """Problems for rollouts (per curriculum stage) and for held-out evaluation, with their encoded prompts."""

  def __init__(self, config: ml_collections.ConfigDict, tokenizer, room: int):
    self.data = config.data
    self.tokenizer = tokenizer
    self.room = room  # longest prompt that leaves max_new_tokens in seq_len
    self.stages = parse_curriculum(config.rl.curriculum) or [
        CurriculumStage(0, int(config.data.min_ops), int(config.data.max_ops))]
    self.schedule = source_schedule(config.data)
    self._cache: dict[tuple[str, str, int, int], tuple[list[dict], list[list[int]]]] = {}

  def _load(self, split: str, min_ops: int, max_ops: int, source: str = "procedural"):
    """`source`'s problems of the split (generated with the data config's knobs, so train and eval stay
    disjoint); procedural ones only when `num_ops` lies in [min_ops, max_ops]; prompts that leave no room are
    dropped."""
    key = (split, source, min_ops, max_ops)
    if key not in self._cache:
      data = ml_collections.ConfigDict(self.data.to_dict())
      data.source = source
      data.curriculum = ""
      data.mixture = ""
      records, prompts = [], []
      for record in input_pipeline.load_records(data, split):
        if not min_ops <= int(record.get("num_ops", min_ops)) <= max_ops:
          continue
        prompt = input_pipeline.encode_prompt(self.tokenizer, record)
        if len(prompt) <= self.room:
          records.append(record)
          prompts.append(prompt)
      if not records:
        raise ValueError(f"no {source} {split} problem (procedural: with {min_ops}..{max_ops} ops) fits "
                         "config.model.seq_len with rl.rollout.max_new_tokens (check rl.curriculum and config.data)")
      self._cache[key] = (records, prompts)
    return self._cache[key]

  def stage(self, step: int) -> CurriculumStage:
    return [s for s in self.stages if s.start_step <= step][-1]

  def mixture(self, step: int) -> list[tuple[str, float]]:
    """The data curriculum's (source, weight) mixture at RL step `step`."""
    return [m for start, m in self.schedule if start <= step][-1]

  def record(self, step: int, index: int) -> dict:
    """The problem of a rollout row drawn at step `step` (`index` as `train_batch` returned it)."""
    stage = self.stage(step)
    source = RL_SOURCES[int(index) // _INDEX_STRIDE]
    return self._load("train", stage.min_ops, stage.max_ops, source)[0][int(index) % _INDEX_STRIDE]

  def train_batch(self, step: int, num: int, seed: int):
    """(records, prompts, indices) of step `step`'s problems: a function of (seed, step) only. Each prompt's
    source is drawn with the data curriculum's weights at this step, then a problem of that source."""
    stage = self.stage(step)
    mixture = self.mixture(step)
    rng = np.random.default_rng([seed, step])
    if len(mixture) == 1:
      picks = np.zeros((num,), np.int64)
    else:
      weights = np.asarray([w for _, w in mixture], np.float64)
      picks = rng.choice(len(mixture), size=num, p=weights / weights.sum())
    indices = np.zeros((num,), np.int64)
    out_records, out_prompts = [None] * num, [None] * num
    for j, (source, _) in enumerate(mixture):
      slots = np.flatnonzero(picks == j)
      if not len(slots):
        continue
      records, prompts = self._load("train", stage.min_ops, stage.max_ops, source)
      chosen = rng.choice(len(records), size=len(slots), replace=len(records) < len(slots))
      for slot, i in zip(slots, chosen):
        out_records[slot], out_prompts[slot] = records[i], prompts[i]
        indices[slot] = RL_SOURCES.index(source) * _INDEX_STRIDE + int(i)
    return out_records, out_prompts, indices

  def eval_problems(self, num: int):
    """Up to `num` held-out problems (all difficulties), taken in turn from each source of the schedule."""
    sources = list(dict.fromkeys(name for _, m in self.schedule for name, _ in m))
    lists = [self._load("eval", int(self.data.min_ops), int(self.data.max_ops), s) for s in sources]
    records, prompts = [], []
    for i in range(max(len(r) for r, _ in lists)):
      for recs, prs in lists:
        if i < len(recs) and len(records) < num:
          records.append(recs[i])
          prompts.append(prs[i])
    return records, prompts


def _ids(records: Sequence[dict]) -> tuple[list[int], list[int]]:
  from hrm_jax.tokenizer import LANGUAGES, TASKS
  return [LANGUAGES.index(r["language"]) for r in records], [TASKS.index(r["task"]) for r in records]


def halting_q_loss(q_halt: jax.Array, q_continue: jax.Array, depth: jax.Array, target: jax.Array
                   ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """BCE of the Q head against sequence returns along the recorded ACT rollout (module docstring).

  Args:
    q_halt, q_continue: fp32 `[b, M]` logits of every segment; depth: int `[b]` segments run (1..M);
    target: fp32 `[b]` return in [0, 1].
  Returns:
    (mean over rows of each row's mean BCE over its supervised logits, metrics `q_loss`, `q_halt_accuracy`).
  """
  m = jnp.arange(q_halt.shape[1])[None, :]
  halt_here = m == (depth[:, None] - 1)
  continued = m < (depth[:, None] - 1)
  t = target[:, None].astype(jnp.float32)
  bce_halt = optax.sigmoid_binary_cross_entropy(q_halt, jnp.broadcast_to(t, q_halt.shape))
  bce_cont = optax.sigmoid_binary_cross_entropy(q_continue, jnp.broadcast_to(t, q_continue.shape))
  total = jnp.sum(jnp.where(halt_here, bce_halt, 0.0) + jnp.where(continued, bce_cont, 0.0), axis=1)
  count = jnp.sum(halt_here, axis=1) + jnp.sum(continued, axis=1)
  loss = jnp.mean(total / jnp.maximum(count, 1))
  halt_logit = jnp.sum(jnp.where(halt_here, q_halt, 0.0), axis=1)
  accuracy = jnp.mean(((halt_logit >= 0) == (target >= 0.5)).astype(jnp.float32))
  return loss, {"q_loss": loss, "q_halt_accuracy": accuracy}


def make_update_fn(model: hrm.HRMCore, tx: optax.GradientTransformation, config: ml_collections.ConfigDict,
                   ref_params=None, state_sharding=None, mesh: sharding.MeshContext | None = None):
  """The jitted update on one minibatch: replayed log-probs -> policy loss (+ KL) + Q loss -> optimizer.

  With `state_sharding` and `mesh` the update is compiled for the state's layout (parameters and optimizer
  state sharded by their logical axes, as in supervised training) and the minibatch split over the batch axes.
  """
  rc = rollout_config(config)
  oc = objectives.ObjectiveConfig.from_mapping(config.rl.objective.to_dict())
  max_segments = rc.max_segments or model.cfg.halt_max_steps
  q_weight = float(config.rl.q_loss_weight)

  def update(state: RLTrainState, batch) -> tuple[RLTrainState, dict]:
    logp_ref = None
    if oc.kl_beta > 0:
      logp_ref, _ = rollout_lib.replay_log_probs(model, jax.lax.stop_gradient(ref_params), batch, rc, max_segments)

    def loss_fn(params):
      logp_new, (q_halt, q_continue) = rollout_lib.replay_log_probs(model, params, batch, rc, max_segments)
      loss, metrics = objectives.policy_loss(oc, logp_new, batch["logp_old"], batch["mask"], batch["advantages"],
                                             logp_ref)
      q_loss, q_metrics = halting_q_loss(q_halt, q_continue, batch["depth"], batch["q_target"])
      metrics.update(q_metrics)
      return loss + q_weight * q_loss, metrics

    (total, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    grad_norm = optax.global_norm(grads)
    finite = jnp.isfinite(total) & jnp.isfinite(grad_norm)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    keep = lambda new, old: jax.tree.map(lambda n, o: jnp.where(finite, n, o), new, old)
    new_state = RLTrainState(step=state.step + 1, params=keep(params, state.params),
                             opt_state=keep(opt_state, state.opt_state))
    metrics = dict(metrics, total_loss=total, grad_norm=grad_norm, finite=finite.astype(jnp.float32))
    return new_state, metrics

  if state_sharding is None:
    return jax.jit(update, donate_argnums=(0,))
  replicated = jax.sharding.NamedSharding(mesh.mesh, jax.sharding.PartitionSpec())
  return jax.jit(update, in_shardings=(state_sharding, None), out_shardings=(state_sharding, replicated),
                 donate_argnums=(0,))


def batch_shards(mesh: sharding.MeshContext) -> int:
  """How many ways the mesh splits the batch axis (a minibatch's rows must divide by it)."""
  axes = sharding.batch_sharding(mesh).spec[0]
  names = axes if isinstance(axes, tuple) else (axes,)
  return int(np.prod([mesh.mesh.shape[a] for a in names if a is not None]))


def rollout_config(config: ml_collections.ConfigDict) -> rollout_lib.RolloutConfig:
  return rollout_lib.RolloutConfig.from_mapping(config.rl.rollout.to_dict())


def score_rollout(rollout: rollout_lib.Rollout, records: Sequence[dict], tokenizer, reward_config,
                  exec_config, stop_ids) -> dict[str, np.ndarray]:
  """Runs every response of a rollout batch in the sandbox; `records[i]` is row i's problem.

  Returns `rewards [R]`, `passed [R]` (all tests), `compiled [R]`, `outcomes` (list).
  """
  texts = [tokenizer.decode(ids) for ids in rollout.responses(stop_ids)]
  outcomes = execution.execute_many(list(zip(records, texts)), exec_config)
  inputs = [rewards_lib.RewardInput(response=t, num_tokens=int(m.sum()), outcome=o)
            for t, m, o in zip(texts, rollout.mask, outcomes)]
  totals, _ = rewards_lib.compute_rewards(reward_config, inputs)
  passed = np.asarray([o.status == rewards_lib.STATUS_PASSED for o in outcomes], np.float32)
  compiled = np.asarray([o.compiled for o in outcomes], np.float32)
  return {"rewards": totals, "passed": passed, "compiled": compiled, "outcomes": outcomes, "texts": texts}


def run_problems(model, params, records, prompts, tokenizer, exec_config, max_new_tokens: int,
                 temperature: float = 0.0, samples: int = 1, seed: int = 0, chunk: int = 256):
  """`params`: the "params" collection. Generates `samples` replies per problem (greedy at temperature 0), runs them in the sandbox and returns
  (records repeated per sample, passed bool [n], compiled bool [n]). Generation goes in chunks of rows."""
  from hrm_jax.inference import sampler
  sampling = sampler.SamplingConfig(max_new_tokens=max_new_tokens, temperature=temperature,
                                    stop_ids=(tokenizer.eos_id,))
  gen = sampler.Generator(model, {"params": params}, sampling)
  rows = [p for p in prompts for _ in range(samples)]
  recs = [r for r in records for _ in range(samples)]
  langs, tasks = _ids(recs)
  texts = []
  for start in range(0, len(rows), chunk):
    end = start + chunk
    texts += [tokenizer.decode(o) for o in gen.generate(rows[start:end], langs[start:end], tasks[start:end],
                                                        seed=seed + start)]
  outcomes = execution.execute_many(list(zip(recs, texts)), exec_config)
  passed = np.asarray([o.status == rewards_lib.STATUS_PASSED for o in outcomes])
  compiled = np.asarray([o.compiled for o in outcomes])
  return recs, passed, compiled


def evaluate_pass_at_1(model, params, problems, tokenizer, exec_config, max_new_tokens: int) -> dict[str, float]:
  """Greedy pass@1 (and compile rate) on held-out problems, executed in the sandbox."""
  records, prompts = problems
  _, passed, compiled = run_problems(model, params, records, prompts, tokenizer, exec_config, max_new_tokens)
  return {"pass@1": float(np.mean(passed)), "compile_rate": float(np.mean(compiled)), "problems": float(len(records))}


class RLCheckpointer:
  """Orbax manager over `<workdir>/checkpoints`: the train state and the rollout state (JSON) per step."""

  def __init__(self, workdir: str, keep: int):
    self.directory = os.path.join(os.path.abspath(workdir), "checkpoints")
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True, enable_async_checkpointing=False)
    self.manager = ocp.CheckpointManager(self.directory, options=options)

  def save(self, step: int, state: RLTrainState, rollout_state: dict) -> None:
    self.manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                    rollout=ocp.args.JsonSave(rollout_state)), force=True)

  def restore(self, template: RLTrainState):
    step = self.manager.latest_step()
    if step is None:
      return None
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, template)
    restored = self.manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract),
                                                                  rollout=ocp.args.JsonRestore()))
    return restored["state"], restored["rollout"]

  def close(self) -> None:
    self.manager.wait_until_finished()
    self.manager.close()


def _model_config_from(init_workdir: str, config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  merged = ml_collections.ConfigDict(config.to_dict())
  merged.model = sft_trainer.load_config(init_workdir).model
  return merged


def train_rl(config: ml_collections.ConfigDict, workdir: str, init_workdir: str | None = None,
             init_step: int | None = None, stop_at_step: int | None = None) -> dict[str, Any]:
  """Runs `config.rl.num_steps` RL steps from `init_workdir`'s checkpoint (or resumes `workdir`).

  Returns {"history": per-step metrics, "evals": [{"step", "pass@1", ...}], "params"} (and "stopped_at").
  """
  from hrm_jax.tokenizer import load_tokenizer

  os.makedirs(workdir, exist_ok=True)
  saved = os.path.join(workdir, sft_trainer.CONFIG_FILE)
  if os.path.exists(saved) and init_workdir is None:
    config = sft_trainer.load_config(workdir)
  elif init_workdir is not None:
    config = _model_config_from(init_workdir, config)
  elif "model" not in config:
    raise ValueError("hrm-jax train-rl needs --init WORKDIR_SFT (the supervised checkpoint) for a new workdir")
  rl = config.rl
  rc = rollout_config(config)
  reward_config = rewards_lib.RewardConfig.from_mapping(rl.rewards.to_dict())
  exec_config = execution.ExecutionConfig.from_mapping(rl.execution.to_dict())
  tokenizer = load_tokenizer()
  stop_ids = (tokenizer.eos_id,)
  model = sft_trainer.build_model(config)
  cfg = model.cfg
  prompts = PromptSource(config, tokenizer, cfg.seq_len - rc.max_new_tokens)
  rows = rl.prompts_per_batch * rc.group_size
  if rows % rl.num_minibatches:
    raise ValueError(f"rl.prompts_per_batch * rl.rollout.group_size = {rows} must divide by "
                     f"rl.num_minibatches={rl.num_minibatches}")
  if jax.process_count() > 1:
    raise ValueError("hrm-jax train-rl runs in one process (its local devices form the mesh); multi-process "
                     "RL is not supported yet: launch it on a single host")
  mesh = sharding.create_mesh(config.get("mesh"))
  shards = batch_shards(mesh)
  if (rows // rl.num_minibatches) % shards:
    raise ValueError(f"a minibatch of {rows // rl.num_minibatches} rows (rl.prompts_per_batch * "
                     f"rl.rollout.group_size / rl.num_minibatches) must divide by the {shards} batch shards of the "
                     f"mesh ({mesh.describe()}); change config.mesh or the RL batch")

  if init_workdir is not None:
    _, init_params, _ = sft_trainer.load_for_inference(init_workdir, init_step)
    params = init_params["params"]
  else:
    _, variables = hrm.init_params(cfg, jax.random.key(0), dot_general_cls=model.dot_general_cls)
    params = variables["params"]
  tx = optimizers.make_optimizer(config.optimizer, rl.num_steps * rl.num_minibatches)
  state = RLTrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params))
  # The same layout as supervised training: parameters and optimizer moments by their logical axes.
  param_axes = hrm.logical_axes(cfg, model.dot_general_cls)
  state_sharding = RLTrainState(
      step=jax.sharding.NamedSharding(mesh.mesh, jax.sharding.PartitionSpec()),
      params=sharding.like_params_shardings(state.params, param_axes, mesh),
      opt_state=sharding.like_params_shardings(state.opt_state, param_axes, mesh))
  state = jax.device_put(state, state_sharding)
  ckpt = RLCheckpointer(workdir, rl.keep_checkpoints)
  restored = ckpt.restore(state)
  history: list[dict] = []
  evals: list[dict] = []
  pending = None
  start = 0
  if restored is not None:
    state, rollout_state = restored
    start = int(rollout_state["next_step"])
    pending = rollout_lib.Rollout.from_json(rollout_state["pending"]) if rollout_state.get("pending") else None
    history, evals = list(rollout_state.get("history", [])), list(rollout_state.get("evals", []))
    print(f"Resumed from {ckpt.directory} at RL step {start}", flush=True)
  elif init_workdir is None:
    raise ValueError(f"{workdir} has no checkpoint to resume; pass --init WORKDIR_SFT")
  with open(saved + ".tmp", "w") as f:
    f.write(config.to_json_best_effort(indent=2))
  os.replace(saved + ".tmp", saved)

  ref_params = jax.tree.map(jnp.copy, state.params) if rl.objective.kl_beta > 0 else None
  update_fn = make_update_fn(model, tx, config, ref_params, state_sharding, mesh)
  rollouts = rollout_lib.RolloutSampler(model, {"params": state.params}, rc, stop_ids)
  writer = metrics_lib.create_writer(workdir)
  max_segments = rc.max_segments or cfg.halt_max_steps
  eval_problems = prompts.eval_problems(rl.eval_size)
  print(f"hrm-jax train-rl: {rl.objective.name}, {rl.num_steps} steps x {rl.prompts_per_batch} prompts x "
        f"G={rc.group_size}, {rl.num_minibatches} updates per rollout batch, mesh {mesh.describe()}, sandbox "
        f"{execution.runner.isolation().mode}", flush=True)

  def generate(step: int, params) -> tuple[rollout_lib.Rollout, float]:
    t0 = time.perf_counter()
    rollouts.set_params({"params": params})
    recs, prompt_ids, indices = prompts.train_batch(step, rl.prompts_per_batch, rl.seed)
    langs, tasks = _ids(recs)
    out = rollouts.sample(prompt_ids, indices, langs, tasks, seed=rl.seed * 1_000_003 + step)
    return out, time.perf_counter() - t0

  def records_of(step: int, rollout: rollout_lib.Rollout) -> list[dict]:
    return [prompts.record(step, int(i)) for i in rollout.record_indices]

  def run_eval(step: int) -> None:
    result = evaluate_pass_at_1(model, state.params, eval_problems, tokenizer, exec_config, rc.max_new_tokens)
    evals.append({"step": step, **result})
    writer.write_scalars(step, {f"eval/{k}": v for k, v in result.items()})
    print(f"eval step {step}: pass@1 {result['pass@1']:.4f} | compile_rate {result['compile_rate']:.4f} "
          f"| {int(result['problems'])} held-out problems", flush=True)

  if start == 0 and rl.eval_every and not evals:
    run_eval(0)
  gen_s = 0.0
  if pending is None and start < rl.num_steps:
    pending, gen_s = generate(start, state.params)
  executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
  step = start
  try:
    for step in range(start, rl.num_steps):
      current = pending
      t_exec = time.perf_counter()
      scored_future = executor.submit(score_rollout, current, records_of(step, current), tokenizer, reward_config,
                                      exec_config, stop_ids)
      pending = None
      if rl.overlap_generation and step + 1 < rl.num_steps:
        pending, next_gen_s = generate(step + 1, state.params)
      scored = scored_future.result()
      exec_s = time.perf_counter() - t_exec

      t_update = time.perf_counter()
      g = current.group_size
      advantages, adv_metrics = objectives.group_advantages_grid(jnp.asarray(scored["rewards"]).reshape(-1, g))
      advantages = np.asarray(advantages).reshape(-1)
      q_target = scored["passed"] * (1.0 - rl.q_compute_penalty) ** (current.depth - 1).astype(np.float32)
      order = np.random.default_rng([rl.seed, step, 1]).permutation(current.num_rows)
      step_metrics = []
      for chunk in np.split(order, rl.num_minibatches):
        batch = rollout_lib.replay_batch(current, cfg.seq_len, chunk)
        batch["advantages"] = advantages[chunk].astype(np.float32)
        batch["q_target"] = q_target[chunk].astype(np.float32)
        with mesh:
          state, metrics = update_fn(state, sharding.global_batch(mesh, batch))
        step_metrics.append(metrics)
      step_metrics = jax.device_get(step_metrics)
      if not all(m["finite"] for m in step_metrics):
        raise sft_trainer.TrainingError(
            f"non-finite RL loss or gradient at RL step {step}; its updates were skipped. Lower "
            "config.optimizer.learning_rate.")
      update_s = time.perf_counter() - t_update
      if not rl.overlap_generation and step + 1 < rl.num_steps:
        pending, next_gen_s = generate(step + 1, state.params)
      elif step + 1 >= rl.num_steps:
        next_gen_s = 0.0

      report = {k: float(np.mean([m[k] for m in step_metrics])) for k in step_metrics[0] if k != "finite"}
      report["ratio_min"] = float(np.min([m["ratio_min"] for m in step_metrics]))
      report["ratio_max"] = float(np.max([m["ratio_max"] for m in step_metrics]))
      report.update({k: float(v) for k, v in jax.device_get(adv_metrics).items()})
      report.update(pass_rate=float(scored["passed"].mean()), compile_rate=float(scored["compiled"].mean()),
                    depth_mean=float(current.depth.mean()), response_tokens=float(current.mask.sum(1).mean()),
                    generate_s=gen_s, execute_s=exec_s, update_s=update_s,
                    stage_max_ops=float(prompts.stage(step).max_ops))
      gen_s = next_gen_s
      history.append({"step": step + 1, **report})
      writer.write_scalars(step + 1, {f"train/{k}": v for k, v in report.items()})
      if (step + 1) % rl.log_every == 0 or step + 1 == rl.num_steps:
        shown = " | ".join(f"{k} {report[k]:.4g}" for k in (
            "reward_mean", "pass_rate", "compile_rate", "ratio_mean", "clip_fraction", "zero_std_group_fraction",
            "q_loss", "depth_mean", "generate_s", "execute_s", "update_s"))
        print(f"rl step {step + 1}/{rl.num_steps} | {shown}", flush=True)
      if rl.eval_every and ((step + 1) % rl.eval_every == 0 or step + 1 == rl.num_steps):
        run_eval(step + 1)
      stopping = stop_at_step is not None and step + 1 >= stop_at_step
      if (step + 1) % rl.checkpoint_every == 0 or step + 1 == rl.num_steps or stopping:
        ckpt.save(step + 1, state, {"next_step": step + 1, "pending": pending.to_json() if pending else None,
                                    "history": history, "evals": evals})
      if stopping:
        ckpt.close()
        writer.flush()
        return {"stopped_at": step + 1, "history": history, "evals": evals}
  finally:
    executor.shutdown(wait=True)
  ckpt.close()
  writer.flush()
  with open(os.path.join(workdir, HISTORY_FILE), "w") as f:
    json.dump({"history": history, "evals": evals}, f, indent=1)
  return {"history": history, "evals": evals, "params": state.params}
