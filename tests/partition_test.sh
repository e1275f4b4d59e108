#!/usr/bin/env bash
# A worker cut off from the network mid-job, in the project's own network namespace: its lease
# expires, its shard moves to the other worker, the link comes back and its late results are
# absorbed. The job ends with the front of a fault-free run; prints candidates lost and
# duplicated (both must be 0). Also checks the worker's --max-memory-mib limit is in force.
# Needs root and `ip netns`; exits 77 (ctest: skipped) where namespaces are not available.
#   tests/partition_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
phaze=$build/coordinator/phaze
export PHAZE_TOKEN=partition-test-token
export PHAZE_WORKER_TOKEN=partition-test-token-worker
ns=phz$$ host_if=ph$$h ns_if=ph$$n net=10.231.$(($$ % 250))
source "$(dirname "$0")/lib.sh"
extra_cleanup() {
  ip link del "$host_if" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
}
if ! ip netns add "$ns" 2>/dev/null; then
  echo "network namespaces not available here: skipped"
  exit 77
fi
# A namespace may be allowed where veth pairs are not (some containers): then skip as well.
if ! { ip link add "$host_if" type veth peer name "$ns_if" &&
       ip link set "$ns_if" netns "$ns" &&
       ip addr add "$net.1/24" dev "$host_if" &&
       ip link set "$host_if" up &&
       ip netns exec "$ns" ip addr add "$net.2/24" dev "$ns_if" &&
       ip netns exec "$ns" ip link set "$ns_if" up &&
       ip netns exec "$ns" ip link set lo up; } 2>/dev/null; then
  echo "cannot build a veth pair into a network namespace here: skipped"
  exit 77
fi

# MILPs only (solver.order_search_nodes: 0): the cut below strikes mid-job, and the exact order
# search would finish the quickstart job in a few seconds. 50 nodes per MILP keep the job at
# about 25 s on two threads (the HBM resource flow makes each MILP slower).
job=$work/job.yaml
{ cat "$src/examples/quickstart.yaml"; echo "solver: {order_search_nodes: 0, max_nodes: 50}"; } > "$job"
echo "== fault-free reference (in process)"
"$phaze" run "$job" --in-process --quiet --out "$work/ref" | tail -1

"$build/coordinator/phaze-coordinator" --listen "$net.1:0" --database "$work/phaze.db" \
  --lease-seconds 3 --shard-size 4 --shard-seconds 0 > "$work/c.log" 2>&1 &
pids+=($!)
addr=$(wait_for_line "$work/c.log" "listening on ")
ip netns exec "$ns" "$build/worker/phaze-worker" --coordinator "$addr" --threads 1 --id cut \
  > "$work/cut.log" 2>&1 &
pids+=($!)
"$build/worker/phaze-worker" --coordinator "$addr" --threads 1 --id steady \
  --max-memory-mib 2048 > "$work/steady.log" 2>&1 &
steady=$!
pids+=($steady)
sleep 0.5
limit=$(awk '/Max address space/ {print $4}' "/proc/$steady/limits")
[[ "$limit" == "$((2048 << 20))" ]] || { echo "FAIL: --max-memory-mib not applied ($limit)"; exit 1; }
echo "steady worker address-space limit: $limit bytes"

id=$("$phaze" submit "$job" --coordinator "$addr")
done_count() { "$phaze" status "$id" --coordinator "$addr" | sed -n 's/.*: \([0-9]*\)\/[0-9]* candidates.*/\1/p'; }
for _ in $(seq 200); do [[ $(done_count) -ge 12 ]] && break; sleep 0.1; done
echo "== cutting the namespaced worker off at $(done_count) candidates done"
ip link set "$host_if" down
sleep 9
expired=$("$phaze" status "$id" --coordinator "$addr" | sed -n 's/.*, \([0-9]*\) leases expired.*/\1/p')
echo "leases expired while cut off: $expired"
ip link set "$host_if" up
echo "== link restored"
"$phaze" watch "$id" --coordinator "$addr" 2>/dev/null | tail -2
"$phaze" results "$id" --coordinator "$addr" --format json > "$work/remote.json"
[[ "$expired" -ge 1 ]] || { echo "FAIL: no lease expired during the partition"; exit 1; }

stats=$(sqlite3 "$work/phaze.db" "SELECT COUNT(*), COUNT(DISTINCT candidate) FROM results WHERE job_id='$id';")
/usr/bin/python3 - "$work/ref/front.json" "$work/remote.json" "$stats" \
  "$("$phaze" status "$id" --coordinator "$addr")" <<'PY'
import json, re, sys
ref = json.load(open(sys.argv[1]))["points"]
remote = json.load(open(sys.argv[2]))["front"]
rows, distinct = map(int, sys.argv[3].split("|"))
done, total = map(int, re.search(r"(\d+)/(\d+) candidates", sys.argv[4]).groups())
key = lambda p: (p["candidate"], p["hbm_gib"], p["recompute"], round(p["placement"]["throughput_samples_per_s"], 9),
                 p["placement"]["pipeline"], p["placement"]["tensor"], p["placement"]["data"])
lost, duplicated = total - done, rows - distinct
print(f"candidates lost {lost}, duplicated {duplicated}; front {len(remote)} points "
      f"(fault-free {len(ref)})")
assert lost == 0 and duplicated == 0, (lost, duplicated)
assert sorted(map(key, ref)) == sorted(map(key, remote)), "front differs from the fault-free run"
print("ok: identical to the fault-free run")
PY
