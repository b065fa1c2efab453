#!/usr/bin/env bash
# Ballistic fault test: runs a grid on a coordinator and N node processes (127.0.0.1) while killing (kill -9) a random
# node or the coordinator every MIN..MAX seconds, up to KILLS times, restarting whatever it killed; then lets the grid
# finish and checks that every trial appears exactly once in trials.csv and that the report was written.
#   tests/ballistic/ballistic.sh [--grid deploy/grids/quick.yaml] [--kills 10] [--min-gap 5] [--max-gap 20] [--nodes 2]
#                                [--out DIR] [--timeout 1800] [--only coordinator|nodes] [--port PORT]
# Prints: kills survived / trials / duplicates / wall time. Exit 0 when the run is whole, 1 otherwise.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$root/tests/ballistic/run-check.sh"
grid="$root/deploy/grids/quick.yaml"; kills=10; min_gap=5; max_gap=20; nodes=2; out=""; timeout_s=1800; only=""; port=""
samcluster_dll="${SAMCLUSTER_DLL:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --grid) grid="$2"; shift 2 ;; --kills) kills="$2"; shift 2 ;; --min-gap) min_gap="$2"; shift 2 ;;
    --max-gap) max_gap="$2"; shift 2 ;; --nodes) nodes="$2"; shift 2 ;; --out) out="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;; --only) only="$2"; shift 2 ;; --port) port="$2"; shift 2 ;;
    *) echo "ballistic: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$samcluster_dll" ]; then
  "$root/samcluster" --version >/dev/null || exit 1   # builds once
  samcluster_dll="$root/.build/samcluster/samcluster.dll"
fi
work="$(mktemp -d /tmp/samcluster-ballistic-XXXXXX)"
[ -n "$out" ] || out="$work/run"
[ -n "$port" ] || port=$(( 20000 + RANDOM % 30000 ))
sc() { dotnet "$samcluster_dll" "$@"; }
expected=$(sc validate "$grid" --trials | tail -n +2 | grep -c . ) || { echo "ballistic: grid $grid does not validate" >&2; exit 2; }

declare -A pid
# dotnet is started directly (not through a function) so that $! is its pid, the process kill -9 must hit.
start_coordinator() {
  dotnet "$samcluster_dll" coordinator "$grid" --out "$out" --port "$port" >>"$work/coordinator.log" 2>&1 &
  pid[coordinator]=$!
}
start_node() {
  dotnet "$samcluster_dll" node --coordinator "127.0.0.1:$port" --devices cpu --threads 1 --name "node-$1" --join-timeout 600 >>"$work/node-$1.log" 2>&1 &
  pid[node-$1]=$!
}
cleanup() { for p in "${pid[@]}"; do kill -TERM "$p" 2>/dev/null; done; sleep 2; for p in "${pid[@]}"; do kill -KILL "$p" 2>/dev/null; done; }
trap cleanup EXIT

began=$(date +%s)
start_coordinator
# The nodes start once the coordinator listens (as `local` starts its own): one started earlier finds no one there and
# tries again only after Akka's seed-node timeout.
for _ in $(seq 1 1200); do
  grep -q "Coordinator up at" "$work/coordinator.log" 2>/dev/null && break
  kill -0 "${pid[coordinator]}" 2>/dev/null || break
  sleep 0.1
done
for k in $(seq 1 "$nodes"); do start_node "$k"; done

survived=0; coordinator_kills=0; node_kills=0
while [ "$survived" -lt "$kills" ]; do
  sleep $(( min_gap + RANDOM % (max_gap - min_gap + 1) ))
  kill -0 "${pid[coordinator]}" 2>/dev/null || break          # the grid finished (or the coordinator failed)
  victims=(); [ "$only" = nodes ] || victims+=(coordinator)
  if [ "$only" != coordinator ]; then for k in $(seq 1 "$nodes"); do victims+=("node-$k"); done; fi
  victim=${victims[$(( RANDOM % ${#victims[@]} ))]}
  kill -KILL "${pid[$victim]}" 2>/dev/null; wait "${pid[$victim]}" 2>/dev/null
  echo "ballistic: $(date +%T) killed $victim (kill $((survived + 1)) of $kills)"
  if [ "$victim" = coordinator ]; then coordinator_kills=$((coordinator_kills + 1)); start_coordinator
  else node_kills=$((node_kills + 1)); start_node "${victim#node-}"; fi
  survived=$((survived + 1))
done

# Let it finish.
wait_for_grid ballistic

count_trials
echo "ballistic: kills survived $survived (coordinator $coordinator_kills, nodes $node_kills) / trials $unique of $expected / duplicates $duplicates / wall time ${wall}s"
check_run ballistic
if [ "$ok" -eq 1 ]; then echo "ballistic: PASS (run folder $out, logs $work)"; exit 0; fi
echo "--- coordinator log tail"; tail -30 "$work/coordinator.log"
exit 1
