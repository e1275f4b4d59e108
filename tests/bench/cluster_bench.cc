// A simulated cluster against a real coordinator: W simulated workers lease shards over gRPC and
// report results, each candidate taking a time drawn from a measured per-candidate cost
// distribution (`search_bench --times FILE`), spent sleeping rather than computing, so that
// hundreds of workers fit on this machine. The coordinator is the real process with its SQLite
// store; its results are synthetic (tests/bench/synthetic_result.h) but pass every check a real
// one does. Prints results/s and leases/s against the ideal W / mean cost, and the coordinator's
// CPU per result (from /proc): what bounds one coordinator. Not a test: it asserts nothing.
//
//   build/tests/bench/cluster_bench --coordinator HOST:PORT --coordinator-pid PID
//       --job JOB.yaml --costs FILE --workers W [--seconds 10] [--jobs 4]
// Tokens from PHAZE_TOKEN (submit) and PHAZE_WORKER_TOKEN (lease, report).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/eval/eval.h"
#include "common/job/job.h"
#include "common/rpc/token.h"
#include "grpcpp/grpcpp.h"
#include "phaze/v1/service.grpc.pb.h"
#include "tests/bench/synthetic_result.h"
#include "worker/result_batcher.h"

namespace {

using Clock = std::chrono::steady_clock;

// utime + stime of a process, in seconds.
double ProcessCpuSeconds(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string text;
  std::getline(in, text);
  // Fields after the command name (which may hold spaces) start after the last ')'.
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int k = 3; k <= 15 && rest >> field; ++k) {
    if (k == 14) utime = std::stod(field);
    if (k == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

void Authorize(grpc::ClientContext& ctx, const std::string& token) {
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cluster_bench: simulated workers against a real coordinator"};
  std::string address, job_path, costs_path;
  int pid = 0, workers = 1, jobs = 4;
  double seconds = 10, warmup_s = 2;
  app.add_option("--coordinator", address)->required();
  app.add_option("--coordinator-pid", pid, "For its CPU time (/proc)")->required();
  app.add_option("--job", job_path, "Job file; submitted --jobs times under distinct names")
      ->required();
  app.add_option("--costs", costs_path,
                 "Per-candidate seconds, one per line (search_bench --times)")
      ->required();
  app.add_option("--workers", workers)->capture_default_str();
  app.add_option("--jobs", jobs)->capture_default_str();
  app.add_option("--seconds", seconds, "Measured time, after the warm-up")->capture_default_str();
  app.add_option("--warmup", warmup_s)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<double> costs;
  {
    std::ifstream in(costs_path);
    for (double c; in >> c;) costs.push_back(c);
  }
  if (costs.empty()) {
    std::fprintf(stderr, "cluster_bench: no costs in %s\n", costs_path.c_str());
    return 2;
  }
  double mean_cost_s = 0;
  for (double c : costs) mean_cost_s += c / static_cast<double>(costs.size());
  std::ifstream in(job_path);
  std::stringstream text;
  text << in.rdbuf();
  const absl::StatusOr<phaze::job::JobSpec> spec = phaze::job::ParseJobYaml(text.str());
  if (!spec.ok()) {
    std::fprintf(stderr, "cluster_bench: %s\n", spec.status().ToString().c_str());
    return 2;
  }
  const std::unique_ptr<phaze::eval::Evaluator> evaluator = *phaze::eval::Evaluator::Create(*spec);
  const std::string user_token = phaze::LoadBearerToken("").value();
  const std::string worker_token =
      phaze::LoadBearerToken("", phaze::kWorkerTokenEnv, "--worker-token-file").value();

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < std::min(workers, 32); ++i) {
    args.SetInt("phaze.channel", i);  // distinct args: distinct connections
    channels.push_back(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  }
  {
    auto stub = phaze::v1::Coordinator::NewStub(channels[0]);
    for (int j = 0; j < jobs; ++j) {
      phaze::v1::SubmitJobRequest req;
      req.mutable_spec()->set_yaml(
          absl::StrReplaceAll(text.str(), {{"name: ", absl::StrCat("name: sim-", j, "-")}}));
      phaze::v1::JobStatus status;
      grpc::ClientContext ctx;
      Authorize(ctx, user_token);
      const grpc::Status s = stub->SubmitJob(&ctx, req, &status);
      if (!s.ok()) {
        std::fprintf(stderr, "cluster_bench: submit: %s\n", s.error_message().c_str());
        return 1;
      }
    }
  }

  std::atomic<bool> stop{false}, measuring{false};
  std::atomic<int64_t> results{0}, leases{0}, empty_leases{0}, errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      auto stub = phaze::v1::Dispatch::NewStub(channels[static_cast<size_t>(w) % channels.size()]);
      std::mt19937 rng(static_cast<unsigned>(w) + 1);
      std::uniform_int_distribution<size_t> pick(0, costs.size() - 1);
      const std::string id = absl::StrCat("sim", w, "/0");
      while (!stop.load()) {
        phaze::v1::LeaseRequest lreq;
        lreq.set_worker_id(id);
        phaze::v1::Lease lease;
        grpc::ClientContext lctx;
        Authorize(lctx, worker_token);
        if (!stub->LeaseShard(&lctx, lreq, &lease).ok()) {
          ++errors;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          continue;
        }
        if (lease.lease_id().empty()) {
          if (measuring.load()) ++empty_leases;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          continue;
        }
        if (measuring.load()) ++leases;
        grpc::ClientContext rctx;
        Authorize(rctx, worker_token);
        phaze::v1::ReportAck ack;
        auto writer = stub->ReportResults(&rctx, &ack);
        // As the real worker (worker/result_batcher.h), without its heartbeat's tick: every
        // simulated candidate is fast.
        phaze::ResultBatcher batcher(lease, phaze::BatchLimits{},
                                     [&](const phaze::v1::ResultReport& report) {
                                       const int64_t n = 1 + report.more_results_size();
                                       const bool ok = writer->Write(report);
                                       if (ok && measuring.load()) results += n;
                                       return ok;
                                     });
        bool ok = true;
        for (int64_t c : lease.candidates()) {
          const double cost_s = costs[pick(rng)];
          std::this_thread::sleep_for(std::chrono::duration<double>(cost_s));
          phaze::v1::CandidateResult r = phaze::bench::SyntheticResult(*evaluator, *spec, c, rng);
          // The time it took, as a real worker's clock reports it (the coordinator sizes shards
          // by the job's mean).
          r.mutable_phases()->set_cost_s(cost_s);
          if (!(ok = batcher.Add(std::move(r), cost_s))) break;
        }
        if (ok) batcher.Flush();
        writer->WritesDone();
        if (!writer->Finish().ok()) ++errors;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(warmup_s));
  const double cpu0 = ProcessCpuSeconds(pid);
  const Clock::time_point t0 = Clock::now();
  measuring = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  measuring = false;
  const double wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu_s = ProcessCpuSeconds(pid) - cpu0;
  stop = true;
  for (std::thread& t : threads) t.join();

  const double rate = static_cast<double>(results.load()) / wall_s;
  const double ideal = static_cast<double>(workers) / mean_cost_s;
  std::printf(
      "workers %5d  results/s %9.1f  ideal %9.1f  (%5.1f%%)  leases/s %7.1f  idle leases/s %6.1f  "
      "coordinator CPU %5.1f%% of a core, %6.1f us per result  errors %lld\n",
      workers, rate, ideal, 100 * rate / ideal, static_cast<double>(leases.load()) / wall_s,
      static_cast<double>(empty_leases.load()) / wall_s, 100 * cpu_s / wall_s,
      results.load() > 0 ? cpu_s / static_cast<double>(results.load()) * 1e6 : 0.0,
      static_cast<long long>(errors.load()));
  return 0;
}
