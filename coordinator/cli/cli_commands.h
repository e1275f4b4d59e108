// The `phaze` command line's verbs that need no coordinator: models, space, layer.
//
// Each verb writes its report to `out` and returns a Status; main() prints errors and sets the
// exit code. Kept apart from main() so tests can call them.
#ifndef PHAZE_COORDINATOR_CLI_CLI_COMMANDS_H_
#define PHAZE_COORDINATOR_CLI_CLI_COMMANDS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "common/job/job.h"
#include "common/report/report.h"
#include "common/search/search.h"

namespace phaze::cli {

// `phaze models`: the zoo with parameter counts.
absl::Status ListModels(std::ostream& out);

// `phaze predict JOB`: one step of the job's first chip with its fixed strategy (or the DP's
// best), with the time, memory and FLOP-utilisation breakdown.
absl::Status PredictJob(const std::string& job_path, bool json, std::ostream& out);
// `phaze validate FILE`: every published run of FILE (tests/validation/published-runs.json)
// predicted with the "a100" preset, measured against predicted.
absl::Status ValidateRuns(const std::string& path, bool json, std::ostream& out);

// `phaze chips`: the chip model (arch/chip_model.h) against published dies: predicted and
// published area and TDP with the error, and the predicted breakdown. `phaze chips JOB.yaml`:
// the same breakdown for each fixed chip of the job at each of its HBM sizes, under the job's
// chip_model scales, with the job's budget's verdict.
absl::Status ValidateChips(const std::string& job_path, bool json, std::ostream& out);

// `phaze space JOB.yaml`: size, valid count and area range of the job's architectures.
absl::Status DescribeSpace(const std::string& job_path, std::ostream& out);

struct LayerArgs {
  std::string job;  // a job file: its model, its first fixed chip (with its network) and options
  std::string model;
  std::string arch = "tpuv4";
  int64_t micro_batch = 1;
  int64_t tensor_width = 1;
  bool compat = false;  // the original's cost model and backward
  bool json = false;
  double time_limit_s = 0;  // per layer schedule; 0: the job's solver.time_limit_s (10 s)
};
// `phaze layer`: every operator of every layer with its latencies, and each layer's schedule
// under the job's `solver:` options (the defaults without a job).
absl::Status DescribeLayers(const LayerArgs& args, std::ostream& out);

struct RunArgs {
  std::string job_path;
  std::string out_dir = "phaze-out";
  int threads = 0;  // 0: every core
  bool progress = true;
};
// The whole search in this process on threads (no service); writes best.json, front.json and
// results.csv. `phaze run` uses the embedded service instead (client_commands.h).
absl::Status RunJob(const RunArgs& args, std::ostream& out);

// `phaze compare JOB.yaml`: the paper's comparison (a)-(e) for one job
// (common/experiments/experiments.h), timed, in this process. Writes compare.json, front.svg
// (coloured by HBM size), front-mbs.svg (coloured by micro-batch size) and report.html (the job
// page of the co-optimised search (e)) into out_dir.
struct CompareArgs {
  std::string job_path;
  std::string out_dir = "phaze-compare";
  int threads = 0;  // 0: every core
};
absl::Status CompareJob(const CompareArgs& args, std::ostream& out);

// Writes best.json, front.json, results.csv, report.html (the job page the coordinator serves,
// for `info`) and front.svg (throughput against area) into out_dir.
absl::Status WriteOutputs(const job::JobSpec& job, const search::SearchState& state,
                          const report::JobPageInfo& info, const std::string& out_dir);
void PrintSummary(const search::SearchState& state, double elapsed_s, const std::string& out_dir,
                  std::ostream& out);
std::string DescribeBest(const std::optional<search::DesignPoint>& best);

// A one-line progress bar on a terminal (stderr); silent when stderr is not a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled);
  void Update(int64_t done, int64_t planned, const std::string& best);
  void Finish();

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

// Writes `contents` to `path`, creating parent folders.
absl::Status WriteFile(const std::string& path, const std::string& contents);

// Reads a whole file; kNotFound / kInvalidArgument name the path.
absl::Status ReadFile(const std::string& path, std::string* contents);

}  // namespace phaze::cli

#endif  // PHAZE_COORDINATOR_CLI_CLI_COMMANDS_H_
