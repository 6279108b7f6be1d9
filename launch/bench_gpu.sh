#!/usr/bin/env bash
# Throughput and MFU of hrm_27m and hrm_100m (bf16 compute, fp32 master weights) on one GPU, in < 8 minutes.
#
#   launch/bench_gpu.sh [--install]        # BATCH_27M / BATCH_100M / STEPS override the defaults below
#
# Prints the table of hrm_jax.bench.train_step (step time, tokens/s, model FLOPs/token, TFLOP/s, MFU against
# the GPU's dense bf16 peak, memory per device) once per model. --install installs the CUDA build of jax first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ "${1:-}" == "--install" ]]; then
  python3 -m pip install -q -e . 'jax[cuda12]==0.10.2'
fi
BATCH_27M="${BATCH_27M:-64}"
BATCH_100M="${BATCH_100M:-32}"
STEPS="${STEPS:-10}"
export XLA_FLAGS="--xla_gpu_enable_latency_hiding_scheduler=true ${XLA_FLAGS:-}"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv || true
timeout 240 python3 -m hrm_jax.bench.train_step --config configs/hrm_27m.py --batch-size "$BATCH_27M" --steps "$STEPS"
timeout 240 python3 -m hrm_jax.bench.train_step --config configs/hrm_100m.py --batch-size "$BATCH_100M" --steps "$STEPS"
