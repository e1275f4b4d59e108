#include "coordinator/job_manager.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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

v1::ResultReport ReportOf(const v1::Lease& lease, const v1::CandidateResult& r) {
  v1::ResultReport report;
  report.set_lease_id(lease.lease_id());
  report.set_job_id(lease.job_id());
  *report.mutable_result() = r;
  return report;
}

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
      ASSERT_TRUE(m.Report(ReportOf(lease, r), now).ok());
      if (lose != nullptr) {
        ASSERT_EQ(*m.Report(ReportOf(lease, r), now), 0);
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

// Limits are checked before any work, in O(dimensions): a space whose size overflows int64 is
// refused (it used to wrap to 0 or below and "succeed" with no candidates), as is a space with
// nothing in its area window, a value listed twice, or a batch beyond the bounds.
TEST(JobManagerTest, SpacesAreBoundedBeforeAnyWork) {
  auto store = *Store::Open(":memory:");
  JobManager m(store.get(), {});
  auto expect_refused = [&](const std::string& yaml, const std::string& says) {
    const absl::StatusOr<v1::JobStatus> s = m.Submit(yaml);
    ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << says;
    EXPECT_NE(s.status().message().find(says), std::string::npos) << s.status();
  };
  std::string list = "[";
  for (int v = 1; v <= 2048; ++v) absl::StrAppend(&list, v == 1 ? "" : ", ", v);
  list += "]";
  const std::string huge = absl::StrCat(
      "name: huge\nmodel: bertlarge\ntraining: {accelerators: 8, global_batch: 8}\n"
      "architecture:\n  space: {num_tc: ",
      list, ", num_vc: ", list, ", tc_width: ", list, ", tc_depth: ", list, ", vc_width: ", list,
      ", glb_mib: ", list,
      "}\n"
      "limits: {max_space_size: 1000000000000000000}\n");
  expect_refused(huge, "more than 2^63 candidates");
  std::string with_dup = kJob;
  with_dup.replace(with_dup.find("num_tc: [4, 16]"), 15, "num_tc: [4, 4]");
  expect_refused(with_dup, "architecture.space.num_tc[1]: 4 is listed twice");
  std::string too_big = kJob;  // arrays far beyond the TPUv4-like area
  too_big.replace(too_big.find("num_tc: [4, 16]"), 15, "num_tc: [4096]");
  expect_refused(too_big, "no candidate lies in the area window");
  std::string batch = kJob;
  batch.replace(batch.find("global_batch: 32"), 16, "global_batch: 4611686018427387904");
  expect_refused(batch, "training.global_batch: at most");
  EXPECT_TRUE(store->Jobs()->empty());
  EXPECT_TRUE(m.List().empty());
}

// Replies are bounded: jobs come in pages without their bodies, results in pages without the
// front (which has its own call), and tokens and sizes are checked strictly.
TEST(JobManagerTest, ListsArePagedAndTokensStrict) {
  auto store = *Store::Open(":memory:");
  JobManager m(store.get(), {});
  std::vector<std::string> ids;
  for (int k = 0; k < 3; ++k) ids.push_back(m.Submit(kJob)->job_id());
  v1::ListJobsRequest req;
  req.set_page_size(2);
  const v1::ListJobsResponse first = *m.ListPage(req);
  ASSERT_EQ(first.jobs_size(), 2);
  EXPECT_EQ(first.jobs(0).job_id(), ids[0]);
  EXPECT_FALSE(first.jobs(0).has_spec());
  EXPECT_EQ(first.jobs(0).name(), "tiny");
  ASSERT_FALSE(first.next_page_token().empty());
  req.set_page_token(first.next_page_token());
  const v1::ListJobsResponse second = *m.ListPage(req);
  ASSERT_EQ(second.jobs_size(), 1);
  EXPECT_EQ(second.jobs(0).job_id(), ids[2]);
  EXPECT_TRUE(second.next_page_token().empty());
  req.set_page_token("job-999999");
  EXPECT_EQ(m.ListPage(req).status().code(), absl::StatusCode::kInvalidArgument);
  req.set_page_token("");
  req.set_page_size(-1);
  EXPECT_EQ(m.ListPage(req).status().code(), absl::StatusCode::kInvalidArgument);

  v1::ListResultsRequest results;
  results.set_job_id(ids[0]);
  for (const char* token : {" 5", "-1", "+3", "5x", "99999999999999999999"}) {
    results.set_page_token(token);
    EXPECT_EQ(m.Results(results).status().code(), absl::StatusCode::kInvalidArgument) << token;
  }
  results.set_page_token("");
  results.set_page_size(-5);
  EXPECT_EQ(m.Results(results).status().code(), absl::StatusCode::kInvalidArgument);
  // With the job done: a results page carries no front; front_only gives the front alone.
  m.Cancel(ids[1]).IgnoreError();
  m.Cancel(ids[2]).IgnoreError();
  double now = 0;
  Drain(m, now, nullptr);
  results.set_page_size(0);
  const v1::ListResultsResponse page = *m.Results(results);
  EXPECT_GT(page.results_size(), 0);
  EXPECT_EQ(page.front_size(), 0);
  results.set_front_only(true);
  const v1::ListResultsResponse front = *m.Results(results);
  EXPECT_GT(front.front_size(), 0);
  EXPECT_EQ(front.results_size(), 0);
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
    const absl::StatusOr<int64_t> r = m.Report(ReportOf(lease, bad), 1);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status();
  };
  v1::CandidateResult bad = good;
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
  bad.mutable_phases()->set_milp_s(-1);
  refused(bad, "result.phases");
  bad = good;
  bad.mutable_phases()->set_placement_s(std::nan(""));
  refused(bad, "result.phases");
  // Forged outcomes: an architecture inside the area window is never INVALID, and a job that
  // does not prune has no PRUNED results.
  bad = good;
  bad.set_outcome(v1::OUTCOME_INVALID);
  refused(bad, "result.outcome");
  bad = good;
  bad.set_outcome(v1::OUTCOME_PRUNED);
  refused(bad, "result.outcome");
  bad = good;
  bad.set_outcome(v1::OUTCOME_INFEASIBLE);
  refused(bad, "result.outcome");
  // Forged values, each out of what the job and the chip allow.
  int best = 0;
  for (int i = 0; i < good.points_size(); ++i) {
    if (good.points(i).search().feasible()) best = i;
  }
  const std::string field = absl::StrCat("result.points[", best, "].search");
  bad = good;
  bad.mutable_points(best)->mutable_search()->mutable_strategy()->set_data(1000);
  refused(bad, field + ".strategy");
  bad = good;
  bad.mutable_points(best)->mutable_search()->set_memory_per_device_bytes(int64_t{1} << 50);
  refused(bad, field + ".memory_per_device_bytes");
  bad = good;  // x10 throughput, with the step time to match: above the chip's peak
  bad.mutable_points(best)->mutable_search()->set_throughput_samples_per_s(
      good.points(best).search().throughput_samples_per_s() * 1e6);
  bad.mutable_points(best)->mutable_search()->set_time_per_batch_s(
      good.points(best).search().time_per_batch_s() / 1e6);
  refused(bad, field + ".throughput_samples_per_s");
  bad = good;  // x10 throughput alone: not the batch over the step time
  bad.mutable_points(best)->mutable_search()->set_throughput_samples_per_s(
      good.points(best).search().throughput_samples_per_s() * 10);
  refused(bad, field + ".throughput_samples_per_s");
  bad = good;
  bad.set_outcome(v1::OUTCOME_ERROR);
  bad.set_error(std::string(5 << 20, 'x'));
  refused(bad, "result.error");
  // The candidate index is checked against the lease before the job.
  bad = good;
  bad.mutable_candidate()->set_index(1 << 20);
  EXPECT_EQ(m.Report(ReportOf(lease, bad), 1).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(store->Results(id)->empty());
  EXPECT_EQ(m.Get(id)->candidates_done(), 0);

  // What the coordinator can compute is overwritten, not trusted: a forged area and
  // architecture are stored as the job's own.
  v1::CandidateResult forged = good;
  forged.set_area_um2(1);
  forged.mutable_architecture()->set_num_tc(1);
  EXPECT_EQ(*m.Report(ReportOf(lease, forged), 1), 1);  // the real values land
  const std::vector<StoredResult> stored = *store->Results(id);
  ASSERT_EQ(stored.size(), 1u);
  v1::CandidateResult kept;
  ASSERT_TRUE(kept.ParseFromString(stored[0].data));
  EXPECT_EQ(kept.area_um2(), good.area_um2());
  EXPECT_EQ(kept.architecture().num_tc(), good.architecture().num_tc());
}

// A point over the job's chip budget is infeasible; a worker that says otherwise is refused.
TEST(JobManagerTest, AFeasiblePointOverTheBudgetIsRefused) {
  auto store = *Store::Open(":memory:");
  JobManager m(store.get(), {});
  const std::string job = std::string(kJob) + "budget: {tdp_w: 1}\n";
  const std::string id = m.Submit(job)->job_id();
  const v1::Lease lease = m.Lease("w", 0);
  auto evaluator = *Evaluator::Create(*ParseJobYaml(job));
  sched::CbcBackend cbc;
  const v1::CandidateResult honest =
      ToProto(*evaluator->Evaluate(lease.candidates(0), cbc, nullptr));
  ASSERT_EQ(honest.outcome(), v1::OUTCOME_INFEASIBLE);
  v1::CandidateResult forged = honest;
  forged.set_outcome(v1::OUTCOME_FEASIBLE);
  forged.mutable_points(0)->mutable_search()->set_feasible(true);
  const absl::StatusOr<int64_t> r = m.Report(ReportOf(lease, forged), 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("over the job's budget: TDP"), std::string::npos)
      << r.status();
  EXPECT_TRUE(store->Results(id)->empty());
  EXPECT_EQ(*m.Report(ReportOf(lease, honest), 1), 1);
}

// Results are accepted only on a live lease, for its job and its candidates; a heartbeat or a
// result renews the lease. Every refusal names why and stores nothing.
TEST(JobManagerTest, ResultsNeedALiveLeaseOfTheirJobAndCandidate) {
  auto store = *Store::Open(":memory:");
  ManagerOptions options;
  options.shard_size = 2;
  options.lease_s = 10;
  JobManager m(store.get(), options);
  const std::string a = m.Submit(kJob)->job_id();
  const std::string b = m.Submit(kJob)->job_id();
  const v1::Lease lease = m.Lease("w", 0);
  ASSERT_EQ(lease.job_id(), a);
  auto evaluator = *Evaluator::Create(*ParseJobYaml(kJob));
  sched::CbcBackend cbc;
  const v1::CandidateResult first =
      ToProto(*evaluator->Evaluate(lease.candidates(0), cbc, nullptr));
  const v1::CandidateResult second =
      ToProto(*evaluator->Evaluate(lease.candidates(1), cbc, nullptr));

  v1::ResultReport report = ReportOf(lease, first);
  report.set_lease_id("lease-1-guessed");
  EXPECT_EQ(m.Report(report, 1).status().code(), absl::StatusCode::kFailedPrecondition);
  report = ReportOf(lease, first);
  report.set_job_id(b);  // a live lease of job a used for job b
  EXPECT_EQ(m.Report(report, 1).status().code(), absl::StatusCode::kPermissionDenied);
  v1::CandidateResult outside = first;
  outside.mutable_candidate()->set_index(lease.candidates(1) + 2);  // in the job, not the lease
  EXPECT_EQ(m.Report(ReportOf(lease, outside), 1).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(store->Results(a)->empty());
  EXPECT_TRUE(store->Results(b)->empty());

  // A heartbeat at t = 9 renews the lease to t = 19; a result at t = 15 lands and renews it to
  // t = 25; at t = 26 the lease has expired and the second result is refused.
  v1::ResultReport heartbeat;
  heartbeat.set_lease_id(lease.lease_id());
  heartbeat.set_job_id(a);
  EXPECT_EQ(*m.Report(heartbeat, 9), 0);
  EXPECT_EQ(*m.Report(ReportOf(lease, first), 15), 1);
  EXPECT_EQ(m.Report(ReportOf(lease, second), 26).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->Results(a)->size(), 1u);
  // Once another worker holds the shard, the old lease id is dead for good.
  const v1::Lease again = m.Lease("w2", 26);
  EXPECT_EQ(m.Report(ReportOf(lease, second), 26).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(again.lease_id(), lease.lease_id());
}

// Shards are cut as workers ask, each about shard_seconds of evaluation at the job's mean time
// per candidate so far, within [shard_size, max_shard_size] and at most half the uncut rest per
// leasing thread; shard_size each when shard_seconds is 0. Every candidate is leased once.
TEST(JobManagerTest, ShardsAimAtShardSecondsOfEvaluation) {
  // kJob with more chips: enough candidates for several shards of 5.
  std::string yaml = kJob;
  const std::string from = "num_tc: [4, 16]", to = "num_tc: [1, 2, 4, 8, 16]";
  yaml.replace(yaml.find(from), from.size(), to);
  auto evaluator = *Evaluator::Create(*ParseJobYaml(yaml));
  sched::CbcBackend cbc;
  std::map<int64_t, v1::CandidateResult> results;
  int64_t total = 0;
  auto shard_sizes = [&](double shard_seconds, double candidate_s) {
    auto store = *Store::Open(":memory:");
    ManagerOptions options;
    options.shard_size = 2;
    options.max_shard_size = 6;
    options.shard_seconds = shard_seconds;
    JobManager m(store.get(), options);
    const std::string id = m.Submit(yaml)->job_id();
    std::vector<int> sizes;
    std::set<int64_t> leased;
    for (v1::Lease lease = m.Lease("w", 0); !lease.lease_id().empty(); lease = m.Lease("w", 0)) {
      sizes.push_back(lease.candidates_size());
      for (int64_t c : lease.candidates()) {
        EXPECT_TRUE(leased.insert(c).second) << c;
        if (!results.count(c)) results[c] = ToProto(*evaluator->Evaluate(c, cbc, nullptr));
        v1::CandidateResult r = results[c];
        r.mutable_phases()->set_cost_s(candidate_s);  // the evaluation's time, as a worker's clock
        EXPECT_EQ(*m.Report(ReportOf(lease, r), 0), 1);
      }
      m.Complete(lease.lease_id());
    }
    EXPECT_EQ(m.Get(id)->state(), v1::JOB_STATE_SUCCEEDED);
    total = m.Get(id)->candidates_total();
    EXPECT_EQ(static_cast<int64_t>(leased.size()), total);
    return sizes;
  };
  // What each shard should hold: `aim` once timed, at most half the rest (one thread asks), never
  // below 2, and the rest itself at the end.
  auto expected = [&](const std::vector<int>& sizes, int aim) {
    std::vector<int> want;
    int64_t rest = total;
    for (size_t k = 0; k < sizes.size(); ++k) {
      const int64_t size = k == 0 ? 2 : std::max<int64_t>(2, std::min<int64_t>(aim, rest / 2));
      want.push_back(static_cast<int>(std::min(size, rest)));
      rest -= want.back();
    }
    EXPECT_EQ(rest, 0);
    return want;
  };
  // 0.1 s per candidate, 0.5 s per shard: 2 before anything is timed, then 5.
  std::vector<int> sizes = shard_sizes(0.5, 0.1);
  ASSERT_GE(total, 12);
  EXPECT_EQ(sizes, expected(sizes, 5));
  EXPECT_EQ(sizes[1], 5);
  // Fast candidates: capped at max_shard_size.
  sizes = shard_sizes(0.5, 0.001);
  EXPECT_EQ(sizes, expected(sizes, 6));
  EXPECT_EQ(sizes[1], 6);
  // shard_seconds 0: fixed shards.
  sizes = shard_sizes(0, 0.1);
  EXPECT_EQ(sizes, expected(sizes, 2));
}

// Several results in one message (the lease takes batches): stored in one commit, duplicates
// counted once, and a message with one candidate outside the lease refused whole.
TEST(JobManagerTest, ABatchOfResultsLandsOrIsRefusedWhole) {
  auto store = *Store::Open(":memory:");
  ManagerOptions options;
  options.shard_size = 4;
  options.shard_seconds = 0;
  JobManager m(store.get(), options);
  const std::string id = m.Submit(kJob)->job_id();
  const v1::Lease lease = m.Lease("w", 0);
  EXPECT_TRUE(lease.takes_batches());
  ASSERT_EQ(lease.candidates_size(), 4);
  auto evaluator = *Evaluator::Create(*ParseJobYaml(kJob));
  sched::CbcBackend cbc;
  std::vector<v1::CandidateResult> r;
  for (int64_t c : lease.candidates()) r.push_back(ToProto(*evaluator->Evaluate(c, cbc, nullptr)));

  v1::ResultReport bad = ReportOf(lease, r[0]);
  *bad.add_more_results() = r[1];
  v1::CandidateResult outside = r[2];
  outside.mutable_candidate()->set_index(lease.candidates(3) + 100);
  *bad.add_more_results() = outside;
  EXPECT_EQ(m.Report(bad, 1).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(store->Results(id)->empty());

  v1::ResultReport three = ReportOf(lease, r[0]);
  *three.add_more_results() = r[1];
  *three.add_more_results() = r[0];  // a duplicate inside the message
  *three.add_more_results() = r[2];
  EXPECT_EQ(*m.Report(three, 1), 3);
  EXPECT_EQ(store->Results(id)->size(), 3u);
  v1::ResultReport last = ReportOf(lease, r[2]);  // a duplicate of a stored one
  *last.add_more_results() = r[3];
  EXPECT_EQ(*m.Report(last, 1), 1);
  EXPECT_EQ(m.Get(id)->candidates_done(), 4);
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
            m.Report(ReportOf(lease, ToProto(*evaluator->Evaluate(c, cbc, nullptr))), 0).ok());
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

// A finished job keeps only its summary in memory; its body, results, front and page are rebuilt
// from the store on demand and equal what the running job showed.
TEST(JobManagerTest, FinishedJobsAreRebuiltFromTheStoreOnDemand) {
  auto store = *Store::Open(":memory:");
  JobManager m(store.get(), {});
  const std::string id = m.Submit(kJob)->job_id();
  double now = 0;
  // Drain all but the last lease, and read the status, front and results as the job runs.
  auto evaluator = *Evaluator::Create(*ParseJobYaml(kJob));
  sched::CbcBackend cbc;
  v1::Lease last;
  while (true) {
    const v1::Lease lease = m.Lease("w", now);
    if (lease.lease_id().empty()) break;
    for (int64_t c : lease.candidates()) {
      ASSERT_TRUE(
          m.Report(ReportOf(lease, ToProto(*evaluator->Evaluate(c, cbc, nullptr))), now).ok());
    }
    last = lease;
    m.Complete(lease.lease_id());
  }
  const v1::JobStatus done = *m.Get(id);
  ASSERT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_TRUE(done.has_spec());  // the body, rebuilt from the store
  EXPECT_EQ(done.spec().yaml(), kJob);
  EXPECT_EQ(m.FindByText(kJob), id);
  EXPECT_EQ(m.FindByText(std::string(kJob) + "\n"), "");
  const std::vector<int64_t> front = Front(m, id);
  EXPECT_FALSE(front.empty());
  v1::ListResultsRequest req;
  req.set_job_id(id);
  req.set_page_size(1000);
  const v1::ListResultsResponse page = *m.Results(req);
  EXPECT_GT(page.results_size(), 0);
  EXPECT_TRUE(m.JobPage(id).ok());
  // A finished job's leases are over: a late report is refused and stores nothing.
  const size_t stored = store->Results(id)->size();
  EXPECT_EQ(
      m.Report(ReportOf(last, ToProto(*evaluator->Evaluate(last.candidates(0), cbc, nullptr))), now)
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->Results(id)->size(), stored);
  // The summary matches a fresh run's status and front.
  auto store2 = *Store::Open(":memory:");
  JobManager fresh(store2.get(), {});
  const std::string id2 = fresh.Submit(kJob)->job_id();
  Drain(fresh, now, nullptr);
  const v1::JobStatus other = *fresh.Get(id2);
  EXPECT_EQ(done.candidates_done(), other.candidates_done());
  EXPECT_EQ(done.front_size(), other.front_size());
  EXPECT_EQ(done.best().candidate(), other.best().candidate());
  EXPECT_EQ(front, Front(fresh, id2));
  // A restarted coordinator loads no finished job into memory, and serves the same status.
  JobManager restarted(store.get(), {});
  ASSERT_TRUE(restarted.Recover().ok());
  const v1::JobStatus again = *restarted.Get(id);
  EXPECT_EQ(again.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(again.candidates_done(), done.candidates_done());
  EXPECT_EQ(again.best().throughput_samples_per_s(), done.best().throughput_samples_per_s());
  EXPECT_EQ(again.spec().yaml(), kJob);
  EXPECT_EQ(Front(restarted, id), front);
  EXPECT_EQ(restarted.Totals(0, 1).jobs_by_state.at("succeeded"), 1);
  ASSERT_EQ(restarted.List().size(), 1u);
  EXPECT_EQ(restarted.List()[0].job_id(), id);
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

// A watcher whose wait times out after a sweep has dropped its finished job from memory gets the
// stored status (it once read the erased job: the load test's coordinator crashed on 2026-12-07).
TEST(JobManagerTest, AWaitThatOutlivesItsJobInMemoryReadsTheStore) {
  auto store = *Store::Open(":memory:");
  JobManager m(store.get(), {});
  const std::string id = m.Submit(kJob)->job_id();
  ASSERT_EQ(m.Cancel(id)->state(), v1::JOB_STATE_CANCELLED);  // finished; swept at the next call
  int64_t version = -1;
  ASSERT_EQ(m.Wait(id, &version, 0)->state(), v1::JOB_STATE_CANCELLED);
  absl::StatusOr<v1::JobStatus> late;
  std::thread watcher([&] { late = m.Wait(id, &version, 0.3); });
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_TRUE(m.Lease("w", 0).lease_id().empty());  // sweeps the cancelled job out of memory
  watcher.join();
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(late->job_id(), id);
  EXPECT_EQ(late->state(), v1::JOB_STATE_CANCELLED);
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
