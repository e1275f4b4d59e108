#!/usr/bin/env bash
# `phaze watch` through a coordinator restart, writing to a file (not a terminal): the coordinator
# is killed (-9) while the job runs and started again on the same port and database; the watch
# reconnects with backoff and follows the job to the end, and its output has a line per update
# as it goes (not only the final status).
#   tests/watch_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
phaze=$build/coordinator/phaze
export PHAZE_TOKEN=watch-test-token
export PHAZE_WORKER_TOKEN=watch-test-token-worker
source "$(dirname "$0")/lib.sh"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
addr=127.0.0.1:$port
start_coordinator() {
  "$build/coordinator/phaze-coordinator" --listen "$addr" --database "$work/w.db" \
    > "$work/c$1.log" 2>&1 &
  coordinator=$!
  pids+=($coordinator)
  wait_for_line "$work/c$1.log" "listening on " > /dev/null
}
start_coordinator 1
# MILPs only (solver.order_search_nodes: 0): the exact order search would finish the job between
# two updates, before the coordinator could be killed under the watch.
{ cat "$src/tests/data/small-space-job.yaml"; echo "solver: {order_search_nodes: 0}"; } > "$work/job.yaml"
id=$("$phaze" submit "$work/job.yaml" --coordinator "$addr")
"$phaze" watch "$id" --coordinator "$addr" > "$work/watch.log" 2>&1 &
watch=$!
# A worker that evaluates for a while, then the coordinator dies under the watch.
"$build/worker/phaze-worker" --coordinator "$addr" --threads 1 > /dev/null 2>&1 &
worker=$!
pids+=($worker)
for _ in $(seq 2400); do grep -q "running [1-9]" "$work/watch.log" && break; sleep 0.05; done
grep -q "running [1-9]" "$work/watch.log" || { echo "FAIL: no progress line"; cat "$work/watch.log"; exit 1; }
kill -9 "$worker" "$coordinator"  # the job cannot finish while both are gone
wait "$worker" "$coordinator" 2>/dev/null || true  # dead, its port and database lock free
sleep 1.5  # the watch retries meanwhile
kill -0 "$watch" || { echo "FAIL: the watch exited when the coordinator went away"; cat "$work/watch.log"; exit 1; }
start_coordinator 2
"$build/worker/phaze-worker" --coordinator "$addr" --threads 2 > /dev/null 2>&1 &
pids+=($!)
wait "$watch" || { echo "FAIL: the watch failed"; cat "$work/watch.log"; exit 1; }
cat "$work/watch.log"
grep -q "succeeded" "$work/watch.log" || { echo "FAIL: no final status"; exit 1; }
lines=$(grep -c " candidates, " "$work/watch.log")
[[ "$lines" -ge 2 ]] || { echo "FAIL: $lines progress lines"; exit 1; }
echo "watch followed the job through a coordinator restart with $lines progress lines"
