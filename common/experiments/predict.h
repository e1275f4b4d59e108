// One training step predicted in detail (`phaze predict`), and the validation of the model
// against published training runs (`phaze validate`, tests/validation/).
//
// Predict takes the job's first chip, micro-batch size, HBM size and recompute mode, and its
// fixed strategy (or, without one, the DP's best), and returns the placement with its time and
// memory breakdown and the model and hardware FLOP utilisation (PaLM's MFU and HFU).
//
//   PHAZE_ASSIGN_OR_RETURN(Prediction p, Predict(job, backend));
//   p.placement.time.bubble_s; p.mfu;
#ifndef PHAZE_COMMON_EXPERIMENTS_PREDICT_H_
#define PHAZE_COMMON_EXPERIMENTS_PREDICT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/job/job.h"
#include "common/place/place.h"
#include "common/sched/sched.h"
#include "nlohmann/json.hpp"

namespace phaze::experiments {

struct Prediction {
  arch::Architecture arch;
  int64_t micro_batch = 0;
  int64_t hbm_bytes = 0;
  bool from_fixed_strategy = false;
  place::Placement placement;
  int64_t devices = 0;                 // p t d
  double model_flops_per_step = 0;     // 3 x forward GEMM FLOPs (no recompute)
  double hardware_flops_per_step = 0;  // with the recomputed forward GEMMs
  double mfu = 0;
  double hfu = 0;
  arch::ChipModelScales chip_model;  // the job's, for the chip model's bill
};

// kInvalidArgument when the job's chip or strategy cannot be used; an infeasible placement is a
// result (placement.feasible false), not an error.
absl::StatusOr<Prediction> Predict(const job::JobSpec& job, sched::SchedulerBackend& backend);
nlohmann::json PredictionJson(const Prediction& p);
std::string PredictionText(const Prediction& p);
// The chip model's area and TDP-level power of `arch` with `hbm_bytes`, term by term; with a
// feasible `placed`, its training power per device too.
std::string ChipModelText(const arch::Architecture& arch, int64_t hbm_bytes,
                          const arch::ChipModelScales& scales = {},
                          const place::Placement* placed = nullptr);

// One row of tests/validation/published-runs.json, predicted twice: as published (the
// published strategy, Megatron's uniform split) and with the DP's own best strategy.
struct ValidationRow {
  std::string id;
  std::string measured_what;  // "iteration_s" or "tflops_per_gpu"
  double measured_iteration_s = 0;
  Prediction as_published;
  Prediction dp_best;
  double error = 0;     // predicted / measured - 1 of the iteration time
  std::string assumed;  // the stated rule for what the source does not give
};

// The job of a published run on the "a100" preset. The stated rule for what a source does not
// give: micro-batch 1, no interleaving, no optimizer sharding unless the row names it.
absl::StatusOr<job::JobSpec> PublishedRunJob(const nlohmann::json& row);
absl::StatusOr<std::vector<ValidationRow>> ValidateAgainstPublished(
    const nlohmann::json& runs, sched::SchedulerBackend& backend, bool with_dp_best);
std::string ValidationTable(const std::vector<ValidationRow>& rows);

}  // namespace phaze::experiments

#endif  // PHAZE_COMMON_EXPERIMENTS_PREDICT_H_
