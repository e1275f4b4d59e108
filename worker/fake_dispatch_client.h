// A DispatchClient for tests: hands out the leases it was given, in order (then "no work"), and
// records every report the worker writes and every stream it closes. Thread-safe.
//
//   auto fake = std::make_shared<FakeDispatchClient>();
//   fake->AddLease(lease);
//   Worker worker(fake, options);   // ... run until fake->reports().size() == n
#ifndef PHAZE_WORKER_FAKE_DISPATCH_CLIENT_H_
#define PHAZE_WORKER_FAKE_DISPATCH_CLIENT_H_

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/base/mutex.h"
#include "worker/dispatch_client.h"

namespace phaze {

class FakeDispatchClient : public DispatchClient,
                           public std::enable_shared_from_this<FakeDispatchClient> {
 public:
  void AddLease(v1::Lease lease) {
    MutexLock lock(&mu_);
    leases_.push_back(std::move(lease));
  }
  absl::StatusOr<v1::Lease> LeaseShard(const std::string& worker_id) override {
    MutexLock lock(&mu_);
    lease_requests_.push_back(worker_id);
    if (leases_.empty()) return v1::Lease();
    v1::Lease lease = std::move(leases_.front());
    leases_.pop_front();
    return lease;
  }
  std::unique_ptr<ResultStream> ReportResults() override {
    return std::make_unique<Stream>(shared_from_this());
  }
  std::vector<v1::ResultReport> reports() const {
    MutexLock lock(&mu_);
    return reports_;
  }
  int64_t streams_finished() const {
    MutexLock lock(&mu_);
    return streams_finished_;
  }
  bool idle() const {  // every lease handed out and every stream closed
    MutexLock lock(&mu_);
    return leases_.empty() && streams_open_ == 0 && !lease_requests_.empty();
  }

 private:
  class Stream : public ResultStream {
   public:
    explicit Stream(std::shared_ptr<FakeDispatchClient> fake) : fake_(std::move(fake)) {
      MutexLock lock(&fake_->mu_);
      ++fake_->streams_open_;
    }
    bool Write(const v1::ResultReport& report) override {
      MutexLock lock(&fake_->mu_);
      fake_->reports_.push_back(report);
      return true;
    }
    absl::StatusOr<v1::ReportAck> Finish() override {
      MutexLock lock(&fake_->mu_);
      --fake_->streams_open_;
      ++fake_->streams_finished_;
      v1::ReportAck ack;
      ack.set_lease_valid(true);
      return ack;
    }

   private:
    std::shared_ptr<FakeDispatchClient> fake_;
  };

  mutable absl::Mutex mu_;
  std::deque<v1::Lease> leases_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> lease_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::ResultReport> reports_ ABSL_GUARDED_BY(mu_);
  int64_t streams_open_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t streams_finished_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace phaze

#endif  // PHAZE_WORKER_FAKE_DISPATCH_CLIENT_H_
