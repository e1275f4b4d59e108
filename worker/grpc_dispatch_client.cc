#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "phaze/v1/service.grpc.pb.h"
#include "worker/dispatch_client.h"

namespace phaze {

namespace {

void Authorize(grpc::ClientContext& context, const std::string& token) {
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
}

class GrpcResultStream : public ResultStream {
 public:
  GrpcResultStream(v1::Dispatch::Stub& stub, const std::string& token) {
    Authorize(context_, token);
    writer_ = stub.ReportResults(&context_, &ack_);
  }
  bool Write(const v1::ResultReport& report) override { return writer_->Write(report); }
  absl::StatusOr<v1::ReportAck> Finish() override {
    writer_->WritesDone();
    const grpc::Status status = writer_->Finish();
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
    }
    return ack_;
  }

 private:
  grpc::ClientContext context_;
  v1::ReportAck ack_;
  std::unique_ptr<grpc::ClientWriter<v1::ResultReport>> writer_;
};

}  // namespace

struct GrpcDispatchClient::Stub {
  std::unique_ptr<v1::Dispatch::Stub> stub;
};

GrpcDispatchClient::GrpcDispatchClient(std::shared_ptr<grpc::Channel> channel, std::string token)
    : stub_(std::make_unique<Stub>(Stub{v1::Dispatch::NewStub(std::move(channel))})),
      token_(std::move(token)) {}

GrpcDispatchClient::~GrpcDispatchClient() = default;

absl::StatusOr<v1::Lease> GrpcDispatchClient::LeaseShard(const std::string& worker_id) {
  v1::LeaseRequest request;
  request.set_worker_id(worker_id);
  v1::Lease lease;
  grpc::ClientContext context;
  Authorize(context, token_);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  const grpc::Status status = stub_->stub->LeaseShard(&context, request, &lease);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("lease: ", status.error_message()));
  }
  return lease;
}

std::unique_ptr<ResultStream> GrpcDispatchClient::ReportResults() {
  return std::make_unique<GrpcResultStream>(*stub_->stub, token_);
}

}  // namespace phaze
