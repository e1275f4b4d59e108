#include "common/rpc/checks.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace phaze {

using eval::EvaluationSpec;
using eval::Evaluator;
namespace {

bool FiniteNonNegative(double x) { return std::isfinite(x) && x >= 0; }

absl::Status CheckPlacement(const v1::Placement& p, const std::string& field) {
  if (!p.feasible()) return absl::OkStatus();
  const v1::Strategy& st = p.strategy();
  if (st.pipeline() < 1 || st.data() < 1 || st.tensor() < 1) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".strategy: widths must be >= 1"));
  }
  for (double x : {p.bottleneck_s(), p.sync_s(), p.time_per_batch_s(), p.throughput_samples_per_s(),
                   p.bubble_fraction(), p.energy_per_sample_j()}) {
    if (!FiniteNonNegative(x)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": times, throughput and energy must be finite and >= 0"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

// A worker's result is untrusted input: it must describe the candidate it names, in the job's
// shape, with finite numbers, before it may touch the store or the front.
absl::Status CheckWorkerResult(const Evaluator& ev, const v1::CandidateResult& r) {
  const int64_t c = r.candidate().index();
  if (c < 0 || c >= ev.NumCandidates()) {
    return absl::InvalidArgumentError(absl::StrCat("result.candidate.index: ", c, " not in job"));
  }
  switch (r.outcome()) {
    case v1::OUTCOME_ERROR:
    case v1::OUTCOME_PRUNED: return absl::OkStatus();
    case v1::OUTCOME_INVALID:
    case v1::OUTCOME_FEASIBLE:
    case v1::OUTCOME_INFEASIBLE: break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("result.outcome: ", static_cast<int>(r.outcome()), " is not an outcome"));
  }
  const EvaluationSpec& spec = ev.spec();
  if (r.candidate().arch_index() != ev.space().ArchIndexOf(c) ||
      r.candidate().micro_batch_size() != ev.space().MicroBatchOf(c)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "result.candidate: architecture index or micro-batch size do not match candidate ", c));
  }
  if (!FiniteNonNegative(r.area_um2())) {
    return absl::InvalidArgumentError("result.area_um2: must be finite and >= 0");
  }
  if (r.outcome() == v1::OUTCOME_INVALID) return absl::OkStatus();
  const size_t n_points = spec.hbm_bytes.size() * spec.training.recompute.size();
  if (static_cast<size_t>(r.points_size()) != n_points) {
    return absl::InvalidArgumentError(
        absl::StrCat("result.points: ", r.points_size(), " points, the job has ", n_points));
  }
  for (int i = 0; i < r.points_size(); ++i) {
    const v1::PlacementPoint& p = r.points(i);
    const std::string field = absl::StrCat("result.points[", i, "]");
    PHAZE_RETURN_IF_ERROR(CheckPlacement(p.search(), field + ".search"));
    PHAZE_RETURN_IF_ERROR(CheckPlacement(p.fixed(), field + ".fixed"));
  }
  return absl::OkStatus();
}

}  // namespace phaze
