#!/usr/bin/env bash
# The architecture comparison's large size (HRM vs TRM vs Transformer, launch/arch_compare_sweep.py "large") on
# one GPU: training and generation on the GPU, the held-out replies in the sandbox on the host's CPUs.
#
#   launch/arch_compare_gpu.sh [--install | --kit DIR] [--size large] [--arms hrm,transformer,trm] [--seeds 0,1,2]
#
# --install installs the CUDA build of jax first (network); --kit DIR installs the wheels of launch/gpu_kit.sh
# offline and runs from this checkout (launch/bench_gpu.sh's pattern). The six toolchains must be on the host
# (`hrm-jax setup-toolchains`; checked first: a missing compiler would score every reply in its language 0).
# WORKDIR (default /tmp/arch_compare/<size>) holds the runs, resumable; results go to
# hrm_jax/bench/results/arch_compare/<size>/ (table.md, summary.json, runs/), read by colabs/arch_compare.ipynb.
# Sized for one H100/H200: 9 runs of 3,000 steps at batch 64 x 192 tokens, then about 2,000 sandbox runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SIZE=large ARMS=hrm,transformer,trm SEEDS=""
if [[ "${1:-}" == "--install" ]]; then
  python3 -m pip install -q -e . 'jax[cuda12]>=0.10.2,<0.12'
  shift
elif [[ "${1:-}" == "--kit" ]]; then
  kit="${2:?--kit needs the folder launch/gpu_kit.sh filled}"
  python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/hrm-jax-site "$kit"/*.whl
  export PYTHONPATH="$PWD:/tmp/hrm-jax-site${PYTHONPATH:+:$PYTHONPATH}"
  shift 2
fi
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size) SIZE="$2"; shift 2 ;;
    --arms) ARMS="$2"; shift 2 ;;
    --seeds) SEEDS="$2"; shift 2 ;;
    *) echo "arch_compare_gpu.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
nvidia-smi --query-gpu=name,memory.total --format=csv || true
python3 -m hrm_jax.cli setup-toolchains --check
export XLA_FLAGS="--xla_gpu_enable_latency_hiding_scheduler=true ${XLA_FLAGS:-}"
args=(--size "$SIZE" --arms "$ARMS")
[[ -n "$SEEDS" ]] && args+=(--seeds "$SEEDS")
python3 -m hrm_jax.bench.arch_compare "${args[@]}"
