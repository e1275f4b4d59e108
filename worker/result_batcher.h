// How a worker's results leave it: one message per result where the lease takes no batches;
// otherwise gathered, one message and one coordinator commit for many fast candidates (a pruned
// search's bound-and-skip takes well under a millisecond). A batch goes out when it holds
// max_results, when a candidate took slow_s or more (batching a slow one saves nothing, and its
// result may move the front), and when its oldest result is max_age_s old. The last needs a
// tick from outside (FlushIfDue): the worker's heartbeat thread gives it, so that fast results
// never wait through a slow candidate that follows them.
//
// Thread-safe: the evaluating thread calls Add, the heartbeat thread FlushIfDue, one at a time.
//
//   ResultBatcher batcher(lease, {}, [&](const v1::ResultReport& r) { return stream->Write(r); });
//   batcher.Add(result, candidate_seconds);   // false once the stream broke
//   batcher.FlushIfDue();                     // from a timer
//   batcher.Flush();                          // at the end of the shard
#ifndef PHAZE_WORKER_RESULT_BATCHER_H_
#define PHAZE_WORKER_RESULT_BATCHER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "phaze/v1/service.pb.h"

namespace phaze {

struct BatchLimits {
  int max_results = 256;
  double max_age_s = 0.2;
  double slow_s = 0.05;
};

class ResultBatcher {
 public:
  using Write = std::function<bool(const v1::ResultReport&)>;
  // `now_s` (monotonic seconds) defaults to the steady clock; tests pass their own.
  ResultBatcher(const v1::Lease& lease, BatchLimits limits, Write write,
                std::function<double()> now_s = nullptr);

  // Adds the result of a candidate that took `seconds`, and sends what the rules say is due.
  // False once a write failed (the stream broke): stop evaluating.
  bool Add(v1::CandidateResult result, double seconds);
  // Sends the batch if its oldest result has waited max_age_s. False once a write failed.
  bool FlushIfDue();
  // Sends whatever is gathered. False once a write failed.
  bool Flush();

  // How long a ticker may sleep between FlushIfDue calls so that no result waits much more than
  // max_age_s; 0 when nothing is ever held (the lease takes no batches).
  double TickSeconds() const;
  int64_t messages() const;

 private:
  bool FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string lease_id_, job_id_;
  const bool takes_batches_;
  const BatchLimits limits_;
  const Write write_;
  const std::function<double()> now_s_;
  mutable absl::Mutex mu_;
  v1::ResultReport batch_ ABSL_GUARDED_BY(mu_);
  double oldest_s_ ABSL_GUARDED_BY(mu_) = 0;
  bool ok_ ABSL_GUARDED_BY(mu_) = true;
  int64_t messages_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace phaze

#endif  // PHAZE_WORKER_RESULT_BATCHER_H_
