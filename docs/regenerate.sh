#!/usr/bin/env bash
# Regenerates docs/results.md from the repository, with one command:
#
#   docs/regenerate.sh [BUILD_DIR]       (after the README's build; about an hour on 2 cores)
#
# For every paper model: `phaze compare examples/<model>.yaml` (the comparison (a)-(e), the
# whole-space search timings and the front plots); `phaze validate` on the published runs of
# tests/validation/; then the service scaling benchmark; then
# docs/make_results.py renders docs/results.md from those outputs and docs/results.md.in.
# PHAZE_RESULTS_MODELS="gpt2 opt" limits the models (the others keep their previous outputs).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
phaze=$build/coordinator/phaze
models=${PHAZE_RESULTS_MODELS:-"bertlarge gpt2 opt llama2 megatrongpt2-54 megatrongpt2-72 megatrongpt3"}
out=docs/results
mkdir -p "$out"
# The machine line, then one line per run of this script (a partial run keeps the older lines).
machine="- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem/ {print $2}') GiB"
runs=$( [[ -n "${PHAZE_RESULTS_MODELS:-}" && -f "$out/machine.txt" ]] && grep '^- run' "$out/machine.txt" || true)
{
  echo "$machine"
  [[ -n "$runs" ]] && echo "$runs"
  echo "- run at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u +%F): $models, validation, scaling"
} > "$out/machine.txt"
for m in $models; do
  echo "== compare $m"
  mkdir -p "$out/$m"
  "$phaze" compare "examples/$m.yaml" --out "$out/$m" | tee "$out/$m/compare.log"
  # results.md embeds the HBM-coloured plot only; the job page (3 MB) is not kept
  rm -f "$out/$m/front-mbs.svg" "$out/$m/report.html"
done
echo "== validation against published runs"
"$phaze" validate tests/validation/published-runs.json | tee "$out/validation.txt"
"$phaze" validate tests/validation/published-runs.json --json > "$out/validation.json"
rm -rf "$out/fidelity"
echo "== service scaling"
tests/bench/service_bench.sh "$build" | tee "$out/scaling.txt"
python3 docs/make_results.py docs
