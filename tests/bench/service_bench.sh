#!/usr/bin/env bash
# Candidates per second through the real service: one coordinator and N single-threaded worker
# processes on this machine, for N = 1 and 2. Prints figures; asserts nothing.
#   tests/bench/service_bench.sh [BUILD_DIR] [JOB]
set -euo pipefail
export PHAZE_TOKEN=${PHAZE_TOKEN:-local-test-token}
export PHAZE_WORKER_TOKEN=${PHAZE_WORKER_TOKEN:-local-worker-token}
build=${1:-build}
job=${2:-examples/quickstart.yaml}
for workers in 1 2; do
  dir=$(mktemp -d)
  "$build/coordinator/phaze-coordinator" --listen 127.0.0.1:0 --database :memory: > "$dir/c.log" &
  cpid=$!
  for _ in $(seq 100); do grep -q "listening on" "$dir/c.log" && break; sleep 0.05; done
  addr=$(sed -n 's/^listening on //p' "$dir/c.log")
  wpids=()
  for w in $(seq "$workers"); do
    "$build/worker/phaze-worker" --coordinator "$addr" --threads 1 --id "w$w" > /dev/null &
    wpids+=($!)
  done
  start=$(date +%s.%N)
  id=$("$build/coordinator/phaze" submit "$job" --coordinator "$addr")
  "$build/coordinator/phaze" watch "$id" --coordinator "$addr" > "$dir/watch.txt" 2>/dev/null
  end=$(date +%s.%N)
  done_count=$(sed -n 's/.*: \([0-9]*\)\/\([0-9]*\) candidates.*/\1/p' "$dir/watch.txt" | head -1)
  awk -v n="$done_count" -v s="$start" -v e="$end" -v w="$workers" \
    'BEGIN { printf "%d worker process(es): %d candidates in %.1f s = %.1f candidates/s\n", w, n, e - s, n / (e - s) }'
  kill "${wpids[@]}" "$cpid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
done
