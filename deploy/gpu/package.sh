#!/usr/bin/env bash
# Builds the folder that is carried to a GPU machine that has python3 + PyTorch (CUDA) but no .NET SDK:
#   .carry/gpu/samcluster-bin.tar.xz   samcluster, self-contained linux-x64, without the bundled CPU libtorch (the GPU
#                                      machine's PyTorch provides libtorch), with bench/pytorch_peer.py (the PyTorch peer
#                                      of `samcluster bench`) beside it; run-on-gpu.sh unpacks it on first use
#   .carry/gpu/data/fashion-mnist/     the four IDX .gz files
#   .carry/gpu/gpu-grid.yaml, paper.yaml, run-on-gpu.sh, make-dogs-stand-in.py
#   deploy/gpu/package.sh [OUT_DIR]      (default: .carry/gpu; refuses a non-empty OUT_DIR it did not make)
# Needs only this repository, the .NET SDK and the Fashion-MNIST files (deploy/setup.sh installs them).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/.carry/gpu}"
limit_mib=60
fashion=/usr/share/datasets/fashion-mnist

fail() { echo "package: $*" >&2; exit 2; }
command -v dotnet >/dev/null || fail "the .NET SDK is required to build the package"
command -v xz >/dev/null || fail "xz is required to pack the program (apt-get install xz-utils)"
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  [ -f "$fashion/$f" ] || fail "missing $fashion/$f (run deploy/setup.sh)"
done
# Never wipe a folder someone else filled: only one that holds our marker.
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ] && [ ! -f "$out/.samcluster-gpu-package" ]; then
  fail "$out exists, is not empty and is not a package folder; choose another OUT_DIR"
fi
rm -rf "$out"
mkdir -p "$out/data/fashion-mnist"
touch "$out/.samcluster-gpu-package"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

# Self-contained so the GPU machine needs no .NET. TrimMode=partial trims only the framework's own (trim-safe)
# assemblies, 89 -> 38 MB; Akka, TorchSharp, linq2db and the rest, which bind by reflection, are kept whole. Reflection
# JSON stays on (the run folder's run.json). Not single-file: TorchSharp finds libLibTorchSharp.so beside its assembly.
# Its own artifacts folder: restoring without libtorch must not touch the obj/ of this checkout's ordinary builds.
echo "package: publishing samcluster (self-contained linux-x64, framework trimmed)..." >&2
# No ReadyToRun pass over the build output (-p:SAMCLUSTER_READY_TO_RUN=0): publish takes its files from the packages, and
# precompiled images would not fit the carry limit anyway (about twice the IL's size).
dotnet publish "$root/src/Cli/SamCluster.Cli.csproj" -c Release -r linux-x64 --self-contained true -p:TorchBackend=external \
  -p:SAMCLUSTER_READY_TO_RUN=0 \
  --artifacts-path "$stage/artifacts" \
  -p:PublishTrimmed=true -p:TrimMode=partial -p:SuppressTrimAnalysisWarnings=true \
  -p:JsonSerializerIsReflectionEnabledByDefault=true \
  -p:DebugType=none -p:DebugSymbols=false -p:GenerateDocumentationFile=false \
  -o "$stage/bin" -nologo -v q -clp:ErrorsOnly >&2

# libtorch comes from the GPU machine's PyTorch (SAMCLUSTER_LIBTORCH). Remove the NuGet CPU build of it, keep
# libLibTorchSharp.so (TorchSharp's own glue, patched by the build for older libstdc++).
# The .NET debugger/diagnostics libraries are not needed to run.
bin="$stage/bin"
shopt -s nullglob
removed=0
for lib in "$bin"/libtorch*.so* "$bin"/libc10*.so* "$bin"/libgomp*.so* "$bin"/libbackend_with_compiler.so \
           "$bin"/libjitbackend_test.so "$bin"/libtorchbind_test.so "$bin"/libshm.so "$bin"/libfbjni.so \
           "$bin"/libpytorch_jni.so "$bin"/libnnapi_backend.so "$bin"/libaoti_custom_ops.so \
           "$bin"/libmscordaccore.so "$bin"/libmscordbi.so "$bin"/createdump "$bin"/libcoreclrtraceptprovider.so; do
  [ -e "$lib" ] && { rm -f "$lib"; removed=$((removed + 1)); }
done
[ -f "$bin/libLibTorchSharp.so" ] || fail "libLibTorchSharp.so missing from the publish output"
[ -x "$bin/samcluster" ] || fail "the samcluster executable is missing from the publish output"
[ -f "$bin/bench/pytorch_peer.py" ] || fail "bench/pytorch_peer.py (from src/Cli/Bench/) is missing from the publish output"
echo "package: removed $removed bundled libtorch and diagnostics files; program is $(du -sh "$bin" | cut -f1) unpacked" >&2
# xz, not gzip: 24 MB instead of 33, which keeps the package under the carry limit.
tar -cf - -C "$stage" bin | xz -T0 -6 >"$out/samcluster-bin.tar.xz"

cp "$fashion"/*-ubyte.gz "$out/data/fashion-mnist/"
cp "$root/deploy/gpu/run-on-gpu.sh" "$out/run-on-gpu.sh"
cp "$root/deploy/gpu/gpu-grid.yaml" "$out/gpu-grid.yaml"
cp "$root/deploy/gpu/make-dogs-stand-in.py" "$out/"
cp "$root/deploy/grids/paper.yaml" "$out/paper.yaml"
chmod +x "$out/run-on-gpu.sh" "$out/make-dogs-stand-in.py"

size_kib=$(du -sk "$out" | cut -f1)
size_mib=$(( (size_kib + 1023) / 1024 ))
echo "package: $out is $size_mib MiB ($(find "$out" -type f | wc -l) files)" >&2
if [ "$size_mib" -ge "$limit_mib" ]; then
  fail "$out is $size_mib MiB, over the $limit_mib MiB carry limit; largest files: $(cd "$out" && du -a | sort -rn | sed -n 2,6p | tr '\n' ' ')"
fi
echo "$out"
