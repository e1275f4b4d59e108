// The job specification: what a user writes in a job file (YAML), as validated domain types.
//
//   absl::StatusOr<JobSpec> job = ParseJobYaml(text);   // kInvalidArgument names the bad field
//
// Units in the file carry their unit in the key (hbm_gib, glb_mib, clock_ghz,
// link_bandwidth_gb_per_s, link_latency_us); inside, everything is SI (bytes, seconds, hertz).
// Unknown keys are errors, so a typo never silently becomes a default.
#ifndef PHAZE_COMMON_JOB_JOB_H_
#define PHAZE_COMMON_JOB_JOB_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eval/eval.h"
#include "common/search/search.h"

namespace phaze::job {

struct Limits {
  int64_t max_space_size = 10'000'000;  // architectures x micro-batch sizes
};

// A job: what to evaluate (the EvaluationSpec it extends), how to search, and its limits.
struct JobSpec : eval::EvaluationSpec {
  std::string name;
  search::SearchSpec search;
  Limits limits;
};

// Parses and validates a job file. kInvalidArgument with the field's path ("training.
// micro_batch_sizes[1]: must be positive, got 0") on malformed YAML, unknown keys, bad values,
// unknown models or presets, tensor widths the model does not allow, or a space beyond
// limits.max_space_size.
absl::StatusOr<JobSpec> ParseJobYaml(const std::string& yaml_text);

}  // namespace phaze::job

#endif  // PHAZE_COMMON_JOB_JOB_H_
