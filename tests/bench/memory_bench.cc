// The coordinator's memory over many finished jobs: submits tiny jobs one after another to a
// JobManager with a file-backed SQLite store, plays a worker for each (real results, computed once
// per candidate and reused), and prints the resident set size every 1,000 jobs. A finished job
// keeps only its summary, so the resident size must stay flat after warm-up; the last line gives
// the growth from job 2,000 to the end. Not a test: it prints figures (issue 13, item 4).
//
//   build/tests/bench/memory_bench [--jobs 20000] [--database /tmp/phaze_memory_bench.db]
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/rpc/convert.h"
#include "coordinator/job_manager.h"

namespace {

double ResidentMiB() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

std::string TinyJob() {
  std::ifstream in(PHAZE_SOURCE_DIR "/tests/data/tiny-job.yaml");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);  // as phaze-coordinator does
  CLI::App app{"coordinator memory over many finished jobs"};
  int64_t jobs = 20000;
  std::string db = "/tmp/phaze_memory_bench.db";
  app.add_option("--jobs", jobs)->capture_default_str();
  app.add_option("--database", db)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
  auto store = *phaze::Store::Open(db);
  phaze::JobManager manager(store.get(), {});
  const std::string job = TinyJob();
  auto evaluator = *phaze::eval::Evaluator::Create(*phaze::job::ParseJobYaml(job));
  phaze::sched::CbcBackend cbc;
  std::map<int64_t, phaze::v1::CandidateResult> results;  // by candidate, computed once
  const auto t0 = std::chrono::steady_clock::now();
  double at_warm_up = 0;
  double now = 0;
  for (int64_t j = 1; j <= jobs; ++j) {
    const std::string yaml =
        absl::StrReplaceAll(job, {{"name: tiny", absl::StrCat("name: tiny-", j)}});
    const absl::StatusOr<phaze::v1::JobStatus> submitted = manager.Submit(yaml);
    if (!submitted.ok()) {
      std::fprintf(stderr, "submit: %s\n", std::string(submitted.status().message()).c_str());
      return 1;
    }
    while (true) {
      const phaze::v1::Lease lease = manager.Lease("bench", now);
      if (lease.lease_id().empty()) break;
      for (int64_t c : lease.candidates()) {
        auto it = results.find(c);
        if (it == results.end()) {
          it = results.emplace(c, phaze::ToProto(*evaluator->Evaluate(c, cbc, nullptr))).first;
        }
        phaze::v1::ResultReport report;
        report.set_lease_id(lease.lease_id());
        report.set_job_id(lease.job_id());
        *report.mutable_result() = it->second;
        if (!manager.Report(report, now).ok()) return 1;
      }
      manager.Complete(lease.lease_id());
    }
    if (manager.Get(submitted->job_id())->state() != phaze::v1::JOB_STATE_SUCCEEDED) return 1;
    if (j % 1000 == 0) {
      const double rss = ResidentMiB();
      if (j == 2000) at_warm_up = rss;
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("%6lld jobs finished: resident %.1f MiB (%.0f jobs/s)\n",
                  static_cast<long long>(j), rss, static_cast<double>(j) / s);
      std::fflush(stdout);
    }
  }
  if (at_warm_up > 0) {
    const double end = ResidentMiB();
    std::printf("growth from 2,000 to %lld jobs: %.1f -> %.1f MiB (%+.1f%%): %s\n",
                static_cast<long long>(jobs), at_warm_up, end, 100 * (end / at_warm_up - 1),
                end <= 1.1 * at_warm_up ? "flat (within 10%)" : "NOT flat");
  }
  return 0;
}
