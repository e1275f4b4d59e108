#include "coordinator/server.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "coordinator/metrics.h"
#include "coordinator/service.h"
#include "coordinator/web.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace phaze {

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(
    const ServerOptions& options) {
  std::unique_ptr<CoordinatorServer> s(new CoordinatorServer());
  PHAZE_ASSIGN_OR_RETURN(s->store_, Store::Open(options.database));
  s->manager_ = std::make_unique<JobManager>(s->store_.get(), options.manager);
  PHAZE_RETURN_IF_ERROR(s->manager_->Recover());
  s->coordinator_ =
      std::make_unique<CoordinatorService>(s->manager_.get(), &s->stopping_, options.token);
  const auto start = std::chrono::steady_clock::now();
  auto now_s = [start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  s->dispatch_ = std::make_unique<DispatchService>(s->manager_.get(), now_s, options.worker_token);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  PHAZE_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                         ServerCredentials(options.tls));
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which lets a second coordinator bind the same port and
  // take half the clients: refuse a port that is taken instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(options.listen, credentials, &s->port_);
  builder.RegisterService(s->coordinator_.get());
  builder.RegisterService(s->dispatch_.get());
  // Requests are small (a job file is at most 1 MiB, a worker's report one candidate); replies
  // are paged.
  builder.SetMaxReceiveMessageSize(4 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen, " (in use, or not an address here)"));
  }
  if (!options.metrics_listen.empty()) {
    s->registry_ = std::make_shared<prometheus::Registry>();
    s->metrics_ = std::make_unique<CoordinatorMetrics>(*s->registry_);
    try {
      s->exposer_ = std::make_unique<prometheus::Exposer>(options.metrics_listen);
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot serve metrics on ", options.metrics_listen, ": ", e.what()));
    }
    s->exposer_->RegisterCollectable(s->registry_);
    const std::vector<int> ports = s->exposer_->GetListeningPorts();
    s->metrics_port_ = ports.empty() ? 0 : ports.front();
    const double window_s = options.manager.lease_s;
    CoordinatorServer* self = s.get();
    s->refresher_ = std::thread([self, now_s, window_s] {
      while (!self->stopping_.load()) {
        self->metrics_->Update(self->manager_->Totals(now_s(), window_s));
        for (int i = 0; i < 10 && !self->stopping_.load(); ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    });
  }
  if (!options.http_listen.empty()) {
    PHAZE_ASSIGN_OR_RETURN(s->web_,
                           WebServer::Start(options.http_listen, s->manager_.get(), options.token));
  }
  return s;
}

int CoordinatorServer::http_port() const { return web_ ? web_->port() : 0; }

void CoordinatorServer::Shutdown() {
  stopping_ = true;
  web_.reset();  // stop serving pages before the job manager goes
  if (refresher_.joinable()) refresher_.join();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

CoordinatorServer::~CoordinatorServer() { Shutdown(); }

}  // namespace phaze
