#include "coordinator/service.h"

#include <string>

#include "common/rpc/token.h"

namespace phaze {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

grpc::Status Authorize(const grpc::ServerContext& context, const std::string& token) {
  if (token.empty()) return grpc::Status::OK;
  const std::string expected = "Bearer " + token;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing bearer token");
  }
  const std::string given(it->second.data(), it->second.size());
  if (!CredentialMatches(given, expected)) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "invalid bearer token");
  }
  return grpc::Status::OK;
}

namespace {

template <typename T>
grpc::Status Fill(const absl::StatusOr<T>& result, T* out) {
  if (!result.ok()) return ToGrpc(result.status());
  *out = *result;
  return grpc::Status::OK;
}

}  // namespace

grpc::Status CoordinatorService::SubmitJob(grpc::ServerContext* context,
                                           const v1::SubmitJobRequest* req, v1::JobStatus* out) {
  if (grpc::Status a = Authorize(*context, token_); !a.ok()) return a;
  return Fill(manager_->Submit(req->spec().yaml()), out);
}

grpc::Status CoordinatorService::GetJob(grpc::ServerContext* context, const v1::GetJobRequest* req,
                                        v1::JobStatus* out) {
  if (grpc::Status a = Authorize(*context, token_); !a.ok()) return a;
  return Fill(manager_->Get(req->job_id()), out);
}

grpc::Status CoordinatorService::ListJobs(grpc::ServerContext* context,
                                          const v1::ListJobsRequest* req,
                                          v1::ListJobsResponse* out) {
  if (grpc::Status a = Authorize(*context, token_); !a.ok()) return a;
  return Fill(manager_->ListPage(*req), out);
}

grpc::Status CoordinatorService::CancelJob(grpc::ServerContext* context,
                                           const v1::CancelJobRequest* req, v1::JobStatus* out) {
  if (grpc::Status a = Authorize(*context, token_); !a.ok()) return a;
  return Fill(manager_->Cancel(req->job_id()), out);
}

grpc::Status CoordinatorService::WatchJob(grpc::ServerContext* context,
                                          const v1::WatchJobRequest* req,
                                          grpc::ServerWriter<v1::JobStatus>* writer) {
  if (grpc::Status a = Authorize(*context, token_); !a.ok()) return a;
  int64_t version = -1;
  while (!context->IsCancelled() && !stopping_->load()) {
    absl::StatusOr<v1::JobStatus> s = manager_->Wait(req->job_id(), &version, 1.0);
    if (!s.ok()) return ToGrpc(s.status());
    if (!writer->Write(*s)) break;
    if (s->state() != v1::JOB_STATE_RUNNING) break;
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::ListResults(grpc::ServerContext* context,
                                             const v1::ListResultsRequest* req,
                                             v1::ListResultsResponse* out) {
  if (grpc::Status a = Authorize(*context, token_); !a.ok()) return a;
  return Fill(manager_->Results(*req), out);
}

grpc::Status DispatchService::LeaseShard(grpc::ServerContext* context, const v1::LeaseRequest* req,
                                         v1::Lease* out) {
  if (grpc::Status a = Authorize(*context, token_); !a.ok()) return a;
  if (req->worker_id().size() > 128) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "worker_id: at most 128 bytes");
  }
  *out = manager_->Lease(req->worker_id(), now_s_());
  return grpc::Status::OK;
}

grpc::Status DispatchService::ReportResults(grpc::ServerContext* context,
                                            grpc::ServerReader<v1::ResultReport>* reader,
                                            v1::ReportAck* ack) {
  if (grpc::Status a = Authorize(*context, token_); !a.ok()) return a;
  v1::ResultReport report;
  std::string lease_id;
  int64_t accepted = 0;
  while (reader->Read(&report)) {
    lease_id = report.lease_id();
    absl::StatusOr<int64_t> added = manager_->Report(report, now_s_());
    if (!added.ok()) return ToGrpc(added.status());  // names why; nothing of it was stored
    accepted += *added;
  }
  // The stream closed cleanly: the shard is complete if every candidate arrived.
  if (!lease_id.empty()) manager_->Complete(lease_id);
  ack->set_accepted(accepted);
  ack->set_lease_valid(true);
  return grpc::Status::OK;
}

}  // namespace phaze
