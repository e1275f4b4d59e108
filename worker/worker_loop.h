// The stateless worker: pulls shards from a coordinator through a DispatchClient, evaluates their
// candidates with a ShardRunner (one per thread), and streams one result per candidate back.
//
// Stateless in the sense that matters: nothing it holds is needed by anyone else. It keeps a
// per-job Evaluator and schedule cache only to avoid rebuilding them for every shard.
#ifndef PHAZE_WORKER_WORKER_LOOP_H_
#define PHAZE_WORKER_WORKER_LOOP_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "common/eval/eval.h"
#include "phaze/v1/phaze.pb.h"
#include "worker/dispatch_client.h"
#include "worker/result_batcher.h"
#include "worker/shard_runner.h"

namespace grpc {
class Channel;
}

namespace phaze {

struct WorkerOptions {
  std::string worker_id = "worker";
  int threads = 1;           // one evaluation at a time per thread
  double idle_poll_s = 0.2;  // wait between lease requests when there is no work
  std::string token;         // bearer token sent with every call; empty sends none
  // Called after every evaluation (from worker threads, concurrently): the result (null on
  // error) and the wall seconds it took. For metrics.
  std::function<void(const eval::EvaluationResult* result, double seconds)> on_evaluation;
  // Jobs whose evaluator and schedule cache are kept between shards (least recently used go).
  int max_cached_jobs = 4;
  // While a shard is being evaluated, a heartbeat renews its lease every this fraction of the
  // lease's deadline (every result renews it too), so a slow but healthy worker keeps its shard.
  double heartbeat_fraction = 1.0 / 3.0;
  // When results gathered for one message go out, where the lease takes batches.
  BatchLimits batch;
};

// Runs `evaluate` for `candidate` (through EvaluateSafely) and converts the outcome to a result
// message. Never throws: an error status or an exception becomes an OUTCOME_ERROR result that
// names it. `evaluated` (may be null) receives the domain result when there is one.
v1::CandidateResult EvaluateToResult(
    int64_t candidate, const std::function<absl::StatusOr<eval::EvaluationResult>()>& evaluate,
    std::optional<eval::EvaluationResult>* evaluated = nullptr);
// The same for an outcome already computed.
v1::CandidateResult OutcomeToResult(const CandidateOutcome& outcome);

// The shard a lease describes, as the ShardRunner takes it.
ShardWork WorkOf(const v1::Lease& lease, bool prune);

class Worker {
 public:
  Worker(std::shared_ptr<DispatchClient> client, WorkerOptions options);
  // A GrpcDispatchClient on `channel` with options.token.
  Worker(std::shared_ptr<grpc::Channel> channel, WorkerOptions options);
  ~Worker();
  // Runs until `stop` becomes true; a shard in progress is finished first (SIGTERM semantics).
  void Run(const std::atomic<bool>& stop);
  int64_t evaluated() const { return evaluated_.load(); }

 private:
  struct JobContext {
    std::unique_ptr<eval::Evaluator> evaluator;
    bool prune = false;  // the job's search strategy is `pruned`
    sched::ScheduleCache cache;
    int64_t last_used = 0;
  };
  // The job's cached context, or a new one. kResourceExhausted when building it ran out of memory.
  absl::StatusOr<std::shared_ptr<JobContext>> Context(const std::string& job_id,
                                                      const v1::JobSpec& spec);
  void Loop(int thread, const std::atomic<bool>& stop);

  std::shared_ptr<DispatchClient> client_;
  WorkerOptions options_;
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<JobContext>> jobs_ ABSL_GUARDED_BY(mu_);
  int64_t uses_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int64_t> evaluated_{0};
};

}  // namespace phaze

#endif  // PHAZE_WORKER_WORKER_LOOP_H_
