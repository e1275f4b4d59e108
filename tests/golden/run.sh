#!/usr/bin/env bash
# Golden outputs: runs `phaze run --in-process --threads 1` (deterministic: one thread sees the
# front in candidate order) on the quickstart job and on a slice of each paper model, strips the
# fields that measure time (solver_s), and compares best.json, front.json and results.csv byte
# for byte with tests/golden/expected/. A refactor that changes any number fails here.
#
#   tests/golden/run.sh SOURCE_DIR PHAZE_BIN            # compare
#   tests/golden/run.sh SOURCE_DIR PHAZE_BIN --update   # rewrite expected/ (a deliberate change)
set -euo pipefail
src=$1 phaze=$2 mode=${3:-compare}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
jobs=("$src/examples/quickstart.yaml" "$src"/tests/golden/jobs/*.yaml)
failed=0
for job in "${jobs[@]}"; do
  name=$(basename "$job" .yaml)
  out="$scratch/$name"
  "$phaze" run "$job" --out "$out" --in-process --threads 1 --quiet > "$out.log" 2>&1 ||
    { echo "golden: $name: phaze run failed"; cat "$out.log"; exit 1; }
  for f in best.json front.json; do
    python3 - "$out/$f" <<'PY'
import json, sys
path = sys.argv[1]
doc = json.load(open(path))
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k != "solver_s"}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
with open(path, "w") as f:
    json.dump(strip(doc), f, indent=2, sort_keys=True)
    f.write("\n")
PY
  done
  expected="$src/tests/golden/expected/$name"
  if [[ "$mode" == "--update" ]]; then
    mkdir -p "$expected"
    cp "$out/best.json" "$out/front.json" "$out/results.csv" "$expected/"
    echo "golden: $name: updated"
    continue
  fi
  for f in best.json front.json results.csv; do
    if ! cmp -s "$expected/$f" "$out/$f"; then
      echo "golden: $name/$f differs from tests/golden/expected/$name/$f:"
      diff -u "$expected/$f" "$out/$f" | head -40 || true
      failed=1
    fi
  done
  [[ $failed == 0 ]] && echo "golden: $name: identical"
done
exit $failed
