// gRPC services of the coordinator: translate requests to JobManager calls and back. Handlers
// hold no logic of their own.
#ifndef PHAZE_COORDINATOR_SERVICE_H_
#define PHAZE_COORDINATOR_SERVICE_H_

#include <atomic>
#include <functional>
#include <string>
#include <utility>

#include "coordinator/job_manager.h"
#include "phaze/v1/service.grpc.pb.h"

namespace phaze {

// Maps an absl::Status to a grpc::Status with the same canonical code.
grpc::Status ToGrpc(const absl::Status& s);

// UNAUTHENTICATED unless the call carries "authorization: Bearer <token>" (constant-time
// comparison). An empty `token` disables the check (the coordinator's explicit --insecure).
grpc::Status Authorize(const grpc::ServerContext& context, const std::string& token);

class CoordinatorService final : public v1::Coordinator::Service {
 public:
  CoordinatorService(JobManager* manager, const std::atomic<bool>* stopping, std::string token)
      : manager_(manager), stopping_(stopping), token_(std::move(token)) {}
  grpc::Status SubmitJob(grpc::ServerContext*, const v1::SubmitJobRequest*,
                         v1::JobStatus*) override;
  grpc::Status GetJob(grpc::ServerContext*, const v1::GetJobRequest*, v1::JobStatus*) override;
  grpc::Status ListJobs(grpc::ServerContext*, const v1::ListJobsRequest*,
                        v1::ListJobsResponse*) override;
  grpc::Status CancelJob(grpc::ServerContext*, const v1::CancelJobRequest*,
                         v1::JobStatus*) override;
  grpc::Status WatchJob(grpc::ServerContext*, const v1::WatchJobRequest*,
                        grpc::ServerWriter<v1::JobStatus>*) override;
  grpc::Status ListResults(grpc::ServerContext*, const v1::ListResultsRequest*,
                           v1::ListResultsResponse*) override;

 private:
  JobManager* manager_;
  const std::atomic<bool>* stopping_;
  std::string token_;
};

// `now_s` is the coordinator's clock (seconds), injected so tests control lease expiry.
class DispatchService final : public v1::Dispatch::Service {
 public:
  DispatchService(JobManager* manager, std::function<double()> now_s, std::string token)
      : manager_(manager), now_s_(std::move(now_s)), token_(std::move(token)) {}
  grpc::Status LeaseShard(grpc::ServerContext*, const v1::LeaseRequest*, v1::Lease*) override;
  grpc::Status ReportResults(grpc::ServerContext*, grpc::ServerReader<v1::ResultReport>*,
                             v1::ReportAck*) override;

 private:
  JobManager* manager_;
  std::function<double()> now_s_;
  std::string token_;
};

}  // namespace phaze

#endif  // PHAZE_COORDINATOR_SERVICE_H_
