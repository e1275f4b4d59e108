#!/usr/bin/env bash
# Scaling on a simulated cluster: one real coordinator (file-backed SQLite) and W simulated
# workers (cluster_bench) whose candidates take the per-candidate times measured on a real
# search, spent sleeping, for W = 1, 2, 4, 8 and on up to 1,024. A fresh coordinator per W.
# Prints results/s against the ideal W / mean cost, leases/s and the coordinator's CPU per
# result. Prints figures; asserts nothing.
#
#   tests/bench/cluster_bench.sh [--build DIR] [--costs FILE] [--seconds S] [--jobs J] [W...]
#
# --jobs: concurrent jobs of 29,360 candidates each (default 16: enough that 1,024 workers at
# thousands of results/s never run out of work within a measurement).
# --costs: per-candidate seconds, one per line; by default measured here first with
# `search_bench --job tests/bench/gpt3-slice.yaml --times` (about 15 s).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build="$src/build" costs="" seconds=10 jobs=16
sizes=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --costs) costs=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) sizes+=("$1"); shift ;;
  esac
done
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1 2 4 8 64 256 1024)
export PHAZE_TOKEN=${PHAZE_TOKEN:-cluster-bench-token}
export PHAZE_WORKER_TOKEN=${PHAZE_WORKER_TOKEN:-cluster-bench-worker-token}
source "$src/tests/lib.sh"
if [[ -z "$costs" ]]; then
  costs="$work/costs.txt"
  "$build/tests/bench/search_bench" --job "$src/tests/bench/gpt3-slice.yaml" --times "$costs" \
    | grep -E "^(job|candidates|wall)"
fi
awk '{ s += $1; n += 1 } END { printf "per-candidate cost: %d candidates, mean %.2f ms of one core\n", n, 1000 * s / n }' "$costs"
for w in "${sizes[@]}"; do
  "$build/coordinator/phaze-coordinator" --listen 127.0.0.1:0 --database "$work/c$w.db" \
    --max-running-jobs 100 > "$work/c$w.log" 2>&1 &
  cpid=$!
  pids+=($cpid)
  addr=$(wait_for_line "$work/c$w.log" "listening on ")
  "$build/tests/bench/cluster_bench" --coordinator "$addr" --coordinator-pid "$cpid" \
    --job "$src/tests/bench/synthetic-gpt3.yaml" --costs "$costs" --workers "$w" \
    --seconds "$seconds" --jobs "$jobs"
  kill "$cpid" 2>/dev/null || true
  wait "$cpid" 2>/dev/null || true
done
