#include "coordinator/job_manager.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "common/rpc/convert.h"
#include "gtest/gtest.h"

namespace phaze {

using eval::Evaluator;
using job::ParseJobYaml;
namespace {

constexpr char kJob[] = R"(
name: tiny
model:
  base: megatrongpt2-54
  name: gpt-tiny
  layers: 4
  seq_len: 256
training:
  accelerators: 16
  global_batch: 32
  micro_batch_sizes: [1, 2]
  recompute: [false, true]
  max_tensor_width: 2
architecture:
  space:
    num_tc: [4, 16]
    num_vc: [4]
    tc_width: [32, 128]
    tc_depth: [64, 128]
    glb_mib: [32]
    max_area_preset: tpuv4
  hbm_gib: [2, 8]
search: {strategy: exhaustive}
)";

// Plays a worker: leases, evaluates and reports until the coordinator has no work. `lose` drops
// the results of some leases without completing them (a worker that died).
void Drain(JobManager& m, double& now, std::mt19937* lose) {
  auto evaluator = *Evaluator::Create(*ParseJobYaml(kJob));
  sched::CbcBackend cbc;
  while (true) {
    const v1::Lease lease = m.Lease("w", now);
    if (lease.lease_id().empty()) break;
    if (lose != nullptr && (*lose)() % 3 == 0) {
      now += 1000;  // its deadline passes; the shard must come back
      continue;
    }
    std::vector<int64_t> order(lease.candidates().begin(), lease.candidates().end());
    if (lose != nullptr) std::shuffle(order.begin(), order.end(), *lose);
    for (int64_t c : order) {
      const v1::CandidateResult r = ToProto(*evaluator->Evaluate(c, cbc, nullptr));
      ASSERT_TRUE(m.Report(lease.lease_id(), lease.job_id(), r).ok());
      if (lose != nullptr) {
        ASSERT_EQ(*m.Report(lease.lease_id(), lease.job_id(), r), 0);
      }
    }
    m.Complete(lease.lease_id());
  }
}

std::vector<int64_t> Front(JobManager& m, const std::string& id) {
  v1::ListResultsRequest req;
  req.set_job_id(id);
  req.set_front_only(true);
  const absl::StatusOr<v1::ListResultsResponse> response = m.Results(req);
  EXPECT_TRUE(response.ok());
  std::vector<int64_t> keys;
  if (!response.ok()) return keys;
  const v1::ListResultsResponse& r = *response;
  for (const v1::DesignPointSummary& p : r.front()) {
    keys.push_back(p.candidate() * 1000 + p.hbm_bytes() % 997 +
                   static_cast<int>(p.recompute()) * 250);
  }
  return keys;
}

TEST(JobManagerTest, BadJobIsRefusedWholeAndNothingIsStored) {
  auto store = *Store::Open(":memory:");
  JobManager m(store.get(), {});
  absl::StatusOr<v1::JobStatus> s =
      m.Submit("name: x\nmodel: gpt9\narchitecture: {preset: tpuv4}\n");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(m.List().empty());
  EXPECT_TRUE(store->Jobs()->empty());
}

TEST(JobManagerTest, CoordinatorCapsOverrideTheJobsOwnLimits) {
  auto store = *Store::Open(":memory:");
  ManagerOptions caps;
  caps.max_space_size = 10;        // kJob has 16 candidates (architectures x micro-batch sizes)
  caps.max_ilp_time_limit_s = 10;  // kJob keeps the default 10 s
  JobManager m(store.get(), caps);
  absl::StatusOr<v1::JobStatus> s = m.Submit(std::string(kJob) + "limits: {max_space_size: 100}\n");
  ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("--max-space-size"), std::string::npos) << s.status();
  EXPECT_NE(s.status().message().find("architecture.space: 16 candidates"), std::string::npos)
      << s.status();
  caps.max_space_size = 16;
  JobManager m2(store.get(), caps);
  s = m2.Submit(std::string(kJob) + "solver: {time_limit_s: 60}\n");
  ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("solver.time_limit_s"), std::string::npos) << s.status();
  EXPECT_TRUE(store->Jobs()->empty());
  EXPECT_TRUE(m2.Submit(kJob).ok());
}

TEST(JobManagerTest, MalformedResultsAreRefusedAndChangeNothing) {
  auto store = *Store::Open(":memory:");
  JobManager m(store.get(), {});
  const std::string id = m.Submit(kJob)->job_id();
  const v1::Lease lease = m.Lease("w", 0);
  const int64_t c = lease.candidates(0);
  auto evaluator = *Evaluator::Create(*ParseJobYaml(kJob));
  sched::CbcBackend cbc;
  const v1::CandidateResult good = ToProto(*evaluator->Evaluate(c, cbc, nullptr));
  ASSERT_EQ(good.outcome(), v1::OUTCOME_FEASIBLE);

  auto refused = [&](v1::CandidateResult bad, const std::string& field) {
    const absl::StatusOr<int64_t> r = m.Report(lease.lease_id(), id, bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status();
  };
  v1::CandidateResult bad = good;
  bad.mutable_candidate()->set_index(1 << 20);
  refused(bad, "result.candidate.index");
  bad = good;
  bad.mutable_candidate()->set_arch_index(good.candidate().arch_index() + 1);
  refused(bad, "result.candidate");
  bad = good;
  bad.mutable_points()->RemoveLast();
  refused(bad, "result.points");
  bad = good;
  bad.mutable_points(0)->mutable_search()->set_feasible(true);
  bad.mutable_points(0)->mutable_search()->set_throughput_samples_per_s(std::nan(""));
  refused(bad, "result.points[0].search");
  bad = good;
  bad.set_outcome(static_cast<v1::Outcome>(42));
  refused(bad, "result.outcome");
  bad = good;
  bad.set_area_um2(-1);
  refused(bad, "result.area_um2");
  EXPECT_TRUE(store->Results(id)->empty());
  EXPECT_EQ(m.Get(id)->candidates_done(), 0);
  EXPECT_EQ(*m.Report(lease.lease_id(), id, good), 1);  // the real one still lands
}

TEST(JobManagerTest, RetriesExpiriesAndDuplicatesGiveTheSameFrontAsOneRun) {
  auto store = *Store::Open(":memory:");
  JobManager clean(store.get(), {});
  const std::string a = clean.Submit(kJob)->job_id();
  double now = 0;
  Drain(clean, now, nullptr);
  ASSERT_EQ(clean.Get(a)->state(), v1::JOB_STATE_SUCCEEDED);

  auto store2 = *Store::Open(":memory:");
  ManagerOptions small;
  small.shard_size = 3;
  small.lease_s = 10;
  JobManager faulty(store2.get(), small);
  const std::string b = faulty.Submit(kJob)->job_id();
  std::mt19937 rng(1);
  double now2 = 0;
  Drain(faulty, now2, &rng);
  const v1::JobStatus status = *faulty.Get(b);
  EXPECT_EQ(status.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_GT(status.leases_expired(), 0);
  EXPECT_EQ(status.candidates_done(), status.candidates_total());
  EXPECT_EQ(Front(clean, a), Front(faulty, b));
  EXPECT_EQ(static_cast<int64_t>(store2->Results(b)->size()), status.candidates_total());
}

TEST(JobManagerTest, RestartResumesWithoutRedoingFinishedWork) {
  const std::string path = testing::TempDir() + "/phaze_job_manager_test.db";
  std::remove(path.c_str());
  std::string id;
  int64_t done_before = 0;
  {
    auto store = *Store::Open(path);
    ManagerOptions options;
    options.shard_size = 2;
    JobManager m(store.get(), options);
    id = m.Submit(kJob)->job_id();
    // Finish two shards, then "crash" with a third leased.
    auto evaluator = *Evaluator::Create(*ParseJobYaml(kJob));
    sched::CbcBackend cbc;
    for (int k = 0; k < 2; ++k) {
      const v1::Lease lease = m.Lease("w", 0);
      for (int64_t c : lease.candidates()) {
        ASSERT_TRUE(
            m.Report(lease.lease_id(), id, ToProto(*evaluator->Evaluate(c, cbc, nullptr))).ok());
      }
      m.Complete(lease.lease_id());
    }
    m.Lease("w", 0);
    done_before = m.Get(id)->candidates_done();
    EXPECT_EQ(done_before, 4);
  }
  auto store = *Store::Open(path);
  ManagerOptions options;
  options.shard_size = 2;
  JobManager m(store.get(), options);
  ASSERT_TRUE(m.Recover().ok());
  EXPECT_EQ(m.Get(id)->candidates_done(), done_before);
  // The recovered job never hands out a finished candidate again.
  const v1::Lease lease = m.Lease("w", 0);
  ASSERT_FALSE(lease.lease_id().empty());
  auto results = *store->Results(id);
  for (int64_t c : lease.candidates()) {
    for (const StoredResult& r : results) EXPECT_NE(r.candidate, c);
  }
  m.Complete(lease.lease_id());
  double now = 0;
  Drain(m, now, nullptr);
  EXPECT_EQ(m.Get(id)->state(), v1::JOB_STATE_SUCCEEDED);

  auto reference_store = *Store::Open(":memory:");
  JobManager reference(reference_store.get(), {});
  const std::string r = reference.Submit(kJob)->job_id();
  Drain(reference, now, nullptr);
  EXPECT_EQ(Front(m, id), Front(reference, r));
}

TEST(JobManagerTest, SeveralJobsShareTheWorkersInTurn) {
  auto store = *Store::Open(":memory:");
  ManagerOptions options;
  options.shard_size = 1;
  JobManager m(store.get(), options);
  const std::string a = m.Submit(kJob)->job_id();
  const std::string b = m.Submit(kJob)->job_id();
  std::vector<std::string> order;
  for (int k = 0; k < 6; ++k) order.push_back(m.Lease("w", 0).job_id());
  EXPECT_EQ(order, (std::vector<std::string>{a, b, a, b, a, b}));
}

TEST(JobManagerTest, CancelledJobHandsOutNoMoreWork) {
  auto store = *Store::Open(":memory:");
  JobManager m(store.get(), {});
  const std::string id = m.Submit(kJob)->job_id();
  EXPECT_EQ(m.Cancel(id)->state(), v1::JOB_STATE_CANCELLED);
  EXPECT_TRUE(m.Lease("w", 0).lease_id().empty());
  EXPECT_EQ(m.Get("job-999999").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace phaze
