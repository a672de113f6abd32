#!/bin/sh
# gpu-check.sh: the one short run to make on a machine with an NVIDIA GPU
# (issue 15). Builds with CUDA (and Vulkan where present), runs the CUDA
# tests and test_ops, times the net with `segrank bench` on cuda and on
# vulkan at batch 1, 8 and 16 (cuda's figures against the GPU's measured
# FMA peak), the training steps on cuda, and PyTorch on the same GPU when
# its torch has CUDA. Every step's output goes to $OUT (default
# ./gpu-check-out), one file per step, and a failing step does not stop the
# others. Usage: tools/gpu-check.sh [BUILD_DIR]
set -u
cd "$(dirname "$0")/.."
build=${1:-build-gpu}
out=${OUT:-$PWD/gpu-check-out}
mkdir -p "$out"
step() { # step NAME COMMAND...: runs it, output to $out/NAME.txt, notes its exit status
  name=$1
  shift
  echo "== $name: $*"
  start=$(date +%s)
  "$@" >"$out/$name.txt" 2>&1
  rc=$?
  echo "$name rc=$rc $(($(date +%s) - start)) s" | tee -a "$out/steps.txt"
  tail -n 25 "$out/$name.txt"
}
step gpu sh -c 'nvidia-smi; nvidia-smi -L; lscpu | head -20'
export PATH=/usr/local/cuda/bin:$PATH
[ -d "$build" ] || step setup meson setup "$build" -Dcuda=enabled -Dintrospection=disabled
step build ninja -C "$build"
step tests meson test -C "$build" --print-errorlogs test_cuda_host test_cuda_device test_ops
seg=$build/tools/segrank/segrank
step bench-cuda "$seg" bench --backend cuda -r 50 --json "$out/bench-cuda.json"
step bench-vulkan "$seg" bench --backend vulkan -r 50 --json "$out/bench-vulkan.json"
step bench-cuda-train "$seg" bench --backend cuda -r 10 --train
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  step torch-gpu python3 tools/peers/torch_gpu_forward.py
else
  echo "no PyTorch with CUDA here: no PyTorch figure on this GPU" | tee -a "$out/steps.txt"
fi
echo "figures and logs in $out"
