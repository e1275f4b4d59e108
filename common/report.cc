#include "common/report.h"

#include <sstream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace phaze {
namespace {

nlohmann::json ArchJson(const Architecture& a, double area_um2) {
  return {{"num_tc", a.num_tc},         {"tc_width", a.tc_width},
          {"tc_depth", a.tc_depth},     {"num_vc", a.num_vc},
          {"vc_width", a.vc_width},     {"glb_mib", a.glb_bytes / kMiB},
          {"area_mm2", area_um2 / 1e6}, {"peak_tflops", a.PeakFlopsPerS() / 1e12},
          {"describe", a.Describe()}};
}

nlohmann::json PlacementJson(const place::Placement& p) {
  if (!p.feasible) return {{"feasible", false}};
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
          {"energy_per_sample_j", p.energy_per_sample_j}};
}

}  // namespace

nlohmann::json DesignPointJson(const Evaluator& evaluator, const SearchState& state,
                               const DesignPoint& point) {
  const EvaluationResult& r = state.results().at(point.candidate_index);
  const size_t row =
      static_cast<size_t>(point.hbm_index) * evaluator.job().training.recompute.size() +
      static_cast<size_t>(point.recompute_index);
  const PointResult& pr = r.points[row];
  nlohmann::json j = {{"candidate", r.candidate_index},
                      {"arch_index", r.arch_index},
                      {"architecture", ArchJson(r.arch, r.area_um2)},
                      {"micro_batch", r.micro_batch},
                      {"hbm_gib", pr.hbm_bytes / kGiB},
                      {"recompute", pr.recompute},
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

nlohmann::json BestJson(const Evaluator& evaluator, const SearchState& state) {
  nlohmann::json j = {{"job", evaluator.job().name},
                      {"model", evaluator.job().model.name},
                      {"stats", StatsJson(state.stats())}};
  if (state.best().Get().has_value()) {
    j["best"] = DesignPointJson(evaluator, state, *state.best().Get());
  } else {
    j["best"] = nullptr;
  }
  return j;
}

nlohmann::json FrontJson(const Evaluator& evaluator, const SearchState& state) {
  nlohmann::json points = nlohmann::json::array();
  for (const DesignPoint& p : state.front().Points()) {
    points.push_back(DesignPointJson(evaluator, state, p));
  }
  return {{"job", evaluator.job().name},
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
          "%d,%d,%d,%d,%d,%d,%d,%d,%.6f,%d,%d,%d,%d,%.9g,%.9g,%d,%d,%d,%.6f,%.6f,"
          "%.9g,%s,%s,%s,%.6f\n",
          index, r.arch_index, r.arch.num_tc, r.arch.tc_width, r.arch.tc_depth, r.arch.num_vc,
          r.arch.vc_width, r.arch.glb_bytes / kMiB, r.area_um2 / 1e6, r.micro_batch,
          p.hbm_bytes / kGiB, p.recompute ? 1 : 0, s.feasible ? 1 : 0,
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

}  // namespace phaze
