// What a worker needs from a coordinator, behind one interface: a lease on a shard, and a stream
// for that shard's results. GrpcDispatchClient speaks the Dispatch service; tests use
// FakeDispatchClient (fake_dispatch_client.h), which hands out scripted leases and records what
// the worker reports.
//
//   auto client = std::make_shared<GrpcDispatchClient>(channel, token);
//   Worker worker(client, options);
#ifndef PHAZE_WORKER_DISPATCH_CLIENT_H_
#define PHAZE_WORKER_DISPATCH_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "phaze/v1/service.pb.h"

namespace grpc {
class Channel;
}

namespace phaze {

// One open result stream of one lease. Not thread-safe: one thread writes it.
class ResultStream {
 public:
  virtual ~ResultStream() = default;
  // False when the stream broke (the coordinator went away): stop writing.
  virtual bool Write(const v1::ResultReport& report) = 0;
  // Closes the stream (the shard is complete) and returns the coordinator's acknowledgement.
  virtual absl::StatusOr<v1::ReportAck> Finish() = 0;
};

// Thread-safe: several worker threads share one client.
class DispatchClient {
 public:
  virtual ~DispatchClient() = default;
  // A lease for `worker_id`; an empty lease_id means no work right now. An error status means
  // the coordinator could not be asked (kUnavailable, kDeadlineExceeded, ...).
  virtual absl::StatusOr<v1::Lease> LeaseShard(const std::string& worker_id) = 0;
  virtual std::unique_ptr<ResultStream> ReportResults() = 0;
};

class GrpcDispatchClient : public DispatchClient {
 public:
  // `token` (may be empty) is sent as a bearer token with every call.
  GrpcDispatchClient(std::shared_ptr<grpc::Channel> channel, std::string token);
  ~GrpcDispatchClient() override;
  absl::StatusOr<v1::Lease> LeaseShard(const std::string& worker_id) override;
  std::unique_ptr<ResultStream> ReportResults() override;

 private:
  struct Stub;
  std::unique_ptr<Stub> stub_;
  std::string token_;
};

}  // namespace phaze

#endif  // PHAZE_WORKER_DISPATCH_CLIENT_H_
