#!/usr/bin/env bash
# The co-design study of docs/chip-model.md: the paper's comparison (a)-(e) on the GPT-3 jobs of
# examples/codesign/ (iso-area and iso-power with the TPUv4-like chip), then the iso-area study
# again with each assumed constant of the chip model scaled, to see which assumptions decide the
# answer. A variant's budget is re-derived from the TPUv4-like chip under the same scaled
# constants (the area or TDP that chip has in that variant), so "iso" keeps its meaning. Then the
# same iso-area and iso-power comparison for the other paper models: each model's training
# section (accelerators, batch, micro-batches, tensor width, the paper's fixed strategy) from
# examples/<model>.yaml on the GPT-3 study's space, network and budgets (Llama 2 from its own
# files in examples/codesign/).
#
#   docs/codesign.sh [BUILD_DIR]      (about 2.5-5 minutes per run on 2 cores; 23 runs)
#
# Writes docs/results/codesign/<run>/compare.json and docs/results/codesign/table.md.
# PHAZE_CODESIGN_VARIANTS="serdes_lane_scale=2 ..." limits the sensitivity runs and
# PHAZE_CODESIGN_MODELS="bertlarge opt" the other models ("" for none).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
phaze=$build/coordinator/phaze
out=docs/results/codesign
mkdir -p "$out"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
variants=${PHAZE_CODESIGN_VARIANTS:-"none mac_area_scale=0.5 mac_area_scale=2 sram_area_scale=2 \
serdes_lane_scale=2 serdes_lane_scale=0.5 hbm_interface_scale=2 glb_bank_port_scale=2 \
uncore_scale=2"}

# The TPUv4-like chip with the study's architecture section (and `chip_model` lines), as
# results.csv bills it: prints "area_mm2 tdp_w".
reference_bill() {
  local job=$1 scales=$2 ref=$scratch/ref
  {
    echo "name: reference"
    echo "model: {base: megatrongpt2-54, name: tiny, layers: 2, seq_len: 128}"
    echo "training: {accelerators: 8, global_batch: 8, micro_batch_sizes: [1], max_tensor_width: 1}"
    echo "architecture:"
    echo "  preset: tpuv4"
    sed -n '/^architecture:/,/^budget:/p' "$job" | grep -E '^  [a-z_]+:' | grep -v '^  space:'
    [[ -n "$scales" ]] && echo "chip_model: {$scales}"
  } > "$ref.yaml"
  "$phaze" run "$ref.yaml" --out "$ref" --in-process --quiet > /dev/null
  python3 -c 'import csv, sys
r = next(csv.DictReader(open(sys.argv[1])))
print(r["chip_area_mm2"], r["chip_tdp_w"])' "$ref/results.csv"
}

run() {  # name job budget-line scales-line
  local name=$1 job=$2 budget=$3 scales=$4
  mkdir -p "$out/$name"
  sed -e "s|^budget:.*|$budget|" "$job" > "$scratch/$name.yaml"
  [[ -n "$scales" ]] && echo "chip_model: {$scales}" >> "$scratch/$name.yaml"
  echo "== $name: $budget ${scales:+chip_model: $scales}"
  "$phaze" compare "$scratch/$name.yaml" --out "$out/$name" > "$out/$name/compare.log"
  rm -f "$out/$name/front-mbs.svg" "$out/$name/report.html"
}

# MODEL's name, model and training sections from examples/MODEL.yaml, the rest from TEMPLATE.
model_job() {
  local model=$1 template=$2
  echo "name: $model-codesign"
  sed -n '/^model:/,/^architecture:/p' "examples/$model.yaml" | sed '$d'
  sed -n '/^architecture:/,$p' "$template"
}

area_job=examples/codesign/gpt3-iso-area.yaml
power_job=examples/codesign/gpt3-iso-power.yaml
models=${PHAZE_CODESIGN_MODELS-"llama2 bertlarge gpt2 megatrongpt2-54 megatrongpt2-72 opt"}
for v in $variants; do
  scales=""
  [[ "$v" != none ]] && scales="${v%%=*}: ${v#*=}"
  read -r area tdp < <(reference_bill "$area_job" "$scales")
  # Rounded up to 0.1 so that the reference chip itself keeps the budget.
  area_budget=$(python3 -c "import math; print(math.ceil(float('$area') * 10) / 10)")
  run "area-${v//=/-}" "$area_job" "budget: {chip_area_mm2: $area_budget, shoreline: true}" "$scales"
  if [[ "$v" == none ]]; then
    power_budget=$(python3 -c "import math; print(math.ceil(float('$tdp') * 10) / 10)")
    run "power-none" "$power_job" "budget: {tdp_w: $power_budget, shoreline: true}" ""
  fi
done

# The other paper models under the unscaled budgets (the TPUv4-like chip's area and TDP).
read -r area tdp < <(reference_bill "$area_job" "")
area_budget=$(python3 -c "import math; print(math.ceil(float('$area') * 10) / 10)")
power_budget=$(python3 -c "import math; print(math.ceil(float('$tdp') * 10) / 10)")
for m in $models; do
  if [[ -f "examples/codesign/$m-iso-area.yaml" ]]; then
    cp "examples/codesign/$m-iso-area.yaml" "$scratch/$m-area-job.yaml"
    cp "examples/codesign/$m-iso-power.yaml" "$scratch/$m-power-job.yaml"
  else
    model_job "$m" "$area_job" > "$scratch/$m-area-job.yaml"
    model_job "$m" "$power_job" > "$scratch/$m-power-job.yaml"
  fi
  run "$m-area-none" "$scratch/$m-area-job.yaml" \
    "budget: {chip_area_mm2: $area_budget, shoreline: true}" ""
  run "$m-power-none" "$scratch/$m-power-job.yaml" "budget: {tdp_w: $power_budget, shoreline: true}" ""
done

python3 - "$out" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
def chip(row):
    if not row.get("feasible"):
        return "infeasible"
    c = row["chip_model"]
    return (f"{row['throughput_samples_per_s']:.2f}/s: {row['architecture']}, "
            f"{c['hbm_stacks']} stacks, {c['glb_banks']} banks, {c['link_gb_per_s']:.0f} GB/s link "
            f"({c['area_mm2']:.0f} mm^2, {c['tdp_w']:.0f} W)")
lines = ["| run | budget | (b) TPUv4-like, DP | (c) decoupled | (e) co-search | (e) / (c) |",
         "|---|---|---|---|---|---:|"]
for d in sorted(out.iterdir()):
    f = d / "compare.json"
    if not f.exists():
        continue
    j = json.loads(f.read_text())
    r = j["rows"]
    ratio = (r["e"]["throughput_samples_per_s"] / r["c"]["throughput_samples_per_s"]
             if r["c"].get("feasible") and r["e"].get("feasible") else float("nan"))
    b = j.get("budget", {})
    budget = (f"{b['chip_area_mm2']:.1f} mm^2" if b.get("chip_area_mm2") else
              f"{b.get('tdp_w', 0):.1f} W")
    lines.append(f"| {d.name} | {budget} | {chip(r['b'])} | {chip(r['c'])} | "
                 f"{chip(r['e'])} | {ratio:.3f} |")
(out / "table.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
