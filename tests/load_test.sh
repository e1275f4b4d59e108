#!/usr/bin/env bash
# Load on one coordinator on loopback (two worker processes): for 60 s, 200 clients each submit a
# small job, watch it to the end and fetch its results, over and over, while GetJob status calls
# arrive at 1,000/s. Passes when no
# call fails, every job succeeds, and SQLite's integrity check on the database is "ok" afterwards.
# Prints p50/p99/max latencies. ctest label "load" (not in the default run: about 75 s).
#   tests/load_test.sh SOURCE_DIR BUILD_DIR [CLIENTS] [STATUS_RPS] [SECONDS]
set -euo pipefail
src=$1 build=$2 clients=${3:-200} rps=${4:-1000} seconds=${5:-60}
export PHAZE_TOKEN=load-test-token
export PHAZE_WORKER_TOKEN=load-test-token-worker
source "$(dirname "$0")/lib.sh"

"$build/coordinator/phaze-coordinator" --listen 127.0.0.1:0 --database "$work/phaze.db" \
  --max-running-jobs $((clients + 10)) > "$work/c.log" 2>&1 &
cpid=$!
pids+=($cpid)
addr=$(wait_for_line "$work/c.log" "listening on ")
for w in 1 2; do
  "$build/worker/phaze-worker" --coordinator "$addr" --threads 1 --id "w$w" > /dev/null 2>&1 &
  pids+=($!)
done
rc=0
"$build/tests/bench/load_client" --coordinator "$addr" --job "$src/tests/data/small-fixed-job.yaml" \
  --clients "$clients" --status-rps "$rps" --seconds "$seconds" | tee "$work/load.txt" || rc=$?
submitted=$(sed -n 's/^errors .*, jobs submitted \([0-9]*\)$/\1/p' "$work/load.txt")
ps -o rss=,time= -p "$cpid" | awk '{printf "coordinator: %.0f MiB resident, %s CPU time\n", $1/1024, $2}'
kill -TERM "$cpid"
wait "$cpid" || true
integrity=$(sqlite3 "$work/phaze.db" "PRAGMA integrity_check;")
jobs=$(sqlite3 "$work/phaze.db" "SELECT state, COUNT(*) FROM jobs GROUP BY state;")
echo "sqlite integrity_check: $integrity; jobs by state: $jobs"
[[ "$integrity" == "ok" ]] || { echo "FAIL: integrity check"; exit 1; }
[[ "$jobs" == "succeeded|$submitted" ]] || { echo "FAIL: expected $submitted succeeded jobs"; exit 1; }
exit $rc
