#!/usr/bin/env python3
"""Renders docs/results.md from the files docs/regenerate.sh leaves in docs/results/.

Inputs (all produced by the repository's own binaries):
  docs/results/<model>/compare.json, front.svg   `phaze compare examples/<model>.yaml`
  docs/results/validation.json                      `phaze validate tests/validation/published-runs.json --json`
  docs/results/scaling.txt                         `tests/bench/service_bench.sh`
  docs/results/speed.txt                           `tests/bench/speed_bench.sh`
  docs/results/cluster.txt                         `tests/bench/cluster_bench.sh`
  docs/results/machine.txt                         the machine and commit the figures come from
"""
import json
import pathlib
import sys

MODELS = ["bertlarge", "gpt2", "opt", "llama2", "megatrongpt2-54", "megatrongpt2-72", "megatrongpt3"]
ROWS = {
    "a": "TPUv4-like, paper's fixed (p, d, t)",
    "b": "TPUv4-like, our placement DP",
    "c": "decoupled (Spotlight-style chip, then DP)",
    "d": "original's area-bucket heuristic",
    "e": "co-optimised search (ours)",
}


def fmt_row(key, row, base):
    if not row.get("feasible"):
        return f"| ({key}) {ROWS[key]} | infeasible | | | | | | | |"
    t = row["throughput_samples_per_s"]
    speedup = f"{t / base:.2f}x" if base else ""
    return (f"| ({key}) {ROWS[key]} | {t:,.1f} | {speedup} | {row['architecture']} | "
            f"{row['area_mm2']:.1f} | {row['micro_batch']} | {'on' if row['recompute'] else 'off'} | "
            f"{row['hbm_gib']} | ({row['pipeline']}, {row['tensor']}, {row['data']}) |")


def why_not_best(rows):
    e = rows["e"].get("throughput_samples_per_s", 0) if rows["e"].get("feasible") else 0
    beaten = [(k, rows[k]["throughput_samples_per_s"]) for k in "abcd"
              if rows[k].get("feasible") and rows[k]["throughput_samples_per_s"] > e * (1 + 1e-9)]
    ties = [k for k in "abcd" if rows[k].get("feasible")
            and abs(rows[k]["throughput_samples_per_s"] - e) <= 1e-9 * e]
    if not beaten:
        if ties:
            same = all(rows[k]["architecture"] == rows["e"]["architecture"] for k in ties)
            return ("(e) is the best of the five, tied by " + ", ".join(f"({k})" for k in ties) +
                    (": the same chip." if same else
                     ": the same throughput on another chip of the same compute (a row shows one "
                     "chip of a tie)."))
        return "(e) is the best of the five."
    lines = []
    for k, t in beaten:
        lines.append(f"({k}) beats (e) by {100 * (t / e - 1):.2f}%.")
    return " ".join(lines)


def model_section(name, d, out):
    rows = d["rows"]
    a = rows["a"].get("throughput_samples_per_s") if rows["a"].get("feasible") else None
    fs = d.get("fixed_strategy", {})
    out.append(f"### {name}\n")
    out.append(f"{d['accelerators']:,} accelerators, global batch {d['global_batch']:,}, micro-batch sizes "
               f"{', '.join(map(str, d['micro_batch_sizes']))}; paper's fixed strategy "
               f"(p, t, d) = ({fs.get('pipeline')}, {fs.get('tensor')}, {fs.get('data')}).\n")
    out.append("| | samples/s | vs (a) | chip | area (mm²) | micro-batch | recompute | HBM (GiB) | (p, t, d) |")
    out.append("|---|---:|---:|---|---:|---:|---|---:|---|")
    for k in "abcde":
        out.append(fmt_row(k, rows[k], a))
    pick = rows["c"].get("pick", {})
    out.append("")
    out.append(f"(c) chose {pick.get('architecture')} ({pick.get('area_mm2', 0):.1f} mm²) for the lowest "
               f"single-accelerator latency, {1e3 * pick.get('latency_per_sample_s', 0):.3f} ms per sample "
               f"at micro-batch {pick.get('micro_batch')}, out of {pick.get('chips_costed', 0):,} valid chips. "
               + why_not_best(rows) + "\n")
    out.append(f"![{name} Pareto front](results/{name}/front.svg)\n")


def summary_section(data, out):
    out.append("| model | (b)/(a): our DP on the TPUv4-like chip | (e)/(b): co-optimised chip | "
               "(e)/(c): over decoupled | (e)/(d): over the area heuristic | (e)/(a) |")
    out.append("|---|---:|---:|---:|---:|---:|")
    for name, d in data.items():
        t = {k: (r["throughput_samples_per_s"] if r.get("feasible") else None) for k, r in d["rows"].items()}
        ratio = lambda x, y: f"{t[x] / t[y]:.2f}x" if t.get(x) and t.get(y) else "n/a"
        out.append(f"| {name} | {ratio('b', 'a')} | {ratio('e', 'b')} | {ratio('e', 'c')} | "
                   f"{ratio('e', 'd')} | {ratio('e', 'a')} |")
    out.append("")


def speed_section(data, out):
    out.append("| model | candidates | visited/s per core | evaluated | pruned by bounds | wall (s) | "
               "MILPs built | skipped by bounds | skipped by width | cache hits | node/time limit | mean gap | max gap |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, d in data.items():
        s = d["rows"]["e"]["search"]
        i = s["ilp"]
        out.append(f"| {name} | {s['candidates']:,} | {s['visited_per_s_per_core']:.1f} | {s['evaluated']:,} | "
                   f"{s['pruned']:,} | {s['seconds']:.1f} | {i['built']:,} | {i['skipped_by_bounds']:,} | "
                   f"{i['skipped_by_dominance']:,} | {i['cache_hits']:,} | {i['time_outs']:,} | "
                   f"{i['mean_gap']:.5f} | {i['max_gap']:.4f} |")
    out.append("")
    out.append("The (d) heuristic, for comparison:\n")
    out.append("| model | evaluated | wall (s) | best vs (e) |")
    out.append("|---|---:|---:|---:|")
    for name, d in data.items():
        s = d["rows"]["d"]["search"]
        e = d["rows"]["e"].get("throughput_samples_per_s", 0)
        t = d["rows"]["d"].get("throughput_samples_per_s", 0)
        out.append(f"| {name} | {s['evaluated']:,} | {s['seconds']:.1f} | {t / e:.3f} |" if e else f"| {name} | | | |")
    out.append("")


def fidelity_section(root, out):
    """The validation against published runs: `phaze validate --json` (docs/results/validation.json)."""
    path = root / "validation.json"
    if not path.exists():
        out.append("(not run)")
        return
    rows = json.loads(path.read_text())
    out.append("| run | GPUs | (p, t, d) | measured s/step | predicted s/step | error | forward | backward | "
               "recompute | TP comm | PP comm | bubble | DP comm | optimizer | memory GiB | MFU | "
               "DP's best s/step (p, t, d, sharding) |")
    out.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    errors = []
    for r in rows:
        pub = r["as_published"]
        pl = pub["placement"]
        if not pl.get("feasible"):
            out.append(f"| {r['id']} | {pub['devices']:,} | | {r['measured_iteration_s']:.2f} | infeasible | | | | | | | | | | | | |")
            continue
        t = pl["time_s"]
        mem = pl["memory_per_device_gib"]
        errors.append(abs(r["error"]))
        best = r["dp_best"]["placement"]
        best_s = (f"{best['time_per_batch_s']:.2f} ({best['pipeline']}, {best['tensor']}, {best['data']}, "
                  f"{best['sharding']})" if best.get("feasible") else "infeasible")
        out.append(f"| {r['id']} | {pub['devices']:,} | ({pl['pipeline']}, {pl['tensor']}, {pl['data']}) | "
                   f"{r['measured_iteration_s']:.2f} | {pl['time_per_batch_s']:.2f} | {100 * r['error']:+.1f}% | "
                   f"{t['forward']:.2f} | {t['backward']:.2f} | {t['recompute']:.2f} | {t['tp_comm']:.2f} | "
                   f"{t['pipeline_comm']:.2f} | {t['bubble']:.2f} | {t['data_comm']:.2f} | {t['optimizer']:.3f} | "
                   f"{mem:.1f} | {100 * pub['mfu']:.1f}% | {best_s} |")
    out.append("")
    if errors:
        out.append(f"Mean absolute error {100 * sum(errors) / len(errors):.1f}%, max {100 * max(errors):.1f}% "
                   f"over {len(errors)} runs (target: mean at most 5%, max at most 10%).")
        out.append("")


CODESIGN_MODELS = [("megatrongpt3", ""), ("llama2", "llama2-"), ("bertlarge", "bertlarge-"),
                   ("gpt2", "gpt2-"), ("megatrongpt2-54", "megatrongpt2-54-"),
                   ("megatrongpt2-72", "megatrongpt2-72-"), ("opt", "opt-")]


def codesign_chip(row):
    if not row.get("feasible"):
        return "infeasible"
    c = row["chip_model"]
    return (f"{row['architecture']}; {c['hbm_stacks']} stacks, {c['glb_banks']} banks, "
            f"{c['link_gb_per_s']:.0f} GB/s link")


def codesign_section(root, out):
    """The co-design comparison per model and budget, from docs/codesign.sh's outputs."""
    base = root / "codesign"
    out.append("| model | budget | (b) TPUv4-like, DP | (c) decoupled | (e) co-search | (e) / (c) | "
               "(c)'s chip | (e)'s chip |")
    out.append("|---|---|---:|---:|---:|---:|---|---|")
    found = 0
    for model, prefix in CODESIGN_MODELS:
        for budget in ("area", "power"):
            f = base / f"{prefix}{budget}-none" / "compare.json"
            if not f.exists():
                continue
            found += 1
            j = json.loads(f.read_text())
            r = j["rows"]
            b = j.get("budget", {})
            label = (f"area {b['chip_area_mm2']:.1f} mm²" if budget == "area" else
                     f"TDP {b['tdp_w']:.1f} W")
            t = {k: r[k]["throughput_samples_per_s"] if r[k].get("feasible") else float("nan")
                 for k in ("b", "c", "e")}
            n = lambda x: f"{x:,.0f}" if x >= 1000 else f"{x:.4g}"
            out.append(f"| {model} | {label} | {n(t['b'])} | {n(t['c'])} | {n(t['e'])} | "
                       f"{t['e'] / t['c']:.3f} | {codesign_chip(r['c'])} | {codesign_chip(r['e'])} |")
    if not found:
        out[:] = ["(docs/codesign.sh has not been run)"]
    out.append("")


def main():
    docs = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent)
    root = docs / "results"
    data = {m: json.loads((root / m / "compare.json").read_text())
            for m in MODELS if (root / m / "compare.json").exists()}
    tmpl = (docs / "results.md.in").read_text()
    comparison, speed, fidelity, summary, codesign = [], [], [], [], []
    codesign_section(root, codesign)
    summary_section(data, summary)
    for name, d in data.items():
        model_section(name, d, comparison)
    speed_section(data, speed)
    fidelity_section(root, fidelity)
    machine = (root / "machine.txt").read_text().strip() if (root / "machine.txt").exists() else ""
    scaling = (root / "scaling.txt").read_text().strip() if (root / "scaling.txt").exists() else "(not run)"
    service_speed = ((root / "speed.txt").read_text().strip() if (root / "speed.txt").exists()
                     else "(not run)")
    cluster = ((root / "cluster.txt").read_text().strip() if (root / "cluster.txt").exists()
               else "(not run)")
    text = (tmpl.replace("@MACHINE@", machine)
                .replace("@SUMMARY@", "\n".join(summary))
                .replace("@COMPARISON@", "\n".join(comparison))
                .replace("@CODESIGN@", "\n".join(codesign))
                .replace("@SPEED@", "\n".join(speed))
                .replace("@SCALING@", scaling)
                .replace("@SERVICE_SPEED@", service_speed)
                .replace("@CLUSTER@", cluster)
                .replace("@FIDELITY@", "\n".join(fidelity)))
    (docs / "results.md").write_text(text)
    print(f"wrote {docs / 'results.md'}: {len(data)} models")


if __name__ == "__main__":
    main()
