// The coordinator under concurrent use, in one process so that ThreadSanitizer sees every thread:
// the gRPC server, two worker threads, a metrics refresher, and client threads that submit,
// watch, poll, list and page results at the same time. CI runs these under TSan (label
// "concurrency"); in the normal build they check the outcome.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/rpc/convert.h"
#include "coordinator/server.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "phaze/v1/service.grpc.pb.h"
#include "worker/worker_loop.h"

namespace phaze {

using eval::Evaluator;
using job::ParseJobYaml;
namespace {

constexpr char kToken[] = "concurrency-token";
constexpr char kWorkerToken[] = "concurrency-worker-token";

std::string TinyJob(int i) {
  std::ifstream in(PHAZE_SOURCE_DIR "/tests/data/tiny-job.yaml");
  std::stringstream text;
  text << in.rdbuf();
  return absl::StrReplaceAll(text.str(), {{"name: tiny", absl::StrCat("name: tiny-", i)}});
}

void Auth(grpc::ClientContext& ctx) {
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kToken));
}

TEST(ConcurrencyTest, ClientsWorkersAndMetricsShareOneCoordinator) {
  ServerOptions options;
  options.token = kToken;
  options.worker_token = kWorkerToken;
  options.manager.shard_size = 1;  // many small leases: the most interleaving
  options.metrics_listen = "127.0.0.1:0";
  auto server = CoordinatorServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = absl::StrCat("127.0.0.1:", (*server)->port());
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());

  WorkerOptions worker_options;
  worker_options.threads = 2;
  worker_options.idle_poll_s = 0.01;
  worker_options.token = kWorkerToken;
  Worker worker(channel, worker_options);
  std::atomic<bool> stop{false};
  std::thread workers([&] { worker.Run(stop); });

  constexpr int kClients = 6;
  std::vector<v1::JobStatus> finals(kClients);
  std::vector<std::thread> clients;
  std::atomic<int> errors{0};
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      auto stub = v1::Coordinator::NewStub(channel);
      v1::SubmitJobRequest submit;
      submit.mutable_spec()->set_yaml(TinyJob(i % 2));  // two distinct jobs, three copies each
      v1::JobStatus status;
      grpc::ClientContext submit_ctx;
      Auth(submit_ctx);
      if (!stub->SubmitJob(&submit_ctx, submit, &status).ok()) {
        ++errors;
        return;
      }
      // Poll and list while watching on another stream.
      std::thread poller([&] {
        for (int k = 0; k < 20; ++k) {
          grpc::ClientContext ctx;
          Auth(ctx);
          v1::ListJobsResponse jobs;
          if (!stub->ListJobs(&ctx, v1::ListJobsRequest(), &jobs).ok()) ++errors;
          grpc::ClientContext rctx;
          Auth(rctx);
          v1::ListResultsRequest req;
          req.set_job_id(status.job_id());
          req.set_page_size(3);
          v1::ListResultsResponse page;
          if (!stub->ListResults(&rctx, req, &page).ok()) ++errors;
        }
      });
      while (true) {
        grpc::ClientContext ctx;
        Auth(ctx);
        v1::WatchJobRequest req;
        req.set_job_id(status.job_id());
        auto reader = stub->WatchJob(&ctx, req);
        v1::JobStatus s;
        while (reader->Read(&s)) finals[i] = s;
        if (!reader->Finish().ok()) ++errors;
        if (finals[i].state() != v1::JOB_STATE_RUNNING) break;
      }
      poller.join();
    });
  }
  for (std::thread& t : clients) t.join();
  stop = true;
  workers.join();
  (*server)->Shutdown();

  EXPECT_EQ(errors.load(), 0);
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(finals[i].state(), v1::JOB_STATE_SUCCEEDED) << i;
    EXPECT_EQ(finals[i].candidates_done(), finals[i].candidates_total()) << i;
    ASSERT_TRUE(finals[i].has_best()) << i;
    // Copies of the same job agree, whichever threads evaluated them.
    EXPECT_EQ(finals[i].best().candidate(), finals[i % 2].best().candidate());
    EXPECT_EQ(finals[i].best().throughput_samples_per_s(),
              finals[i % 2].best().throughput_samples_per_s());
    EXPECT_EQ(finals[i].front_size(), finals[i % 2].front_size());
  }
}

// One coordinator per port and per database: a second one is refused with a clear error instead
// of starting and taking half of the clients.
TEST(CoordinatorServerTest, APortOrADatabaseInUseIsRefused) {
  const std::string db = testing::TempDir() + "/phaze_server_lock_test.db";
  std::remove(db.c_str());
  ServerOptions options;
  options.token = kToken;
  options.listen = "127.0.0.1:0";
  options.database = db;
  auto first = CoordinatorServer::Start(options);
  ASSERT_TRUE(first.ok()) << first.status();

  ServerOptions same_port = options;
  same_port.listen = absl::StrCat("127.0.0.1:", (*first)->port());
  same_port.database = ":memory:";
  auto second = CoordinatorServer::Start(same_port);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(std::string(second.status().message()).find("cannot listen on"), std::string::npos);

  auto third = CoordinatorServer::Start(options);  // another port, the same database
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(third.status().message()).find("in use by another coordinator"),
            std::string::npos);

  (*first)->Shutdown();
  first->reset();
  auto after = CoordinatorServer::Start(options);  // free again once the first has stopped
  EXPECT_TRUE(after.ok()) << after.status();
  if (after.ok()) (*after)->Shutdown();
}

TEST(ConcurrencyTest, JobManagerLeasesReportsAndReadsFromManyThreads) {
  auto store = *Store::Open(":memory:");
  ManagerOptions options;
  options.shard_size = 1;
  JobManager manager(store.get(), options);
  constexpr int kJobs = 4;  // several jobs, so that leases rotate between them
  std::map<std::string, std::unique_ptr<Evaluator>> evaluators;
  for (int j = 0; j < kJobs; ++j) {
    evaluators[manager.Submit(TinyJob(j))->job_id()] =
        *Evaluator::Create(*ParseJobYaml(TinyJob(j)));
  }
  auto running = [&] {
    for (const v1::JobStatus& s : manager.List()) {
      if (s.state() == v1::JOB_STATE_RUNNING) return true;
    }
    return false;
  };
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      sched::CbcBackend cbc;
      double now = 0;
      while (!done.load()) {
        const v1::Lease lease = manager.Lease(absl::StrCat("w/", t), now);
        now += 0.01;
        if (lease.lease_id().empty()) {
          if (!running()) done = true;
          continue;
        }
        const std::string& id = lease.job_id();
        for (int64_t c : lease.candidates()) {
          const v1::CandidateResult r = ToProto(*evaluators.at(id)->Evaluate(c, cbc, nullptr));
          v1::ResultReport report;
          report.set_lease_id(lease.lease_id());
          report.set_job_id(id);
          *report.mutable_result() = r;
          EXPECT_TRUE(manager.Report(report, now).ok());
          EXPECT_TRUE(manager.Report(report, now).ok());  // a duplicate
        }
        manager.Complete(lease.lease_id());
      }
    });
  }
  threads.emplace_back([&] {
    while (!done.load()) {
      (void)manager.Totals(0, 1);
      for (const v1::JobStatus& s : manager.List()) {
        v1::ListResultsRequest req;
        req.set_job_id(s.job_id());
        (void)manager.Results(req);
      }
    }
  });
  for (std::thread& t : threads) t.join();
  for (const auto& [id, evaluator] : evaluators) {
    const v1::JobStatus s = *manager.Get(id);
    EXPECT_EQ(s.state(), v1::JOB_STATE_SUCCEEDED);
    EXPECT_EQ(s.candidates_done(), s.candidates_total());
    EXPECT_EQ(static_cast<int64_t>(store->Results(id)->size()), s.candidates_total());
  }
}

}  // namespace
}  // namespace phaze
