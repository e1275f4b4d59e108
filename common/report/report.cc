#include "common/report/report.h"

#include <algorithm>
#include <optional>
#include <sstream>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
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
  const EvaluationResult& r = state.results().at(point.candidate_index);
  const PointResult& pr = state.PointOf(point);
  nlohmann::json j = {{"candidate", r.candidate_index},
                      {"arch_index", r.arch_index},
                      {"architecture", ArchJson(r.arch, r.area_um2)},
                      {"micro_batch", r.micro_batch},
                      {"hbm_gib", pr.hbm_bytes / kGiB},
                      {"recompute", place::RecomputeName(pr.recompute)},
                      {"placement", PlacementJson(pr.search)}};
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
  return {{"job", job.name},
          {"objectives",
           {"throughput_samples_per_s (max)", "area_mm2 (min)", "energy_per_sample_j (min)"}},
          {"points", points}};
}

std::string ResultsCsv(const SearchState& state) {
  std::ostringstream out;
  out << "candidate,arch_index,num_tc,tc_width,tc_depth,num_vc,vc_width,glb_mib,area_mm2,"
         "micro_batch,hbm_gib,recompute,feasible,throughput_samples_per_s,time_per_batch_s,"
         "pipeline,tensor,data,memory_per_device_gib,bubble_fraction,energy_per_sample_j,"
         "fixed_feasible,fixed_throughput_samples_per_s,ilp_worst_status,ilp_max_gap\n";
  for (const auto& [index, r] : state.results()) {
    for (const PointResult& p : r.points) {
      const place::Placement& s = p.search;
      out << absl::StrFormat(
          "%d,%d,%d,%d,%d,%d,%d,%d,%.6f,%d,%d,%s,%d,%.9g,%.9g,%d,%d,%d,%.6f,%.6f,"
          "%.9g,%s,%s,%s,%.6f\n",
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
          sched::SolveStatusName(r.ilp.worst), r.ilp.max_gap);
    }
  }
  return out.str();
}

std::string FrontSvg(const SearchState& state, ColorBy color_by, const std::string& title) {
  std::vector<PlotPoint> points;
  const std::optional<DesignPoint> best = state.best().Get();
  for (const DesignPoint& p : state.front().Points()) {
    const EvaluationResult& r = state.results().at(p.candidate_index);
    const PointResult& pr = state.PointOf(p);
    PlotPoint q;
    q.x = p.area_um2 / 1e6;
    q.y = p.throughput_samples_per_s;
    q.group = color_by == ColorBy::kHbm ? absl::StrFormat("HBM %d GiB", pr.hbm_bytes / kGiB)
                                        : absl::StrFormat("micro-batch %d", r.micro_batch);
    const Strategy& st = pr.search.strategy;
    q.tooltip = absl::StrFormat(
        "%s, %.1f mm2: %.4g samples/s, %.3g J/sample; mbs %d, HBM %d GiB, "
        "recompute %s, (p,t,d) (%d,%d,%d)",
        r.arch.Describe(), q.x, q.y, p.energy_per_sample_j, r.micro_batch, pr.hbm_bytes / kGiB,
        place::RecomputeName(pr.recompute), st.pipeline, st.tensor, st.data);
    q.highlight = best.has_value() && best->Key() == p.Key();
    points.push_back(std::move(q));
  }
  PlotOptions options;
  options.title = title;
  return ScatterSvg(points, options);
}

std::string JobPageHtml(const JobSpec& job, const SearchState& state, const JobPageInfo& info) {
  std::string html = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  if (info.state == "running") html += "<meta http-equiv=\"refresh\" content=\"5\">\n";
  absl::StrAppend(&html, "<title>phaze: ", EscapeXml(job.name), " (", EscapeXml(info.job_id),
                  ")</title>\n",
                  "<style>body{font-family:sans-serif;margin:2em;max-width:70em;color:#222}"
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
        "<tr><th class=\"l\">area</th><td>%.2f mm<sup>2</sup></td></tr>"
        "<tr><th class=\"l\">peak</th><td>%.1f TFLOP/s</td></tr>"
        "<tr><th class=\"l\">micro-batch, HBM, recompute</th><td>%d, %d GiB, %s</td></tr>"
        "<tr><th class=\"l\">(p, t, d)</th><td>(%d, %d, %d)</td></tr>"
        "<tr><th class=\"l\">energy</th><td>%.4g J/sample</td></tr></table>\n",
        best->throughput_samples_per_s, EscapeXml(r.arch.Describe()), best->area_um2 / 1e6,
        r.arch.PeakFlopsPerS() / 1e12, r.micro_batch, pr.hbm_bytes / kGiB,
        place::RecomputeName(pr.recompute), st.pipeline, st.tensor, st.data,
        best->energy_per_sample_j);
  }
  const std::vector<DesignPoint> front = state.front().Points();
  absl::StrAppendFormat(&html, "<h2>Pareto front (%d points)</h2>\n", front.size());
  html += FrontSvg(state, ColorBy::kHbm, absl::StrCat(job.name, ": throughput against chip area"));
  html +=
      "<table id=\"front\"><tr><th>area (mm<sup>2</sup>)</th><th>samples/s</th><th>J/sample</th>"
      "<th class=\"l\">architecture</th><th>micro-batch</th><th>HBM (GiB)</th><th>recompute</th>"
      "<th>(p, t, d)</th></tr>\n";
  std::vector<DesignPoint> rows = front;
  std::sort(rows.begin(), rows.end(), [](const DesignPoint& a, const DesignPoint& b) {
    return a.area_um2 != b.area_um2 ? a.area_um2 < b.area_um2 : a.Key() < b.Key();
  });
  for (const DesignPoint& p : rows) {
    const EvaluationResult& r = state.results().at(p.candidate_index);
    const PointResult& pr = state.PointOf(p);
    const Strategy& st = pr.search.strategy;
    absl::StrAppendFormat(&html,
                          "<tr><td>%.2f</td><td>%.5g</td><td>%.4g</td><td class=\"l\">%s</td>"
                          "<td>%d</td><td>%d</td><td>%s</td><td>(%d, %d, %d)</td></tr>\n",
                          p.area_um2 / 1e6, p.throughput_samples_per_s, p.energy_per_sample_j,
                          EscapeXml(r.arch.Describe()), r.micro_batch, pr.hbm_bytes / kGiB,
                          place::RecomputeName(pr.recompute), st.pipeline, st.tensor, st.data);
  }
  html += "</table>\n";
  html +=
      "<script>\n"
      "window.addEventListener('load', function () {\n"
      "  var svg = document.getElementById('front-plot');\n"
      "  var points = svg ? svg.querySelectorAll('circle.phaze-point') : [];\n"
      "  var drawn = 0;\n"
      "  for (var i = 0; i < points.length; ++i) {\n"
      "    var box = points[i].getBoundingClientRect();\n"
      "    if (box.width > 0 && box.height > 0) ++drawn;\n"
      "  }\n"
      "  var frame = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};\n"
      "  document.body.setAttribute('data-plot-points', String(drawn));\n"
      "  document.body.setAttribute('data-plot-rendered',\n"
      "      svg && frame.width > 0 && frame.height > 0 && drawn === points.length ? 'yes' : "
      "'no');\n"
      "});\n"
      "</script>\n</body></html>\n";
  return html;
}

}  // namespace phaze::report
