#!/usr/bin/env bash
# Wheels for a bare accelerator image, fetched on a machine with network and installed there without it.
#
#   launch/gpu_kit.sh [--dest DIR] [--python-version 3.12] [--extra "NAME==VER ..."]
#
# Stock GPU images (and this project's lent accelerator machines) ship JAX, Flax, Optax, Orbax, Chex and
# TensorBoard but not Grain, CLU, ml-collections, aqtp or tokenizers. This downloads those (at the lower bounds
# of setup.cfg's ranges, the versions CI tests) and the small packages they need that such images usually
# lack, each with --no-deps, as binary wheels for the target's Python and x86-64 Linux, and hrm-jax's own wheel,
# into DIR (default .whl, which git ignores). On the accelerator machine (run from outside the checkout):
#
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site DIR/*.whl && export PYTHONPATH=/tmp/site
#
# (launch/bench_gpu.sh --kit DIR does exactly this.) TensorFlow is not needed: training writes TensorBoard
# event files without it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dest=".whl"
pyver="3.12"
extra=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dest) dest="$2"; shift 2 ;;
    --python-version) pyver="$2"; shift 2 ;;
    --extra) extra="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "gpu_kit.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
# What hrm-jax imports beyond a JAX image, at the versions CI tests, then what those need that images lack.
packages=(grain==0.2.18 array-record==0.8.6 clu==0.0.12 ml-collections==1.1.0 aqtp==0.9.0 tokenizers==0.23.3
          cloudpickle portpicker psutil wrapt pyyaml)
# shellcheck disable=SC2206
packages+=($extra)
mkdir -p "$dest"
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 manylinux_2_17_x86_64 \
         manylinux2014_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
for spec in "${packages[@]}"; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$pyver" --implementation cp \
    "${platforms[@]}" -d "$dest" "$spec"
done
# hrm-jax itself, as the pure-Python wheel users install (data_pipelines/, export/, configs/ mapped into it).
rm -f "$dest"/hrm_jax-*.whl
python3 -m pip wheel -q --no-deps --no-build-isolation -w "$dest" . >/dev/null
rm -rf build
count=$(find "$dest" -name '*.whl' | wc -l)
size=$(du -sh "$dest" | cut -f1)
echo "gpu_kit: $count wheels ($size) for CPython $pyver x86-64 in $dest"
