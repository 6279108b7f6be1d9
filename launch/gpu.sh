#!/usr/bin/env bash
# Train hrm-jax on a multi-GPU host (one process drives every local GPU), or on several GPU hosts (one process
# per host, joined by jax.distributed).
#
#   launch/gpu.sh --config configs/hrm_100m.py --workdir /data/hrm_100m [--install] [--dry-run] \
#       [--coordinator HOST:PORT --num-processes N --process-id I] [-- --config.mesh.fsdp=-1 ...]
#
# --install installs the project with the CUDA build of jax first. Multi-host: run the same command on every
# host with its own --process-id (process 0's host:port as --coordinator); each host reads its data shard,
# checkpoints are one multi-process Orbax save (the workdir must be shared storage), and only process 0 logs.
# Rerunning the same command resumes from the workdir. --dry-run prints every command instead of running it.
set -euo pipefail

CONFIG="" WORKDIR="" INSTALL=0 DRY_RUN=0 COORDINATOR="" NUM_PROCESSES="" PROCESS_ID=""
EXTRA=()

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --config) CONFIG="$2"; shift 2 ;;
    --workdir) WORKDIR="$2"; shift 2 ;;
    --install) INSTALL=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --coordinator) COORDINATOR="$2"; shift 2 ;;
    --num-processes) NUM_PROCESSES="$2"; shift 2 ;;
    --process-id) PROCESS_ID="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "gpu.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done

if [[ -z "$CONFIG" || -z "$WORKDIR" ]]; then
  echo "gpu.sh: --config and --workdir are required" >&2
  exit 2
fi

run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  if [[ "$DRY_RUN" -eq 0 ]]; then "$@"; fi
}

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

if [[ "$INSTALL" -eq 1 ]]; then
  run python3 -m pip install -q -e .
  run python3 -m pip install -q 'jax[cuda12]==0.10.2'
fi

run nvidia-smi --query-gpu=name,memory.total --format=csv

TRAIN=(hrm-jax train --config "$CONFIG" --workdir "$WORKDIR")
if [[ -n "$COORDINATOR" ]]; then
  TRAIN+=(--coordinator-address "$COORDINATOR" --num-processes "$NUM_PROCESSES" --process-id "$PROCESS_ID")
fi
TRAIN+=("${EXTRA[@]}")
# XLA flags that help on NVIDIA GPUs (latency-hiding scheduler overlaps collectives with compute).
run env XLA_FLAGS="--xla_gpu_enable_latency_hiding_scheduler=true ${XLA_FLAGS:-}" "${TRAIN[@]}"
