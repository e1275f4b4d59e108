// Coordinator throughput with a synthetic evaluator: leases shards of the original 29,360-chip
// space and reports made-up results as fast as it can, through the JobManager and a file-backed
// SQLite store (WAL). Prints results per second and the coordinator's CPU time per result.
// Not a test: it asserts nothing.
//
//   build/tests/bench/coordinator_bench [--results 20000] [--shard 64] [--batch]
#include <malloc.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include "CLI/CLI.hpp"
#include "common/rpc/convert.h"
#include "coordinator/job_manager.h"
#include "tests/bench/synthetic_result.h"

namespace {

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"coordinator throughput with synthetic results"};
  int64_t total = 20000;
  int64_t shard = 64;
  std::string db = "/tmp/phaze_coordinator_bench.db";
  app.add_option("--results", total)->capture_default_str();
  app.add_option("--shard", shard)->capture_default_str();
  app.add_option("--database", db)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::remove(db.c_str());
  auto store = *phaze::Store::Open(db);
  phaze::ManagerOptions options;
  options.shard_size = shard;
  phaze::JobManager manager(store.get(), options);
  const char* job = R"(
name: synthetic
model: megatrongpt3
training: {micro_batch_sizes: [1]}
architecture: {space: {}, hbm_gib: [32, 64, 80]}
search: {strategy: exhaustive}
)";
  const std::string id = manager.Submit(job)->job_id();
  const phaze::job::JobSpec spec = *phaze::job::ParseJobYaml(job);
  const std::unique_ptr<phaze::eval::Evaluator> evaluator = *phaze::eval::Evaluator::Create(spec);
  std::mt19937 rng(1);
  int64_t reported = 0;
  const double cpu0 = CpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  while (reported < total) {
    const phaze::v1::Lease lease = manager.Lease("bench", 0);
    if (lease.lease_id().empty()) break;
    for (int64_t c : lease.candidates()) {
      const phaze::v1::CandidateResult r = phaze::bench::SyntheticResult(*evaluator, spec, c, rng);
      phaze::v1::ResultReport report;
      report.set_lease_id(lease.lease_id());
      report.set_job_id(id);
      *report.mutable_result() = r;
      if (!manager.Report(report, 0).ok()) return 1;
      ++reported;
    }
    manager.Complete(lease.lease_id());
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = CpuSeconds() - cpu0;
  std::printf(
      "coordinator: %lld results in %.2f s wall: %.0f results/s; %.1f us of CPU per result "
      "(JobManager + SQLite WAL, one commit per result, shards of %lld)\n",
      static_cast<long long>(reported), wall, static_cast<double>(reported) / wall,
      cpu / static_cast<double>(reported) * 1e6, static_cast<long long>(shard));
  std::printf("front: %lld points; persisted %lld\n",
              static_cast<long long>(manager.Get(id)->front_size()),
              static_cast<long long>(manager.results_persisted()));
  return 0;
}
