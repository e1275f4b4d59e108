// Evaluation and search on small real jobs: invariants of the chosen placements, the fixed
// strategy never beating the search, and the same front whatever the thread count or strategy.
#include "common/search/search.h"

#include <algorithm>

#include "common/job/job.h"
#include "gtest/gtest.h"

namespace phaze::search {

using eval::EvaluationResult;
using eval::Evaluator;
using eval::PointResult;
using job::JobSpec;
using job::ParseJobYaml;
namespace {

constexpr char kSmallJob[] = R"(
name: small
model:
  base: megatrongpt2-54
  name: gpt-mini
  layers: 6
  seq_len: 512
training:
  accelerators: 32
  global_batch: 64
  micro_batch_sizes: [1, 2]
  recompute: [false, true]
  optimizer: adam
  max_tensor_width: 4
  fixed_strategy: {pipeline: 2, data: 4, tensor: 4}
architecture:
  space:
    num_tc: [1, 4, 16]
    num_vc: [1, 4]
    tc_width: [32, 128]
    tc_depth: [32, 128]
    glb_mib: [8, 64]
    max_area_preset: tpuv4
  hbm_gib: [1, 4]
  link_bandwidth_gb_per_s: 25
)";

JobSpec Job(const std::string& extra = "") {
  absl::StatusOr<JobSpec> job = ParseJobYaml(std::string(kSmallJob) + extra);
  EXPECT_TRUE(job.ok()) << job.status();
  return *job;
}

std::vector<std::tuple<int64_t, int64_t, int64_t>> FrontKeys(const SearchState& s) {
  std::vector<std::tuple<int64_t, int64_t, int64_t>> keys;
  for (const DesignPoint& p : s.front().Points()) keys.push_back(p.Key());
  return keys;
}

TEST(EvaluateTest, ChosenPlacementsAreConsistentAndFitMemory) {
  const JobSpec job = Job();
  auto evaluator = Evaluator::Create(job);
  ASSERT_TRUE(evaluator.ok()) << evaluator.status();
  sched::CbcBackend cbc;
  sched::ScheduleCache cache;
  int feasible = 0, fixed_feasible = 0;
  for (int64_t c = 0; c < (*evaluator)->NumCandidates(); ++c) {
    absl::StatusOr<EvaluationResult> r = (*evaluator)->Evaluate(c, cbc, &cache);
    ASSERT_TRUE(r.ok()) << r.status();
    if (!r->valid) continue;
    ASSERT_EQ(r->points.size(), 4u);
    for (const PointResult& p : r->points) {
      if (!p.search.feasible) continue;
      ++feasible;
      const place::Placement& s = p.search;
      EXPECT_LE(s.memory_per_device_bytes, p.hbm_bytes);
      EXPECT_LE(s.strategy.pipeline * s.strategy.tensor * s.strategy.data, 32);
      int64_t layers = 0;
      for (int64_t n : s.stage_layers) layers += n;
      EXPECT_EQ(layers, 6 + 2);
      // Throughput recomputed from the strategy: global batch over the 1F1B step time.
      const double step =
          (static_cast<double>(s.micro_batches) + s.strategy.pipeline - 1) * s.bottleneck_s +
          s.sync_s;
      EXPECT_DOUBLE_EQ(s.time_per_batch_s, step);
      EXPECT_DOUBLE_EQ(s.throughput_samples_per_s, 64.0 / step);
      EXPECT_EQ(s.micro_batches,
                (64 + s.strategy.data * r->micro_batch - 1) / (s.strategy.data * r->micro_batch));
      ASSERT_TRUE(p.has_fixed);
      if (p.fixed.feasible) {
        ++fixed_feasible;
        EXPECT_GE(s.throughput_samples_per_s, p.fixed.throughput_samples_per_s * (1 - 1e-12));
      }
    }
  }
  EXPECT_GT(feasible, 10);
  EXPECT_GT(fixed_feasible, 0);
}

// The core reads no clock: phase times come only from the clock it is given, and measuring them
// changes no result.
TEST(EvaluateTest, PhaseTimesComeFromTheGivenClockOnly) {
  const JobSpec job = Job();
  auto plain = Evaluator::Create(job);
  auto timed = Evaluator::Create(job);
  ASSERT_TRUE(plain.ok() && timed.ok());
  double ticks = 0;
  (*timed)->SetClock([&ticks] { return ticks += 1; });  // one second per reading
  sched::CbcBackend cbc;
  int checked = 0;
  for (int64_t c = 0; c < (*plain)->NumCandidates() && checked < 4; ++c) {
    const absl::StatusOr<EvaluationResult> a = (*plain)->Evaluate(c, cbc, nullptr);
    const absl::StatusOr<EvaluationResult> b = (*timed)->Evaluate(c, cbc, nullptr);
    ASSERT_TRUE(a.ok() && b.ok());
    if (!a->valid) continue;
    ++checked;
    EXPECT_EQ(a->phases.Total(), 0.0);
    // Every phase ran and each reading is charged to exactly one phase.
    EXPECT_GE(b->phases.cost_s, 1.0);
    EXPECT_GE(b->phases.bounds_s, 1.0);
    EXPECT_GE(b->phases.placement_s, 1.0);
    const double before = ticks;
    const double total = (*timed)->Evaluate(c, cbc, nullptr)->phases.Total();
    EXPECT_EQ(total, ticks - before - 1);  // n readings: n - 1 intervals
    ASSERT_EQ(a->points.size(), b->points.size());
    for (size_t i = 0; i < a->points.size(); ++i) {
      EXPECT_EQ(a->points[i].search.throughput_samples_per_s,
                b->points[i].search.throughput_samples_per_s);
    }
  }
  EXPECT_EQ(checked, 4);
}

// Budgets by the chip model: a chip over the power budget is placed nowhere and costs no MILP;
// with HBM stacks in the space, a chip is evaluated at its stacks' capacity only.
TEST(EvaluateTest, BudgetsAndStacksDecideWhatIsPlaced) {
  JobSpec job = Job();
  job.budget.tdp_w = 1;  // no chip keeps it
  auto evaluator = *Evaluator::Create(job);
  sched::CbcBackend cbc;
  int64_t candidate = 0;
  while (!evaluator->space().At(candidate).arch.valid) ++candidate;
  const EvaluationResult r = *evaluator->Evaluate(candidate, cbc, nullptr);
  ASSERT_EQ(r.points.size(), 2u * 2u);
  for (const PointResult& p : r.points) {
    EXPECT_FALSE(p.search.feasible);
    EXPECT_FALSE(p.fixed.feasible);
  }
  EXPECT_EQ(r.ilp.layers, 0);
  EXPECT_NE(eval::OverBudget(job, r.arch, 4 * kGiB).find("TDP"), std::string::npos);
  EXPECT_EQ(eval::OverBudget(Job(), r.arch, 4 * kGiB), "");
  // The job's chip-model scales move the bill, and with it the budget's verdict.
  JobSpec generous = Job();
  generous.budget.chip_area_mm2 = arch::EstimateChip(r.arch, 4 * kGiB)->area.total_mm2 * 1.01;
  EXPECT_EQ(eval::OverBudget(generous, r.arch, 4 * kGiB), "");
  generous.chip_model.mac_area = 2;
  EXPECT_NE(eval::OverBudget(generous, r.arch, 4 * kGiB).find("chip area"), std::string::npos);
  // The reticle: this chip prints in one exposure; with 320 GiB of HBM2 (40 stacks, a 160 mm
  // padded die) it does not.
  JobSpec reticle = Job();
  reticle.budget.reticle = true;
  EXPECT_EQ(eval::OverBudget(reticle, r.arch, 4 * kGiB), "");
  EXPECT_NE(eval::OverBudget(reticle, r.arch, 320 * kGiB).find("858 mm^2 reticle"),
            std::string::npos);

  JobSpec stacks = Job();
  stacks.hbm_bytes = {};
  stacks.space->hbm_stacks = {1, 2};
  stacks.space->base.hbm_stack = "hbm2";
  auto ev = *Evaluator::Create(stacks);
  int64_t c = 0;
  while (!ev->space().At(c).arch.valid) ++c;
  const EvaluationResult two = *ev->Evaluate(c, cbc, nullptr);
  ASSERT_EQ(two.arch.hbm_stacks, 2);
  ASSERT_EQ(two.points.size(), 2u);  // one HBM size (16 GiB) x two recompute modes
  EXPECT_EQ(two.points[0].hbm_bytes, 16 * kGiB);
  EXPECT_EQ(two.arch.hbm_bandwidth_bytes_per_s, 2 * 307.2e9);
}

// The front weighs a (chip, HBM) point by the chip model by default: more HBM needs more stacks,
// which cost die area (PHYs, controllers) and power; the original's area model gives them away.
TEST(EvaluateTest, TheFrontPaysForHbmByDefault) {
  const JobSpec job = Job();
  auto evaluator = *Evaluator::Create(job);
  int64_t c = 0;
  while (!evaluator->space().At(c).arch.valid) ++c;
  const arch::ArchCandidate chip = evaluator->space().At(c).arch;
  const eval::Weighed small = eval::WeighPoint(job, chip.arch, chip.area_um2, 32 * kGiB, 5);
  const eval::Weighed big = eval::WeighPoint(job, chip.arch, chip.area_um2, 80 * kGiB, 5);
  const arch::ChipCost bill = *arch::EstimateChip(chip.arch, 80 * kGiB);
  EXPECT_DOUBLE_EQ(big.area_um2, bill.area.total_mm2 * 1e6);
  EXPECT_DOUBLE_EQ(big.tdp_w, bill.power.total_w);
  EXPECT_GT(big.area_um2, small.area_um2);  // 10 HBM2 stacks against 4 (1.2 TB/s needs 4)
  EXPECT_GT(big.tdp_w, small.tdp_w);
  EXPECT_EQ(big.energy_per_sample_j, 5);
  EXPECT_NE(big.area_um2, chip.area_um2);

  const JobSpec original = Job("chip_model: {area_model: original}\n");
  const eval::Weighed o = eval::WeighPoint(original, chip.arch, chip.area_um2, 80 * kGiB, 5);
  EXPECT_EQ(o.area_um2, chip.area_um2);
  EXPECT_EQ(o.tdp_w, 0);
  EXPECT_EQ(eval::WeighPoint(original, chip.arch, chip.area_um2, 32 * kGiB, 5).area_um2,
            o.area_um2);
  // An objective the job does not weigh is 0 in every point.
  const JobSpec power_only = Job("objectives: [power]\n");
  const eval::Weighed p = eval::WeighPoint(power_only, chip.arch, chip.area_um2, 80 * kGiB, 5);
  EXPECT_EQ(p.area_um2, 0);
  EXPECT_EQ(p.energy_per_sample_j, 0);
  EXPECT_DOUBLE_EQ(p.tdp_w, bill.power.total_w);
}

// The chip model and the cost model share one energy model, and no placement runs a unit faster
// than its peak: the power of the work (its dynamic energy per second per device, plus leakage)
// never exceeds the TDP-level figure.
TEST(EvaluateTest, TrainingPowerStaysWithinTheTdp) {
  const JobSpec job = Job();
  auto evaluator = *Evaluator::Create(job);
  sched::CbcBackend cbc;
  int checked = 0;
  for (int64_t c = 0; c < evaluator->NumCandidates(); c += 5) {
    const EvaluationResult r = *evaluator->Evaluate(c, cbc, nullptr);
    for (const PointResult& p : r.points) {
      if (!p.search.feasible) continue;
      const place::Strategy& s = p.search.strategy;
      const double dynamic_w = place::DynamicPowerPerDeviceW(p.search);
      const arch::ChipCost bill = *arch::EstimateChip(r.arch, p.hbm_bytes);
      EXPECT_GT(dynamic_w, 0);
      EXPECT_LE(arch::TrainingPowerW(bill, dynamic_w), bill.power.total_w * (1 + 1e-9))
          << r.arch.Describe() << ", (p,t,d) " << s.pipeline << "," << s.tensor << "," << s.data;
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

TEST(EvaluateTest, MoreHbmNeverLowersThroughput) {
  const JobSpec job = Job();
  auto evaluator = *Evaluator::Create(job);
  sched::CbcBackend cbc;
  for (int64_t c = 0; c < evaluator->NumCandidates(); c += 3) {
    const EvaluationResult r = *evaluator->Evaluate(c, cbc, nullptr);
    if (!r.valid) continue;
    for (size_t rc = 0; rc < 2; ++rc) {
      const place::Placement& small = r.points[rc].search;
      const place::Placement& big = r.points[2 + rc].search;
      if (small.feasible) {
        ASSERT_TRUE(big.feasible);
        EXPECT_GE(big.throughput_samples_per_s, small.throughput_samples_per_s * (1 - 1e-12));
      }
    }
  }
}

TEST(SearchTest, SameFrontWithOneOrTwoThreads) {
  const JobSpec job = Job("search: {strategy: exhaustive}\n");
  auto evaluator = *Evaluator::Create(job);
  const SearchState one = RunLocal(*evaluator, job.search, 1, nullptr);
  const SearchState two = RunLocal(*evaluator, job.search, 2, nullptr);
  EXPECT_GT(one.front().size(), 1u);
  EXPECT_EQ(FrontKeys(one), FrontKeys(two));
  EXPECT_EQ(one.best().Get()->Key(), two.best().Get()->Key());
  EXPECT_EQ(one.stats().evaluated, two.stats().evaluated);
  // Every result is identical, not just the front.
  ASSERT_EQ(one.results().size(), two.results().size());
  for (const auto& [index, r] : one.results()) {
    const EvaluationResult& other = two.results().at(index);
    for (size_t k = 0; k < r.points.size(); ++k) {
      EXPECT_EQ(r.points[k].search.time_per_batch_s, other.points[k].search.time_per_batch_s);
    }
  }
}

TEST(SearchTest, PrunedSearchFindsTheExhaustiveFrontWithOneOrTwoThreads) {
  const JobSpec exhaustive = Job("search: {strategy: exhaustive}\n");
  const JobSpec pruned = Job("search: {strategy: pruned}\n");
  const SearchState a = RunLocal(**Evaluator::Create(exhaustive), exhaustive.search, 2, nullptr);
  const SearchState b = RunLocal(**Evaluator::Create(pruned), pruned.search, 2, nullptr);
  const SearchState c = RunLocal(**Evaluator::Create(pruned), pruned.search, 1, nullptr);
  EXPECT_EQ(FrontKeys(a), FrontKeys(b));
  EXPECT_EQ(FrontKeys(a), FrontKeys(c));
  EXPECT_GT(b.stats().pruned, 0);
  EXPECT_EQ(a.stats().pruned, 0);
  EXPECT_EQ(b.stats().evaluated + b.stats().pruned, a.stats().evaluated);
}

// The bounds stay exact when the front weighs fewer objectives, or the original's area: pruning
// then bites harder and still loses no point of the front.
TEST(SearchTest, PrunedSearchFindsTheExhaustiveFrontOfOtherObjectives) {
  for (const std::string objectives :
       {"chip_model: {area_model: original}\n", "objectives: [area]\n"}) {
    const JobSpec exhaustive = Job("search: {strategy: exhaustive}\n" + objectives);
    const JobSpec pruned = Job("search: {strategy: pruned}\n" + objectives);
    const SearchState a = RunLocal(**Evaluator::Create(exhaustive), exhaustive.search, 2, nullptr);
    const SearchState b = RunLocal(**Evaluator::Create(pruned), pruned.search, 2, nullptr);
    EXPECT_EQ(FrontKeys(a), FrontKeys(b)) << objectives;
    EXPECT_GT(b.stats().pruned, 0) << objectives;
  }
}

TEST(SearchTest, AreaBucketsVisitDescendingAreaAndStop) {
  const JobSpec job = Job("search: {strategy: area-buckets, bucket_mm2: 20, bucket_window: 2}\n");
  auto evaluator = *Evaluator::Create(job);
  SearchPlan plan(*evaluator, job.search);
  double previous_area = std::numeric_limits<double>::infinity();
  int batches = 0;
  sched::CbcBackend cbc;
  for (auto batch = plan.NextBatch(); !batch.empty(); batch = plan.NextBatch()) {
    ++batches;
    double batch_max = 0;
    for (int64_t c : batch) {
      const EvaluationResult r = *evaluator->Evaluate(c, cbc, nullptr);
      batch_max = std::max(batch_max, r.area_um2);
      EXPECT_LE(r.area_um2, previous_area);
      plan.Tell(r);
    }
    previous_area = batch_max;
  }
  EXPECT_GT(batches, 0);
  const SearchState s = RunLocal(*evaluator, job.search, 2, nullptr);
  EXPECT_LE(s.stats().evaluated, evaluator->NumCandidates());
}

}  // namespace
}  // namespace phaze::search
