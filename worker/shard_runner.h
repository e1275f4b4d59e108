// The worker's per-shard logic, apart from any RPC: evaluate a lease's candidates in order, one
// outcome per candidate, pruning against the front the coordinator sent plus the worker's own
// results so far (so that one worker on one shard prunes exactly as an in-process search does).
// Pure: no gRPC, no clock; exceptions from the solver or the allocator become error outcomes.
//
//   ShardRunner runner(*evaluator, cbc, &cache);
//   runner.Run(work, [&](const CandidateOutcome& o) { return stream.Write(ToProto(o)); });
#ifndef PHAZE_WORKER_SHARD_RUNNER_H_
#define PHAZE_WORKER_SHARD_RUNNER_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "common/search/search.h"

namespace phaze {

// One shard of work as the worker sees it.
struct ShardWork {
  std::vector<int64_t> candidates;        // in the order to evaluate them
  bool prune = false;                     // the job's strategy is `pruned`
  std::vector<search::Objectives> front;  // the coordinator's front when the lease was cut
};

struct CandidateOutcome {
  int64_t candidate = 0;
  // The evaluation (pruned ones have `pruned` set and no points), or why it failed.
  absl::StatusOr<eval::EvaluationResult> result;
};

// Runs `evaluate` and turns an exception into an error status that names it (std::bad_alloc
// under the worker's memory limit becomes kResourceExhausted, anything else kInternal), so one
// pathological candidate costs its own result, not the worker.
absl::StatusOr<eval::EvaluationResult> EvaluateSafely(
    const std::function<absl::StatusOr<eval::EvaluationResult>()>& evaluate);

// Thread-compatible: one runner per thread (the backend is not shared); the evaluator and the
// cache may be shared between runners.
class ShardRunner {
 public:
  // All three must outlive the runner; `cache` may be null.
  ShardRunner(const eval::Evaluator& evaluator, sched::SchedulerBackend& backend,
              sched::ScheduleCache* cache)
      : evaluator_(evaluator), backend_(backend), cache_(cache) {}

  // Evaluates `work.candidates` in order and hands each outcome to `emit`; stops early when
  // `emit` returns false (the result stream broke). Returns the number of outcomes emitted.
  int64_t Run(const ShardWork& work, const std::function<bool(const CandidateOutcome&)>& emit);

 private:
  const eval::Evaluator& evaluator_;
  sched::SchedulerBackend& backend_;
  sched::ScheduleCache* cache_;
};

}  // namespace phaze

#endif  // PHAZE_WORKER_SHARD_RUNNER_H_
