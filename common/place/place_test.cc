#include "common/place/place.h"

#include <functional>
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
  c.stash_selective_bytes = stash / 2;
  c.recompute_full_s = fwd;
  c.stash_full_bytes = input;
  c.output_bytes = 1000;
  return c;
}

Chain MakeChain(int64_t t, std::vector<LayerCost> layers) {
  Chain c;
  c.tensor_width = t;
  c.layers = std::move(layers);
  return c;
}

net::Network FreeNetwork() {
  net::Network net;
  net.scale_up = {1e18, 0, 1};
  net.scale_out = net.scale_up;
  return net;
}

// Four layers of 1 s forward and 2 s backward, without parameters, each stashing 10 B.
Chain FourLayersStashing10B() {
  return MakeChain(
      1, {Layer(1, 2, 0, 10), Layer(1, 2, 0, 10), Layer(1, 2, 0, 10), Layer(1, 2, 0, 10)});
}

PlacementInput Base() {
  PlacementInput in;
  in.accelerators = 4;
  in.global_batch = 8;
  in.micro_batch = 1;
  in.optimizer = Optimizer::kSgd;
  in.hbm_bytes = int64_t{1} << 40;
  in.hbm_bandwidth_bytes_per_s = 1e18;
  in.network = FreeNetwork();  // free transfers unless a test says otherwise
  return in;
}

// Adam, a 1 GB/s network and 1 GB/s of HBM, two layers of 1 s forward, 1 s backward and 1,000 B
// of fp16 weights: the set-up of the hand-computed synchronisation tests.
PlacementInput TwoAdamLayersOn1GBps() {
  PlacementInput in = Base();
  in.optimizer = Optimizer::kAdam;
  in.network.scale_up = {1e9, 0, 1};
  in.network.scale_out = in.network.scale_up;
  in.hbm_bandwidth_bytes_per_s = 1e9;
  in.chains = {MakeChain(1, {Layer(1, 1, 1000), Layer(1, 1, 1000)})};
  return in;
}

TEST(PlacementTest, DataParallelWinsWhenEverythingFits) {
  PlacementInput in = Base();
  in.chains = {MakeChain(1, {Layer(1, 2), Layer(1, 2), Layer(1, 2), Layer(1, 2)})};
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
  in.chains = {FourLayersStashing10B()};
  const Placement best = Place(in);
  ASSERT_TRUE(best.feasible);
  EXPECT_EQ(best.strategy.pipeline, 2);
  EXPECT_EQ(best.strategy.data, 2);
  EXPECT_EQ(best.stage_layers, (std::vector<int64_t>{1, 3}));
  EXPECT_NEAR(best.time_per_batch_s, 45.0, 1e-9);
}

TEST(PlacementTest, AStageHoldsAtMostTheStepsMicroBatches) {
  PlacementInput in = Base();
  // A batch of 2 (micro-batch 1) on 4 devices: a replica runs m = 2 / d micro-batches, and no
  // stage can hold more in flight than m. Each layer stashes 10 B; HBM holds 20 B. p = 1 needs
  // 40 B. p = 2, d = 2 (m = 1): {2, 2} holds 20 B per stage; T = (1 + 1) x 6 s = 12 s. p = 4,
  // d = 1 (m = 2): the first stage holds 2, not 4, micro-batches (20 B); T = (2 + 3) x 3 = 15 s.
  // Counting p - k in flight whatever m, nothing would fit.
  in.global_batch = 2;
  in.hbm_bytes = 20;
  in.chains = {FourLayersStashing10B()};
  const Placement best = Place(in);
  ASSERT_TRUE(best.feasible);
  EXPECT_EQ(best.strategy.pipeline, 2);
  EXPECT_EQ(best.strategy.data, 2);
  EXPECT_EQ(best.stage_layers, (std::vector<int64_t>{2, 2}));
  EXPECT_NEAR(best.time_per_batch_s, 12.0, 1e-9);
  EXPECT_EQ(best.memory_per_device_bytes, 20);
  const Placement deep = PlaceFixed(in, {.pipeline = 4, .data = 1, .tensor = 1});
  ASSERT_TRUE(deep.feasible);
  EXPECT_NEAR(deep.time_per_batch_s, 15.0, 1e-9);
  EXPECT_EQ(deep.memory.activations_bytes, 20);
}

TEST(PlacementTest, FullRecomputeRunsOnEveryStageTheLastIncluded) {
  PlacementInput in = Base();
  in.recompute = Recompute::kFull;
  in.chains = {MakeChain(1, {Layer(1, 2, 0, 100, 10), Layer(1, 2, 0, 100, 10)})};
  const Placement pl = PlaceFixed(in, {.pipeline = 2, .data = 1, .tensor = 1});
  ASSERT_TRUE(pl.feasible);
  // Each stage: forward 1 + backward 2 + recomputed forward 1 = 4 s; (8 + 1) x 4 = 36 s.
  EXPECT_NEAR(pl.time_per_batch_s, 36.0, 1e-9);
  EXPECT_NEAR(pl.time.recompute_s, 8.0, 1e-9);
  // The first stage keeps 2 inputs (20 B) and one layer's working set (100 B).
  EXPECT_EQ(pl.memory_per_device_bytes, 120);
  EXPECT_EQ(pl.memory.activations_bytes, 120);
}

TEST(PlacementTest, SelectiveRecomputeRedoesOnlyTheAttentionCore) {
  PlacementInput in = Base();
  in.recompute = Recompute::kSelective;
  LayerCost l = Layer(1, 2, 0, 100, 10);
  l.recompute_selective_s = 0.25;
  l.stash_selective_bytes = 60;
  in.chains = {MakeChain(1, {l, l})};
  const Placement pl = PlaceFixed(in, {.pipeline = 1, .data = 1, .tensor = 1});
  ASSERT_TRUE(pl.feasible);
  EXPECT_NEAR(pl.time_per_batch_s, 8 * 2 * 3.25, 1e-9);
  EXPECT_EQ(pl.memory_per_device_bytes, 120);  // one micro-batch in flight, 60 B per layer
}

TEST(PlacementTest, AdamStateIsSixteenBytesPerParameterAndZeroShardsIt) {
  PlacementInput in = Base();
  in.optimizer = Optimizer::kAdam;
  in.accelerators = 4;
  in.chains = {MakeChain(1, {Layer(1, 1, 1000), Layer(1, 1, 1000)})};
  // 2,000 B of fp16 weights = 1,000 parameters: 16,000 B of state.
  Placement pl = PlaceFixed(in, {.pipeline = 1, .data = 4, .tensor = 1});
  ASSERT_TRUE(pl.feasible);
  EXPECT_EQ(pl.memory_per_device_bytes, 16000);
  EXPECT_EQ(pl.memory.optimizer_bytes, 12000);
  // ZeRO-1 over 4: 2 + 2 + 12 / 4 = 7 B per parameter; ZeRO-2: 2 + 14 / 4; ZeRO-3: 16 / 4, plus
  // one layer's gathered weights (1,000 B).
  pl = PlaceFixed(in, {.pipeline = 1, .data = 4, .tensor = 1, .sharding = Sharding::kZero1});
  EXPECT_EQ(pl.memory_per_device_bytes, 7000);
  pl = PlaceFixed(in, {.pipeline = 1, .data = 4, .tensor = 1, .sharding = Sharding::kZero2});
  EXPECT_EQ(pl.memory_per_device_bytes, 5500);
  pl = PlaceFixed(in, {.pipeline = 1, .data = 4, .tensor = 1, .sharding = Sharding::kZero3});
  EXPECT_EQ(pl.memory_per_device_bytes, 4000 + 1000);
}

// fp32 main gradients (Megatron's default in bf16): 4 B of gradient per parameter (18 B of Adam
// state), twice the bytes to reduce, and the optimizer step reads 2 B more (30 B per parameter).
TEST(PlacementTest, Fp32MainGradientsCostMemoryReductionAndOptimizerBytes) {
  PlacementInput in = TwoAdamLayersOn1GBps();
  in.fp32_main_grads = true;
  Placement pl = PlaceFixed(in, {.pipeline = 1, .data = 4, .tensor = 1});
  ASSERT_TRUE(pl.feasible);
  EXPECT_EQ(pl.memory_per_device_bytes, 18000);
  EXPECT_EQ(pl.memory.gradients_bytes, 4000);
  // All-reduce of 4,000 B over 4: 2 x 3/4 x 4,000 / 1e9 = 6 us; 30,000 B of optimizer step.
  EXPECT_NEAR(pl.time.data_comm_s, 6e-6, 1e-15);
  EXPECT_NEAR(pl.time.optimizer_s, 30e-6, 1e-15);
  // ZeRO-1: reduce-scatter of the fp32 gradients (3 us) and all-gather of the 16-bit weights
  // (1.5 us); memory 2 + 4 + 12 / 4 = 9 B per parameter. ZeRO-2 shards the gradients: 2 + 16 / 4.
  pl = PlaceFixed(in, {.pipeline = 1, .data = 4, .tensor = 1, .sharding = Sharding::kZero1});
  EXPECT_NEAR(pl.time.data_comm_s, 4.5e-6, 1e-15);
  EXPECT_EQ(pl.memory_per_device_bytes, 9000);
  pl = PlaceFixed(in, {.pipeline = 1, .data = 4, .tensor = 1, .sharding = Sharding::kZero2});
  EXPECT_EQ(pl.memory_per_device_bytes, 6000);
}

TEST(PlacementTest, DataParallelSyncAndOptimizerStepAreHandComputed) {
  PlacementInput in = TwoAdamLayersOn1GBps();
  // d = 4: all-reduce of 2,000 B: 2 x 3/4 x 2,000 / 1e9 = 3 us; Adam streams 28 B per parameter:
  // 28,000 B / 1e9 = 28 us; 2 micro-batches x 4 s = 8 s.
  Placement pl = PlaceFixed(in, {.pipeline = 1, .data = 4, .tensor = 1});
  ASSERT_TRUE(pl.feasible);
  EXPECT_NEAR(pl.time.data_comm_s, 3e-6, 1e-15);
  EXPECT_NEAR(pl.time.optimizer_s, 28e-6, 1e-15);
  EXPECT_NEAR(pl.time_per_batch_s, 8 + 31e-6, 1e-12);
  // ZeRO-1: reduce-scatter + all-gather (the same bytes) and a quarter of the step.
  pl = PlaceFixed(in, {.pipeline = 1, .data = 4, .tensor = 1, .sharding = Sharding::kZero1});
  EXPECT_NEAR(pl.time.data_comm_s, 3e-6, 1e-15);
  EXPECT_NEAR(pl.time.optimizer_s, 7e-6, 1e-15);
}

TEST(PlacementTest, OverlapHidesTheGradientReductionBehindTheLastBackwardPass) {
  PlacementInput in = TwoAdamLayersOn1GBps();
  in.dp_overlap = true;
  const Strategy s{.pipeline = 1, .data = 4, .tensor = 1, .split = Split::kUniform};
  // The 3 us all-reduce hides under the 2 s backward pass; the 28 us optimizer step does not.
  Placement pl = PlaceFixed(in, s);
  ASSERT_TRUE(pl.feasible);
  EXPECT_EQ(pl.time.data_comm_s, 0);
  EXPECT_NEAR(pl.time.optimizer_s, 28e-6, 1e-15);
  EXPECT_NEAR(pl.time_per_batch_s, 8 + 28e-6, 1e-12);
  // At 1,000 B/s the all-reduce takes 2 x 3/4 x 2,000 / 1,000 = 3 s: 1 s shows.
  in.network.scale_up.bandwidth_bytes_per_s = 1000;
  in.network.scale_out = in.network.scale_up;
  pl = PlaceFixed(in, s);
  EXPECT_NEAR(pl.time.data_comm_s, 1, 1e-12);
  EXPECT_NEAR(pl.time_per_batch_s, 8 + 1 + 28e-6, 1e-12);
  // ZeRO-1: the 1.5 s reduce-scatter hides; the 1.5 s all-gather of the updated parameters,
  // after the optimizer step, does not.
  Strategy zero1 = s;
  zero1.sharding = Sharding::kZero1;
  pl = PlaceFixed(in, zero1);
  EXPECT_NEAR(pl.time.data_comm_s, 1.5, 1e-12);
  EXPECT_NEAR(pl.time.optimizer_s, 7e-6, 1e-15);
  // Without overlap all of it shows.
  in.dp_overlap = false;
  pl = PlaceFixed(in, s);
  EXPECT_NEAR(pl.time.data_comm_s, 3, 1e-12);
  // Recompute lengthens the window: full recompute adds each layer's forward (1 s) to it.
  in.dp_overlap = true;
  in.recompute = Recompute::kFull;
  in.chains = {MakeChain(1, {Layer(1, 1, 1000), Layer(1, 1, 1000)})};
  for (LayerCost& c : in.chains[0].layers) c.recompute_full_s = 1;
  in.network.scale_up.bandwidth_bytes_per_s = 500;  // a 6 s all-reduce
  in.network.scale_out = in.network.scale_up;
  pl = PlaceFixed(in, s);
  EXPECT_NEAR(pl.time.data_comm_s, 6 - 4, 1e-12);
}

TEST(PlacementTest, InterleavingShrinksTheBubbleAndMultipliesSends) {
  PlacementInput in = Base();
  in.network.scale_up = {1000, 0, 1};  // 1,000-byte messages take 1 s
  in.network.scale_out = in.network.scale_up;
  in.accelerators = 2;
  in.global_batch = 4;
  std::vector<LayerCost> layers(6, Layer(1, 2));
  in.chains = {MakeChain(1, layers)};
  // p = 2, uniform split {3, 3}: per micro-batch 9 s + 2 sends = 11 s; (4 + 1) x 11 = 55 s.
  Placement pl = PlaceFixed(in, {.pipeline = 2, .data = 1, .tensor = 1, .split = Split::kUniform});
  ASSERT_TRUE(pl.feasible);
  EXPECT_EQ(pl.stage_layers, (std::vector<int64_t>{3, 3}));
  EXPECT_NEAR(pl.time_per_batch_s, 55.0, 1e-9);
  // v = 2: chunks {2, 1, 1, 2} (4 blocks over 4 chunks, embedding and head at the ends); rank 0
  // holds chunks 0 and 2 (3 layers, 9 s) + 4 sends; (4 + 1/2) x 13 = 58.5 s.
  pl = PlaceFixed(in, {.pipeline = 2, .data = 1, .tensor = 1, .virtual_stages = 2});
  ASSERT_TRUE(pl.feasible);
  EXPECT_EQ(pl.stage_layers, (std::vector<int64_t>{2, 1, 1, 2}));
  EXPECT_NEAR(pl.time_per_batch_s, 58.5, 1e-9);
  EXPECT_NEAR(pl.time.bubble_s, 6.5, 1e-9);
  EXPECT_NEAR(pl.time.pipeline_comm_s, 16.0, 1e-9);
  // Megatron needs m to be a multiple of p.
  in.global_batch = 3;
  EXPECT_FALSE(
      PlaceFixed(in, {.pipeline = 2, .data = 1, .tensor = 1, .virtual_stages = 2}).feasible);
}

TEST(PlacementTest, UniformSplitIsMegatronsAndDeepSpeedsWhenUneven) {
  EXPECT_EQ(UniformSplit(42, 1), (std::vector<int64_t>{42}));
  EXPECT_EQ(UniformSplit(10, 2), (std::vector<int64_t>{5, 5}));  // 8 blocks: 4 + emb, 4 + head
  EXPECT_EQ(UniformSplit(10, 4), (std::vector<int64_t>{3, 2, 2, 3}));
  EXPECT_EQ(UniformSplit(72, 12), std::vector<int64_t>(12, 6));  // BLOOM: 70 blocks over 12
  EXPECT_TRUE(UniformSplit(3, 4).empty());
}

TEST(PlacementTest, InfeasibleFixedStrategyIsReportedAndNeverGatesTheSearch) {
  PlacementInput in = Base();
  in.chains = {MakeChain(1, {Layer(1, 2), Layer(1, 2)})};
  EXPECT_FALSE(PlaceFixed(in, {.pipeline = 3, .data = 1, .tensor = 1}).feasible);  // > layers
  EXPECT_FALSE(PlaceFixed(in, {.pipeline = 1, .data = 8, .tensor = 1}).feasible);  // > devices
  EXPECT_FALSE(PlaceFixed(in, {.pipeline = 1, .data = 1, .tensor = 2}).feasible);  // no chain
  EXPECT_TRUE(Place(in).feasible);
}

// ---- exactness against brute force ---------------------------------------------------------

void ForEachComposition(int n, int parts,
                        const std::function<void(const std::vector<int64_t>&)>& f) {
  std::vector<int64_t> sizes;
  std::function<void(int, int)> rec = [&](int left, int k) {
    if (k == 1) {
      sizes.push_back(left);
      f(sizes);
      sizes.pop_back();
      return;
    }
    for (int s = 1; s <= left - (k - 1); ++s) {
      sizes.push_back(s);
      rec(left - s, k - 1);
      sizes.pop_back();
    }
  };
  if (parts >= 1 && parts <= n) rec(n, parts);
}

// The minimum of Evaluate over everything the input allows.
Placement BruteForce(const PlacementInput& in) {
  Placement best;
  for (const Chain& chain : in.chains) {
    const int n = static_cast<int>(chain.layers.size());
    for (Sharding sharding : in.shardings) {
      for (int64_t v : in.virtual_stages) {
        for (int64_t p = 1; p <= n; ++p) {
          for (int64_t d = 1; p * chain.tensor_width * d <= in.accelerators; ++d) {
            Strategy s{.pipeline = p,
                       .data = d,
                       .tensor = chain.tensor_width,
                       .virtual_stages = v,
                       .sequence_parallel = chain.sequence_parallel,
                       .sharding = sharding};
            auto consider = [&](const std::vector<int64_t>& sizes) {
              const Placement pl = Evaluate(in, s, sizes);
              if (pl.feasible && (!best.feasible || pl.time_per_batch_s < best.time_per_batch_s)) {
                best = pl;
              }
            };
            if (v == 1 && !in.dp_overlap) {
              ForEachComposition(n, static_cast<int>(p), consider);
            } else if (v == 1) {
              // Under overlap the placement searches Megatron's uniform split only.
              const std::vector<int64_t> sizes = UniformSplit(n, p);
              if (!sizes.empty()) consider(sizes);
            } else if ((n - 2) % (p * v) == 0) {
              const std::vector<int64_t> sizes = UniformSplit(n, p * v);
              if (!sizes.empty()) consider(sizes);
            }
          }
        }
      }
    }
  }
  return best;
}

PlacementInput RandomInput(std::mt19937& rng) {
  auto uniform = [&](double lo, double hi) {
    return std::uniform_real_distribution<>(lo, hi)(rng);
  };
  auto integer = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  PlacementInput in;
  in.accelerators = integer(1, 12);
  in.global_batch = integer(1, 24);
  in.micro_batch = integer(1, 2);
  in.optimizer = integer(0, 1) == 0 ? Optimizer::kSgd : Optimizer::kAdam;
  in.recompute = static_cast<Recompute>(integer(0, 2));
  in.hbm_bandwidth_bytes_per_s = uniform(1e3, 1e5);
  in.network.scale_up = {uniform(1e3, 1e5), uniform(0, 1e-2), uniform(0.5, 1)};
  in.network.scale_out = {uniform(1e2, 1e4), uniform(0, 1e-1), uniform(0.5, 1)};
  in.network.domain_size = integer(0, 4);
  in.rank_order =
      integer(0, 1) == 0 ? RankOrder::kTensorDataPipeline : RankOrder::kTensorPipelineData;
  in.virtual_stages = integer(0, 2) == 0 ? std::vector<int64_t>{1, 2} : std::vector<int64_t>{1};
  in.shardings = {Sharding::kNone};
  if (integer(0, 1) == 1) in.shardings = {Sharding::kNone, Sharding::kZero1, Sharding::kZero2};
  const int n = static_cast<int>(integer(2, 7));
  for (int64_t t : {int64_t{1}, int64_t{2}}) {
    if (t > 1 && integer(0, 1) == 0) continue;
    Chain c;
    c.tensor_width = t;
    for (int l = 0; l < n; ++l) {
      LayerCost lc;
      lc.fwd_s = uniform(0.1, 2) / static_cast<double>(t);
      lc.bwd_s = 2 * lc.fwd_s * uniform(0.8, 1.2);
      lc.recompute_selective_s = lc.fwd_s * uniform(0, 0.3);
      lc.param_bytes = integer(0, 4000) / t;
      lc.tied_param_bytes = l == n - 1 && integer(0, 1) == 1 ? lc.param_bytes / 2 : 0;
      lc.stash_bytes = integer(10, 2000);
      lc.stash_selective_bytes = lc.stash_bytes / 2;
      lc.stash_full_bytes = lc.stash_bytes / 5;
      lc.recompute_full_s = l == 0 || l == n - 1 ? 0.0 : lc.fwd_s;
      lc.output_bytes = integer(100, 3000);
      c.layers.push_back(lc);
    }
    in.chains.push_back(c);
  }
  // HBM between "barely anything fits" and "everything fits".
  in.hbm_bytes = integer(2000, 40000);
  return in;
}

TEST(PlacementTest, ExactAgainstBruteForceOnRandomChains) {
  std::mt19937 rng(20261202);
  int compared = 0, feasible = 0;
  for (int trial = 0; trial < 400; ++trial) {
    PlacementInput in = RandomInput(rng);
    in.fp32_main_grads = trial % 3 == 0;
    const Placement fast = Place(in);
    const Placement slow = BruteForce(in);
    ASSERT_EQ(fast.feasible, slow.feasible) << "trial " << trial;
    ++compared;
    if (!slow.feasible) continue;
    ++feasible;
    ASSERT_NEAR(fast.time_per_batch_s, slow.time_per_batch_s, 1e-9 * slow.time_per_batch_s)
        << "trial " << trial << ": p=" << slow.strategy.pipeline << " d=" << slow.strategy.data
        << " t=" << slow.strategy.tensor << " v=" << slow.strategy.virtual_stages;
    // The placement is what Evaluate says of its own strategy and split.
    const Placement again = Evaluate(in, fast.strategy, fast.stage_layers);
    EXPECT_DOUBLE_EQ(again.time_per_batch_s, fast.time_per_batch_s);
  }
  EXPECT_EQ(compared, 400);
  EXPECT_GT(feasible, 200);
}

// Chains shaped like the models: an embedding, identical blocks and a head, up to 12 layers, HBM
// tight enough that the largest stage's parameters matter (the caps the split tries).
TEST(PlacementTest, ExactAgainstBruteForceOnModelLikeChains) {
  std::mt19937 rng(20261207);
  int feasible = 0;
  for (int trial = 0; trial < 120; ++trial) {
    PlacementInput in = RandomInput(rng);
    in.accelerators = std::uniform_int_distribution<int64_t>(4, 16)(rng);
    const int n = std::uniform_int_distribution<int>(6, 12)(rng);
    // Slow data-parallel links: the synchronisation of the largest stage weighs as much as the
    // slowest stage's compute, so the split must trade one for the other.
    in.network.scale_up.bandwidth_bytes_per_s /= 50;
    in.network.scale_out.bandwidth_bytes_per_s /= 50;
    for (Chain& c : in.chains) {
      const LayerCost embedding = c.layers.front(), block = c.layers[1], head = c.layers.back();
      c.layers.assign(static_cast<size_t>(n), block);
      c.layers.front() = embedding;
      c.layers.back() = head;
    }
    const Placement fast = Place(in);
    const Placement slow = BruteForce(in);
    ASSERT_EQ(fast.feasible, slow.feasible) << "trial " << trial;
    if (!slow.feasible) continue;
    ++feasible;
    ASSERT_NEAR(fast.time_per_batch_s, slow.time_per_batch_s, 1e-9 * slow.time_per_batch_s)
        << "trial " << trial;
  }
  EXPECT_GT(feasible, 40);
}

TEST(PlacementTest, FixedStrategyIsTheBestSplitOfThatStrategy) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 150; ++trial) {
    PlacementInput in = RandomInput(rng);
    const Chain& chain = in.chains.front();
    const int n = static_cast<int>(chain.layers.size());
    for (int64_t p = 1; p <= n; ++p) {
      const Strategy s{.pipeline = p, .data = 1, .tensor = chain.tensor_width};
      double best = std::numeric_limits<double>::infinity();
      ForEachComposition(n, static_cast<int>(p), [&](const std::vector<int64_t>& sizes) {
        const Placement pl = Evaluate(in, s, sizes);
        if (pl.feasible) best = std::min(best, pl.time_per_batch_s);
      });
      const Placement fixed = PlaceFixed(in, s);
      ASSERT_EQ(fixed.feasible, std::isfinite(best)) << "trial " << trial << " p " << p;
      if (fixed.feasible) {
        ASSERT_NEAR(fixed.time_per_batch_s, best, 1e-9 * best);
      }
    }
  }
}

// What the evaluator's reuse across HBM sizes rests on (PlacementsByHbm in evaluate.cc): with less
// capacity, a placement that still fits (a byte to spare) keeps the best time, and where nothing
// fits the larger capacity nothing fits the smaller. Both kinds of case occur.
TEST(PlacementTest, TheBestOfALargerHbmThatFitsASmallerIsItsBestToo) {
  std::mt19937 rng(31);
  int kept = 0, none = 0;
  for (int trial = 0; trial < 300; ++trial) {
    PlacementInput large = RandomInput(rng);
    large.hbm_bytes *= 2;
    const Placement best = Place(large);
    PlacementInput small = large;
    small.hbm_bytes = large.hbm_bytes / 2 + trial % 7 * large.hbm_bytes / 14;
    const Placement other = Place(small);
    if (!best.feasible) {
      EXPECT_FALSE(other.feasible) << trial;
      ++none;
    } else if (best.memory_per_device_bytes + 1 <= small.hbm_bytes) {
      ASSERT_TRUE(other.feasible) << trial;
      EXPECT_NEAR(other.time_per_batch_s, best.time_per_batch_s, 1e-12 * best.time_per_batch_s)
          << trial;
      ++kept;
    }
  }
  EXPECT_GT(kept, 50);
  EXPECT_GT(none, 5);
}

// The screening bound is a bound: never below the best placement's throughput, and 0 only
// where nothing can be placed.
TEST(PlacementTest, TheThroughputUpperBoundIsNeverBelowTheBest) {
  std::mt19937 rng(1207);
  int feasible = 0, tight = 0;
  for (int trial = 0; trial < 400; ++trial) {
    PlacementInput in = RandomInput(rng);
    if (trial % 2 == 1) in.hbm_bytes *= 100;  // memory no limit: the bound's own terms decide
    const Placement best = Place(in);
    const double bound = ThroughputUpperBound(in);
    if (!best.feasible) continue;
    ++feasible;
    ASSERT_GE(bound * (1 + 1e-12), best.throughput_samples_per_s) << "trial " << trial;
    tight += bound <= 1.5 * best.throughput_samples_per_s;
  }
  EXPECT_GT(feasible, 250);
  EXPECT_GT(tight, feasible / 4);  // a bound worth computing: often within 1.5x
  // By hand: four layers of 1 + 2 s on 4 devices, batch 8: p = 1, d = 4 runs m = 2 micro-batches
  // of 12 s (p = 2: (4 + 1) x 6 s; p = 4: (8 + 3) x 3 s), 8 samples / 24 s. With free links and
  // room to spare the best placement reaches it.
  PlacementInput in = Base();
  in.chains = {FourLayersStashing10B()};
  EXPECT_DOUBLE_EQ(ThroughputUpperBound(in), 8.0 / 24.0);
  EXPECT_DOUBLE_EQ(Place(in).throughput_samples_per_s, 8.0 / 24.0);
  in.chains.front().tensor_width = in.accelerators + 1;
  EXPECT_EQ(ThroughputUpperBound(in), 0.0);
}

// ---- properties: more resources never hurt -------------------------------------------------

double Throughput(const PlacementInput& in) {
  const Placement p = Place(in);
  return p.feasible ? p.throughput_samples_per_s : 0.0;
}

// With overlap the search is exact over uniform splits, and overlap never slows a placement.
TEST(PlacementTest, ExactAgainstBruteForceWithOverlapAndNeverSlowerThanWithout) {
  std::mt19937 rng(20261207);
  int feasible = 0;
  for (int trial = 0; trial < 300; ++trial) {
    PlacementInput in = RandomInput(rng);
    in.dp_overlap = true;
    const Placement fast = Place(in);
    const Placement slow = BruteForce(in);
    ASSERT_EQ(fast.feasible, slow.feasible) << "trial " << trial;
    if (!slow.feasible) continue;
    ++feasible;
    ASSERT_NEAR(fast.time_per_batch_s, slow.time_per_batch_s, 1e-9 * slow.time_per_batch_s)
        << "trial " << trial;
    EXPECT_EQ(fast.stage_layers,
              UniformSplit(static_cast<int64_t>(in.chains.front().layers.size()),
                           fast.strategy.pipeline * fast.strategy.virtual_stages));
    PlacementInput serial = in;
    serial.dp_overlap = false;
    const Placement without = Evaluate(serial, fast.strategy, fast.stage_layers);
    ASSERT_TRUE(without.feasible);
    EXPECT_LE(fast.time_per_batch_s, without.time_per_batch_s * (1 + 1e-12)) << "trial " << trial;
    EXPECT_LE(fast.time.data_comm_s, without.time.data_comm_s + 1e-15) << "trial " << trial;
  }
  EXPECT_GT(feasible, 100);
}

TEST(PlacementTest, MoreResourcesOrOptionsNeverLowerThroughput) {
  std::mt19937 rng(99);
  int violations = 0;
  for (int trial = 0; trial < 300; ++trial) {
    PlacementInput in = RandomInput(rng);
    in.dp_overlap = trial % 2 == 1;
    in.fp32_main_grads = trial % 3 == 1;
    const double base = Throughput(in);
    PlacementInput more = in;
    more.hbm_bytes *= 2;
    violations += Throughput(more) < base;
    more = in;
    more.accelerators += 3;
    violations += Throughput(more) < base;
    more = in;
    more.network.scale_up.bandwidth_bytes_per_s *= 4;
    more.network.scale_out.bandwidth_bytes_per_s *= 4;
    violations += Throughput(more) < base;
    more = in;
    more.shardings = {Sharding::kNone, Sharding::kZero1, Sharding::kZero2, Sharding::kZero3};
    more.virtual_stages = {1, 2, 3};
    violations += Throughput(more) < base;
  }
  EXPECT_EQ(violations, 0);
}

}  // namespace
}  // namespace phaze::place
