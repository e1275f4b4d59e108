#include "common/rpc/checks.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/rpc/convert.h"

namespace phaze {

using eval::EvaluationSpec;
using eval::Evaluator;
namespace {

// Tolerance for the worker's arithmetic against ours: the same code computes both, so only
// rounding in a different order (or a forged value) can make them differ.
constexpr double kRelativeSlack = 1e-9;

bool FiniteNonNegative(double x) { return std::isfinite(x) && x >= 0; }

absl::Status Invalid(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// What every feasible placement of this candidate must satisfy, whatever the worker says.
struct PlacementLimits {
  int64_t accelerators = 0;
  int64_t global_batch = 0;
  int64_t hbm_bytes = 0;
  double max_throughput = 0;  // the chip's peak over the model's work per sample, all devices
};

absl::Status CheckPlacement(const v1::Placement& p, const PlacementLimits& limits,
                            const std::string& field) {
  if (!p.feasible()) return absl::OkStatus();
  const v1::Strategy& st = p.strategy();
  if (st.pipeline() < 1 || st.data() < 1 || st.tensor() < 1 || st.virtual_stages() < 0) {
    return Invalid(field + ".strategy", "widths must be >= 1");
  }
  // Products checked in double: the factors are int64 and may be forged to overflow.
  const double devices = static_cast<double>(st.pipeline()) * static_cast<double>(st.tensor()) *
                         static_cast<double>(st.data());
  if (devices > static_cast<double>(limits.accelerators)) {
    return Invalid(field + ".strategy", absl::StrCat("p t d = ", devices, " devices, the job has ",
                                                     limits.accelerators));
  }
  for (double x : {p.bottleneck_s(), p.sync_s(), p.time_per_batch_s(), p.throughput_samples_per_s(),
                   p.bubble_fraction(), p.energy_per_sample_j()}) {
    if (!FiniteNonNegative(x)) {
      return Invalid(field, "times, throughput and energy must be finite and >= 0");
    }
  }
  if (p.bubble_fraction() > 1) return Invalid(field + ".bubble_fraction", "must be at most 1");
  if (p.memory_per_device_bytes() < 0 || p.memory_per_device_bytes() > limits.hbm_bytes) {
    return Invalid(field + ".memory_per_device_bytes",
                   absl::StrCat(p.memory_per_device_bytes(), " bytes, the device has ",
                                limits.hbm_bytes, " of HBM"));
  }
  if (p.throughput_samples_per_s() > limits.max_throughput * (1 + kRelativeSlack)) {
    return Invalid(field + ".throughput_samples_per_s",
                   absl::StrCat(p.throughput_samples_per_s(),
                                " samples/s exceeds what the devices' peak FLOP/s allow (",
                                limits.max_throughput, ")"));
  }
  // Throughput is the batch over the step time: both or neither are forged consistently.
  const double implied = p.time_per_batch_s() > 0
                             ? static_cast<double>(limits.global_batch) / p.time_per_batch_s()
                             : 0;
  if (std::abs(implied - p.throughput_samples_per_s()) >
      kRelativeSlack * std::max(1.0, p.throughput_samples_per_s()) + 1e-12) {
    return Invalid(field + ".throughput_samples_per_s",
                   "does not equal the global batch over time_per_batch_s");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckAndSanitizeWorkerResult(const Evaluator& ev, bool job_prunes,
                                          v1::CandidateResult* r) {
  const int64_t c = r->candidate().index();
  if (c < 0 || c >= ev.NumCandidates()) {
    return Invalid("result.candidate.index", absl::StrCat(c, " is not a candidate of the job"));
  }
  if (r->error().size() > kMaxResultErrorBytes) {
    return Invalid("result.error",
                   absl::StrCat(r->error().size(), " bytes, at most ", kMaxResultErrorBytes));
  }
  const EvaluationSpec& spec = ev.spec();
  const eval::Candidate cand = ev.space().At(c);
  if (r->candidate().arch_index() != cand.arch.index ||
      r->candidate().micro_batch_size() != cand.micro_batch) {
    return Invalid(
        "result.candidate",
        absl::StrCat("architecture index or micro-batch size do not match candidate ", c));
  }
  // What the coordinator can compute itself is replaced, never trusted.
  r->mutable_candidate()->set_job_id("");
  *r->mutable_architecture() = ToProto(cand.arch.arch);
  r->set_area_um2(cand.arch.area_um2);
  // Phase times are the worker's own measurements: kept only if they are durations.
  for (const double t : {r->phases().cost_s(), r->phases().bounds_s(), r->phases().milp_s(),
                         r->phases().placement_s()}) {
    if (!std::isfinite(t) || t < 0) return Invalid("result.phases", "not a duration in seconds");
  }
  switch (r->outcome()) {
    case v1::OUTCOME_ERROR: r->clear_points(); return absl::OkStatus();
    case v1::OUTCOME_PRUNED:
      if (job_prunes) {
        r->clear_points();
        return absl::OkStatus();
      }
      return Invalid("result.outcome", "PRUNED in a job whose search does not prune");
    case v1::OUTCOME_INVALID:
      if (cand.arch.valid) {
        return Invalid("result.outcome",
                       absl::StrCat("INVALID, but candidate ", c, " is inside the area window"));
      }
      r->clear_points();
      return absl::OkStatus();
    case v1::OUTCOME_FEASIBLE:
    case v1::OUTCOME_INFEASIBLE: break;
    default:
      return Invalid("result.outcome",
                     absl::StrCat(static_cast<int>(r->outcome()), " is not an outcome"));
  }
  if (!cand.arch.valid) {
    return Invalid("result.outcome",
                   absl::StrCat("candidate ", c, " is outside the area window: it is INVALID"));
  }
  const std::vector<int64_t> hbm_sizes = eval::HbmSizesFor(spec, cand.arch.arch);
  const size_t n_points = hbm_sizes.size() * spec.training.recompute.size();
  if (static_cast<size_t>(r->points_size()) != n_points) {
    return Invalid("result.points",
                   absl::StrCat(r->points_size(), " points, the job has ", n_points));
  }
  PlacementLimits limits;
  limits.accelerators = spec.training.accelerators;
  limits.global_batch = spec.training.global_batch;
  limits.max_throughput = ev.ThroughputUpperBound(cand.arch.arch, cand.micro_batch);
  bool any_feasible = false;
  for (int i = 0; i < r->points_size(); ++i) {
    v1::PlacementPoint& p = *r->mutable_points(i);
    const std::string field = absl::StrCat("result.points[", i, "]");
    // The job's order: every HBM size, and within it every recompute mode.
    const size_t modes = spec.training.recompute.size();
    const int64_t hbm = hbm_sizes[static_cast<size_t>(i) / modes];
    const place::Recompute mode = spec.training.recompute[static_cast<size_t>(i) % modes];
    if (p.hbm_bytes() != hbm || RecomputeFromProto(p.recompute()) != mode) {
      return Invalid(field, "HBM size or recompute mode is not the job's for this position");
    }
    if (p.has_fixed() != spec.training.fixed_strategy.has_value()) {
      return Invalid(field + ".fixed", "present exactly when the job names a fixed strategy");
    }
    limits.hbm_bytes = hbm;
    if (p.search().feasible() || p.fixed().feasible()) {
      if (const std::string over = eval::OverBudget(spec, cand.arch.arch, hbm); !over.empty()) {
        return Invalid(field, absl::StrCat("feasible, but over the job's budget: ", over));
      }
    }
    PHAZE_RETURN_IF_ERROR(CheckPlacement(p.search(), limits, field + ".search"));
    PHAZE_RETURN_IF_ERROR(CheckPlacement(p.fixed(), limits, field + ".fixed"));
    any_feasible = any_feasible || p.search().feasible();
  }
  if (any_feasible != (r->outcome() == v1::OUTCOME_FEASIBLE)) {
    return Invalid("result.outcome", "FEASIBLE exactly when some point's placement is feasible");
  }
  return absl::OkStatus();
}

}  // namespace phaze
