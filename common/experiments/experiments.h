// The paper's comparison for one job (docs/results.md), as pure steps the CLI times and runs:
//   (a) the TPUv4-like chip with the job's fixed (p, d, t),
//   (b) the TPUv4-like chip with our placement DP,
//   (c) decoupled, in the spirit of Spotlight: the chip of the job's space with the lowest
//       single-accelerator latency per sample (list-scheduled layers, t = 1, no placement), then
//       placed by the DP,
//   (d) the original's descending-area bucket heuristic over the space,
//   (e) the co-optimised search (the job as written).
// Every variant keeps the job's model, training, HBM sizes, recompute modes and cost model.
#ifndef PHAZE_COMMON_EXPERIMENTS_EXPERIMENTS_H_
#define PHAZE_COMMON_EXPERIMENTS_EXPERIMENTS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/job/job.h"
#include "nlohmann/json.hpp"

namespace phaze::experiments {

// The job on the TPUv4-like preset alone (for (a) and (b)).
job::JobSpec OnPreset(const job::JobSpec& job, const std::string& preset);
// The job on one given chip (for (c)).
job::JobSpec OnChip(const job::JobSpec& job, const arch::Architecture& chip);
// The job's space searched with another strategy (for (d): kAreaBuckets).
job::JobSpec WithStrategy(const job::JobSpec& job, search::SearchStrategy strategy);

// The chip of `evaluator`'s space with the lowest single-device latency per sample, over the
// job's micro-batch sizes; ties go to the smaller index. Runs on `threads` threads.
struct DecoupledPick {
  int64_t arch_index = -1;
  arch::Architecture arch;
  double area_um2 = 0;
  int64_t micro_batch = 0;
  double latency_per_sample_s = 0;
  int64_t chips_costed = 0;
};
absl::StatusOr<DecoupledPick> PickBySingleDeviceLatency(const eval::Evaluator& evaluator,
                                                        int threads);

// One row of the comparison: the best point of a finished search, by the DP's throughput or by
// the fixed strategy's ("fixed": true), with its chip, micro-batch, HBM, recompute and (p, t, d).
// Ties go to the smaller chip, then to the first in (candidate, HBM, recompute) order.
nlohmann::json BestRowJson(const search::SearchState& state, bool fixed,
                           const arch::ChipModelScales& scales = {});

}  // namespace phaze::experiments

#endif  // PHAZE_COMMON_EXPERIMENTS_EXPERIMENTS_H_
