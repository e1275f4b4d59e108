#!/usr/bin/env bash
# The job page: the coordinator serves it at /jobs/ID (token as bearer or basic-auth password),
# `phaze report ID` writes the same bytes to a file, and headless Chromium (Debian's) lays the
# page out and its plot check reports every front point drawn with a size.
# Exits 77 (ctest: skipped) when Chromium is not installed.
#   tests/report_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
phaze=$build/coordinator/phaze
export PHAZE_TOKEN=report-test-token
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

echo "== headless Chromium renders the plot ($front front points)"
"$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
  --user-data-dir="$work/profile" --virtual-time-budget=5000 --dump-dom \
  "file://$work/report.html" > "$work/dom.html" 2> "$work/chromium.log" || {
  cat "$work/chromium.log"; exit 1; }
grep -o 'data-plot-[a-z]*="[^"]*"' "$work/dom.html" | tr '\n' ' '; echo
grep -q "data-plot-rendered=\"yes\"" "$work/dom.html" || { echo "FAIL: plot not rendered"; exit 1; }
grep -q "data-plot-points=\"$front\"" "$work/dom.html" || { echo "FAIL: not every point drawn"; exit 1; }
if [[ -n "${PHAZE_REPORT_SCREENSHOT:-}" ]]; then
  "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$work/profile" --window-size=1200,1400 \
    --screenshot="$PHAZE_REPORT_SCREENSHOT" "file://$work/report.html" 2>/dev/null
  echo "screenshot: $PHAZE_REPORT_SCREENSHOT"
fi
echo "ok"
