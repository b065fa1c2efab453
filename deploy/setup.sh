#!/usr/bin/env bash
# One-time set-up of a Debian/Ubuntu machine that has the .NET SDK: installs what is missing (the Fashion-MNIST data
# package), restores and builds SamCluster (Release). Safe to run again: it only does what is still needed.
#   deploy/setup.sh            set-up and build
#   deploy/setup.sh --bench    also install Debian's PyTorch (python3-torch), the peer of `samcluster bench`
#   deploy/setup.sh --dev      the same, SciPy, Chromium and PostgreSQL's server, for the tests (one loads exported
#                              weights with torch.load; the power figures are checked against scipy.stats.nct; the
#                              live page is tested in a headless Chromium; the PostgreSQL journal tests start a server
#                              of their own from /usr/lib/postgresql/*/bin; group-sequential boundaries are checked
#                              against R's rpact)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET SDK (10 or later) is required: https://dot.net" >&2
  exit 1
fi

packages=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || packages+=(dataset-fashion-mnist)
if [[ "${1:-}" == "--bench" || "${1:-}" == "--dev" ]] && ! /usr/bin/python3 -c "import torch" >/dev/null 2>&1; then packages+=(python3-torch); fi
if [[ "${1:-}" == "--dev" ]] && ! /usr/bin/python3 -c "import scipy.stats" >/dev/null 2>&1; then packages+=(python3-scipy); fi
if [[ "${1:-}" == "--dev" ]] && ! command -v chromium >/dev/null 2>&1; then packages+=(chromium); fi
if [[ "${1:-}" == "--dev" ]] && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then packages+=(postgresql); fi
if [[ "${1:-}" == "--dev" ]] && ! Rscript -e 'library(rpact)' >/dev/null 2>&1; then packages+=(r-cran-rpact); fi
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${packages[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

echo "setup: restoring and building (Release)" >&2
dotnet build SamCluster.sln -c Release -nologo -v q -clp:ErrorsOnly
# ./samcluster keeps its own build in .build/; make it now so the first run starts at once.
./samcluster --version >/dev/null
echo "setup: done" >&2
