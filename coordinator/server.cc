#include "coordinator/server.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "coordinator/service.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"

namespace phaze {

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(
    const ServerOptions& options) {
  std::unique_ptr<CoordinatorServer> s(new CoordinatorServer());
  PHAZE_ASSIGN_OR_RETURN(s->store_, Store::Open(options.database));
  s->manager_ = std::make_unique<JobManager>(s->store_.get(), options.manager);
  PHAZE_RETURN_IF_ERROR(s->manager_->Recover());
  s->coordinator_ = std::make_unique<CoordinatorService>(s->manager_.get(), &s->stopping_);
  const auto start = std::chrono::steady_clock::now();
  s->dispatch_ = std::make_unique<DispatchService>(s->manager_.get(), [start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  });
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &s->port_);
  builder.RegisterService(s->coordinator_.get());
  builder.RegisterService(s->dispatch_.get());
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  return s;
}

void CoordinatorServer::Shutdown() {
  stopping_ = true;
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

CoordinatorServer::~CoordinatorServer() { Shutdown(); }

}  // namespace phaze
