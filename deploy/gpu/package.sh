#!/usr/bin/env bash
# Builds the folder that is carried to a GPU machine that has python3 + PyTorch (CUDA) but no .NET SDK:
#   .carry/gpu/  = samcluster (self-contained linux-x64, without the bundled CPU libtorch: the GPU machine's PyTorch
#                  provides libtorch), Fashion-MNIST .gz files, the PyTorch peer benchmark, a grid, run-on-gpu.sh.
#   deploy/gpu/package.sh [OUT_DIR]      (default: .carry/gpu; refuses a non-empty OUT_DIR it did not make)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/.carry/gpu}"
limit_mib=60
fashion=/usr/share/datasets/fashion-mnist
peer="$root/../shared/bench/pytorch_peer.py"

fail() { echo "package: $*" >&2; exit 2; }
command -v dotnet >/dev/null || fail "the .NET SDK is required to build the package"
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  [ -f "$fashion/$f" ] || fail "missing $fashion/$f (run deploy/setup.sh)"
done
[ -f "$peer" ] || fail "missing $peer (the PyTorch peer of 'samcluster bench')"
# Never wipe a folder someone else filled: only one that holds our marker.
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ] && [ ! -f "$out/.samcluster-gpu-package" ]; then
  fail "$out exists, is not empty and is not a package folder; choose another OUT_DIR"
fi
rm -rf "$out"
mkdir -p "$out/bin" "$out/data/fashion-mnist" "$out/bench"
touch "$out/.samcluster-gpu-package"

# Self-contained so the GPU machine needs no .NET. Not IL-trimmed: Akka (HOCON type names, serializers) and
# TorchSharp bind by reflection, which trimming breaks; framework-only trimming saved too little to be worth the risk.
# Not single-file: TorchSharp finds libLibTorchSharp.so beside its assembly on disk.
echo "package: publishing samcluster (self-contained linux-x64)..." >&2
dotnet publish "$root/src/Cli/SamCluster.Cli.csproj" -c Release -r linux-x64 --self-contained true \
  -p:DebugType=none -p:DebugSymbols=false -p:GenerateDocumentationFile=false \
  -o "$out/bin" -nologo -v q -clp:ErrorsOnly >&2

# libtorch comes from the GPU machine's PyTorch (SAMCLUSTER_LIBTORCH). Remove the NuGet CPU build of it, keep
# libLibTorchSharp.so (TorchSharp's own glue, patched by the build for older libstdc++).
shopt -s nullglob
removed=0
for lib in "$out"/bin/libtorch*.so* "$out"/bin/libc10*.so* "$out"/bin/libgomp*.so* "$out"/bin/libbackend_with_compiler.so \
           "$out"/bin/libjitbackend_test.so "$out"/bin/libtorchbind_test.so "$out"/bin/libshm.so "$out"/bin/libfbjni.so \
           "$out"/bin/libpytorch_jni.so "$out"/bin/libnnapi_backend.so "$out"/bin/libaoti_custom_ops.so; do
  rm -f "$lib"; removed=$((removed + 1))
done
[ -f "$out/bin/libLibTorchSharp.so" ] || fail "libLibTorchSharp.so missing from the publish output"
echo "package: removed $removed bundled libtorch files" >&2

cp "$fashion"/*-ubyte.gz "$out/data/fashion-mnist/"
cp "$peer" "$out/bench/pytorch_peer.py"
cp "$root/deploy/gpu/run-on-gpu.sh" "$out/run-on-gpu.sh"
cp "$root/deploy/gpu/gpu-grid.yaml" "$out/gpu-grid.yaml"
chmod +x "$out/run-on-gpu.sh" "$out/bin/samcluster"

size_kib=$(du -sk "$out" | cut -f1)
size_mib=$(( (size_kib + 1023) / 1024 ))
echo "package: $out is $size_mib MiB ($(find "$out" -type f | wc -l) files)" >&2
if [ "$size_mib" -ge "$limit_mib" ]; then
  fail "$out is $size_mib MiB, over the $limit_mib MiB carry limit; largest files: $(cd "$out" && du -a | sort -rn | sed -n 2,6p | tr '\n' ' ')"
fi
echo "$out"
