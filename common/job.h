// The job specification: what a user writes in a job file (YAML), as validated domain types.
//
//   absl::StatusOr<JobSpec> job = ParseJobYaml(text);   // kInvalidArgument names the bad field
//
// Units in the file carry their unit in the key (hbm_gib, glb_mib, clock_ghz,
// link_bandwidth_gb_per_s, link_latency_us); inside, everything is SI (bytes, seconds, hertz).
// Unknown keys are errors, so a typo never silently becomes a default.
#ifndef PHAZE_COMMON_JOB_H_
#define PHAZE_COMMON_JOB_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/arch.h"
#include "common/cost_model.h"
#include "common/model.h"

namespace phaze {

enum class Optimizer { kSgd, kAdam };

// A parallel strategy: pipeline stages p, data-parallel degree d, tensor width t.
struct Strategy {
  int64_t pipeline = 1;
  int64_t data = 1;
  int64_t tensor = 1;
};

struct TrainingSpec {
  int64_t accelerators = 1024;
  int64_t global_batch = 4096;  // samples (sequences) per optimizer step
  std::vector<int64_t> micro_batch_sizes = {1};
  std::vector<bool> recompute = {false, true};
  Optimizer optimizer = Optimizer::kAdam;
  int64_t max_tensor_width = 8;
  std::optional<Strategy> fixed_strategy;  // the paper's baseline (p, d, t), reported beside
};

enum class SearchStrategy {
  kExhaustive,   // every valid architecture
  kPruned,       // skip an architecture only when a bound proves it cannot reach the front
  kAreaBuckets,  // the original's descending-area bucket heuristic (compatibility)
};

struct SolverSpec {
  double time_limit_s = 10;  // per scheduling ILP, wall clock (a safety net)
  double relative_gap = 0.01;
  int64_t max_nodes = 500;  // per scheduling ILP; deterministic, unlike the time limit
};

struct SearchSpec {
  SearchStrategy strategy = SearchStrategy::kPruned;
  // The original's bucket heuristic: bucket width and stop window.
  double bucket_um2 = 10'000;
  int64_t bucket_window = 5;
};

struct Limits {
  int64_t max_space_size = 10'000'000;  // architectures x micro-batch sizes
};

struct JobSpec {
  std::string name;
  ModelSpec model;
  TrainingSpec training;
  // Exactly one of: a list of fixed architectures (presets or spelled out), or a space.
  std::vector<Architecture> fixed_architectures;
  std::optional<ArchSpaceSpec> space;
  std::vector<int64_t> hbm_bytes = {32 * kGiB, 64 * kGiB, 80 * kGiB};
  CostOptions cost;
  bool compat_backward = false;  // the original's backward without weight gradients
  SolverSpec solver;
  SearchSpec search;
  Limits limits;
};

// Parses and validates a job file. kInvalidArgument with the field's path ("training.
// micro_batch_sizes[1]: must be positive, got 0") on malformed YAML, unknown keys, bad values,
// unknown models or presets, tensor widths the model does not allow, or a space beyond
// limits.max_space_size.
absl::StatusOr<JobSpec> ParseJobYaml(const std::string& yaml_text);

// The architectures a job evaluates, as one index space: the space's points, or the fixed list.
// Cheap to copy; thread-compatible (const methods are safe to call concurrently).
class JobArchitectures {
 public:
  explicit JobArchitectures(const JobSpec& job);
  int64_t Size() const;
  // 0 <= index < Size(); `valid` is false outside the area window.
  ArchCandidate At(int64_t index) const;

 private:
  std::optional<ArchSpace> space_;
  std::vector<Architecture> fixed_;
};

const char* SearchStrategyName(SearchStrategy s);

}  // namespace phaze

#endif  // PHAZE_COMMON_JOB_H_
