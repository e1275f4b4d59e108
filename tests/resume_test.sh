#!/usr/bin/env bash
# `phaze run` resumes a job in its output folder only under the build that began it: the same
# binary resumes (no candidate evaluated again), another build computes afresh beside the old job
# (which stays in the database), and from then on that build resumes its own job.
#
#   tests/resume_test.sh SOURCE_DIR PHAZE_BIN
set -euo pipefail
src=$1 phaze=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
job="$src/tests/data/tiny-job.yaml"  # a fraction of a second, so four runs fit under ASan too
out="$work/out"
fail() { echo "FAIL: $*"; exit 1; }

"$phaze" run "$job" --out "$out" --quiet > "$work/1.log" 2>&1 || { cat "$work/1.log"; fail "first run"; }
grep -q "resuming\|another phaze build" "$work/1.log" && fail "a fresh folder resumed"
best1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["best"]["placement"]["throughput_samples_per_s"])' "$out/best.json")

"$phaze" run "$job" --out "$out" --quiet > "$work/2.log" 2>&1 || { cat "$work/2.log"; fail "second run"; }
grep -q "resuming job-" "$work/2.log" || { cat "$work/2.log"; fail "the same build did not resume"; }
[[ $(sqlite3 "$out/phaze.db" "SELECT COUNT(*) FROM jobs;") == 1 ]] || fail "the same build added a job"

# Another build: the same program with one byte more.
cp "$phaze" "$work/phaze-other"
printf 'x' >> "$work/phaze-other"
"$work/phaze-other" run "$job" --out "$out" --quiet > "$work/3.log" 2>&1 || { cat "$work/3.log"; fail "other build"; }
grep -q "from another phaze build; computing afresh" "$work/3.log" || { cat "$work/3.log"; fail "another build resumed"; }
[[ $(sqlite3 "$out/phaze.db" "SELECT COUNT(*) FROM jobs;") == 2 ]] || fail "the old job was not kept beside the new one"
old_rows=$(sqlite3 "$out/phaze.db" "SELECT COUNT(*) FROM results WHERE job_id = (SELECT job_id FROM jobs ORDER BY seq LIMIT 1);")
[[ "$old_rows" -gt 0 ]] || fail "the old job's results were lost"
best3=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["best"]["placement"]["throughput_samples_per_s"])' "$out/best.json")
[[ "$best1" == "$best3" ]] || fail "the same job gave $best1 and $best3"

"$work/phaze-other" run "$job" --out "$out" --quiet > "$work/4.log" 2>&1 || { cat "$work/4.log"; fail "other build again"; }
grep -q "resuming job-000002" "$work/4.log" || { cat "$work/4.log"; fail "the other build did not resume its own job"; }
[[ $(sqlite3 "$out/phaze.db" "SELECT COUNT(*) FROM jobs;") == 2 ]] || fail "resuming added a job"
echo "resume_test: ok (best $best1 samples/s, resumed under the same build only)"
