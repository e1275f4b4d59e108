// A running coordinator: the store, the job manager and the gRPC server (Coordinator and
// Dispatch services, health checking, reflection) in one object. Used by phaze-coordinator and by
// the embedded `phaze run`.
#ifndef PHAZE_COORDINATOR_SERVER_H_
#define PHAZE_COORDINATOR_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/rpc/tls.h"
#include "coordinator/job_manager.h"

namespace grpc {
class Server;
}
namespace prometheus {
class Exposer;
class Registry;
}  // namespace prometheus

namespace phaze {

class CoordinatorMetrics;
class CoordinatorService;
class DispatchService;
class WebServer;

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // port 0: any free port (see port())
  std::string database = ":memory:";
  ManagerOptions manager;
  std::string metrics_listen;  // e.g. "0.0.0.0:9464" for /metrics; empty: no metrics endpoint
  std::string token;         // users' bearer token (Coordinator service); empty: no authentication
  std::string worker_token;  // workers' bearer token (Dispatch service); empty: no authentication
  TlsServerFiles tls;        // certificate and key: serve TLS; empty: plaintext
  std::string http_listen;   // e.g. "127.0.0.1:8080" for the job web pages; empty: none
};

class CoordinatorServer {
 public:
  // Opens the store, recovers unfinished jobs and starts serving.
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(const ServerOptions& options);
  ~CoordinatorServer();

  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  int http_port() const;
  JobManager& manager() { return *manager_; }
  // Ends watch streams and stops serving; in-flight calls finish.
  void Shutdown();

 private:
  CoordinatorServer() = default;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<Store> store_;
  std::unique_ptr<JobManager> manager_;
  std::unique_ptr<CoordinatorService> coordinator_;
  std::unique_ptr<DispatchService> dispatch_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::unique_ptr<CoordinatorMetrics> metrics_;
  std::thread refresher_;
  std::unique_ptr<WebServer> web_;
  int metrics_port_ = 0;
};

}  // namespace phaze

#endif  // PHAZE_COORDINATOR_SERVER_H_
