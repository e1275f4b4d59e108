#include "worker/result_batcher.h"

#include <utility>

#include "common/base/mutex.h"
#include "common/rpc/clock.h"

namespace phaze {

ResultBatcher::ResultBatcher(const v1::Lease& lease, BatchLimits limits, Write write,
                             std::function<double()> now_s)
    : lease_id_(lease.lease_id()),
      job_id_(lease.job_id()),
      takes_batches_(lease.takes_batches()),
      limits_(limits),
      write_(std::move(write)),
      now_s_(now_s ? std::move(now_s) : std::function<double()>(MonotonicSeconds)) {}

bool ResultBatcher::Add(v1::CandidateResult result, double seconds) {
  MutexLock lock(&mu_);
  if (!ok_) return false;
  if (!batch_.has_result()) {
    *batch_.mutable_result() = std::move(result);
    oldest_s_ = now_s_();
  } else {
    *batch_.add_more_results() = std::move(result);
  }
  if (!takes_batches_ || seconds >= limits_.slow_s ||
      1 + batch_.more_results_size() >= limits_.max_results ||
      now_s_() - oldest_s_ >= limits_.max_age_s) {
    return FlushLocked();
  }
  return true;
}

bool ResultBatcher::FlushIfDue() {
  MutexLock lock(&mu_);
  if (batch_.has_result() && now_s_() - oldest_s_ >= limits_.max_age_s) return FlushLocked();
  return ok_;
}

bool ResultBatcher::Flush() {
  MutexLock lock(&mu_);
  return FlushLocked();
}

bool ResultBatcher::FlushLocked() {
  if (!ok_ || !batch_.has_result()) return ok_;
  batch_.set_lease_id(lease_id_);
  batch_.set_job_id(job_id_);
  ok_ = write_(batch_);
  ++messages_;
  batch_.Clear();
  return ok_;
}

double ResultBatcher::TickSeconds() const { return takes_batches_ ? limits_.max_age_s / 2 : 0.0; }

int64_t ResultBatcher::messages() const {
  MutexLock lock(&mu_);
  return messages_;
}

}  // namespace phaze
