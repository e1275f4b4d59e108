#!/usr/bin/env bash
# The pruned search returns the exhaustive search's front on one whole paper model: GPT-3 on the
# original's space (29,360 chips x HBM 32/64/80 GiB x recompute on/off), `phaze run --in-process`
# with each strategy. Every front point (candidate, HBM, recompute) must be in both, with the same
# objectives to 1e-12 relative. ctest label "long" (several minutes; not in the default run; CI
# runs it with ctest -L long).
#   tests/long_front_test.sh SOURCE_DIR PHAZE_BIN
set -euo pipefail
src=$1 phaze=$2
source "$(dirname "$0")/lib.sh"
sed 's/^search: {strategy: pruned}$/search: {strategy: exhaustive}/' \
  "$src/examples/megatrongpt3.yaml" > "$work/exhaustive.yaml"
grep -q "strategy: exhaustive" "$work/exhaustive.yaml" || { echo "FAIL: no strategy line"; exit 1; }
for run in pruned exhaustive; do
  job="$src/examples/megatrongpt3.yaml"
  [[ $run == exhaustive ]] && job="$work/exhaustive.yaml"
  start=$(date +%s)
  "$phaze" run "$job" --out "$work/$run" --in-process --quiet > "$work/$run.log" 2>&1 ||
    { echo "FAIL: $run search"; cat "$work/$run.log"; exit 1; }
  echo "$run: $(( $(date +%s) - start )) s"
done
python3 - "$work/pruned/front.json" "$work/exhaustive/front.json" <<'PY'
import json, sys
def points(path):
    doc = json.load(open(path))
    out = {}
    for p in doc["points"]:
        key = (p["candidate"], p["hbm_gib"], p["recompute"])
        out[key] = p["objectives"]
    return out
pruned, exhaustive = points(sys.argv[1]), points(sys.argv[2])
only_p = sorted(set(pruned) - set(exhaustive))
only_e = sorted(set(exhaustive) - set(pruned))
differ = [k for k in set(pruned) & set(exhaustive)
          if any(abs(pruned[k][o] - exhaustive[k][o]) > 1e-12 * max(1.0, abs(exhaustive[k][o]))
                 for o in exhaustive[k])]
print(f"front: {len(pruned)} points pruned, {len(exhaustive)} exhaustive; only pruned "
      f"{len(only_p)}, only exhaustive {len(only_e)}, objectives differ {len(differ)}")
for k in (only_p + only_e + differ)[:10]:
    print("  ", k)
sys.exit(1 if only_p or only_e or differ or not exhaustive else 0)
PY
