#include "worker/worker_loop.h"

#include <atomic>
#include <fstream>
#include <new>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/job/job.h"
#include "common/rpc/convert.h"
#include "gtest/gtest.h"
#include "worker/fake_dispatch_client.h"

namespace phaze {

using eval::EvaluationResult;
using eval::Evaluator;
using job::JobSpec;
using job::ParseJobYaml;
using search::DesignPoint;
using search::RunLocal;
using search::SearchSpec;
using search::SearchState;
using search::SearchStrategy;
namespace {

// A lease on candidates 0 and 1 of tests/data/small-space-job.yaml.
v1::Lease TwoCandidatesOfTheSmallJob(const std::string& lease_id) {
  std::ifstream in(std::string(PHAZE_SOURCE_DIR) + "/tests/data/small-space-job.yaml");
  std::stringstream text;
  text << in.rdbuf();
  v1::Lease lease;
  lease.set_lease_id(lease_id);
  lease.set_job_id("job-1");
  *lease.mutable_spec()->mutable_job() = ToProto(*ParseJobYaml(text.str()));
  lease.add_candidates(0);
  lease.add_candidates(1);
  return lease;
}

// Runs a worker on `fake` until it has closed `streams` result streams, then stops it.
void RunUntilStreamsFinished(const std::shared_ptr<FakeDispatchClient>& fake,
                             const WorkerOptions& options, int64_t streams) {
  Worker worker(fake, options);
  std::atomic<bool> stop{false};
  std::thread run([&] { worker.Run(stop); });
  while (fake->streams_finished() < streams) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  run.join();
}

TEST(EvaluateToResultTest, ExceptionsAndErrorsBecomeErrorResultsNamingThem) {
  const v1::CandidateResult oom =
      EvaluateToResult(5, []() -> absl::StatusOr<EvaluationResult> { throw std::bad_alloc(); });
  EXPECT_EQ(oom.outcome(), v1::OUTCOME_ERROR);
  EXPECT_EQ(oom.candidate().index(), 5);
  EXPECT_NE(oom.error().find("out of memory"), std::string::npos) << oom.error();

  const v1::CandidateResult thrown = EvaluateToResult(6, []() -> absl::StatusOr<EvaluationResult> {
    throw std::runtime_error("CoinError: bad basis");
  });
  EXPECT_EQ(thrown.outcome(), v1::OUTCOME_ERROR);
  EXPECT_NE(thrown.error().find("CoinError: bad basis"), std::string::npos) << thrown.error();

  const v1::CandidateResult status = EvaluateToResult(
      7, []() -> absl::StatusOr<EvaluationResult> { return absl::InternalError("no graph"); });
  EXPECT_EQ(status.outcome(), v1::OUTCOME_ERROR);
  EXPECT_EQ(status.error(), "no graph");

  std::optional<EvaluationResult> evaluated;
  const v1::CandidateResult ok = EvaluateToResult(
      8,
      []() -> absl::StatusOr<EvaluationResult> {
        EvaluationResult r;
        r.candidate_index = 8;
        r.valid = false;
        return r;
      },
      &evaluated);
  EXPECT_EQ(ok.outcome(), v1::OUTCOME_INVALID);
  EXPECT_EQ(ok.candidate().index(), 8);
  ASSERT_TRUE(evaluated.has_value());  // handed out for the metrics hook
  EXPECT_EQ(evaluated->candidate_index, 8);

  std::optional<EvaluationResult> none;
  EvaluateToResult(
      9, []() -> absl::StatusOr<EvaluationResult> { throw std::bad_alloc(); }, &none);
  EXPECT_FALSE(none.has_value());
}

TEST(WorkerTest, WorkOfALeaseKeepsEveryFrontPoint) {
  v1::Lease lease;
  for (int i = 0; i < 5; ++i) {
    v1::FrontPoint* f = lease.add_front();
    f->set_throughput_samples_per_s(10.0 * (i + 1));
    f->set_area_um2(100.0 * (i + 1));
    f->set_energy_per_sample_j(1.0);
  }
  lease.add_candidates(7);
  const ShardWork work = WorkOf(lease, true);
  ASSERT_EQ(work.front.size(), 5u);
  EXPECT_EQ(work.front[4].area_um2, 500.0);
  EXPECT_EQ(work.candidates, std::vector<int64_t>{7});
}

// The whole worker against a fake coordinator: two leases of a pruned job, the second sent with
// the front of the first; every candidate gets exactly one report with its lease, and the
// pruned ones are exactly those a ShardRunner prunes on the same work.
TEST(WorkerTest, ReportsEveryCandidateOfEveryLeaseAndPrunesAgainstTheWholeFront) {
  std::ifstream in(std::string(PHAZE_SOURCE_DIR) + "/tests/data/small-space-job.yaml");
  std::stringstream text;
  text << in.rdbuf();
  std::string yaml = text.str();
  yaml.replace(yaml.find("strategy: exhaustive"), 20, "strategy: pruned");
  const JobSpec job = *ParseJobYaml(yaml);
  auto evaluator = *Evaluator::Create(job);
  const SearchState exhaustive =
      RunLocal(*evaluator, SearchSpec{SearchStrategy::kExhaustive}, 1, nullptr);

  auto fake = std::make_shared<FakeDispatchClient>();
  std::vector<v1::Lease> leases(2);
  for (int k = 0; k < 2; ++k) {
    v1::Lease& lease = leases[static_cast<size_t>(k)];
    lease.set_lease_id("lease-" + std::to_string(k));
    lease.set_job_id("job-1");
    lease.mutable_spec()->set_yaml(yaml);
    *lease.mutable_spec()->mutable_job() = ToProto(job);
    for (int64_t c = 40 * k; c < 40 * k + 40; ++c) lease.add_candidates(c);
    // The second coordinator takes batches: several results per message.
    lease.set_takes_batches(k == 1);
    if (k == 1) {
      for (const DesignPoint& p : exhaustive.front().Points()) {
        v1::FrontPoint* f = lease.add_front();
        f->set_throughput_samples_per_s(p.throughput_samples_per_s);
        f->set_area_um2(p.area_um2);
        f->set_energy_per_sample_j(p.energy_per_sample_j);
      }
    }
    fake->AddLease(lease);
  }
  WorkerOptions options;
  options.idle_poll_s = 0.01;
  RunUntilStreamsFinished(fake, options, 2);

  // One message per result on the first lease; fewer messages than results on the second.
  std::vector<v1::ResultReport> reports;
  int64_t messages[2] = {0, 0};
  for (const v1::ResultReport& message : fake->reports()) {
    ++messages[message.lease_id() == "lease-1" ? 1 : 0];
    EXPECT_TRUE(message.lease_id() == "lease-1" || message.more_results().empty());
    reports.push_back(message);
    reports.back().clear_more_results();
    for (const v1::CandidateResult& more : message.more_results()) {
      reports.push_back(message);
      reports.back().clear_more_results();
      *reports.back().mutable_result() = more;
    }
  }
  EXPECT_EQ(messages[0], 40);
  EXPECT_LT(messages[1], 40);
  ASSERT_EQ(reports.size(), 80u);
  int64_t pruned = 0;
  for (size_t i = 0; i < reports.size(); ++i) {
    EXPECT_EQ(reports[i].lease_id(), i < 40 ? "lease-0" : "lease-1");
    EXPECT_EQ(reports[i].job_id(), "job-1");
    EXPECT_EQ(reports[i].result().candidate().index(), static_cast<int64_t>(i));
    EXPECT_NE(reports[i].result().outcome(), v1::OUTCOME_ERROR) << reports[i].result().error();
    if (i >= 40) pruned += reports[i].result().outcome() == v1::OUTCOME_PRUNED;
  }
  // The same work through a ShardRunner directly.
  sched::CbcBackend cbc;
  ShardRunner runner(*evaluator, cbc, nullptr);
  int64_t expected = 0;
  runner.Run(WorkOf(leases[1], true), [&](const CandidateOutcome& o) {
    expected += o.result.ok() && o.result->pruned;
    return true;
  });
  EXPECT_GT(expected, 0);
  EXPECT_EQ(pruned, expected);
}

// A slow candidate does not lose its lease: while it runs, the worker renews the lease with
// heartbeats (reports without a result) on the shard's stream.
TEST(WorkerTest, HeartbeatsRenewTheLeaseWhileACandidateRuns) {
  auto fake = std::make_shared<FakeDispatchClient>();
  v1::Lease lease = TwoCandidatesOfTheSmallJob("lease-slow");
  lease.set_deadline_s(0.03);  // a heartbeat every 10 ms
  fake->AddLease(lease);
  WorkerOptions options;
  options.idle_poll_s = 0.01;
  // Each evaluation is followed by 60 ms of "slowness" before its result is written.
  options.on_evaluation = [](const eval::EvaluationResult*, double) {
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  };
  RunUntilStreamsFinished(fake, options, 1);
  int results = 0, heartbeats = 0;
  for (const v1::ResultReport& r : fake->reports()) {
    EXPECT_EQ(r.lease_id(), "lease-slow");
    EXPECT_EQ(r.job_id(), "job-1");
    (r.has_result() ? results : heartbeats) += 1;
  }
  EXPECT_EQ(results, 2);
  EXPECT_GE(heartbeats, 2);  // 120 ms of work at one heartbeat per 10 ms
}

// Gathered results do not wait for the next candidate: while it runs, the heartbeat thread sends
// those that have waited the batch's age.
TEST(WorkerTest, GatheredResultsGoOutWhileTheNextCandidateRuns) {
  auto fake = std::make_shared<FakeDispatchClient>();
  v1::Lease lease = TwoCandidatesOfTheSmallJob("lease-batched");
  lease.set_takes_batches(true);  // and no deadline: no heartbeats, only the batch's tick
  fake->AddLease(lease);
  WorkerOptions options;
  options.idle_poll_s = 0.01;
  // Only age sends a batch here: no candidate counts as slow, and none fills it.
  options.batch = {.max_results = 1000, .max_age_s = 0.05, .slow_s = 1e9};
  // The second evaluation holds its result back until the first result has arrived (or 20 s).
  int calls = 0;
  bool first_arrived_during_second = false;
  options.on_evaluation = [&](const eval::EvaluationResult*, double) {
    if (++calls != 2) return;
    for (int i = 0; i < 4000 && !first_arrived_during_second; ++i) {
      for (const v1::ResultReport& r : fake->reports()) {
        first_arrived_during_second |= r.has_result() && r.result().candidate().index() == 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  RunUntilStreamsFinished(fake, options, 1);
  EXPECT_TRUE(first_arrived_during_second);
  const std::vector<v1::ResultReport> reports = fake->reports();
  ASSERT_EQ(reports.size(), 2u);  // candidate 0 alone by the tick, then candidate 1 at the end
  EXPECT_EQ(reports[0].result().candidate().index(), 0);
  EXPECT_TRUE(reports[0].more_results().empty());
  EXPECT_EQ(reports[1].result().candidate().index(), 1);
}

}  // namespace
}  // namespace phaze
