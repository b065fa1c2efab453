#!/usr/bin/env bash
# The one command that proves SamCluster's GPU route on a GPU machine, run from the folder deploy/gpu/package.sh made
# (python3 with a CUDA PyTorch needed; no .NET). Binds samcluster to that PyTorch's libtorch (or to SAMCLUSTER_LIBTORCH)
# and runs, writing everything under $OUT (else ./out):
#   load        `samcluster devices`: TorchSharp binds to this libtorch and sees the GPUs   -> devices.txt
#   train-one   1 trial, ResNet-18 + SAM on Fashion-MNIST, cuda:0, 2 epochs                 -> train-one.jsonl
#   bench       training-step img/s, samcluster beside PyTorch eager on cuda:0, and each SGD/SAM case as a pack of
#               BENCH_PACK (default 5) repeats trained as one fused model                    -> bench.txt
#   grid        `samcluster local gpu-grid.yaml` with its defaults: one node per GPU        -> grid-run-*/
#   paper       the study's 40-trial grid (paper.yaml), only when named: Stanford Dogs from SAMCLUSTER_DOGS (its
#               Images/ folder), else a synthetic stand-in of the same shape, for wall time only -> paper-run-*/
#               (PAPER_SLOTS trials at once per node, default 2, as GRID_SLOTS for grid: more was slower on an H100)
#   paper-packed the same grid with `--pack PAPER_PACK` (default 5): each cell's repeats trained as one fused model,
#               only when named                                                              -> paper-packed-run-*/
#   GRID_NODES_PER_GPU / PAPER_NODES_PER_GPU=K (default 1): K node processes per GPU instead of one. libtorch runs the
#   backward passes of all of a process's trials on one thread per device; separate processes each have their own.
# and one results file, results.md: the machine, then each step's command, exit status, time and what it produced.
#   ./run-on-gpu.sh                 every step;   ./run-on-gpu.sh bench grid   these (after load, which always runs)
#   ./run-on-gpu.sh --cpu [STEP...] the same route on the CPU, cut small: checks a package on a machine without a GPU
#                                   (libtorch: SAMCLUSTER_LIBTORCH, else python3's torch/lib; CPU-only is fine)
# Exit status: 0 every step passed; 1 a step failed (the others still run); 2 nothing could run: no PyTorch/CUDA here,
# or samcluster cannot bind to this libtorch (then the loader's own error and the libtorch version found are printed).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
device=cuda torch_device=cuda:0
if [ "${1:-}" = "--cpu" ]; then device=cpu torch_device=cpu; shift; fi
out="${OUT:-$here/out}"
# The program is carried packed; it is unpacked once into a work folder (the package folder may be read-only).
work="${SAMCLUSTER_GPU_WORK:-${TMPDIR:-/tmp}/samcluster-gpu}"
samcluster="$work/bin/samcluster"

fail() { echo "run-on-gpu: $*" >&2; [ -d "$out" ] && printf '\n**Stopped:** %s\n' "$*" >>"$out/results.md"; exit 2; }

steps=("$@"); [ ${#steps[@]} -gt 0 ] || steps=(train-one bench grid)
for step in "${steps[@]}"; do
  [[ "$step" != paper* ]] || [ "$device" = cuda ] || { echo "run-on-gpu: the paper step needs a GPU (it is hours on a CPU); leave out --cpu" >&2; exit 2; }
  case "$step" in train-one|bench|grid|paper|paper-packed) ;; *) echo "run-on-gpu: unknown step '$step' (train-one, bench, grid, paper, paper-packed; --cpu first)" >&2; exit 2 ;; esac
done

packed="$here/samcluster-bin.tar.xz"
[ -f "$packed" ] || fail "$packed is missing; run this from the folder deploy/gpu/package.sh made"
# tar -J needs the xz program; where it is missing, Python's tarfile reads xz itself.
unpack() {
  tar -xJf "$packed" -C "$work" 2>/dev/null && return 0
  rm -rf "$work/bin"
  local py; for py in python3 /usr/bin/python3; do
    "$py" -c 'import sys, tarfile; t = tarfile.open(sys.argv[1]); t.extractall(sys.argv[2], **({"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}))' \
      "$packed" "$work" 2>/dev/null && return 0
  done
  return 1
}
if [ ! -x "$samcluster" ] || [ "$packed" -nt "$samcluster" ]; then
  rm -rf "$work/bin" && mkdir -p "$work" && unpack \
    || fail "cannot unpack $packed into $work (needs xz or python3; set SAMCLUSTER_GPU_WORK to a writable folder)"
  touch "$samcluster"
fi

# PyTorch: the libtorch to bind to (unless SAMCLUSTER_LIBTORCH names one) and the peer of `bench`. The first python3 on
# PATH may lack torch (a pyenv shim); Debian's lives in /usr/bin. PYTHON=... picks one.
python=""
if [ -n "${PYTHON:-}" ]; then candidates=("$PYTHON"); else candidates=(python3 /usr/bin/python3); fi
for candidate in "${candidates[@]}"; do
  if "$candidate" -c "import torch" >/dev/null 2>&1; then python="$(command -v "$candidate")"; break; fi
done
torch_version="" cuda_version="" cuda_ok="" gpu_count="" torch_dir=""
if [ -n "$python" ]; then
  read -r torch_version cuda_version cuda_ok gpu_count torch_dir < <("$python" -c \
    "import torch, os; print(torch.__version__, torch.version.cuda, torch.cuda.is_available(), torch.cuda.device_count(), os.path.dirname(torch.__file__))" 2>/dev/null)
  # samcluster bench runs the peer with the python3 on PATH: make it this one.
  export PATH="$(dirname "$python"):$PATH"
fi
libtorch="${SAMCLUSTER_LIBTORCH:-}"
if [ -z "$libtorch" ]; then
  [ -n "$torch_dir" ] || fail "no python3 with torch here (install PyTorch with CUDA, set PYTHON=..., or set SAMCLUSTER_LIBTORCH to a libtorch folder)"
  libtorch="$torch_dir/lib"
fi
if [ "$device" = cuda ]; then
  [ -f "$libtorch/libtorch_cuda.so" ] || fail "the libtorch in $libtorch has no libtorch_cuda.so (a CPU-only build); a CUDA build is needed (or --cpu)"
  [ -z "$python" ] || [ "$cuda_ok" = True ] \
    || fail "PyTorch $torch_version (CUDA $cuda_version) sees no usable GPU (torch.cuda.is_available() is False); --cpu checks the rest"
fi

# libtorch_cuda.so finds cuDNN/cuBLAS/NCCL from the pip nvidia-* wheels beside torch; say so to the dynamic linker too.
lib_path="$libtorch"
if [ -n "$torch_dir" ]; then
  for nvidia_lib in "$(dirname "$torch_dir")"/nvidia/*/lib "$(dirname "$torch_dir")"/nvidia/lib; do
    [ -d "$nvidia_lib" ] && lib_path="$lib_path:$nvidia_lib"
  done
fi
export LD_LIBRARY_PATH="$lib_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export SAMCLUSTER_LIBTORCH="$libtorch"
export DOTNET_CLI_TELEMETRY_OPTOUT=1

mkdir -p "$out" || fail "cannot create $out (set OUT=...)"
results="$out/results.md"
{
  echo "# SamCluster GPU route, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "- device: $device$([ "$device" = cpu ] && echo ' (--cpu: the route checked on the CPU, cut small; no GPU figures)')"
  echo "- host: $(uname -n), $(nproc) cores"
  echo "- libtorch: $libtorch"
  if [ -n "$python" ]; then echo "- PyTorch: $torch_version (CUDA $cuda_version, available: $cuda_ok, $gpu_count GPU(s)), $python"
  else echo "- PyTorch: none (bench shows samcluster's figures only)"; fi
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader | sed 's/^/- GPU /'
  fi
} >"$results"
cat "$results"

# A file as a fenced block for results.md; nothing for a missing or empty one.
fenced() { [ -s "$1" ] || return 0; echo '```'; cat "$1"; echo '```'; }

# load: the first thing that can go wrong on a new machine is TorchSharp binding to this libtorch. samcluster prints
# the loader's own error and the version it found there; PyTorch's own version is said beside it.
"$samcluster" devices >"$out/devices.txt" 2>"$out/devices.err"
load_status=$?
{ echo; echo "## load: samcluster devices (exit $load_status)"; echo; fenced "$out/devices.txt"; fenced "$out/devices.err"; } >>"$results"
if [ $load_status -ne 0 ]; then
  cat "$out/devices.err" >&2
  fail "samcluster cannot use the libtorch in $libtorch${torch_version:+ (PyTorch $torch_version)}: see the line above; TorchSharp 0.107 is built for libtorch 2.10 (2.11 binds too) — point SAMCLUSTER_LIBTORCH at a libtorch of those versions"
fi
cat "$out/devices.txt"
if [ "$device" = cuda ] && ! grep -q '^cuda: [1-9]' "$out/devices.txt"; then
  fail "samcluster sees no GPU through $libtorch (see $out/devices.txt)"
fi

# nodes_per_gpu VARIABLE: `--nodes N` for VARIABLE=K node processes per GPU (local gives node k GPU k mod the count),
# nothing for the default of one per GPU; a value that is not a positive whole number stops the script.
nodes_per_gpu() {
  local per_gpu="${!1:-1}"
  [[ "$per_gpu" =~ ^[1-9][0-9]?$ ]] || fail "$1=$per_gpu: give a whole number of node processes per GPU, 1 to 99"
  [ "$per_gpu" -eq 1 ] || echo "--nodes $((per_gpu * ${gpu_count:-1}))"
}
for variable in GRID_NODES_PER_GPU PAPER_NODES_PER_GPU; do nodes_per_gpu "$variable" >/dev/null; done

failed=()
# run_step NAME STDOUT COMMAND...: runs it with its output in NAME.log and on the console (with STDOUT other than -,
# its standard output goes to that file instead), and its command, time and exit status in results.md.
run_step() {
  local name="$1" stdout="$2"; shift 2
  echo "== $name: $*" | tee -a "$out/steps.log"
  local started=$SECONDS status
  if [ "$stdout" = - ]; then
    "$@" 2>&1 | tee "$out/$name.log"; status=${PIPESTATUS[0]}
  else
    "$@" 2>&1 >"$stdout" | tee "$out/$name.log"; status=${PIPESTATUS[0]}
  fi
  local took=$((SECONDS - started))
  echo "== $name: exit $status after $took s" | tee -a "$out/steps.log"
  { echo; echo "## $name: exit $status after $took s"; echo; echo "\`$*\`"; echo; } >>"$results"
  [ $status -eq 0 ] || failed+=("$name")
  return $status
}

threads=$(nproc)
for step in "${steps[@]}"; do
  case "$step" in
    train-one)
      if [ "$device" = cuda ]; then limits=(--epochs 2); else limits=(--epochs 1 --train-limit 2000 --test-limit 500 --threads "$threads"); fi
      # stdout is the JSON lines; stderr (loading, the final accuracy) goes to the log.
      run_step train-one "$out/train-one.jsonl" "$samcluster" train-one --dataset fashion-mnist --data "$here/data/fashion-mnist" --model resnet18 --optimizer sam \
        --device "$torch_device" "${limits[@]}"
      { echo "epochs (train-one.jsonl):"; fenced "$out/train-one.jsonl"; fenced "$out/train-one.log"; } >>"$results" ;;
    bench)
      if [ "$device" = cuda ]; then sizes=(--pack "${BENCH_PACK:-5}"); else sizes=(--models resnet18 --inputs 1x28 --steps 2 --batch-size 32 --threads "$threads" --pack 2); fi
      run_step bench - "$samcluster" bench --device "$torch_device" "${sizes[@]}"
      cp "$out/bench.log" "$out/bench.txt"
      fenced "$out/bench.txt" >>"$results"
      # A bench without its PyTorch column has not shown what it is for.
      if grep -q '^pytorch peer: \|^  peer: failed' "$out/bench.txt"; then
        echo "bench: the PyTorch peer did not run (see above)" | tee -a "$results" >&2
        [[ " ${failed[*]} " == *" bench "* ]] || failed+=(bench)
      fi ;;
    grid)
      # A fresh run folder each time: `local` resumes a folder that holds this grid's run, and we want new timings.
      run_dir="$out/grid-run-$(date -u +%Y%m%dT%H%M%S)"
      if [ "$device" = cuda ]; then
        grid="$here/gpu-grid.yaml"; placement=(--slots "${GRID_SLOTS:-2}" $(nodes_per_gpu GRID_NODES_PER_GPU))   # no --devices: local deals the GPUs out
      else
        grid="$out/cpu-check-grid.yaml"; placement=()       # no GPU here: local's default, 2 CPU nodes
        cat >"$grid" <<EOF
# run-on-gpu.sh --cpu: the GPU grid cut to 2 one-epoch trials on 1,000 images, to check the route on a CPU.
datasets: [fashion-mnist]
models: [resnet18]
optimizers: [sgd, sam]
repeats: 1
recipe:
  epochs: 1
data:
  fashion-mnist:
    path: $here/data/fashion-mnist
    train_limit: 1000
    test_limit: 500
EOF
      fi
      run_step grid - "$samcluster" local "$grid" "${placement[@]}" --out "$run_dir"
      grep -h "workers on" "$run_dir"/logs/node-*.log >"$out/grid-nodes.txt" 2>/dev/null
      { echo "run folder: $run_dir"; echo; echo "nodes (local's default placement):"; fenced "$out/grid-nodes.txt"
        echo; echo "trials.csv:"; fenced "$run_dir/trials.csv"; echo; sed 's/^#/##/' "$run_dir/report.md" 2>/dev/null; } >>"$results" ;;
    paper|paper-packed)
      run_dir="$out/$step-run-$(date -u +%Y%m%dT%H%M%S)"
      dogs="${SAMCLUSTER_DOGS:-}" stand_in=""
      if [ -z "$dogs" ]; then
        dogs="$work/dogs-stand-in"; stand_in=" (synthetic stand-in: accuracies mean nothing, wall time does)"
        [ -d "$dogs" ] || "${python:-python3}" "$here/make-dogs-stand-in.py" "$dogs" || { failed+=("$step"); continue; }
      fi
      grid="$out/paper-grid.yaml"
      sed -e "s#path: /data/stanford-dogs/Images#path: $dogs#" -e "s#path: /usr/share/datasets/fashion-mnist#path: $here/data/fashion-mnist#" \
        "$here/paper.yaml" >"$grid"
      placement=(--slots "${PAPER_SLOTS:-2}" $(nodes_per_gpu PAPER_NODES_PER_GPU))
      [ "$step" = paper ] || placement+=(--pack "${PAPER_PACK:-5}")
      run_step "$step" - "$samcluster" local "$grid" "${placement[@]}" --out "$run_dir"
      { echo "run folder: $run_dir"; echo "Stanford Dogs: $dogs$stand_in"; echo
        echo "trials.csv:"; fenced "$run_dir/trials.csv"; echo; sed 's/^#/##/' "$run_dir/report.md" 2>/dev/null; } >>"$results" ;;
  esac
done

{ echo; echo "## verdict"; echo; } >>"$results"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}" >>"$results"
  echo "run-on-gpu: failed: ${failed[*]} (see $results)" >&2
  exit 1
fi
echo "every step passed: ${steps[*]}" >>"$results"
echo "run-on-gpu: all steps passed; results in $results" >&2
