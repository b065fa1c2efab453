#!/usr/bin/env bash
# Ballistic partition test (the long form of PartitionTests): the coordinator and N nodes each in their own network
# namespace, joined by veth links to a bridge in a namespace of its own (private addresses 10.213.S.K/24; the host's
# network is not touched). Every MIN..MAX seconds a random node's link goes down for a random 2..MAX_CUT seconds —
# some cuts shorter than the failure detector, some long enough to get the node downed — up to CUTS times; then the
# grid finishes and every trial must be in trials.csv exactly once, with the report written. Needs root.
#   tests/ballistic/partitions.sh [--grid deploy/grids/quick.yaml] [--cuts 6] [--min-gap 10] [--max-gap 30]
#                                 [--max-cut 60] [--nodes 2] [--out DIR] [--timeout 3600]
# Prints each cut and, at the end: cuts / trials / duplicates / wall time. Exit 0 when the run is whole, 1 otherwise,
# 2 for bad arguments or no root. Namespaces are removed on exit, whatever happens.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$root/tests/ballistic/run-check.sh"
grid="$root/deploy/grids/quick.yaml"; cuts=6; min_gap=10; max_gap=30; max_cut=60; nodes=2; out=""; timeout_s=3600
samcluster_dll="${SAMCLUSTER_DLL:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --grid) grid="$2"; shift 2 ;; --cuts) cuts="$2"; shift 2 ;; --min-gap) min_gap="$2"; shift 2 ;;
    --max-gap) max_gap="$2"; shift 2 ;; --max-cut) max_cut="$2"; shift 2 ;; --nodes) nodes="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;; --timeout) timeout_s="$2"; shift 2 ;;
    *) echo "partitions: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "partitions: network namespaces need root" >&2; exit 2; }
[ "$nodes" -ge 1 ] && [ "$nodes" -le 50 ] || { echo "partitions: --nodes must be 1-50" >&2; exit 2; }
if [ -z "$samcluster_dll" ]; then
  "$root/samcluster" --version >/dev/null || exit 1   # builds once
  samcluster_dll="$root/.build/samcluster/samcluster.dll"
fi
work="$(mktemp -d /tmp/samcluster-partitions-XXXXXX)"
[ -n "$out" ] || out="$work/run"
expected=$(dotnet "$samcluster_dll" validate "$grid" --trials | tail -n +2 | grep -c . ) || { echo "partitions: grid $grid does not validate" >&2; exit 2; }

net="scp$(( RANDOM % 9000 + 1000 ))"; subnet=$(( RANDOM % 249 + 1 ))
address() { echo "10.213.$subnet.$(( $1 + 1 ))"; }     # member 0 is the coordinator, k the k-th node
namespaces=()
declare -A pid
cleanup() {
  for p in "${pid[@]}"; do kill -TERM "$p" 2>/dev/null; done; sleep 2; for p in "${pid[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
}
trap cleanup EXIT

ip netns add "$net-br" && namespaces+=("$net-br") || exit 1
ip -n "$net-br" link set lo up && ip -n "$net-br" link add br0 type bridge && ip -n "$net-br" link set br0 up || exit 1
for m in $(seq 0 "$nodes"); do
  ns="$net-$m"; ip netns add "$ns" && namespaces+=("$ns") || exit 1
  ip -n "$ns" link set lo up &&
    ip -n "$ns" link add "${net}m$m" type veth peer name "${net}b$m" netns "$net-br" &&
    ip -n "$net-br" link set "${net}b$m" master br0 && ip -n "$net-br" link set "${net}b$m" up &&
    ip -n "$ns" addr add "$(address "$m")/24" dev "${net}m$m" && ip -n "$ns" link set "${net}m$m" up || exit 1
done

port=2552
ip netns exec "$net-0" dotnet "$samcluster_dll" coordinator "$grid" --out "$out" --host "$(address 0)" --port "$port" >>"$work/coordinator.log" 2>&1 &
pid[coordinator]=$!
sleep 2
for k in $(seq 1 "$nodes"); do
  ip netns exec "$net-$k" dotnet "$samcluster_dll" node --coordinator "$(address 0):$port" --host "$(address "$k")" --devices cpu \
    --threads 1 --name "node-$k" --join-timeout 600 >>"$work/node-$k.log" 2>&1 &
  pid[node-$k]=$!
done

began=$(date +%s)
done_cuts=0
while [ "$done_cuts" -lt "$cuts" ]; do
  sleep $(( min_gap + RANDOM % (max_gap - min_gap + 1) ))
  kill -0 "${pid[coordinator]}" 2>/dev/null || break          # the grid finished (or the coordinator failed)
  k=$(( RANDOM % nodes + 1 )); length=$(( 2 + RANDOM % (max_cut - 1) ))
  echo "partitions: $(date +%T) node-$k cut off for ${length}s (cut $((done_cuts + 1)) of $cuts)"
  ip -n "$net-br" link set "${net}b$k" down; sleep "$length"; ip -n "$net-br" link set "${net}b$k" up
  done_cuts=$((done_cuts + 1))
done

wait_for_grid partitions

count_trials
lost=$(grep -cE "Worker [^ ]+ lost \(" "$work/coordinator.log")
echo "partitions: cuts $done_cuts / nodes downed $lost / trials $unique of $expected / duplicates $duplicates / wall time ${wall}s"
check_run partitions
[ "$ok" -eq 1 ] && { echo "partitions: OK"; exit 0; }
echo "partitions: logs in $work"; exit 1
