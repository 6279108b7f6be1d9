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

ACT from sequence rewards (`losses.halting_q_loss`): with return `R = passed * (1 - q_compute_penalty)^(depth - 1)`
(a per-segment discount: the same success found with fewer segments is worth more), the Q head's halt logit at
the segment where the sampler halted and its continue logits at the earlier segments (where it chose to go
on) are trained by binary cross-entropy towards R. Halting therefore learns whether stopping here gives a
passing program, and a penalty > 0 trades depth for reward. Rollouts explore depths
(`rl.rollout.halt_exploration_prob`), so the returns of depths the Q head would not choose are learnt too.

Sharding: the state (parameters, optimizer moments) is laid out on `config.mesh` by the parameters' logical axes,
as in supervised training, and each minibatch is split over the batch axes. Generation is data-parallel: each
process's rollout rows are split over its local devices, each holding a whole copy of the parameters (padded to a
multiple of the device count; the samples do not depend on it, so 2 processes x 2 devices repeat 1 x 4).

Prompts (`data_pipelines/rl_prompts.py`): the data pipeline's curriculum (`data.curriculum` / `data.mixture`)
picks each prompt's source (procedural or livecodebench_sample: problems with executable tests), and
`rl.curriculum` (the same "step:..." grammar, bodies `min_ops=A,max_ops=B`) sets the procedural difficulty per
RL step. The prompts of step k are drawn by a generator seeded with (seed, k), so they do not depend on history.

Checkpoints (`hrm_jax/train/checkpoint.py`, the one checkpointer, `<workdir>/checkpoints`): the train state
(params, optimizer state, step) and, as a JSON item, the rollout state: the next step and the already-generated
pending rollout batch, so a resumed run continues exactly (same prompts, samples, minibatches). The state item has
`params` at its top, so `checkpoint.load_for_inference` (and `hrm-jax generate`/`eval`) read RL workdirs too.
A damaged latest step is set aside and the previous one used; a failed save (disk full) stops the run with one
line.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import time
from collections.abc import Sequence
from typing import Any

import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from hrm_jax import losses
from hrm_jax.data_pipelines import rl_prompts
from hrm_jax.inference import sampler
from hrm_jax.models import hrm
from hrm_jax.rl import execution, executors, objectives
from hrm_jax.rl import rewards as rewards_lib
from hrm_jax.rl import rollout as rollout_lib
from hrm_jax.train import checkpoint as checkpoint_lib
from hrm_jax.train import distributed, optimizers, sharding
from hrm_jax.train import metrics as metrics_lib
from hrm_jax.train import step as step_lib
from hrm_jax.train import trainer as sft_trainer

HISTORY_FILE = "rl_history.json"
ROLLOUT_ITEM = "rollout"  # the checkpoint's JSON item holding the rollout state


@flax.struct.dataclass
class RLTrainState:
  """step: int32 scalar (optimizer updates); params: the "params" collection; opt_state: optax state."""

  step: jax.Array
  params: Any
  opt_state: Any


def make_update_fn(
  model: hrm.HRMCore,
  tx: optax.GradientTransformation,
  config: ml_collections.ConfigDict,
  ref_params=None,
  state_sharding=None,
  mesh: sharding.MeshContext | None = None,
):
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
      loss, metrics = objectives.policy_loss(
        oc, logp_new, batch["logp_old"], batch["mask"], batch["advantages"], logp_ref
      )
      q_loss, q_metrics = losses.halting_q_loss(q_halt, q_continue, batch["depth"], batch["q_target"])
      metrics.update(q_metrics)
      return loss + q_weight * q_loss, metrics

    (total, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    update = step_lib.guarded_update(tx, state.params, state.opt_state, grads, total)
    new_state = RLTrainState(step=state.step + 1, params=update.params, opt_state=update.opt_state)
    metrics = dict(metrics, total_loss=total, grad_norm=update.grad_norm, finite=update.finite.astype(jnp.float32))
    return new_state, metrics

  if state_sharding is None:
    return jax.jit(update, donate_argnums=(0,))
  replicated = jax.sharding.NamedSharding(mesh.mesh, jax.sharding.PartitionSpec())
  return jax.jit(
    update, in_shardings=(state_sharding, None), out_shardings=(state_sharding, replicated), donate_argnums=(0,)
  )


def batch_shards(mesh: sharding.MeshContext) -> int:
  """How many ways the mesh splits the batch axis (a minibatch's rows must divide by it)."""
  axes = sharding.batch_sharding(mesh).spec[0]
  names = axes if isinstance(axes, tuple) else (axes,)
  return int(np.prod([mesh.mesh.shape[a] for a in names if a is not None]))


def rollout_config(config: ml_collections.ConfigDict) -> rollout_lib.RolloutConfig:
  return rollout_lib.RolloutConfig.from_mapping(config.rl.rollout.to_dict())


def submit_rollout(executor, rollout: rollout_lib.Rollout, records: Sequence[dict], tokenizer, stop_ids):
  """Hands every response of a rollout batch to the executor (`records[i]` is row i's problem); returns
  (submission, texts) at once unless the executor's queue is full."""
  texts = [tokenizer.decode(ids) for ids in rollout.responses(stop_ids)]
  return executor.submit(list(zip(records, texts))), texts


def rollout_scores(outcomes, rollout: rollout_lib.Rollout, texts: Sequence[str], reward_config) -> dict:
  """`rewards [R]`, `passed [R]` (all tests), `compiled [R]` (float32) and the `outcomes` of a rollout batch."""
  inputs = [
    rewards_lib.RewardInput(response=t, num_tokens=int(m.sum()), outcome=o)
    for t, m, o in zip(texts, rollout.mask, outcomes)
  ]
  totals, _ = rewards_lib.compute_rewards(reward_config, inputs)
  passed = np.asarray([o.status == rewards_lib.STATUS_PASSED for o in outcomes], np.float32)
  compiled = np.asarray([o.compiled for o in outcomes], np.float32)
  return {"rewards": np.asarray(totals, np.float32), "passed": passed, "compiled": compiled, "outcomes": outcomes}


def score_rollout(
  rollout: rollout_lib.Rollout, records: Sequence[dict], tokenizer, reward_config, exec_config, stop_ids
) -> dict[str, np.ndarray]:
  """Runs every response of a rollout batch in this machine's sandbox pool; `records[i]` is row i's problem.

  Returns `rewards [R]`, `passed [R]` (all tests), `compiled [R]`, `outcomes` (list) and `texts`.
  """
  texts = [tokenizer.decode(ids) for ids in rollout.responses(stop_ids)]
  outcomes = execution.execute_many(list(zip(records, texts)), exec_config)
  return dict(rollout_scores(outcomes, rollout, texts, reward_config), texts=texts)


def run_problems(
  model,
  params,
  records,
  prompts,
  tokenizer,
  exec_config,
  max_new_tokens: int,
  temperature: float = 0.0,
  samples: int = 1,
  seed: int = 0,
  chunk: int = 256,
  executor=None,
  devices=None,
):
  """`params`: the "params" collection. Generates `samples` replies per problem (greedy at temperature 0), runs
  them in the sandbox (this machine's pool, or `executor`) and returns (records repeated per sample, passed bool
  [n], compiled bool [n]). Generation goes in chunks of rows, each split over `devices` (default: one device)."""
  sampling = sampler.SamplingConfig(
    max_new_tokens=max_new_tokens, temperature=temperature, stop_ids=(tokenizer.eos_id,)
  )
  gen = _generator(model, sampling, devices)
  gen.params = {"params": params}
  rows = [p for p in prompts for _ in range(samples)]
  recs = [r for r in records for _ in range(samples)]
  langs, tasks = rl_prompts.record_ids(recs)
  texts = []
  for start in range(0, len(rows), chunk):
    end = start + chunk
    texts += [
      tokenizer.decode(o) for o in gen.generate(rows[start:end], langs[start:end], tasks[start:end], seed=seed + start)
    ]
  items = list(zip(recs, texts))
  outcomes = executor.map(items) if executor is not None else execution.execute_many(items, exec_config)
  passed = np.asarray([o.status == rewards_lib.STATUS_PASSED for o in outcomes], bool)
  compiled = np.asarray([o.compiled for o in outcomes], bool)
  return recs, passed, compiled


_GENERATORS: dict[tuple, tuple] = {}  # (id(model), sampling, devices) -> (model, Generator)


def _generator(model, sampling, devices) -> sampler.Generator:
  """A Generator for `model` at `sampling`, reused across calls (held-out evaluations every few RL steps) so its
  program compiles once; new parameters are set by the caller."""
  key = (id(model), sampling, tuple(devices or ()))
  if key not in _GENERATORS:
    if len(_GENERATORS) >= 4:
      _GENERATORS.pop(next(iter(_GENERATORS)))
    _GENERATORS[key] = (model, sampler.Generator(model, None, sampling, devices=devices))
  return _GENERATORS[key][1]


def evaluate_pass_at_1(
  model, params, problems, tokenizer, exec_config, max_new_tokens: int, executor=None, devices=None
) -> dict[str, float]:
  """Greedy pass@1 (and compile rate) on held-out problems, executed in the sandbox.

  With several processes each evaluates its contiguous share of the problems with `params` (this process's
  copy), its rows split over `devices` (its local devices), and the counts are summed over processes (every
  process calls)."""
  records, prompts = problems
  share = np.array_split(np.arange(len(records)), jax.process_count())[jax.process_index()]
  counts = np.zeros((1, 2), np.float32)
  if len(share):
    _, passed, compiled = run_problems(
      model,
      params,
      [records[i] for i in share],
      [prompts[i] for i in share],
      tokenizer,
      exec_config,
      max_new_tokens,
      executor=executor,
      devices=devices,
    )
    counts = np.asarray([[passed.sum(), compiled.sum()]], np.float32)
  total = gather_rows(counts).sum(0)
  n = max(len(records), 1)
  return {"pass@1": float(total[0] / n), "compile_rate": float(total[1] / n), "problems": float(len(records))}


# ----------------------------------------------------------------------------------------------------------------
# Several processes: each generates and executes its rows; the rows are gathered for the update.


def gather_rows(tree):
  """Each process's row blocks (a pytree of numpy arrays, leading axis = rows, the same shape everywhere) ->
  every process's blocks concatenated in process order (every process calls). One process: unchanged."""
  if jax.process_count() == 1:
    return tree
  from jax.experimental import multihost_utils

  return jax.tree.map(np.asarray, multihost_utils.process_allgather(tree, tiled=True))


def gather_rollout(local: rollout_lib.Rollout, seq_len: int) -> rollout_lib.Rollout:
  """This process's rows of a rollout batch -> the global batch (every process calls)."""
  if jax.process_count() == 1:
    return local
  prompts = np.zeros((local.num_rows, seq_len), np.int32)
  lengths = np.asarray([len(p) for p in local.prompts], np.int32)
  for i, p in enumerate(local.prompts):
    prompts[i, : len(p)] = p
  g = gather_rows(
    dict(
      prompts=prompts,
      lengths=lengths,
      record_indices=local.record_indices.astype(np.int32),
      language_id=local.language_id,
      task_id=local.task_id,
      tokens=local.tokens,
      mask=local.mask.astype(np.int32),
      logp_old=local.logp_old,
      depth=local.depth,
    )
  )
  return rollout_lib.Rollout(
    prompts=[[int(t) for t in row[:n]] for row, n in zip(g["prompts"], g["lengths"])],
    record_indices=g["record_indices"].astype(np.int64),
    language_id=g["language_id"].astype(np.int32),
    task_id=g["task_id"].astype(np.int32),
    tokens=g["tokens"].astype(np.int32),
    mask=g["mask"].astype(bool),
    logp_old=g["logp_old"].astype(np.float32),
    depth=g["depth"].astype(np.int32),
    group_size=local.group_size,
  )


def process_rows(num_rows: int) -> slice:
  """This process's rows of a global rollout batch of `num_rows` (contiguous, whole rollout shards)."""
  per = num_rows // jax.process_count()
  return slice(jax.process_index() * per, (jax.process_index() + 1) * per)


def shard_seed(seed: int, step: int, shard: int) -> int:
  """The sampling seed of rollout shard `shard` of step `step` (shard 0: the one-shard runs' seed)."""
  base = seed * 1_000_003 + step
  if shard == 0:
    return base
  return int(np.random.SeedSequence([base, shard]).generate_state(1)[0] & 0x7FFFFFFF)


def global_minibatch(mesh: sharding.MeshContext, batch: dict[str, np.ndarray]) -> dict[str, jax.Array]:
  """A minibatch every process holds whole -> global arrays split over the batch axes (each process supplies
  the rows of its devices)."""
  out = {}
  for k, v in batch.items():
    v = np.asarray(v)
    out[k] = jax.make_array_from_callback(v.shape, sharding.batch_sharding(mesh, v.ndim), lambda idx, v=v: v[idx])
  return out


def _model_config_from(init_workdir: str, config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  merged = ml_collections.ConfigDict(config.to_dict())
  merged.model = sft_trainer.load_config(init_workdir).model
  return merged


def _pending_from(rollout_state: dict) -> list[rollout_lib.Rollout]:
  """The saved generated-but-not-learnt rollout batches (global rows); older checkpoints saved one or None."""
  pending = rollout_state.get("pending")
  if pending is None:
    return []
  if isinstance(pending, dict):
    pending = [pending]
  return [rollout_lib.Rollout.from_json(p) for p in pending]


@dataclasses.dataclass
class _Queued:
  """A rollout batch generated and handed to the executor: this process's rows, awaiting the update."""

  step: int
  local: rollout_lib.Rollout
  texts: list[str]
  submission: Any
  submitted_at: float
  generate_s: float


def train_rl(
  config: ml_collections.ConfigDict,
  workdir: str,
  init_workdir: str | None = None,
  init_step: int | None = None,
  stop_at_step: int | None = None,
) -> dict[str, Any]:
  """Runs `config.rl.num_steps` RL steps from `init_workdir`'s checkpoint (or resumes `workdir`).

  Returns {"history": per-step metrics, "evals": [{"step", "pass@1", ...}], "params"} (and "stopped_at").
  """
  from hrm_jax.tokenizer import load_tokenizer

  log = distributed.log
  main = distributed.is_main_process()
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
  prompts = rl_prompts.PromptSource(config, tokenizer, cfg.seq_len - rc.max_new_tokens)
  rows = rl.prompts_per_batch * rc.group_size
  if rows % rl.num_minibatches:
    raise ValueError(
      f"rl.prompts_per_batch * rl.rollout.group_size = {rows} must divide by rl.num_minibatches={rl.num_minibatches}"
    )
  processes = jax.process_count()
  num_shards = int(rl.get("rollout_shards") or processes)
  if num_shards % processes or rl.prompts_per_batch % num_shards:
    raise ValueError(
      f"rl.rollout_shards={num_shards} must be a multiple of the {processes} processes and divide "
      f"rl.prompts_per_batch={rl.prompts_per_batch}"
    )
  ahead = int(rl.get("generate_ahead", 1 if rl.overlap_generation else 0))
  if ahead < 0:
    raise ValueError(f"rl.generate_ahead must be >= 0, got {ahead}")
  mesh = sharding.create_mesh(config.get("mesh"))
  shards = batch_shards(mesh)
  if (rows // rl.num_minibatches) % shards:
    raise ValueError(
      f"a minibatch of {rows // rl.num_minibatches} rows (rl.prompts_per_batch * "
      f"rl.rollout.group_size / rl.num_minibatches) must divide by the {shards} batch shards of the "
      f"mesh ({mesh.describe()}); change config.mesh or the RL batch"
    )

  if init_workdir is not None:
    _, init_params, _ = checkpoint_lib.load_for_inference(init_workdir, init_step)
    params = jax.device_get(init_params["params"])
  else:
    _, variables = hrm.init_params(cfg, jax.random.key(0), dot_general_cls=model.dot_general_cls)
    params = jax.device_get(variables["params"])
  tx = optimizers.make_optimizer(config.optimizer, rl.num_steps * rl.num_minibatches)
  state = jax.device_get(RLTrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params)))
  # The same layout as supervised training: parameters and optimizer moments by their logical axes.
  param_axes = hrm.logical_axes(cfg, model.dot_general_cls)
  state_sharding = RLTrainState(
    step=jax.sharding.NamedSharding(mesh.mesh, jax.sharding.PartitionSpec()),
    params=sharding.like_params_shardings(state.params, param_axes, mesh),
    opt_state=sharding.like_params_shardings(state.opt_state, param_axes, mesh),
  )
  # Every process holds the same host values: each supplies its devices' parts of the global arrays.
  state = jax.tree.map(
    lambda x, s: jax.make_array_from_callback(np.shape(x), s, lambda idx, x=np.asarray(x): x[idx]),
    state,
    state_sharding,
  )
  ckpt = checkpoint_lib.Checkpointer(workdir, keep=rl.keep_checkpoints)
  restored = ckpt.restore(state, extras=(ROLLOUT_ITEM,))
  history: list[dict] = []
  evals: list[dict] = []
  restored_pending: list[rollout_lib.Rollout] = []
  start = 0
  if restored is not None:
    state, rollout_state = restored.state, restored.extras[ROLLOUT_ITEM]
    start = int(rollout_state["next_step"])
    restored_pending = _pending_from(rollout_state)
    history, evals = list(rollout_state.get("history", [])), list(rollout_state.get("evals", []))
    log(f"Resumed from {ckpt.directory} at RL step {start}")
  elif init_workdir is None:
    raise ValueError(f"{workdir} has no checkpoint to resume; pass --init WORKDIR_SFT")
  if main:
    with open(saved + ".tmp", "w") as f:
      f.write(config.to_json_best_effort(indent=2))
    os.replace(saved + ".tmp", saved)

  ref_params = jax.tree.map(jnp.copy, state.params) if rl.objective.kl_beta > 0 else None
  update_fn = make_update_fn(model, tx, config, ref_params, state_sharding, mesh)
  replicated = jax.sharding.NamedSharding(mesh.mesh, jax.sharding.PartitionSpec())
  replicate = jax.jit(lambda p: p, out_shardings=replicated)
  local_rows = rows // processes
  # Generation is data-parallel over this process's devices: its rollout rows split over them, a whole copy
  # of the parameters on each (the samples do not depend on the device count: `sampler.Generator`).
  gen_devices = jax.local_devices()
  local_replicated = jax.sharding.NamedSharding(
    jax.sharding.Mesh(np.asarray(gen_devices), ("batch",)), jax.sharding.PartitionSpec()
  )

  def generation_params():
    """The parameters rollouts are sampled with: the state's (one process; the generator copies them to each
    device), or whole copies on this process's devices (several processes: the global parameters gathered,
    every process calls)."""
    if processes == 1:
      return state.params
    with mesh:
      whole = replicate(state.params)
    return sampler.replicate_on(whole, local_replicated)

  rollouts = rollout_lib.RolloutSampler(model, None, rc, stop_ids, devices=gen_devices)
  # Only process 0 writes TensorBoard events (rl.metric_writer: config.train.metric_writer's choices).
  writer_backend = rl.get("metric_writer", "auto")
  writer = metrics_lib.create_writer(workdir, writer_backend) if main else metrics_lib.EventFileWriter(None)
  eval_problems = prompts.eval_problems(rl.eval_size)
  try:
    executor = executors.make_executor(exec_config, queue_size=local_rows * (ahead + 1))
  except (RuntimeError, ConnectionError) as e:  # Ray or SWE-ReX missing or unreachable
    raise ValueError(f"rl.execution.executor={exec_config.executor}: {e}") from None
  log(
    f"hrm-jax train-rl: {rl.objective.name}, {rl.num_steps} steps x {rl.prompts_per_batch} prompts x "
    f"G={rc.group_size}, {rl.num_minibatches} updates per rollout batch, mesh {mesh.describe()}, "
    f"{processes} process(es) x {num_shards // processes} rollout shard(s) generated on {len(gen_devices)} "
    f"device(s) each, {ahead} batch(es) generated ahead, "
    f"executor {executor.name} (queue {executor.queue_size}), sandbox {execution.runner.isolation().mode}"
  )
  my_shards = range(jax.process_index() * num_shards // processes, (jax.process_index() + 1) * num_shards // processes)
  per_shard = rl.prompts_per_batch // num_shards

  def records_of(step: int, rollout: rollout_lib.Rollout) -> list[dict]:
    return [prompts.record(step, int(i)) for i in rollout.record_indices]

  def enqueue(step: int, local: rollout_lib.Rollout | None, params) -> _Queued:
    """Generates (unless given) this process's rows of step `step` and hands them to the executor."""
    t0 = time.perf_counter()
    if local is None:
      rollouts.set_params({"params": params})
      recs, prompt_ids, indices = prompts.train_batch(step, rl.prompts_per_batch, rl.seed)
      langs, tasks = rl_prompts.record_ids(recs)
      parts = []
      for shard in my_shards:
        part = slice(shard * per_shard, (shard + 1) * per_shard)
        parts.append(
          rollouts.sample(
            prompt_ids[part], indices[part], langs[part], tasks[part], seed=shard_seed(rl.seed, step, shard)
          )
        )
      local = rollout_lib.Rollout.concatenate(parts)
    generate_s = time.perf_counter() - t0
    submission, texts = submit_rollout(executor, local, records_of(step, local), tokenizer, stop_ids)
    return _Queued(step, local, texts, submission, time.perf_counter(), generate_s)

  def run_eval(step: int) -> None:
    result = evaluate_pass_at_1(
      model, generation_params(), eval_problems, tokenizer, exec_config, rc.max_new_tokens, executor, gen_devices
    )
    evals.append({"step": step, **result})
    writer.write_scalars(step, {f"eval/{k}": v for k, v in result.items()})
    log(
      f"eval step {step}: pass@1 {result['pass@1']:.4f} | compile_rate {result['compile_rate']:.4f} "
      f"| {int(result['problems'])} held-out problems"
    )

  queue: collections.deque[_Queued] = collections.deque()
  step = start
  try:
    if start == 0 and rl.eval_every and not evals:
      run_eval(0)
    for i, pending in enumerate(restored_pending):  # generated before the interruption: executed again
      queue.append(enqueue(start + i, pending.select(process_rows(pending.num_rows)), None))
    next_step = start + len(queue)
    for step in range(start, rl.num_steps):
      t_step = time.perf_counter()
      # Generate up to `ahead` batches beyond this one (from the current parameters) while it executes.
      while next_step <= step + ahead and next_step < rl.num_steps:
        queue.append(enqueue(next_step, None, generation_params()))
        next_step += 1
      queued = queue.popleft()
      assert queued.step == step, (queued.step, step)
      outcomes = queued.submission.result()
      exec_wait_s = queued.submission.wait_s
      exec_s = time.perf_counter() - queued.submitted_at
      scored = rollout_scores(outcomes, queued.local, queued.texts, reward_config)
      current = gather_rollout(queued.local, cfg.seq_len)
      scored = gather_rows({k: scored[k] for k in ("rewards", "passed", "compiled")})

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
          state, metrics = update_fn(state, global_minibatch(mesh, batch))
        step_metrics.append(metrics)
      step_metrics = jax.device_get(step_metrics)
      if not all(m["finite"] for m in step_metrics):
        raise sft_trainer.TrainingError(
          f"non-finite RL loss or gradient at RL step {step}; its updates were skipped. Lower "
          "config.optimizer.learning_rate."
        )
      update_s = time.perf_counter() - t_update
      step_s = time.perf_counter() - t_step

      report = {k: float(np.mean([m[k] for m in step_metrics])) for k in step_metrics[0] if k != "finite"}
      report["ratio_min"] = float(np.min([m["ratio_min"] for m in step_metrics]))
      report["ratio_max"] = float(np.max([m["ratio_max"] for m in step_metrics]))
      report.update({k: float(v) for k, v in jax.device_get(adv_metrics).items()})
      report.update(
        pass_rate=float(scored["passed"].mean()),
        compile_rate=float(scored["compiled"].mean()),
        depth_mean=float(current.depth.mean()),
        response_tokens=float(current.mask.sum(1).mean()),
        generate_s=queued.generate_s,
        execute_s=exec_s,
        execute_wait_s=exec_wait_s,
        execute_wait_fraction=exec_wait_s / max(step_s, 1e-9),
        update_s=update_s,
        step_s=step_s,
        stage_max_ops=float(prompts.stage(step).max_ops),
      )
      history.append({"step": step + 1, **report})
      writer.write_scalars(step + 1, {f"train/{k}": v for k, v in report.items()})
      if (step + 1) % rl.log_every == 0 or step + 1 == rl.num_steps:
        shown = " | ".join(
          f"{k} {report[k]:.4g}"
          for k in (
            "reward_mean",
            "pass_rate",
            "compile_rate",
            "ratio_mean",
            "clip_fraction",
            "zero_std_group_fraction",
            "q_loss",
            "depth_mean",
            "generate_s",
            "execute_s",
            "execute_wait_s",
            "update_s",
          )
        )
        log(f"rl step {step + 1}/{rl.num_steps} | {shown}")
      if rl.eval_every and ((step + 1) % rl.eval_every == 0 or step + 1 == rl.num_steps):
        run_eval(step + 1)
      stopping = stop_at_step is not None and step + 1 >= stop_at_step
      if (step + 1) % rl.checkpoint_every == 0 or step + 1 == rl.num_steps or stopping:
        # The batches generated ahead, every process's rows (gathered: every process saves the same item).
        pending = [gather_rollout(q.local, cfg.seq_len).to_json() for q in queue]
        ckpt.save(
          step + 1,
          state,
          extras={ROLLOUT_ITEM: {"next_step": step + 1, "pending": pending, "history": history, "evals": evals}},
          force=True,
        )
      ckpt.check()  # a background save that failed (disk full) stops the run now
      if stopping:
        ckpt.close()
        writer.flush()
        return {"stopped_at": step + 1, "history": history, "evals": evals, "executor_stats": dict(executor.stats)}
    ckpt.close()
  except checkpoint_lib.CheckpointSaveError as e:  # one line for the user, not Orbax's tracebacks
    raise sft_trainer.TrainingError(str(e)) from None
  except executors.ExecutionError as e:
    raise sft_trainer.TrainingError(str(e)) from None
  finally:
    executor.close()
  writer.flush()
  if main:
    with open(os.path.join(workdir, HISTORY_FILE), "w") as f:
      json.dump({"history": history, "evals": evals}, f, indent=1)
  return {"history": history, "evals": evals, "params": state.params, "executor_stats": dict(executor.stats)}
