// phaze-coordinator: the job service. Prints "listening on HOST:PORT" once it serves.
//
//   phaze-coordinator --listen 0.0.0.0:50051 --database /data/phaze.db
#include <malloc.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "common/rpc/token.h"
#include "coordinator/server.h"

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  CLI::App app{"phaze-coordinator: shards searches over workers, aggregates, persists"};
  phaze::ServerOptions options;
  options.database = "phaze.db";
  app.add_option("--listen", options.listen, "Address to serve gRPC on")->capture_default_str();
  app.add_option("--database", options.database, "SQLite file (':memory:' for none)")
      ->capture_default_str();
  app.add_option("--shard-size", options.manager.shard_size,
                 "Candidates per shard: the fewest (every shard's with --shard-seconds 0)")
      ->capture_default_str();
  app.add_option("--max-shard-size", options.manager.max_shard_size, "Most candidates per shard")
      ->capture_default_str();
  app.add_option("--shard-seconds", options.manager.shard_seconds,
                 "Evaluation seconds a shard aims at, at the job's mean time per candidate so far "
                 "(0: every shard --shard-size)")
      ->capture_default_str();
  app.add_option("--lease-seconds", options.manager.lease_s, "Lease deadline")
      ->capture_default_str();
  app.add_option("--max-running-jobs", options.manager.max_running_jobs,
                 "Jobs running at once; more get RESOURCE_EXHAUSTED")
      ->capture_default_str();
  app.add_option("--max-space-size", options.manager.max_space_size,
                 "Most candidates (architectures x micro-batch sizes) one job may have")
      ->capture_default_str();
  app.add_option("--max-ilp-seconds", options.manager.max_ilp_time_limit_s,
                 "Largest solver.time_limit_s a job may set (per scheduling ILP)")
      ->capture_default_str();
  app.add_option("--metrics-listen", options.metrics_listen,
                 "Serve Prometheus /metrics on this address (empty: off)")
      ->capture_default_str();
  app.add_option("--http-listen", options.http_listen,
                 "Serve the read-only job pages (GET /, /jobs/ID) on this address (empty: off)")
      ->capture_default_str();
  std::string token_file, worker_token_file;
  bool insecure = false;
  app.add_option("--token-file", token_file,
                 "File holding the users' bearer token (else $PHAZE_TOKEN): submit, watch, "
                 "cancel, results");
  app.add_option("--worker-token-file", worker_token_file,
                 "File holding the workers' bearer token (else $PHAZE_WORKER_TOKEN): lease "
                 "shards and report results; must differ from the users' token");
  app.add_flag("--insecure", insecure, "Accept calls without a token (trusted networks only)");
  phaze::AddTlsServerFlags(&app, &options.tls);
  CLI11_PARSE(app, argc, argv);
  absl::StatusOr<std::string> token = phaze::LoadBearerToken(token_file);
  if (!token.ok()) {
    std::cerr << "phaze-coordinator: " << token.status().message() << "\n";
    return 2;
  }
  if (token->empty() && !insecure) {
    std::cerr << "phaze-coordinator: no token: give --token-file or PHAZE_TOKEN, or --insecure to "
                 "accept unauthenticated calls\n";
    return 2;
  }
  options.token = *token;
  absl::StatusOr<std::string> worker_token =
      phaze::LoadBearerToken(worker_token_file, phaze::kWorkerTokenEnv, "--worker-token-file");
  if (!worker_token.ok()) {
    std::cerr << "phaze-coordinator: " << worker_token.status().message() << "\n";
    return 2;
  }
  if (!options.token.empty() && worker_token->empty()) {
    std::cerr << "phaze-coordinator: no worker token: give --worker-token-file or "
                 "PHAZE_WORKER_TOKEN (workers and users hold different credentials)\n";
    return 2;
  }
  if (!worker_token->empty() && *worker_token == options.token) {
    std::cerr << "phaze-coordinator: the worker token must differ from the users' token\n";
    return 2;
  }
  options.worker_token = *worker_token;

  absl::StatusOr<std::unique_ptr<phaze::CoordinatorServer>> server =
      phaze::CoordinatorServer::Start(options);
  if (!server.ok()) {
    std::cerr << "phaze-coordinator: " << server.status().message() << "\n";
    return 1;
  }
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  if ((*server)->metrics_port() > 0) {
    std::cout << "metrics on "
              << options.metrics_listen.substr(0, options.metrics_listen.rfind(':')) << ":"
              << (*server)->metrics_port() << std::endl;
  }
  if ((*server)->http_port() > 0) {
    std::cout << "pages on http://" << options.http_listen.substr(0, options.http_listen.rfind(':'))
              << ":" << (*server)->http_port() << "/" << std::endl;
  }
  std::cout << "listening on " << host << ":" << (*server)->port() << std::endl;
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (*server)->Shutdown();
  return 0;
}
