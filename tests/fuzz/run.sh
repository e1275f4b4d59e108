#!/usr/bin/env bash
# Runs the libFuzzer targets for a bounded time each on the seed corpus: no crash, no leak, no
# hang (a single input over 10 s counts as a hang). Needs a build folder configured with
# -DPHAZE_FUZZ=ON (see tests/fuzz/CMakeLists.txt).
#   tests/fuzz/run.sh BUILD_DIR [SECONDS_PER_TARGET]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$1 seconds=${2:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Result seeds are kept as readable text protos and encoded here.
mkdir -p "$work/result" "$work/job"
cp "$here"/corpus/job/* "$work/job/"
for t in "$here"/seeds/*.txtpb; do
  protoc -I "$src/proto" --encode=phaze.v1.ResultReport phaze/v1/service.proto < "$t" \
    > "$work/result/$(basename "$t" .txtpb).bin"
done

status=0
for target in job result; do
  echo "== ${target}_fuzz for ${seconds} s on $(ls "$work/$target" | wc -l) seeds"
  if ! "$build/tests/fuzz/${target}_fuzz" "$work/$target" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=4096 -max_len=16384 -print_final_stats=1 -artifact_prefix="$work/" \
      > "$work/$target.log" 2>&1; then
    status=1
    tail -60 "$work/$target.log"
    for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
      [[ -e "$a" ]] && { echo "-- reproducer $a (base64):"; base64 "$a"; }
    done
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" "$work/$target.log" | tail -3
done
exit $status
