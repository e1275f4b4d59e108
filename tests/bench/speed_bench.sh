#!/usr/bin/env bash
# The whole-space search of the paper models, one after the other, through `phaze run` (the
# service path: embedded coordinator, local workers), on every core of this machine. Prints per
# model the wall time, the candidates evaluated and pruned, the MILPs built and the share of the
# evaluation time in each phase; with --reference, diffs each front against an earlier run's.
# Prints figures; asserts nothing.
#
#   tests/bench/speed_bench.sh [--build DIR] [--out DIR] [--reference DIR] [MODEL...]
#
# MODEL is an examples/<MODEL>.yaml (default: the seven paper models). --out keeps each run's
# outputs (DIR/<MODEL>/front.json ...), so that a later run can name it as its --reference.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build="$src/build" out="" reference=""
models=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --reference) reference=$2; shift 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
[[ ${#models[@]} -gt 0 ]] || models=(bertlarge gpt2 opt llama2 megatrongpt2-54 megatrongpt2-72 megatrongpt3)
[[ -n "$out" ]] || { out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; }
mkdir -p "$out"
printf "%-16s %8s %9s %8s %7s %6s %6s %6s %6s  %s\n" model wall_s evaluated pruned milps \
  cost% bound% milp% dp% front
for model in "${models[@]}"; do
  dir="$out/$model"
  rm -rf "$dir"
  "$build/coordinator/phaze" run "$src/examples/$model.yaml" --out "$dir" --quiet > "$dir.log" 2>&1 ||
    { echo "$model: phaze run failed:"; tail -5 "$dir.log"; continue; }
  python3 - "$model" "$dir" "$dir.log" "$reference" <<'PY'
import json, os, re, sys
model, run, log, reference = sys.argv[1:5]
text = open(log).read()
m = re.search(r"evaluated (\d+) candidates in ([\d.]+) s .*?(\d+) pruned by bounds", text)
milps = re.search(r"(\d+) MILPs built", text)
phases = re.search(r"cost model ([\d.]+)%, layer bounds ([\d.]+)%, MILP ([\d.]+)%, "
                   r"placement DP ([\d.]+)%", text)
front = json.load(open(os.path.join(run, "front.json")))["points"]
verdict = f"{len(front)} points"
if reference:
    ref_path = os.path.join(reference, model, "front.json")
    if not os.path.exists(ref_path):
        verdict += ", no reference"
    else:
        key = lambda p: (p["candidate"], p["hbm_gib"], p["recompute"])
        thr = lambda p: p["placement"]["throughput_samples_per_s"]
        ref = {key(p): p for p in json.load(open(ref_path))["points"]}
        new = {key(p): p for p in front}
        moved = [abs(thr(new[k]) - thr(ref[k])) / thr(ref[k]) for k in new.keys() & ref.keys()
                 if abs(thr(new[k]) - thr(ref[k])) > 1e-12 * thr(ref[k])]
        gone, added = len(ref.keys() - new.keys()), len(new.keys() - ref.keys())
        if not moved and not gone and not added:
            verdict += ", identical to the reference"
        else:
            verdict += (f", vs reference: {gone} left, {added} joined, {len(moved)} moved "
                        f"(max {max(moved, default=0):.2g} relative throughput)")
cols = [model, m.group(2), m.group(1), m.group(3), milps.group(1) if milps else "?"]
cols += list(phases.groups()) if phases else ["?"] * 4
print("%-16s %8s %9s %8s %7s %6s %6s %6s %6s  %s" % (*cols, verdict))
PY
done
