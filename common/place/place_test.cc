#include "common/place/place.h"

#include <limits>
#include <random>

#include "gtest/gtest.h"

namespace phaze::place {
namespace {

LayerCost Layer(double fwd, double bwd, int64_t params = 0, int64_t stash = 0, int64_t input = 0) {
  LayerCost c;
  c.fwd_s = fwd;
  c.bwd_s = bwd;
  c.param_bytes = params;
  c.stash_bytes = stash;
  c.input_bytes = input;
  c.output_bytes = 1000;
  return c;
}

PlacementInput Base() {
  PlacementInput in;
  in.accelerators = 4;
  in.global_batch = 8;
  in.micro_batch = 1;
  in.optimizer = Optimizer::kSgd;
  in.hbm_bytes = int64_t{1} << 40;
  in.link_bandwidth_bytes_per_s = 1e18;  // free transfers unless a test says otherwise
  in.link_latency_s = 0;
  return in;
}

TEST(PlacementTest, DataParallelWinsWhenEverythingFits) {
  PlacementInput in = Base();
  in.chains = {{1, {Layer(1, 2), Layer(1, 2), Layer(1, 2), Layer(1, 2)}}};
  // p=1, d=4: 2 micro-batches x 12 s = 24 s; p=2, d=2: (4 + 1) x 6 = 30; p=4: (8 + 3) x 3 = 33.
  const Placement best = Place(in);
  ASSERT_TRUE(best.feasible);
  EXPECT_EQ(best.strategy.pipeline, 1);
  EXPECT_EQ(best.strategy.data, 4);
  EXPECT_NEAR(best.time_per_batch_s, 24.0, 1e-9);
  EXPECT_NEAR(best.throughput_samples_per_s, 8.0 / 24.0, 1e-12);
  EXPECT_DOUBLE_EQ(best.bubble_fraction, 0.0);
}

TEST(PlacementTest, MemoryForcesAPipeline) {
  PlacementInput in = Base();
  // Each layer stashes 10 B and HBM holds 30 B; the stage k-th from the end keeps k micro-batches.
  // p = 1 needs 40 B. p = 2 fits only as {1, 3} (20 B and 30 B); p = 3 only as {1, 1, 2} (30, 20,
  // 20); p = 4 needs 40 B in its first stage. With 4 devices: p = 2, d = 2 gives
  // (4 + 1) x 9 s = 45 s; p = 3, d = 1 gives (8 + 2) x 6 s = 60 s.
  in.hbm_bytes = 30;
  in.chains = {
      {1, {Layer(1, 2, 0, 10), Layer(1, 2, 0, 10), Layer(1, 2, 0, 10), Layer(1, 2, 0, 10)}}};
  const Placement best = Place(in);
  ASSERT_TRUE(best.feasible);
  EXPECT_EQ(best.strategy.pipeline, 2);
  EXPECT_EQ(best.strategy.data, 2);
  EXPECT_EQ(best.stage_layers, (std::vector<int64_t>{1, 3}));
  EXPECT_NEAR(best.time_per_batch_s, 45.0, 1e-9);
  EXPECT_EQ(best.memory_per_device_bytes, 30);
  EXPECT_NEAR(best.bubble_fraction, 1.0 / 5.0, 1e-12);
  in.hbm_bytes = 25;
  EXPECT_FALSE(Place(in).feasible);
}

TEST(PlacementTest, RecomputeKeepsOnlyLayerInputs) {
  PlacementInput in = Base();
  in.recompute = true;
  in.chains = {{1, {Layer(1, 2, 0, 100, 10), Layer(1, 2, 0, 100, 10)}}};
  // A non-last stage with 3 in flight: 3 x (10 + 10) + max stash 100 = 160 B.
  EXPECT_EQ(StageMemoryBytes(in.chains[0], 0, 2 - 1, 3, in), 3 * 10 + 100);
  // The last stage never recomputes: its load has no extra forward.
  EXPECT_DOUBLE_EQ(StageLoadS(in.chains[0], 0, 2, in), 6.0);
  EXPECT_DOUBLE_EQ(StageLoadS(in.chains[0], 0, 1, in), 1 + 2 + 1 + 1000 / 1e18);
}

TEST(PlacementTest, AdamStateIsSixteenBytesPerParameter) {
  PlacementInput in = Base();
  in.optimizer = Optimizer::kAdam;
  in.chains = {{1, {Layer(1, 1, 2000)}}};  // 1000 parameters
  EXPECT_EQ(StageMemoryBytes(in.chains[0], 0, 1, 1, in), 16000);
  in.optimizer = Optimizer::kSgd;
  EXPECT_EQ(StageMemoryBytes(in.chains[0], 0, 1, 1, in), 4000);
}

TEST(PlacementTest, InfeasibleFixedStrategyIsReportedAndNeverGatesTheSearch) {
  PlacementInput in = Base();
  in.chains = {{1, {Layer(1, 2), Layer(1, 2)}}};
  const Placement fixed = PlaceFixed(in, {2, 4, 1});  // 8 devices > 4
  EXPECT_FALSE(fixed.feasible);
  EXPECT_FALSE(PlaceFixed(in, {1, 1, 2}).feasible);  // no chain at t = 2
  EXPECT_TRUE(Place(in).feasible);
}

// Random small chains, enumerated exhaustively: every t, p, partition and d.
struct Brute {
  Placement best;
  // Smallest slowest-stage time per (t index, p), over memory-feasible partitions.
  std::vector<std::vector<double>> bottleneck;
};

Brute BruteForce(const PlacementInput& in) {
  Brute out;
  for (const Chain& chain : in.chains) {
    const int n = static_cast<int>(chain.layers.size());
    std::vector<double> per_p(n + 1, std::numeric_limits<double>::infinity());
    for (uint32_t mask = 0; mask < (1u << (n - 1)); ++mask) {
      std::vector<int64_t> stages;
      int64_t len = 1;
      for (int b = 0; b < n - 1; ++b) {
        if ((mask >> b) & 1u) {
          stages.push_back(len);
          len = 1;
        } else {
          ++len;
        }
      }
      stages.push_back(len);
      const int64_t p = static_cast<int64_t>(stages.size());
      for (int64_t d = 1; d <= in.accelerators; ++d) {
        Placement pl;
        pl.strategy = {p, d, chain.tensor_width};
        pl.stage_layers = stages;
        Finish(chain, in, pl);
        if (!pl.feasible) continue;
        per_p[static_cast<size_t>(p)] = std::min(per_p[static_cast<size_t>(p)], pl.bottleneck_s);
        if (!out.best.feasible || pl.time_per_batch_s < out.best.time_per_batch_s) out.best = pl;
      }
    }
    out.bottleneck.push_back(per_p);
  }
  return out;
}

TEST(PlacementTest, DynamicProgramAgreesWithBruteForce) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> time(0.1, 2.0);
  std::uniform_int_distribution<int64_t> bytes(0, 100);
  int feasible_cases = 0;
  for (int trial = 0; trial < 300; ++trial) {
    PlacementInput in = Base();
    in.accelerators = 1 + trial % 8;
    in.global_batch = 1 + trial % 13;
    in.micro_batch = 1 + trial % 2;
    in.recompute = trial % 3 == 0;
    in.optimizer = trial % 2 ? Optimizer::kAdam : Optimizer::kSgd;
    in.link_bandwidth_bytes_per_s = 1000;
    in.link_latency_s = 0.01;
    const bool with_params = trial % 4 != 0;
    in.hbm_bytes = 150 + bytes(rng) * 8;
    const int n = 1 + trial % 7;
    for (int64_t t : {1, 2}) {
      Chain c;
      c.tensor_width = t;
      for (int l = 0; l < n; ++l) {
        LayerCost layer =
            Layer(time(rng) / static_cast<double>(t), time(rng) / static_cast<double>(t),
                  with_params ? bytes(rng) / 4 : 0, bytes(rng), bytes(rng) / 4);
        c.layers.push_back(layer);
      }
      in.chains.push_back(c);
    }
    const Placement dp = Place(in);
    const Brute brute = BruteForce(in);
    ASSERT_EQ(dp.feasible, brute.best.feasible) << trial;
    if (!dp.feasible) continue;
    ++feasible_cases;
    // The DP's slowest stage is the true minimum for its (t, p).
    const size_t ti = dp.strategy.tensor == 1 ? 0 : 1;
    EXPECT_DOUBLE_EQ(dp.bottleneck_s,
                     brute.bottleneck[ti][static_cast<size_t>(dp.strategy.pipeline)])
        << trial;
    // Recomputed from its strategy, the DP's answer is what it reported, and fits memory.
    Placement again;
    again.strategy = dp.strategy;
    again.stage_layers = dp.stage_layers;
    Finish(in.chains[ti], in, again);
    EXPECT_TRUE(again.feasible);
    EXPECT_DOUBLE_EQ(again.time_per_batch_s, dp.time_per_batch_s);
    EXPECT_LE(dp.memory_per_device_bytes, in.hbm_bytes);
    EXPECT_GE(dp.time_per_batch_s, brute.best.time_per_batch_s - 1e-12) << trial;
    // Without parameters there is no gradient all-reduce, and the DP is exactly optimal.
    if (!with_params) {
      EXPECT_DOUBLE_EQ(dp.time_per_batch_s, brute.best.time_per_batch_s) << trial;
    } else {
      // The all-reduce is priced on the min-bottleneck partition: within the largest sync.
      EXPECT_LE(dp.time_per_batch_s, brute.best.time_per_batch_s + dp.sync_s + 1e-12) << trial;
    }
    // The search is never worse than any fixed strategy on the same chip.
    for (int64_t p = 1; p <= n; ++p) {
      for (int64_t d = 1; d <= in.accelerators; ++d) {
        for (int64_t t : {1, 2}) {
          const Placement fixed = PlaceFixed(in, {p, d, t});
          if (fixed.feasible) {
            EXPECT_LE(dp.time_per_batch_s, fixed.time_per_batch_s + 1e-12);
          }
        }
      }
    }
  }
  EXPECT_GT(feasible_cases, 100);
}

}  // namespace
}  // namespace phaze::place
