#!/usr/bin/env bash
# The job page: the coordinator serves it at /jobs/ID (token as bearer or basic-auth password),
# `phaze report ID` writes the same bytes to a file, `phaze run` writes one too (with front.svg),
# and headless Chromium (Debian's) lays each page out: its own check reports, for each of the
# twelve axis choices (ordered pairs of throughput, area, TDP and energy), every front point
# drawn with a size and none hidden behind another colour, and the front table sorting on a
# header click.
# Exits 77 (ctest: skipped) when Chromium is not installed.
#   tests/report_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
phaze=$build/coordinator/phaze
export PHAZE_TOKEN=report-test-token
export PHAZE_WORKER_TOKEN=report-test-token-worker
chromium=$(command -v chromium || command -v chromium-browser || true)
[[ -n "$chromium" ]] || { echo "chromium not installed: skipped"; exit 77; }
source "$(dirname "$0")/lib.sh"

"$build/coordinator/phaze-coordinator" --listen 127.0.0.1:0 --database :memory: \
  --http-listen 127.0.0.1:0 > "$work/c.log" 2>&1 &
pids+=($!)
addr=$(wait_for_line "$work/c.log" "listening on ")
pages=$(sed -n 's/^pages on //p' "$work/c.log")
[[ -n "$pages" ]] || { echo "FAIL: no 'pages on' line"; cat "$work/c.log"; exit 1; }
"$build/worker/phaze-worker" --coordinator "$addr" --threads 2 > /dev/null 2>&1 &
pids+=($!)
id=$("$phaze" submit "$src/tests/data/small-space-job.yaml" --coordinator "$addr")
"$phaze" watch "$id" --coordinator "$addr" > /dev/null 2>&1

echo "== the served page needs the token"
code=$(curl -s -o /dev/null -w '%{http_code}' "${pages}jobs/$id")
[[ "$code" == 401 ]] || { echo "FAIL: no token gave HTTP $code"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -u "me:wrong" "${pages}jobs/$id")
[[ "$code" == 401 ]] || { echo "FAIL: a wrong token gave HTTP $code"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -u "me:$PHAZE_TOKEN" "${pages}jobs/no-such-job")
[[ "$code" == 404 ]] || { echo "FAIL: an unknown job gave HTTP $code"; exit 1; }
curl -sf -u "me:$PHAZE_TOKEN" "${pages}jobs/$id" > "$work/served.html"
curl -sf -H "Authorization: Bearer $PHAZE_TOKEN" "${pages}" | grep -q "href=\"/jobs/$id\""

echo "== phaze report writes the same page"
"$phaze" report "$id" --coordinator "$addr" --out "$work/report.html"
cmp "$work/served.html" "$work/report.html"
front=$("$phaze" results "$id" --coordinator "$addr" --format json |
  /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["front"]))')
grep -q "data-points=\"$front\"" "$work/report.html"

# Lays PAGE out in headless Chromium; its own check must find, for every one of the twelve axis
# choices, every point drawn with a size and none hidden behind another colour, and the front
# table sorted both ways by a header click.
check_page() {
  local page=$1 points=$2
  echo "== headless Chromium renders $page ($points front points)"
  "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$work/profile" --window-size=1280,1024 --virtual-time-budget=5000 --dump-dom \
    "file://$page" > "$work/dom.html" 2> "$work/chromium.log" || {
    cat "$work/chromium.log"; exit 1; }
  grep -o 'data-\(plot\|table\)-[a-z-]*="[^"]*"' "$work/dom.html" | tr '\n' ' '; echo
  for want in 'data-plot-rendered="yes"' "data-plot-points=\"$points\"" 'data-plot-choices="12"' \
      'data-plot-choices-ok="12"' 'data-plot-hidden="0"' 'data-table-sorted="yes"'; do
    grep -q "$want" "$work/dom.html" || { echo "FAIL: $page: want $want"; exit 1; }
  done
}
check_page "$work/report.html" "$front"

echo "== phaze run writes report.html and front.svg, and prints where"
"$phaze" run --in-process "$src/tests/data/small-space-job.yaml" --out "$work/run" \
  > "$work/run.log" 2>&1 || { cat "$work/run.log"; exit 1; }
grep -qx "report: $work/run/report.html" "$work/run.log" || { echo "FAIL: no report line"; cat "$work/run.log"; exit 1; }
grep -qx "plot: $work/run/front.svg" "$work/run.log" || { echo "FAIL: no plot line"; exit 1; }
run_front=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["points"]))' \
  "$work/run/front.json")
grep -q "data-points=\"$run_front\"" "$work/run/front.svg" || { echo "FAIL: front.svg points"; exit 1; }
check_page "$work/run/report.html" "$run_front"

echo "== the axis pick lives in the address, so a running job's reload keeps it"
"$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
  --user-data-dir="$work/profile" --window-size=1280,1024 --virtual-time-budget=5000 --dump-dom \
  "file://$work/run/report.html#x=energy&y=throughput" > "$work/dom.html" 2> "$work/chromium.log"
shown=$(grep -o '<svg[^>]*class="phaze-plot"[^>]*>' "$work/dom.html" | grep -v 'display: none' |
  grep -o 'id="plot-[a-z-]*"')
[[ "$shown" == 'id="plot-energy-throughput"' ]] || { echo "FAIL: shown after reload: $shown"; exit 1; }
if [[ -n "${PHAZE_REPORT_SCREENSHOT:-}" ]]; then
  "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$work/profile" --window-size=1200,1400 \
    --screenshot="$PHAZE_REPORT_SCREENSHOT" "file://$work/report.html" 2>/dev/null
  echo "screenshot: $PHAZE_REPORT_SCREENSHOT"
fi
echo "ok"
