// Load client for one coordinator: C clients that each, for a fixed time, submit a small job,
// watch it to the end and fetch its results, again and again, while status pollers send GetJob
// at a fixed total rate. Prints p50/p99/max
// latencies per call kind and exits non-zero on any error or any job that did not succeed.
// Latencies of status calls count from the moment a call was due, not when it was sent, so a
// slow coordinator cannot hide behind a client that fell behind (no coordinated omission).
//
//   load_client --coordinator HOST:PORT --job JOB.yaml [--clients 200] [--status-rps 1000]
//               [--seconds 60]          (token from PHAZE_TOKEN)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "common/rpc/token.h"
#include "grpcpp/grpcpp.h"
#include "phaze/v1/service.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace v1 = phaze::v1;

struct Latencies {
  std::mutex mu;
  std::vector<double> ms;
  void Add(double x) {
    std::lock_guard<std::mutex> lock(mu);
    ms.push_back(x);
  }
};

double Ms(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

void Print(const std::string& what, Latencies& l, double seconds) {
  std::vector<double>& v = l.ms;
  std::sort(v.begin(), v.end());
  auto at = [&v](double q) {
    return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
  };
  std::cout << absl::StrFormat(
      "%-22s %8zu calls %9.1f /s   p50 %8.2f ms   p99 %8.2f ms   max %8.2f ms\n", what, v.size(),
      v.size() / seconds, at(0.50), at(0.99), v.empty() ? 0.0 : v.back());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"load_client: many clients and a fixed status-request rate against a coordinator"};
  std::string address, job_path;
  int clients = 200;
  double status_rps = 1000, seconds = 60;
  int pollers = 16;
  app.add_option("--coordinator", address)->required();
  app.add_option("--job", job_path, "Job file; each client submits it under its own name")
      ->required();
  app.add_option("--clients", clients)->capture_default_str();
  app.add_option("--status-rps", status_rps)->capture_default_str();
  app.add_option("--seconds", seconds, "How long the status load runs")->capture_default_str();
  app.add_option("--pollers", pollers, "Threads sharing the status rate")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const std::string token = phaze::LoadBearerToken("").value();  // PHAZE_TOKEN, or none
  std::ifstream in(job_path);
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().find("\nname: ") == std::string::npos && text.str().rfind("name: ", 0) != 0) {
    std::cerr << "load_client: " << job_path << " needs a top-level 'name:' line\n";
    return 2;
  }

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // A few channels, as many independent clients would have.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < 8; ++i) {
    args.SetInt("phaze.channel", i);  // distinct args: distinct connections
    channels.push_back(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  }
  auto context = [&token](grpc::ClientContext& ctx, double deadline_s) {
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(static_cast<int64_t>(deadline_s * 1000)));
  };

  Latencies submit_ms, watch_ms, status_ms, results_ms;
  std::atomic<int> errors{0}, not_succeeded{0};
  std::mutex ids_mu;
  std::vector<std::string> ids;
  std::mutex err_mu;
  auto error = [&](const std::string& what, const grpc::Status& s) {
    ++errors;
    std::lock_guard<std::mutex> lock(err_mu);
    std::cerr << "load_client: " << what << ": " << s.error_code() << " " << s.error_message()
              << "\n";
  };
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto stub = v1::Coordinator::NewStub(channels[c % channels.size()]);
      for (int round = 0; round == 0 || Clock::now() < end; ++round) {
        v1::SubmitJobRequest req;
        req.mutable_spec()->set_yaml(absl::StrReplaceAll(
            text.str(), {{"name: ", absl::StrCat("name: load-", c, "-", round, "-")}}));
        v1::JobStatus status;
        grpc::ClientContext ctx;
        context(ctx, 60);
        const auto t0 = Clock::now();
        const grpc::Status s = stub->SubmitJob(&ctx, req, &status);
        submit_ms.Add(Ms(t0, Clock::now()));
        if (!s.ok()) return error("submit", s);
        {
          std::lock_guard<std::mutex> lock(ids_mu);
          ids.push_back(status.job_id());
        }
        const auto w0 = Clock::now();
        v1::JobStatus last = status;
        while (last.state() == v1::JOB_STATE_RUNNING) {
          grpc::ClientContext wctx;
          context(wctx, 600);
          v1::WatchJobRequest wreq;
          wreq.set_job_id(status.job_id());
          auto reader = stub->WatchJob(&wctx, wreq);
          v1::JobStatus update;
          while (reader->Read(&update)) last = update;
          const grpc::Status ws = reader->Finish();
          if (!ws.ok()) return error("watch", ws);
        }
        watch_ms.Add(Ms(w0, Clock::now()));
        if (last.state() != v1::JOB_STATE_SUCCEEDED) ++not_succeeded;
        grpc::ClientContext rctx;
        context(rctx, 60);
        v1::ListResultsRequest rreq;
        rreq.set_job_id(status.job_id());
        v1::ListResultsResponse page;
        const auto r0 = Clock::now();
        const grpc::Status rs = stub->ListResults(&rctx, rreq, &page);
        results_ms.Add(Ms(r0, Clock::now()));
        if (!rs.ok()) error("results", rs);
      }
    });
  }
  // Status pollers: each sends at status_rps / pollers, on a fixed schedule.
  const double interval_s = pollers / status_rps;
  for (int p = 0; p < pollers; ++p) {
    threads.emplace_back([&, p] {
      auto stub = v1::Coordinator::NewStub(channels[p % channels.size()]);
      std::mt19937 rng(p);
      auto due = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(interval_s * p / pollers));
      while (due < end) {
        std::this_thread::sleep_until(due);
        std::string id;
        {
          std::lock_guard<std::mutex> lock(ids_mu);
          if (!ids.empty()) id = ids[rng() % ids.size()];
        }
        grpc::ClientContext ctx;
        context(ctx, 30);
        v1::GetJobRequest req;
        req.set_job_id(id);
        v1::JobStatus status;
        grpc::Status s;
        if (id.empty()) {
          v1::ListJobsResponse jobs;
          s = stub->ListJobs(&ctx, v1::ListJobsRequest(), &jobs);
        } else {
          s = stub->GetJob(&ctx, req, &status);
        }
        status_ms.Add(Ms(due, Clock::now()));
        if (!s.ok()) error("status", s);
        due +=
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_s));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::cout << absl::StrFormat(
      "%d clients (submit, watch, results, repeat), %.0f status requests/s, for %.0f s; %.1f s "
      "in all\n",
      clients, status_rps, seconds, elapsed_s);
  std::cout << absl::StrFormat("%zu jobs: %.1f jobs/s\n", ids.size(), ids.size() / elapsed_s);
  Print("SubmitJob", submit_ms, elapsed_s);
  Print("WatchJob (to the end)", watch_ms, elapsed_s);
  Print("ListResults", results_ms, elapsed_s);
  Print("GetJob (status)", status_ms, std::min(elapsed_s, seconds));
  std::cout << "errors " << errors.load() << ", jobs not succeeded " << not_succeeded.load()
            << ", jobs submitted " << ids.size() << "\n";
  return errors.load() == 0 && not_succeeded.load() == 0 && static_cast<int>(ids.size()) >= clients
             ? 0
             : 1;
}
