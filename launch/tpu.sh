#!/usr/bin/env bash
# Train hrm-jax on a Cloud TPU VM or pod slice: create (or reuse) the TPU, copy this checkout to every worker,
# install it, run the same `hrm-jax train` command on all workers at once, stream the logs, optionally delete.
#
#   launch/tpu.sh --name hrm-v5e --zone us-west4-a --type v5litepod-16 --config configs/hrm_100m.py \
#       --workdir gs://BUCKET/hrm_100m [--project P] [--version v2-alpha-tpuv5-lite] [--spot] [--teardown] \
#       [--dry-run] [--rl [--init SFT_WORKDIR]] [-- --config.train.num_steps=1000 ...]
#   launch/tpu.sh --name hrm-v5e --zone us-west4-a --type v5litepod-16 --config configs/hrm_100m.py --bench \
#       [-- --batch-size 256 --steps 10]
#
# Every worker runs `hrm-jax train --distributed ...`: jax.distributed.initialize detects the pod, each host
# reads its own data shard, Orbax writes one multi-process checkpoint into --workdir (use a gs:// bucket on a
# pod), and only process 0 logs. Rerunning the same command resumes from the workdir (preemptible/spot TPUs).
# --rl runs `hrm-jax train-rl --distributed` instead (GSPO; --init names the supervised workdir, every worker
# generates and executes its share of the rollouts; e.g. -- --executor ray --executor-address auto).
# --bench benchmarks instead of training: `python3 -m hrm_jax.bench.train_step --distributed` on every worker
# (one global mesh over the slice; compile time, step time, tokens/s, MFU against the chip's peak; no --workdir).
# --dry-run prints every command instead of running it.
set -euo pipefail

NAME="" ZONE="" TYPE="" CONFIG="" WORKDIR="" PROJECT="" VERSION="tpu-ubuntu2204-base"
SPOT=0 TEARDOWN=0 DRY_RUN=0 REMOTE_DIR="hrm-jax" COMMAND="train" INIT=""
EXTRA=()

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --name) NAME="$2"; shift 2 ;;
    --zone) ZONE="$2"; shift 2 ;;
    --type) TYPE="$2"; shift 2 ;;
    --config) CONFIG="$2"; shift 2 ;;
    --workdir) WORKDIR="$2"; shift 2 ;;
    --project) PROJECT="$2"; shift 2 ;;
    --version) VERSION="$2"; shift 2 ;;
    --spot) SPOT=1; shift ;;
    --teardown) TEARDOWN=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --rl) COMMAND="train-rl"; shift ;;
    --bench) COMMAND="bench"; shift ;;
    --init) INIT="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "tpu.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done

REQUIRED=(NAME ZONE TYPE CONFIG)
if [[ "$COMMAND" != "bench" ]]; then REQUIRED+=(WORKDIR); fi
for var in "${REQUIRED[@]}"; do
  if [[ -z "${!var}" ]]; then
    echo "tpu.sh: --$(echo "$var" | tr '[:upper:]' '[:lower:]') is required" >&2
    exit 2
  fi
done

if [[ -n "$INIT" && "$COMMAND" != "train-rl" ]]; then
  echo "tpu.sh: --init is for --rl (the supervised workdir GSPO starts from)" >&2
  exit 2
fi

GCLOUD=(gcloud compute tpus tpu-vm)
LOCATION=(--zone="$ZONE")
if [[ -n "$PROJECT" ]]; then LOCATION+=(--project="$PROJECT"); fi

# Prints the command (quoted so it can be pasted); runs it unless --dry-run.
run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  if [[ "$DRY_RUN" -eq 0 ]]; then "$@"; fi
}

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARCHIVE="/tmp/hrm-jax-${NAME}.tar.gz"

# 1. Create the TPU unless it exists.
if [[ "$DRY_RUN" -eq 0 ]] && "${GCLOUD[@]}" describe "$NAME" "${LOCATION[@]}" >/dev/null 2>&1; then
  echo "tpu.sh: reusing TPU $NAME"
else
  CREATE=("${GCLOUD[@]}" create "$NAME" "${LOCATION[@]}" --accelerator-type="$TYPE" --version="$VERSION")
  if [[ "$SPOT" -eq 1 ]]; then CREATE+=(--spot); fi
  run "${CREATE[@]}"
fi

# 2. Copy this checkout to every worker and install it (with the TPU build of jax).
run tar -C "$REPO_ROOT" --exclude=.git --exclude=workdirs -czf "$ARCHIVE" .
run "${GCLOUD[@]}" scp "$ARCHIVE" "$NAME:/tmp/hrm-jax.tar.gz" "${LOCATION[@]}" --worker=all
INSTALL="mkdir -p ~/$REMOTE_DIR && tar -xzf /tmp/hrm-jax.tar.gz -C ~/$REMOTE_DIR && cd ~/$REMOTE_DIR"
# (the gcs extra: gs:// workdirs without TensorFlow, through gcsfs)
INSTALL+=" && python3 -m pip install -q -e '.[gcs]' && python3 -m pip install -q 'jax[tpu]==0.10.2'"
run "${GCLOUD[@]}" ssh "$NAME" "${LOCATION[@]}" --worker=all --command="$INSTALL"

# 3. The same train (train-rl, bench) command on every worker; process 0's log streams here (the others log nothing).
if [[ "$COMMAND" == "bench" ]]; then
  TRAIN="cd ~/$REMOTE_DIR && python3 -m hrm_jax.bench.train_step --distributed --config $(printf '%q' "$CONFIG")"
  LOG="bench.log"
else
  TRAIN="cd ~/$REMOTE_DIR && hrm-jax $COMMAND --distributed --config $(printf '%q' "$CONFIG")"
  TRAIN+=" --workdir $(printf '%q' "$WORKDIR")"
  LOG="train.log"
fi
if [[ -n "$INIT" ]]; then TRAIN+=" --init $(printf '%q' "$INIT")"; fi
for arg in "${EXTRA[@]}"; do TRAIN+=" $(printf '%q' "$arg")"; done
run "${GCLOUD[@]}" ssh "$NAME" "${LOCATION[@]}" --worker=all --command="$TRAIN 2>&1 | tee -a ~/$LOG"

# 4. Tear down when asked.
if [[ "$TEARDOWN" -eq 1 ]]; then
  run "${GCLOUD[@]}" delete "$NAME" "${LOCATION[@]}" --quiet
fi
