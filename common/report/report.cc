#include "common/report/report.h"

#include <algorithm>
#include <optional>
#include <sstream>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/arch/chip_model.h"
#include "common/report/plot.h"

namespace phaze::report {

using arch::Architecture;
using eval::EvaluationResult;
using eval::IlpStats;
using eval::PointResult;
using job::JobSpec;
using place::Strategy;
using search::DesignPoint;
using search::SearchState;
using search::SearchStats;
namespace {

nlohmann::json ArchJson(const Architecture& a, double area_um2) {
  return {{"num_tc", a.num_tc},         {"tc_width", a.tc_width},
          {"tc_depth", a.tc_depth},     {"num_vc", a.num_vc},
          {"vc_width", a.vc_width},     {"glb_mib", a.glb_bytes / kMiB},
          {"area_mm2", area_um2 / 1e6}, {"peak_tflops", a.PeakFlopsPerS() / 1e12},
          {"describe", a.Describe()}};
}

}  // namespace

// The chip model's bill for this chip with `hbm_bytes` under the job's scales.
nlohmann::json ChipModelJson(const Architecture& a, int64_t hbm_bytes,
                             const arch::ChipModelScales& scales, const place::Placement* placed) {
  const absl::StatusOr<arch::ChipCost> c = arch::EstimateChip(a, hbm_bytes, scales);
  if (!c.ok()) return {{"error", std::string(c.status().message())}};
  nlohmann::json j = {
      {"area_mm2", c->area.total_mm2},       {"tdp_w", c->power.total_w},
      {"hbm_stacks", c->hbm_stacks},         {"hbm_stack", a.hbm_stack},
      {"glb_banks", c->glb_banks},           {"max_hbm_stacks", c->max_hbm_stacks},
      {"fits_shoreline", c->fits_shoreline}, {"shoreline_pad_mm2", c->area.shoreline_pad_mm2},
      {"fits_reticle", c->fits_reticle}};
  if (placed != nullptr && placed->feasible) {
    j["training_power_w"] = arch::TrainingPowerW(*c, place::DynamicPowerPerDeviceW(*placed));
  }
  return j;
}

nlohmann::json PlacementJson(const place::Placement& p) {
  if (!p.feasible) return {{"feasible", false}};
  const place::TimeBreakdown& t = p.time;
  const place::MemoryBreakdown& m = p.memory;
  return {{"feasible", true},
          {"throughput_samples_per_s", p.throughput_samples_per_s},
          {"time_per_batch_s", p.time_per_batch_s},
          {"pipeline", p.strategy.pipeline},
          {"tensor", p.strategy.tensor},
          {"data", p.strategy.data},
          {"devices", p.strategy.pipeline * p.strategy.tensor * p.strategy.data},
          {"stage_layers", p.stage_layers},
          {"micro_batches", p.micro_batches},
          {"memory_per_device_gib", static_cast<double>(p.memory_per_device_bytes) / kGiB},
          {"bubble_fraction", p.bubble_fraction},
          {"gradient_sync_s", p.sync_s},
          {"energy_per_sample_j", p.energy_per_sample_j},
          {"virtual_stages", p.strategy.virtual_stages},
          {"sequence_parallel", p.strategy.sequence_parallel},
          {"sharding", place::ShardingName(p.strategy.sharding)},
          {"split", place::SplitName(p.strategy.split)},
          {"recompute", place::RecomputeName(p.recompute)},
          {"time_s",
           {{"forward", t.forward_s},
            {"backward", t.backward_s},
            {"recompute", t.recompute_s},
            {"tp_comm", t.tp_comm_s},
            {"pipeline_comm", t.pipeline_comm_s},
            {"zero3_gather", t.zero3_gather_s},
            {"bubble", t.bubble_s},
            {"data_comm", t.data_comm_s},
            {"optimizer", t.optimizer_s}}},
          {"memory_gib",
           {{"weights", static_cast<double>(m.weights_bytes) / kGiB},
            {"gradients", static_cast<double>(m.gradients_bytes) / kGiB},
            {"optimizer", static_cast<double>(m.optimizer_bytes) / kGiB},
            {"activations", static_cast<double>(m.activations_bytes) / kGiB}}}};
}

nlohmann::json DesignPointJson(const SearchState& state, const DesignPoint& point) {
  const arch::ChipModelScales& scales = state.spec().chip_model;
  const EvaluationResult& r = state.results().at(point.candidate_index);
  const PointResult& pr = state.PointOf(point);
  nlohmann::json j = {{"candidate", r.candidate_index},
                      {"arch_index", r.arch_index},
                      {"architecture", ArchJson(r.arch, r.area_um2)},
                      {"micro_batch", r.micro_batch},
                      {"hbm_gib", pr.hbm_bytes / kGiB},
                      {"chip_model", ChipModelJson(r.arch, pr.hbm_bytes, scales, &pr.search)},
                      {"recompute", place::RecomputeName(pr.recompute)},
                      {"placement", PlacementJson(pr.search)},
                      // What the front weighed (0: an objective the job does not weigh).
                      {"objectives",
                       {{"throughput_samples_per_s", point.throughput_samples_per_s},
                        {"area_mm2", point.area_um2 / 1e6},
                        {"tdp_w", point.tdp_w},
                        {"energy_per_sample_j", point.energy_per_sample_j}}}};
  if (pr.has_fixed) j["fixed_strategy"] = PlacementJson(pr.fixed);
  return j;
}

nlohmann::json StatsJson(const SearchStats& s) {
  const IlpStats& i = s.ilp;
  return {{"evaluated", s.evaluated},
          {"feasible", s.feasible},
          {"infeasible", s.infeasible},
          {"pruned", s.pruned},
          {"errors", s.errors},
          {"ilp",
           {{"layers", i.layers},
            {"built", i.built},
            {"searched", i.searched},
            {"skipped_by_bounds", i.skipped_by_bounds},
            {"cache_hits", i.cache_hits},
            {"skipped_by_dominance", i.skipped_by_dominance},
            {"time_outs", i.time_outs},
            {"mean_gap", i.layers > 0 ? i.sum_gap / static_cast<double>(i.layers) : 0.0},
            {"max_gap", i.max_gap},
            {"solver_s", i.solve_s}}}};
}

nlohmann::json BestJson(const JobSpec& job, const SearchState& state) {
  nlohmann::json j = {
      {"job", job.name}, {"model", job.model.name}, {"stats", StatsJson(state.stats())}};
  if (state.best().Get().has_value()) {
    j["best"] = DesignPointJson(state, *state.best().Get());
  } else {
    j["best"] = nullptr;
  }
  return j;
}

nlohmann::json FrontJson(const JobSpec& job, const SearchState& state) {
  nlohmann::json points = nlohmann::json::array();
  for (const DesignPoint& p : state.front().Points()) {
    points.push_back(DesignPointJson(state, p));
  }
  nlohmann::json objectives = {"throughput_samples_per_s (max)"};
  const eval::ObjectiveSpec& o = job.objectives;
  if (o.area) {
    objectives.push_back(
        absl::StrCat("area_mm2 (min, ", eval::AreaModelName(o.area_model), " area model)"));
  }
  if (o.power) objectives.push_back("tdp_w (min)");
  if (o.energy) objectives.push_back("energy_per_sample_j (min)");
  return {{"job", job.name}, {"objectives", objectives}, {"points", points}};
}

std::string ResultsCsv(const SearchState& state) {
  const arch::ChipModelScales& scales = state.spec().chip_model;
  std::ostringstream out;
  out << "candidate,arch_index,num_tc,tc_width,tc_depth,num_vc,vc_width,glb_mib,area_mm2,"
         "micro_batch,hbm_gib,recompute,feasible,throughput_samples_per_s,time_per_batch_s,"
         "pipeline,tensor,data,memory_per_device_gib,bubble_fraction,energy_per_sample_j,"
         "fixed_feasible,fixed_throughput_samples_per_s,ilp_worst_status,ilp_max_gap,"
         "chip_area_mm2,chip_tdp_w,hbm_stacks\n";
  for (const auto& [index, r] : state.results()) {
    for (const PointResult& p : r.points) {
      const place::Placement& s = p.search;
      const absl::StatusOr<arch::ChipCost> chip = arch::EstimateChip(r.arch, p.hbm_bytes, scales);
      out << absl::StrFormat(
          "%d,%d,%d,%d,%d,%d,%d,%d,%.6f,%d,%d,%s,%d,%.9g,%.9g,%d,%d,%d,%.6f,%.6f,"
          "%.9g,%s,%s,%s,%.6f,%.3f,%.3f,%d\n",
          index, r.arch_index, r.arch.num_tc, r.arch.tc_width, r.arch.tc_depth, r.arch.num_vc,
          r.arch.vc_width, r.arch.glb_bytes / kMiB, r.area_um2 / 1e6, r.micro_batch,
          p.hbm_bytes / kGiB, place::RecomputeName(p.recompute), s.feasible ? 1 : 0,
          s.feasible ? s.throughput_samples_per_s : 0.0, s.feasible ? s.time_per_batch_s : 0.0,
          s.feasible ? s.strategy.pipeline : 0, s.feasible ? s.strategy.tensor : 0,
          s.feasible ? s.strategy.data : 0, static_cast<double>(s.memory_per_device_bytes) / kGiB,
          s.bubble_fraction, s.energy_per_sample_j,
          p.has_fixed ? (p.fixed.feasible ? "1" : "0") : "",
          p.has_fixed && p.fixed.feasible
              ? absl::StrFormat("%.9g", p.fixed.throughput_samples_per_s)
              : "",
          sched::SolveStatusName(r.ilp.worst), r.ilp.max_gap,
          chip.ok() ? chip->area.total_mm2 : 0.0, chip.ok() ? chip->power.total_w : 0.0,
          chip.ok() ? chip->hbm_stacks : 0);
    }
  }
  return out.str();
}

namespace {

// The objectives a front can be plotted along, in the units their labels name.
struct Objective {
  const char* key;
  const char* label;
  double (*of)(const DesignPoint&);
};
constexpr Objective kObjectives[] = {
    {"area", "chip area (mm^2)", [](const DesignPoint& p) { return p.area_um2 / 1e6; }},
    {"throughput", "throughput (samples/s)",
     [](const DesignPoint& p) { return p.throughput_samples_per_s; }},
    {"power", "TDP (W)", [](const DesignPoint& p) { return p.tdp_w; }},
    {"energy", "energy per sample (J)", [](const DesignPoint& p) { return p.energy_per_sample_j; }},
};

bool Weighs(const eval::ObjectiveSpec& o, const std::string& key) {
  return key == "throughput" || (key == "area" && o.area) || (key == "power" && o.power) ||
         (key == "energy" && o.energy);
}

const Objective& ObjectiveOf(const std::string& key) {
  for (const Objective& o : kObjectives) {
    if (key == o.key) return o;
  }
  return kObjectives[0];
}

}  // namespace

std::vector<std::string> PlotObjectives(const eval::ObjectiveSpec& weighed) {
  std::vector<std::string> keys;
  for (const Objective& o : kObjectives) {
    if (Weighs(weighed, o.key)) keys.emplace_back(o.key);
  }
  return keys;
}

std::string FrontSvg(const SearchState& state, ColorBy color_by, const std::string& title,
                     const FrontPlotAxes& axes) {
  const Objective& xo = ObjectiveOf(axes.x);
  const Objective& yo = ObjectiveOf(axes.y);
  std::vector<PlotPoint> points;
  const std::optional<DesignPoint> best = state.best().Get();
  for (const DesignPoint& p : state.front().Points()) {
    const EvaluationResult& r = state.results().at(p.candidate_index);
    const PointResult& pr = state.PointOf(p);
    PlotPoint q;
    q.x = xo.of(p);
    q.y = yo.of(p);
    q.group = color_by == ColorBy::kHbm ? absl::StrFormat("HBM %d GiB", pr.hbm_bytes / kGiB)
                                        : absl::StrFormat("micro-batch %d", r.micro_batch);
    const Strategy& st = pr.search.strategy;
    q.tooltip = absl::StrFormat(
        "%s, %.1f mm2: %.4g samples/s, %.3g J/sample; mbs %d, HBM %d GiB, "
        "recompute %s, (p,t,d) (%d,%d,%d)",
        r.arch.Describe(), p.area_um2 / 1e6, p.throughput_samples_per_s, p.energy_per_sample_j,
        r.micro_batch, pr.hbm_bytes / kGiB, place::RecomputeName(pr.recompute), st.pipeline,
        st.tensor, st.data);
    q.highlight = best.has_value() && best->Key() == p.Key();
    points.push_back(std::move(q));
  }
  PlotOptions options;
  options.title = title;
  options.x_label = xo.label;
  options.y_label = yo.label;
  options.id = axes.id;
  options.width_px = axes.width_px;
  options.height_px = axes.height_px;
  return ScatterSvg(points, options);
}

std::string JobPageHtml(const JobSpec& job, const SearchState& state, const JobPageInfo& info) {
  std::string html = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  if (info.state == "running") html += "<meta http-equiv=\"refresh\" content=\"5\">\n";
  absl::StrAppend(&html, "<title>phaze: ", EscapeXml(job.name), " (", EscapeXml(info.job_id),
                  ")</title>\n",
                  "<style>body{font-family:sans-serif;margin:2em;max-width:80em;color:#222}"
                  "table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right;"
                  "border-bottom:1px solid #ddd}th{background:#f4f4f4}td.l,th.l{text-align:left}"
                  "progress{width:30em}.muted{color:#777}</style></head>\n<body>\n");
  absl::StrAppend(&html, "<h1>", EscapeXml(job.name), "</h1>\n");
  absl::StrAppendFormat(
      &html,
      "<p>job <code>%s</code>, model <b>%s</b>, %d accelerators, global batch %d: "
      "<b id=\"state\">%s</b></p>\n",
      EscapeXml(info.job_id), EscapeXml(job.model.name), job.training.accelerators,
      job.training.global_batch, EscapeXml(info.state));
  absl::StrAppendFormat(
      &html,
      "<p><progress max=\"%d\" value=\"%d\"></progress> %d / %d candidates (%d pruned by bounds, "
      "%d failed, %d leases expired)</p>\n",
      std::max<int64_t>(1, info.candidates_total), info.candidates_done, info.candidates_done,
      info.candidates_total, info.candidates_pruned, info.candidates_failed, info.leases_expired);
  if (!info.error.empty()) absl::StrAppend(&html, "<p>error: ", EscapeXml(info.error), "</p>\n");

  html += "<h2>Best design</h2>\n";
  const std::optional<DesignPoint> best = state.best().Get();
  if (!best.has_value()) {
    html += "<p class=\"muted\">no feasible design yet</p>\n";
  } else {
    const EvaluationResult& r = state.results().at(best->candidate_index);
    const PointResult& pr = state.PointOf(*best);
    const Strategy& st = pr.search.strategy;
    absl::StrAppendFormat(
        &html,
        "<table id=\"best\"><tr><th class=\"l\">throughput</th><td>%.6g samples/s</td></tr>"
        "<tr><th class=\"l\">architecture</th><td>%s</td></tr>"
        "<tr><th class=\"l\">area</th><td>%.2f mm<sup>2</sup> (%s area model)</td></tr>"
        "<tr><th class=\"l\">TDP</th><td>%.1f W</td></tr>"
        "<tr><th class=\"l\">peak</th><td>%.1f TFLOP/s</td></tr>"
        "<tr><th class=\"l\">micro-batch, HBM, recompute</th><td>%d, %d GiB, %s</td></tr>"
        "<tr><th class=\"l\">(p, t, d)</th><td>(%d, %d, %d)</td></tr>"
        "<tr><th class=\"l\">energy</th><td>%.4g J/sample</td></tr></table>\n",
        best->throughput_samples_per_s, EscapeXml(r.arch.Describe()), best->area_um2 / 1e6,
        eval::AreaModelName(job.objectives.area_model), best->tdp_w, r.arch.PeakFlopsPerS() / 1e12,
        r.micro_batch, pr.hbm_bytes / kGiB, place::RecomputeName(pr.recompute), st.pipeline,
        st.tensor, st.data, best->energy_per_sample_j);
  }
  const std::vector<DesignPoint> front = state.front().Points();
  absl::StrAppendFormat(&html, "<h2>Pareto front (%d points)</h2>\n", front.size());
  // One plot per ordered pair of the objectives the job weighs, the user's pick shown.
  html += "<p id=\"axes\">x <select id=\"x-axis\">";
  const std::vector<std::string> objectives = PlotObjectives(job.objectives);
  // Against throughput, along the first other objective the job weighs (area by default).
  std::string x_pick = "throughput";
  for (const std::string& key : objectives) {
    if (key != "throughput") {
      x_pick = key;
      break;
    }
  }
  for (const std::string& key : objectives) {
    absl::StrAppend(&html, "<option value=\"", key, "\"", key == x_pick ? " selected" : "", ">",
                    EscapeXml(ObjectiveOf(key).label), "</option>");
  }
  html += "</select> y <select id=\"y-axis\">";
  for (const std::string& key : objectives) {
    absl::StrAppend(&html, "<option value=\"", key, "\"", key == "throughput" ? " selected" : "",
                    ">", EscapeXml(ObjectiveOf(key).label), "</option>");
  }
  html +=
      "</select> <span id=\"same-axis\" class=\"muted\" hidden>pick two different "
      "objectives</span></p>\n<div id=\"plots\">\n";
  for (const std::string& x : objectives) {
    for (const std::string& y : objectives) {
      if (x == y) continue;
      FrontPlotAxes axes{.x = x,
                         .y = y,
                         .id = absl::StrCat("plot-", x, "-", y),
                         .width_px = 1000,
                         .height_px = 580};
      std::string svg = FrontSvg(
          state, ColorBy::kHbm,
          absl::StrCat(job.name, ": ", ObjectiveOf(y).label, " against ", ObjectiveOf(x).label),
          axes);
      // Shown by the script; without it, only the default plot.
      const bool shown = x == x_pick && y == "throughput";
      svg.insert(4, absl::StrCat(" data-x=\"", x, "\" data-y=\"", y, "\"",
                                 shown ? "" : " style=\"display:none\""));
      html += svg;
    }
  }
  html += "</div>\n";
  // The front's points, sortable by any column (click its header).
  html +=
      "<table id=\"front\"><thead><tr><th data-sort=\"n\">area (mm<sup>2</sup>)</th>"
      "<th data-sort=\"n\">samples/s</th><th data-sort=\"n\">TDP (W)</th>"
      "<th data-sort=\"n\">J/sample</th>"
      "<th class=\"l\" data-sort=\"s\">architecture</th><th data-sort=\"n\">micro-batch</th>"
      "<th data-sort=\"n\">HBM (GiB)</th><th data-sort=\"s\">recompute</th>"
      "<th data-sort=\"s\">(p, t, d)</th></tr></thead><tbody>\n";
  std::vector<DesignPoint> rows = front;
  std::sort(rows.begin(), rows.end(), [](const DesignPoint& a, const DesignPoint& b) {
    return a.area_um2 != b.area_um2 ? a.area_um2 < b.area_um2 : a.Key() < b.Key();
  });
  for (const DesignPoint& p : rows) {
    const EvaluationResult& r = state.results().at(p.candidate_index);
    const PointResult& pr = state.PointOf(p);
    const Strategy& st = pr.search.strategy;
    absl::StrAppendFormat(
        &html,
        "<tr><td data-v=\"%.17g\">%.2f</td><td data-v=\"%.17g\">%.5g</td>"
        "<td data-v=\"%.17g\">%.1f</td>"
        "<td data-v=\"%.17g\">%.4g</td><td class=\"l\">%s</td><td>%d</td><td>%d</td><td>%s</td>"
        "<td>(%d, %d, %d)</td></tr>\n",
        p.area_um2 / 1e6, p.area_um2 / 1e6, p.throughput_samples_per_s, p.throughput_samples_per_s,
        p.tdp_w, p.tdp_w, p.energy_per_sample_j, p.energy_per_sample_j,
        EscapeXml(r.arch.Describe()), r.micro_batch, pr.hbm_bytes / kGiB,
        place::RecomputeName(pr.recompute), st.pipeline, st.tensor, st.data);
  }
  html += "</tbody></table>\n";
  html += R"js(<script>
(function () {
  var xs = document.getElementById('x-axis'), ys = document.getElementById('y-axis');
  function show() {
    var id = 'plot-' + xs.value + '-' + ys.value;
    var plots = document.querySelectorAll('svg.phaze-plot');
    for (var i = 0; i < plots.length; ++i) plots[i].style.display = plots[i].id === id ? '' : 'none';
    document.getElementById('same-axis').hidden = xs.value !== ys.value;
    // Kept in the address, so that the running job's 5 s reload keeps the pick.
    if (history.replaceState) history.replaceState(null, '', '#x=' + xs.value + '&y=' + ys.value);
  }
  xs.addEventListener('change', show);
  ys.addEventListener('change', show);
  var picked = /^#x=([a-z]+)&y=([a-z]+)$/.exec(location.hash);
  var initial = picked ? [picked[1], picked[2]] : ['area', 'throughput'];
  if (picked && document.getElementById('plot-' + initial[0] + '-' + initial[1])) {
    xs.value = initial[0];
    ys.value = initial[1];
    show();
  } else {
    initial = ['area', 'throughput'];
  }
  var table = document.getElementById('front'), headers = table.querySelectorAll('th');
  function cellKey(row, col, numeric) {
    var cell = row.cells[col];
    return numeric ? parseFloat(cell.getAttribute('data-v') || cell.textContent) : cell.textContent;
  }
  function sortBy(col) {
    var th = headers[col], numeric = th.getAttribute('data-sort') === 'n';
    var up = th.getAttribute('data-dir') !== 'up';
    for (var i = 0; i < headers.length; ++i) headers[i].removeAttribute('data-dir');
    th.setAttribute('data-dir', up ? 'up' : 'down');
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var ka = cellKey(a, col, numeric), kb = cellKey(b, col, numeric);
      var c = ka < kb ? -1 : ka > kb ? 1 : 0;
      return up ? c : -c;
    });
    for (var j = 0; j < rows.length; ++j) body.appendChild(rows[j]);
  }
  for (var c = 0; c < headers.length; ++c) {
    headers[c].style.cursor = 'pointer';
    headers[c].addEventListener('click', sortBy.bind(null, c));
  }
  // Once laid out: for every axis choice, every point has a size and its colour is on top at some
  // part of it (no point hidden behind one of another colour); the result goes on <body> for
  // tests.
  window.addEventListener('load', function () {
    var plots = document.querySelectorAll('svg.phaze-plot'), ok = 0, hidden = 0, first = -1;
    for (var i = 0; i < plots.length; ++i) {
      xs.value = plots[i].getAttribute('data-x');
      ys.value = plots[i].getAttribute('data-y');
      xs.dispatchEvent(new Event('change'));
      plots[i].scrollIntoView();
      var points = plots[i].querySelectorAll('circle.phaze-point'), drawn = 0, seen = 0;
      for (var k = 0; k < points.length; ++k) {
        var box = points[k].getBoundingClientRect();
        if (!(box.width > 0 && box.height > 0)) continue;
        ++drawn;
        // Its centre and eight points at 0.9 of its radius (common/report/plot.cc, Probes).
        var cx = box.left + box.width / 2, cy = box.top + box.height / 2, r = 0.45 * box.width;
        var probes = [[0, 0]];
        for (var a = 0; a < 8; ++a) {
          probes.push([r * Math.cos(a * Math.PI / 4), r * Math.sin(a * Math.PI / 4)]);
        }
        for (var q = 0; q < probes.length; ++q) {
          // On top there: this point, or one of its own colour (the same <g>).
          var top = document.elementFromPoint(cx + probes[q][0], cy + probes[q][1]);
          if (top && top.parentNode === points[k].parentNode) {
            ++seen;
            break;
          }
        }
      }
      hidden += drawn - seen;
      if (drawn === points.length && seen === drawn &&
          String(points.length) === plots[i].getAttribute('data-points')) ++ok;
      if (plots[i].id === 'plot-area-throughput') first = drawn;
    }
    xs.value = initial[0];
    ys.value = initial[1];
    xs.dispatchEvent(new Event('change'));
    window.scrollTo(0, 0);
    var col = 1, sorted = true;
    sortBy(col);
    var rows = table.tBodies[0].rows;
    for (var m = 1; m < rows.length; ++m) {
      if (cellKey(rows[m - 1], col, true) > cellKey(rows[m], col, true)) sorted = false;
    }
    sortBy(col);
    for (var n = 1; n < rows.length; ++n) {
      if (cellKey(rows[n - 1], col, true) < cellKey(rows[n], col, true)) sorted = false;
    }
    var b = document.body;
    b.setAttribute('data-plot-points', String(first));
    b.setAttribute('data-plot-choices', String(plots.length));
    b.setAttribute('data-plot-choices-ok', String(ok));
    b.setAttribute('data-plot-hidden', String(hidden));
    b.setAttribute('data-table-sorted', sorted ? 'yes' : 'no');
    b.setAttribute('data-plot-rendered', plots.length > 0 && ok === plots.length ? 'yes' : 'no');
  });
})();
</script>
</body></html>
)js";
  return html;
}

}  // namespace phaze::report
