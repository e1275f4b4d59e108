#include "common/compare.h"

#include <limits>

#include "gtest/gtest.h"

namespace phaze {
namespace {

constexpr char kJob[] = R"(
name: compare-test
model: {base: megatrongpt2-54, name: gpt-small, layers: 4, seq_len: 256}
training:
  accelerators: 16
  global_batch: 64
  micro_batch_sizes: [1, 2]
  max_tensor_width: 2
  fixed_strategy: {pipeline: 2, data: 4, tensor: 2}
architecture:
  space: {num_tc: [2, 8, 32], num_vc: [2, 8], tc_width: [32, 128], tc_depth: [32, 128],
          glb_mib: [16, 64], max_area_preset: tpuv4}
  hbm_gib: [4, 16]
search: {strategy: exhaustive}
)";

SearchState Search(const JobSpec& job) {
  auto evaluator = Evaluator::Create(job);
  EXPECT_TRUE(evaluator.ok()) << evaluator.status();
  return RunLocal(**evaluator, 2, {});
}

double Throughput(const nlohmann::json& row) {
  return row.value("feasible", false) ? row["throughput_samples_per_s"].get<double>() : 0.0;
}

TEST(CompareTest, DecoupledPickIsTheChipWithTheLowestSingleDeviceLatency) {
  const JobSpec job = *ParseJobYaml(kJob);
  auto evaluator = *Evaluator::Create(job);
  const absl::StatusOr<DecoupledPick> pick = PickBySingleDeviceLatency(*evaluator, 2);
  ASSERT_TRUE(pick.ok()) << pick.status();
  // Brute force, one thread, no cache.
  double best = std::numeric_limits<double>::infinity();
  int64_t best_index = -1, valid = 0;
  for (int64_t i = 0; i < evaluator->architectures().Size(); ++i) {
    const ArchCandidate c = evaluator->architectures().At(i);
    if (!c.valid) continue;
    ++valid;
    for (int64_t b : job.training.micro_batch_sizes) {
      const double s = evaluator->SingleDeviceCost(c.arch, b, nullptr)->latency_s / b;
      if (s < best) {
        best = s;
        best_index = i;
      }
    }
  }
  EXPECT_EQ(pick->arch_index, best_index);
  EXPECT_DOUBLE_EQ(pick->latency_per_sample_s, best);
  EXPECT_EQ(pick->chips_costed, valid);
  EXPECT_GT(valid, 3);
}

TEST(CompareTest, TheCoOptimisedSearchIsNeverBeatenByTheBaselinesOnItsOwnSpace) {
  const JobSpec job = *ParseJobYaml(kJob);
  auto evaluator = *Evaluator::Create(job);
  const SearchState full = Search(job);
  const double e = Throughput(BestRowJson(full, false));
  ASSERT_GT(e, 0);
  const SearchState buckets = Search(WithStrategy(job, SearchStrategy::kAreaBuckets));
  EXPECT_LE(Throughput(BestRowJson(buckets, false)), e);
  const DecoupledPick pick = *PickBySingleDeviceLatency(*evaluator, 1);
  const SearchState decoupled = Search(OnChip(job, pick.arch));
  EXPECT_LE(Throughput(BestRowJson(decoupled, false)), e);
  EXPECT_EQ(decoupled.results().size(), job.training.micro_batch_sizes.size());
  // On one chip, the DP's best is at least the fixed strategy's best (it searches that strategy
  // too), up to the data-parallel sync term the DP prices on its own partition (placement.h).
  const SearchState tpu = Search(OnPreset(job, "tpuv4"));
  const nlohmann::json a = BestRowJson(tpu, true), b = BestRowJson(tpu, false);
  ASSERT_TRUE(a["feasible"].get<bool>());
  EXPECT_EQ(a["pipeline"], 2);
  EXPECT_EQ(a["tensor"], 2);
  EXPECT_EQ(a["data"], 4);
  EXPECT_GE(Throughput(b), 0.99 * Throughput(a));
  EXPECT_EQ(b["architecture"], FindPreset("tpuv4")->Describe());
}

}  // namespace
}  // namespace phaze
