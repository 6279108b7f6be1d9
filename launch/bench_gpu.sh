#!/usr/bin/env bash
# Throughput and MFU of hrm_27m and hrm_100m (bf16 compute, fp32 master weights) on one GPU, in < 8 minutes.
#
#   launch/bench_gpu.sh [--install | --kit DIR]    # CONFIG_27M/100M, BATCH_27M/100M, STEPS override
#
# Prints the table of hrm_jax.bench.train_step (step time, tokens/s, model FLOPs/token, TFLOP/s, MFU against
# the GPU's dense bf16 peak, memory per device) once per model. --install installs the CUDA build of jax first
# (network); --kit DIR installs the wheels of launch/gpu_kit.sh offline (an image that has JAX but not Grain,
# CLU, ml-collections, aqtp or tokenizers) and runs from this checkout without installing it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ "${1:-}" == "--install" ]]; then
  python3 -m pip install -q -e . 'jax[cuda12]>=0.10.2,<0.12'
elif [[ "${1:-}" == "--kit" ]]; then
  kit="${2:?--kit needs the folder launch/gpu_kit.sh filled}"
  python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/hrm-jax-site "$kit"/*.whl
  export PYTHONPATH="/tmp/hrm-jax-site${PYTHONPATH:+:$PYTHONPATH}"
  configs="$PWD/configs"
  cd /tmp  # the installed hrm_jax (with its data_pipelines/export/configs mapping), not the checkout's folder
fi
configs="${configs:-configs}"
CONFIG_27M="${CONFIG_27M:-$configs/hrm_27m.py}"
CONFIG_100M="${CONFIG_100M:-$configs/hrm_100m.py}"
BATCH_27M="${BATCH_27M:-64}"
BATCH_100M="${BATCH_100M:-32}"
STEPS="${STEPS:-10}"
export XLA_FLAGS="--xla_gpu_enable_latency_hiding_scheduler=true ${XLA_FLAGS:-}"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv || true
timeout 240 python3 -m hrm_jax.bench.train_step --config "$CONFIG_27M" --batch-size "$BATCH_27M" --steps "$STEPS"
timeout 240 python3 -m hrm_jax.bench.train_step --config "$CONFIG_100M" --batch-size "$BATCH_100M" --steps "$STEPS"
