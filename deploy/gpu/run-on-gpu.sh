#!/usr/bin/env bash
# The one command to run on a GPU machine, from the folder deploy/gpu/package.sh made (python3 with a CUDA PyTorch
# needed; no .NET). Binds samcluster to that PyTorch's libtorch and runs, writing everything under $OUT (else ./out):
#   train-one   1 trial, ResNet-18 + SAM on Fashion-MNIST, cuda:0, 2 epochs    -> train-one.jsonl
#   bench       training-step img/s, samcluster vs PyTorch eager, cuda:0       -> bench.txt
#   grid        `samcluster local gpu-grid.yaml --devices cuda:0`             -> grid-run/ (report, trials.csv, logs)
#   ./run-on-gpu.sh                 all three;   ./run-on-gpu.sh bench grid    only those
# Exit status: 0 all asked steps passed, 1 a step failed (the others still run), 2 no usable PyTorch/CUDA here.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${OUT:-$here/out}"
# The program is carried packed; it is unpacked once into a work folder (the package folder may be read-only).
work="${SAMCLUSTER_GPU_WORK:-${TMPDIR:-/tmp}/samcluster-gpu}"
samcluster="$work/bin/samcluster"
python="${PYTHON:-python3}"

fail() { echo "run-on-gpu: $*" >&2; exit 2; }

[ -f "$here/samcluster-bin.tar.gz" ] || fail "$here/samcluster-bin.tar.gz is missing; run this from the folder deploy/gpu/package.sh made"
if [ ! -x "$samcluster" ] || [ "$here/samcluster-bin.tar.gz" -nt "$samcluster" ]; then
  rm -rf "$work/bin" && mkdir -p "$work" && tar -xzf "$here/samcluster-bin.tar.gz" -C "$work" \
    || fail "cannot unpack $here/samcluster-bin.tar.gz into $work (set SAMCLUSTER_GPU_WORK to a writable folder)"
  touch "$samcluster"
fi
command -v "$python" >/dev/null 2>&1 || fail "no $python on PATH (PyTorch with CUDA is needed; set PYTHON=... to pick another)"
torch_dir="$("$python" -c "import torch, os; print(os.path.dirname(torch.__file__))" 2>/dev/null)" \
  || fail "$python cannot import torch: install PyTorch with CUDA (pip install torch) or set PYTHON=..."
torch_lib="$torch_dir/lib"
[ -f "$torch_lib/libtorch_cuda.so" ] || fail "PyTorch at $torch_dir has no libtorch_cuda.so (a CPU-only build); a CUDA build is needed"
cuda_check="$("$python" -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available(), torch.cuda.device_count())" 2>&1)" \
  || fail "PyTorch failed to start: $cuda_check"
read -r torch_version cuda_version cuda_ok gpu_count <<<"$cuda_check"
[ "$cuda_ok" = "True" ] || fail "PyTorch $torch_version (CUDA $cuda_version) sees no usable GPU (torch.cuda.is_available() is False)"

# libtorch_cuda.so finds cuDNN/cuBLAS/NCCL from the pip nvidia-* wheels beside torch; say so to the dynamic linker too.
site_packages="$(dirname "$torch_dir")"
lib_path="$torch_lib"
for nvidia_lib in "$site_packages"/nvidia/*/lib "$site_packages"/nvidia/lib; do
  [ -d "$nvidia_lib" ] && lib_path="$lib_path:$nvidia_lib"
done
export LD_LIBRARY_PATH="$lib_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export SAMCLUSTER_LIBTORCH="$torch_lib"
export DOTNET_CLI_TELEMETRY_OPTOUT=1

mkdir -p "$out"
steps=("$@"); [ ${#steps[@]} -gt 0 ] || steps=(train-one bench grid)
{
  echo "PyTorch $torch_version, CUDA $cuda_version, $gpu_count GPU(s); libtorch from $torch_lib"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
} | tee "$out/environment.txt"

failed=()
run_step() {
  local name="$1"; shift
  echo "== $name: $*" | tee -a "$out/steps.log"
  local started=$SECONDS
  "$@"
  local status=$?
  echo "== $name: exit $status after $((SECONDS - started)) s" | tee -a "$out/steps.log"
  [ $status -eq 0 ] || failed+=("$name")
}

for step in "${steps[@]}"; do
  case "$step" in
    train-one)
      run_step train-one bash -c '"$0" train-one --dataset fashion-mnist --data "$1/data/fashion-mnist" --model resnet18 \
        --optimizer sam --epochs 2 --device cuda:0 > "$2/train-one.jsonl"' "$samcluster" "$here" "$out" ;;
    bench)
      run_step bench bash -c '"$0" bench --device cuda:0 --peer "$1/bench/pytorch_peer.py" 2>&1 | tee "$2/bench.txt"' \
        "$samcluster" "$here" "$out" ;;
    grid)
      # A fresh run folder each time: `local` resumes a folder that holds this grid's run, and we want new timings.
      run_step grid "$samcluster" local "$here/gpu-grid.yaml" --nodes 1 --devices cuda:0 --slots 2 \
        --out "$out/grid-run-$(date -u +%Y%m%dT%H%M%S)" ;;
    *) fail "unknown step '$step' (train-one, bench, grid)" ;;
  esac
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "run-on-gpu: failed: ${failed[*]} (see $out/steps.log and the output above)" >&2
  exit 1
fi
echo "run-on-gpu: all steps passed; outputs in $out" >&2
