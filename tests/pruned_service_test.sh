#!/usr/bin/env bash
# The default `pruned` strategy through the service prunes exactly as the in-process search:
# `phaze run` (embedded coordinator, one local worker thread, shards of 8) and
# `phaze run --in-process --threads 1` on the same job report the same number of candidates
# pruned by bounds and write the same front.json. (Before the worker kept the whole front it is
# sent, the service path pruned almost nothing.)
#
#   tests/pruned_service_test.sh SOURCE_DIR PHAZE_BIN
set -euo pipefail
src=$1 phaze=$2
source "$src/tests/lib.sh"
sed 's/strategy: exhaustive/strategy: pruned/' "$src/tests/data/small-space-job.yaml" > "$work/job.yaml"
grep -q 'strategy: pruned' "$work/job.yaml"
"$phaze" run "$work/job.yaml" --out "$work/service" --threads 1 --quiet > "$work/service.log"
"$phaze" run "$work/job.yaml" --out "$work/local" --threads 1 --quiet --in-process > "$work/local.log"
pruned() { sed -n 's/.* \([0-9][0-9]*\) pruned by bounds.*/\1/p' "$1"; }
service=$(pruned "$work/service.log") local=$(pruned "$work/local.log")
echo "pruned by bounds: service path $service, in process $local"
[[ -n "$service" && "$service" -gt 0 ]] || { echo "FAIL: the service path pruned nothing"; cat "$work/service.log"; exit 1; }
[[ "$service" == "$local" ]] || { echo "FAIL: pruned counts differ"; exit 1; }
cmp "$work/service/front.json" "$work/local/front.json" || { echo "FAIL: fronts differ"; exit 1; }
echo "same front ($(grep -c '"candidate"' "$work/local/front.json") points) and the same pruned count"
