// phaze-worker: evaluates candidates for a coordinator. On SIGTERM it finishes its current shard
// and exits.
//
//   phaze-worker --coordinator phaze-coordinator:50051 --threads 0
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "common/rpc/tls.h"
#include "common/rpc/token.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"
#include "worker/metrics.h"
#include "worker/worker_loop.h"

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  CLI::App app{"phaze-worker: evaluates candidates for a phaze coordinator"};
  std::string coordinator = "127.0.0.1:50051";
  phaze::WorkerOptions options;
  options.threads = 0;
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  options.worker_id = std::string(host) + "-" + std::to_string(getpid());
  app.add_option("--coordinator", coordinator, "Coordinator address")->capture_default_str();
  app.add_option("--threads", options.threads, "Evaluations at a time (0: every core)")
      ->capture_default_str();
  app.add_option("--id", options.worker_id, "Worker name in leases")->capture_default_str();
  std::string metrics_listen;
  app.add_option("--metrics-listen", metrics_listen,
                 "Serve Prometheus /metrics on this address, e.g. 0.0.0.0:9464 (empty: off)")
      ->capture_default_str();
  int health_port = 0;
  app.add_option("--health-port", health_port,
                 "Serve gRPC health checking and reflection on this port (0: off)")
      ->capture_default_str();
  std::string token_file;
  app.add_option("--token-file", token_file,
                 "File holding the workers' bearer token (else $PHAZE_WORKER_TOKEN)");
  int64_t max_memory_mib = 0;
  app.add_option("--max-memory-mib", max_memory_mib,
                 "Address-space limit of this process in MiB (0: none); an evaluation that "
                 "needs more is reported as failed, the worker carries on")
      ->capture_default_str();
  app.add_option("--max-cached-jobs", options.max_cached_jobs,
                 "Jobs whose evaluator and schedule cache are kept between shards")
      ->capture_default_str();
  phaze::TlsClientFiles tls;
  phaze::AddTlsClientFlags(&app, &tls);
  CLI11_PARSE(app, argc, argv);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      phaze::ChannelCredentials(tls);
  if (!credentials.ok()) {
    std::cerr << "phaze-worker: " << credentials.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<std::string> token = phaze::LoadBearerToken(token_file, phaze::kWorkerTokenEnv);
  if (!token.ok()) {
    std::cerr << "phaze-worker: " << token.status().message() << "\n";
    return 2;
  }
  options.token = *token;
  if (options.threads <= 0) {
    options.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  if (max_memory_mib > 0) {
    // One malloc arena per evaluation thread (and two for gRPC), so the limit is spent on data,
    // not on address space reserved for arenas.
    mallopt(M_ARENA_MAX, options.threads + 2);
    const rlim_t bytes = static_cast<rlim_t>(max_memory_mib) << 20;
    const rlimit limit{bytes, bytes};
    if (setrlimit(RLIMIT_AS, &limit) != 0) {
      std::cerr << "phaze-worker: --max-memory-mib: setrlimit failed\n";
      return 2;
    }
  }
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  // The worker only makes calls; this small server answers Kubernetes' gRPC probes.
  std::unique_ptr<grpc::Server> health;
  if (health_port > 0) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("0.0.0.0:" + std::to_string(health_port),
                             grpc::InsecureServerCredentials());
    health = builder.BuildAndStart();
    if (health == nullptr) {
      std::cerr << "phaze-worker: cannot serve health on port " << health_port << "\n";
      return 1;
    }
  }
  auto registry = std::make_shared<prometheus::Registry>();
  phaze::WorkerMetrics metrics(*registry);
  std::unique_ptr<prometheus::Exposer> exposer;
  if (!metrics_listen.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(metrics_listen);
    } catch (const std::exception& e) {
      std::cerr << "phaze-worker: cannot serve metrics on " << metrics_listen << ": " << e.what()
                << "\n";
      return 1;
    }
    exposer->RegisterCollectable(registry);
    std::cout << "metrics on port " << exposer->GetListeningPorts().front() << std::endl;
    options.on_evaluation = [&metrics](const phaze::eval::EvaluationResult* r, double seconds) {
      metrics.Record(r, seconds);
    };
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  phaze::Worker worker(grpc::CreateCustomChannel(coordinator, *credentials, args), options);
  std::cout << "worker " << options.worker_id << " with " << options.threads
            << " threads, coordinator " << coordinator << std::endl;
  worker.Run(g_stop);
  if (health) health->Shutdown();
  std::cout << "worker " << options.worker_id << " stopped after " << worker.evaluated()
            << " evaluations" << std::endl;
  return 0;
}
