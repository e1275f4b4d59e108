#include "worker/shard_runner.h"

#include <fstream>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/job/job.h"
#include "gtest/gtest.h"

namespace phaze {

using eval::EvaluationResult;
using eval::Evaluator;
using job::JobSpec;
using job::ParseJobYaml;
using search::DesignPoint;
using search::Objectives;
using search::RunLocal;
using search::SearchPlan;
using search::SearchSpec;
using search::SearchState;
using search::SearchStrategy;
namespace {

JobSpec SmallSpaceJob(SearchStrategy strategy) {
  std::ifstream in(std::string(PHAZE_SOURCE_DIR) + "/tests/data/small-space-job.yaml");
  std::stringstream text;
  text << in.rdbuf();
  JobSpec job = *ParseJobYaml(text.str());
  job.search.strategy = strategy;
  return job;
}

std::vector<int64_t> AllCandidates(const Evaluator& evaluator, const SearchSpec& spec) {
  SearchPlan plan(evaluator, spec);
  return plan.NextBatch();
}

struct ShardRun {
  SearchState state;
  int64_t emitted = 0;
};

ShardRun RunShard(const Evaluator& evaluator, const ShardWork& work) {
  sched::CbcBackend cbc;
  sched::ScheduleCache cache;
  ShardRunner runner(evaluator, cbc, &cache);
  ShardRun run{SearchState(evaluator.spec())};
  run.emitted = runner.Run(work, [&](const CandidateOutcome& o) {
    EXPECT_TRUE(o.result.ok()) << o.result.status();
    if (o.result->pruned) {
      run.state.AddPruned(o.candidate);
    } else {
      run.state.Add(*o.result);
    }
    return true;
  });
  return run;
}

std::vector<std::tuple<int64_t, int64_t, int64_t>> Keys(const SearchState& s) {
  std::vector<std::tuple<int64_t, int64_t, int64_t>> keys;
  for (const DesignPoint& p : s.front().Points()) keys.push_back(p.Key());
  return keys;
}

TEST(ShardRunnerTest, OneShardPrunesExactlyAsTheInProcessSearchWithOneThread) {
  const JobSpec job = SmallSpaceJob(SearchStrategy::kPruned);
  auto evaluator = *Evaluator::Create(job);
  const SearchState local = RunLocal(*evaluator, job.search, 1, nullptr);
  ASSERT_GT(local.stats().pruned, 0);

  ShardWork work;
  work.candidates = AllCandidates(*evaluator, job.search);
  work.prune = true;
  const ShardRun shard = RunShard(*evaluator, work);
  EXPECT_EQ(shard.emitted, static_cast<int64_t>(work.candidates.size()));
  EXPECT_EQ(shard.state.stats().pruned, local.stats().pruned);
  EXPECT_EQ(shard.state.stats().evaluated, local.stats().evaluated);
  EXPECT_EQ(Keys(shard.state), Keys(local));
}

TEST(ShardRunnerTest, KeepsEveryPointOfTheFrontItIsSent) {
  // The coordinator sends its front as bare objectives. Every point must count: a worker that
  // kept only one (the old bug: all points had the same fake key) prunes far less.
  const JobSpec job = SmallSpaceJob(SearchStrategy::kPruned);
  auto evaluator = *Evaluator::Create(job);
  const SearchState exhaustive =
      RunLocal(*evaluator, SearchSpec{SearchStrategy::kExhaustive}, 1, nullptr);
  ASSERT_GT(exhaustive.front().size(), 3u);

  std::vector<Objectives> front;
  for (const DesignPoint& p : exhaustive.front().Points()) front.push_back(p.objectives());
  // One candidate per shard, so that only the front it was sent can prune it.
  int64_t pruned_by_full = 0, pruned_by_one = 0;
  SearchState merged(job);
  for (int64_t candidate : AllCandidates(*evaluator, job.search)) {
    ShardWork work;
    work.candidates = {candidate};
    work.prune = true;
    work.front = front;
    const ShardRun with_full = RunShard(*evaluator, work);
    pruned_by_full += with_full.state.stats().pruned;
    for (const auto& [index, r] : with_full.state.results()) merged.Add(r);
    work.front = {front.front()};
    pruned_by_one += RunShard(*evaluator, work).state.stats().pruned;
  }
  EXPECT_GT(pruned_by_full, pruned_by_one);
  // Pruning against the exhaustive front is safe: what survives rebuilds that very front.
  EXPECT_EQ(Keys(merged), Keys(exhaustive));
}

TEST(ShardRunnerTest, StopsWhenTheStreamBreaks) {
  const JobSpec job = SmallSpaceJob(SearchStrategy::kExhaustive);
  auto evaluator = *Evaluator::Create(job);
  sched::CbcBackend cbc;
  ShardRunner runner(*evaluator, cbc, nullptr);
  ShardWork work;
  work.candidates = {0, 1, 2, 3};
  int calls = 0;
  EXPECT_EQ(runner.Run(work, [&](const CandidateOutcome&) { return ++calls < 2; }), 1);
  EXPECT_EQ(calls, 2);
}

TEST(ShardRunnerTest, ExceptionsBecomeErrorsThatNameThem) {
  const auto oom =
      EvaluateSafely([]() -> absl::StatusOr<EvaluationResult> { throw std::bad_alloc(); });
  EXPECT_TRUE(absl::IsResourceExhausted(oom.status()));
  EXPECT_NE(oom.status().message().find("out of memory"), absl::string_view::npos);
  const auto thrown = EvaluateSafely([]() -> absl::StatusOr<EvaluationResult> {
    throw std::runtime_error("CoinError: bad basis");
  });
  EXPECT_TRUE(absl::IsInternal(thrown.status()));
  EXPECT_NE(thrown.status().message().find("CoinError: bad basis"), absl::string_view::npos);
}

}  // namespace
}  // namespace phaze
