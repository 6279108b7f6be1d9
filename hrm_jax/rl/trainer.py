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
as in supervised training, and each minibatch is split over the batch axes; one process (its local devices).

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

import concurrent.futures
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
from hrm_jax.models import hrm
from hrm_jax.rl import execution, objectives
from hrm_jax.rl import rewards as rewards_lib
from hrm_jax.rl import rollout as rollout_lib
from hrm_jax.train import checkpoint as checkpoint_lib
from hrm_jax.train import metrics as metrics_lib
from hrm_jax.train import optimizers, sharding
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


def score_rollout(
  rollout: rollout_lib.Rollout, records: Sequence[dict], tokenizer, reward_config, exec_config, stop_ids
) -> dict[str, np.ndarray]:
  """Runs every response of a rollout batch in the sandbox; `records[i]` is row i's problem.

  Returns `rewards [R]`, `passed [R]` (all tests), `compiled [R]`, `outcomes` (list).
  """
  texts = [tokenizer.decode(ids) for ids in rollout.responses(stop_ids)]
  outcomes = execution.execute_many(list(zip(records, texts)), exec_config)
  inputs = [
    rewards_lib.RewardInput(response=t, num_tokens=int(m.sum()), outcome=o)
    for t, m, o in zip(texts, rollout.mask, outcomes)
  ]
  totals, _ = rewards_lib.compute_rewards(reward_config, inputs)
  passed = np.asarray([o.status == rewards_lib.STATUS_PASSED for o in outcomes], np.float32)
  compiled = np.asarray([o.compiled for o in outcomes], np.float32)
  return {"rewards": totals, "passed": passed, "compiled": compiled, "outcomes": outcomes, "texts": texts}


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
):
  """`params`: the "params" collection. Generates `samples` replies per problem (greedy at temperature 0), runs
  them in the sandbox and returns (records repeated per sample, passed bool [n], compiled bool [n]). Generation
  goes in chunks of rows."""
  from hrm_jax.inference import sampler

  sampling = sampler.SamplingConfig(
    max_new_tokens=max_new_tokens, temperature=temperature, stop_ids=(tokenizer.eos_id,)
  )
  gen = sampler.Generator(model, {"params": params}, sampling)
  rows = [p for p in prompts for _ in range(samples)]
  recs = [r for r in records for _ in range(samples)]
  langs, tasks = rl_prompts.record_ids(recs)
  texts = []
  for start in range(0, len(rows), chunk):
    end = start + chunk
    texts += [
      tokenizer.decode(o) for o in gen.generate(rows[start:end], langs[start:end], tasks[start:end], seed=seed + start)
    ]
  outcomes = execution.execute_many(list(zip(recs, texts)), exec_config)
  passed = np.asarray([o.status == rewards_lib.STATUS_PASSED for o in outcomes])
  compiled = np.asarray([o.compiled for o in outcomes])
  return recs, passed, compiled


def evaluate_pass_at_1(model, params, problems, tokenizer, exec_config, max_new_tokens: int) -> dict[str, float]:
  """Greedy pass@1 (and compile rate) on held-out problems, executed in the sandbox."""
  records, prompts = problems
  _, passed, compiled = run_problems(model, params, records, prompts, tokenizer, exec_config, max_new_tokens)
  return {"pass@1": float(np.mean(passed)), "compile_rate": float(np.mean(compiled)), "problems": float(len(records))}


def _model_config_from(init_workdir: str, config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  merged = ml_collections.ConfigDict(config.to_dict())
  merged.model = sft_trainer.load_config(init_workdir).model
  return merged


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
  if jax.process_count() > 1:
    raise ValueError(
      "hrm-jax train-rl runs in one process (its local devices form the mesh); multi-process "
      "RL is not supported yet: launch it on a single host"
    )
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
    opt_state=sharding.like_params_shardings(state.opt_state, param_axes, mesh),
  )
  state = jax.device_put(state, state_sharding)
  ckpt = checkpoint_lib.Checkpointer(workdir, keep=rl.keep_checkpoints)
  restored = ckpt.restore(state, extras=(ROLLOUT_ITEM,))
  history: list[dict] = []
  evals: list[dict] = []
  pending = None
  start = 0
  if restored is not None:
    state, rollout_state = restored.state, restored.extras[ROLLOUT_ITEM]
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
  eval_problems = prompts.eval_problems(rl.eval_size)
  print(
    f"hrm-jax train-rl: {rl.objective.name}, {rl.num_steps} steps x {rl.prompts_per_batch} prompts x "
    f"G={rc.group_size}, {rl.num_minibatches} updates per rollout batch, mesh {mesh.describe()}, sandbox "
    f"{execution.runner.isolation().mode}",
    flush=True,
  )

  def generate(step: int, params) -> tuple[rollout_lib.Rollout, float]:
    t0 = time.perf_counter()
    rollouts.set_params({"params": params})
    recs, prompt_ids, indices = prompts.train_batch(step, rl.prompts_per_batch, rl.seed)
    langs, tasks = rl_prompts.record_ids(recs)
    out = rollouts.sample(prompt_ids, indices, langs, tasks, seed=rl.seed * 1_000_003 + step)
    return out, time.perf_counter() - t0

  def records_of(step: int, rollout: rollout_lib.Rollout) -> list[dict]:
    return [prompts.record(step, int(i)) for i in rollout.record_indices]

  def run_eval(step: int) -> None:
    result = evaluate_pass_at_1(model, state.params, eval_problems, tokenizer, exec_config, rc.max_new_tokens)
    evals.append({"step": step, **result})
    writer.write_scalars(step, {f"eval/{k}": v for k, v in result.items()})
    print(
      f"eval step {step}: pass@1 {result['pass@1']:.4f} | compile_rate {result['compile_rate']:.4f} "
      f"| {int(result['problems'])} held-out problems",
      flush=True,
    )

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
      scored_future = executor.submit(
        score_rollout, current, records_of(step, current), tokenizer, reward_config, exec_config, stop_ids
      )
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
          "config.optimizer.learning_rate."
        )
      update_s = time.perf_counter() - t_update
      if not rl.overlap_generation and step + 1 < rl.num_steps:
        pending, next_gen_s = generate(step + 1, state.params)
      elif step + 1 >= rl.num_steps:
        next_gen_s = 0.0

      report = {k: float(np.mean([m[k] for m in step_metrics])) for k in step_metrics[0] if k != "finite"}
      report["ratio_min"] = float(np.min([m["ratio_min"] for m in step_metrics]))
      report["ratio_max"] = float(np.max([m["ratio_max"] for m in step_metrics]))
      report.update({k: float(v) for k, v in jax.device_get(adv_metrics).items()})
      report.update(
        pass_rate=float(scored["passed"].mean()),
        compile_rate=float(scored["compiled"].mean()),
        depth_mean=float(current.depth.mean()),
        response_tokens=float(current.mask.sum(1).mean()),
        generate_s=gen_s,
        execute_s=exec_s,
        update_s=update_s,
        stage_max_ops=float(prompts.stage(step).max_ops),
      )
      gen_s = next_gen_s
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
            "update_s",
          )
        )
        print(f"rl step {step + 1}/{rl.num_steps} | {shown}", flush=True)
      if rl.eval_every and ((step + 1) % rl.eval_every == 0 or step + 1 == rl.num_steps):
        run_eval(step + 1)
      stopping = stop_at_step is not None and step + 1 >= stop_at_step
      if (step + 1) % rl.checkpoint_every == 0 or step + 1 == rl.num_steps or stopping:
        ckpt.save(
          step + 1,
          state,
          extras={
            ROLLOUT_ITEM: {
              "next_step": step + 1,
              "pending": pending.to_json() if pending else None,
              "history": history,
              "evals": evals,
            }
          },
          force=True,
        )
      ckpt.check()  # a background save that failed (disk full) stops the run now
      if stopping:
        ckpt.close()
        writer.flush()
        return {"stopped_at": step + 1, "history": history, "evals": evals}
    ckpt.close()
  except checkpoint_lib.CheckpointSaveError as e:  # one line for the user, not Orbax's tracebacks
    raise sft_trainer.TrainingError(str(e)) from None
  finally:
    executor.shutdown(wait=True)
  writer.flush()
  with open(os.path.join(workdir, HISTORY_FILE), "w") as f:
    json.dump({"history": history, "evals": evals}, f, indent=1)
  return {"history": history, "evals": evals, "params": state.params}
