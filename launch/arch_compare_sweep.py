"""The architecture comparison's sweep: HRM vs TRM vs the pre-norm Transformer at matched parameters and FLOPs.

    python -m hrm_jax.bench.arch_compare                   # default size: ~2.5 h on 2 CPU cores (10-15 min per arm and seed)
    python -m hrm_jax.bench.arch_compare --size small      # ~10-15 min on 2 quiet CPU cores
    launch/arch_compare_gpu.sh                             # the large size on one GPU

The format is launch/sweep.py's (`config`, `axes`, `fixed`, `metrics`) plus what the comparison adds:
  arms       per-architecture overrides (on top of `fixed`): matched PARAMETERS. The Transformer stacks
             H_layers + L_layers blocks once per segment, the TRM runs one network of H_layers + L_layers blocks
             (its L_level; H_layers unused), so all three hold the same blocks, embeddings and heads.
  reference  the arm whose `train.num_steps` sets the FLOP budget; every other arm trains for
             round(budget / its training FLOPs per step) steps: matched TRAINING FLOPs (hrm_jax/bench/flops.py's
             analytic count, each run's figure in the results).
  eval       held-out evaluation: procedural tasks of 1..max_ops operations (training sees min_ops..max_ops of
             `fixed`), `per_cell` tasks per (language, number of operations), the bundled LiveCodeBench-format
             problems of the held-out split that fit seq_len, segment budgets for the test-time curve.
`python launch/sweep.py launch/arch_compare_sweep.py --workdir W --print-only` prints the arms' training commands
at the reference's step count (launch/sweep.py knows neither the arms' overrides nor the FLOP matching; the
comparison is `python -m hrm_jax.bench.arch_compare`).
"""

# Training data for every size: the six languages' procedural `arith` tasks of 1-2 operations (write f(x) from a
# one-line spec) with a tenth of the bundled LiveCodeBench-format problems mixed in.
_DATA = {
  "data.languages": "cpp,go,java,javascript,python,rust",
  "data.families": "arith",
  "data.min_ops": 1,
  "data.max_ops": 2,
  "data.num_eval": 64,  # the trainer's own teacher-forced eval (1-2 ops); the comparison's eval is `eval`
}

# The small and default sizes: tiny_cpu's model on 96-token rows, a tenth of them LiveCodeBench-format problems.
_TINY_CPU = {
  **_DATA,
  "data.num_train": 3000,
  "data.mixture": "procedural=0.9,livecodebench_sample=0.1",
  "data.seq_len": 96,
  "model.seq_len": 96,
  "train.batch_size": 16,
}

SIZES = {
  # For tests: a couple of steps, a handful of Python tasks.
  "tiny": {
    "fixed": {
      **_DATA,
      "data.languages": "python",
      "data.num_train": 200,
      "data.num_eval": 8,
      "data.seq_len": 64,
      "model.seq_len": 64,
      "model.hidden_size": 32,
      "model.num_heads": 2,
      "model.H_layers": 1,
      "model.L_layers": 1,
      "model.H_cycles": 1,
      "model.L_cycles": 2,
      "train.batch_size": 4,
      "train.eval_batch_size": 8,
      "train.num_steps": 2,
      "train.log_every": 1,
      "train.checkpoint_every": 2,
    },
    "seeds": [0],
    "eval": {"max_ops": 3, "per_cell": 1, "lcb": 0, "budgets": [1, 2], "max_new_tokens": 24, "workers": 2},
  },
  # What a shared, loaded 2-core machine finishes in about an hour (run on 2026-12-02 at load average ~20; on a
  # quiet machine a few minutes): hidden 64, 2+2 layers, 2x2 cycles, 64-token rows (no LiveCodeBench problem fits).
  "mini": {
    "fixed": {
      **_DATA,
      "data.num_train": 3000,
      "data.seq_len": 64,
      "model.seq_len": 64,
      "model.hidden_size": 64,
      "model.num_heads": 4,
      "train.batch_size": 16,
      "train.num_steps": 160,
      "train.log_every": 20,
      "train.checkpoint_every": 40,
    },
    "seeds": [0, 1],
    "eval": {"max_ops": 4, "per_cell": 1, "lcb": 0, "budgets": [1, 2, 4], "max_new_tokens": 32, "workers": 2},
  },
  # ~10-15 min on 2 quiet cores: tiny_cpu's model (hidden 128, 2+2 layers, 2x2 cycles), a short budget.
  "small": {
    "fixed": {**_TINY_CPU, "train.num_steps": 200, "train.log_every": 25, "train.checkpoint_every": 1000},
    "seeds": [0, 1],
    "eval": {"max_ops": 4, "per_cell": 2, "lcb": 4, "budgets": [1, 2, 4], "max_new_tokens": 32, "workers": 2},
  },
  # ~2.5 h on 2 cores (measured 2026-12-03: 10-15 min per arm and seed): the same model, longer. Budgets up to 4 (twice the trained 2 segments): each budget is
  # a generation compile per setting and arm, and a budget of 8 alone took 2 min to compile here (2026-12-03).
  "default": {
    "fixed": {**_TINY_CPU, "train.num_steps": 500, "train.log_every": 50, "train.checkpoint_every": 250},
    "seeds": [0, 1, 2],
    "eval": {"max_ops": 4, "per_cell": 3, "lcb": 8, "budgets": [1, 2, 4], "max_new_tokens": 32, "workers": 2},
  },
  # One GPU (launch/arch_compare_gpu.sh): hidden 256, 4+4 layers, longer sequences and training.
  "large": {
    "fixed": {
      **_DATA,
      "data.num_train": 20000,
      "data.mixture": "procedural=0.9,livecodebench_sample=0.1",
      "data.seq_len": 192,
      "model.seq_len": 192,
      "model.hidden_size": 256,
      "model.num_heads": 4,
      "model.H_layers": 4,
      "model.L_layers": 4,
      "train.batch_size": 64,
      "train.eval_batch_size": 64,
      "train.num_steps": 3000,
      "train.log_every": 100,
      "train.checkpoint_every": 1000,
    },
    "seeds": [0, 1, 2],
    "eval": {"max_ops": 5, "per_cell": 8, "lcb": 15, "budgets": [1, 2, 4, 8, 16], "max_new_tokens": 128, "workers": 8},
  },
}


def arms(fixed: dict) -> dict[str, dict]:
  """Per-architecture overrides giving every arm the reference HRM's blocks (matched parameters)."""
  blocks = fixed.get("model.H_layers", 2) + fixed.get("model.L_layers", 2)
  return {
    "hrm": {},
    # one stack of H_layers + L_layers blocks, one segment (configs/transformer_tiny.py)
    "transformer": {"model.arch": "transformer", "model.halt_max_steps": 1},
    # one network of H_layers + L_layers blocks, TRM's halting (q_halt > 0, no target-Q pass)
    "trm": {"model.arch": "trm", "model.H_layers": 0, "model.L_layers": blocks, "model.no_ACT_continue": True},
    # The reverse-order learning ablation (`--arms hrm,hrm_reverse`; not in the default arms): the HRM with
    # `model.reverse_learning` on (+ its zero-init `reverse_proj`: (hidden + 1) x hidden more parameters), trained
    # on the same FLOP budget (its LM-head feedback pass per H update counted by hrm_jax/bench/flops.py).
    "hrm_reverse": {"model.reverse_learning": True},
  }


def get_sweep(size: str = "default") -> dict:
  if size not in SIZES:
    raise ValueError(f"size {size!r}: expected one of {sorted(SIZES)}")
  s = SIZES[size]
  return {
    "config": "configs/tiny_cpu.py",
    "axes": {"model.arch": ["hrm", "transformer", "trm"], "train.seed": s["seeds"]},
    "fixed": s["fixed"],
    "arms": arms(s["fixed"]),
    "reference": "hrm",
    "eval": s["eval"],
    "metrics": ["loss", "accuracy", "eval/accuracy", "eval/exact_accuracy"],
  }
