#include "common/cost/cost.h"

#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace phaze::cost {

using arch::Architecture;
using arch::ChipDefaults;
using arch::FindPreset;
using workload::GemmShape;
using workload::Operator;
using workload::OpKind;
using workload::VectorFn;
namespace {

Architecture Tpu() { return *FindPreset("tpuv4"); }

Operator Gemm(int64_t m, int64_t k, int64_t n, int64_t batch = 1) {
  Operator op;
  op.kind = OpKind::kGemm;
  op.gemm = {batch, m, k, n};
  op.has_weight = batch == 1;
  return op;
}

TEST(CostModelTest, ComputeBoundGemmByHand) {
  const Architecture a = Tpu();
  const OpCost c = CostOperator(Gemm(1024, 1024, 1024), a, {});
  // 8 x 8 weight tiles of 128x128, 1024 rows each, plus one fill and drain (128 + 128).
  EXPECT_DOUBLE_EQ(c.single_core_s, (64.0 * 1024 + 256) / 1.05e9);
  // On 8 cores each takes 8 tiles.
  EXPECT_DOUBLE_EQ(c.all_cores_s, (8.0 * 1024 + 256) / 1.05e9);
}

TEST(CostModelTest, HbmBoundGemmByHand) {
  Architecture a = Tpu();
  a.hbm_bandwidth_bytes_per_s = 1e9;
  const OpCost c = CostOperator(Gemm(1024, 1024, 1024), a, {});
  // Operands fit the GLB: read A and B, write C once: 3 x 2 MiB over 1 GB/s.
  EXPECT_NEAR(c.all_cores_s, 3.0 * 2 * 1024 * 1024 / 1e9, 1e-12);
  // One core gets 1/8 of the HBM bandwidth.
  EXPECT_NEAR(c.single_core_s, 8 * 3.0 * 2 * 1024 * 1024 / 1e9, 1e-12);
}

TEST(CostModelTest, UnfilledArrayLosesUtilisation) {
  const Architecture a = Tpu();
  constexpr double kUnbounded = 1e30;
  auto compute = [&](GemmShape g) {
    return ImprovedGemm(g, true, 1, a, kUnbounded, kUnbounded).compute_cycles;
  };
  // A reduction of 129 needs two 128-deep weight tiles: about twice the cycles of 128.
  EXPECT_NEAR(compute({1, 4096, 129, 128}) / compute({1, 4096, 128, 128}), 2.0, 0.1);
  // Fewer rows than the array is deep cannot hide the weight load.
  EXPECT_DOUBLE_EQ(compute({1, 16, 128, 128}), compute({1, 128, 128, 128}));
}

TEST(CostModelTest, VectorOpsByHand) {
  const Architecture a = Tpu();
  Operator add;
  add.kind = OpKind::kVector;
  add.fn = VectorFn::kAdd;
  add.elements = 1 << 20;
  add.inputs = 2;
  add.bytes_in = 2 * add.elements * 2;
  add.bytes_out = add.elements * 2;
  // Compute 2^20 / 256 lanes = 4096 cycles; GLB traffic 6 MiB over 2 ports x 512 B/cycle = 6144.
  const OpCost c = CostOperator(add, a, {});
  EXPECT_DOUBLE_EQ(c.all_cores_s, 6144 / 1.05e9);
  EXPECT_DOUBLE_EQ(c.single_core_s, 12288 / 1.05e9);
  // Compat mode: ceil(E / L) x 1 cycle, no memory term.
  CostOptions compat;
  compat.mode = CostMode::kCompat;
  EXPECT_DOUBLE_EQ(CostOperator(add, a, compat).all_cores_s, 4096 / 1.05e9);
  // Compat softmax: rows ceil(n/L) + 10 + ceil(E/L) 10 (reference 4.4).
  Operator sm = add;
  sm.fn = VectorFn::kSoftmax;
  sm.row_length = 512;
  sm.inputs = 1;
  const double rows = (1 << 20) / 512.0;
  EXPECT_DOUBLE_EQ(CostOperator(sm, a, compat).all_cores_s, (rows * 2 + 10 + 4096 * 10) / 1.05e9);
}

TEST(CostModelTest, RingAllReduceByHand) {
  Architecture a = Tpu();
  Operator ar;
  ar.kind = OpKind::kAllReduce;
  ar.allreduce_bytes = 100'000'000;
  ar.group_size = 4;
  const double expected = 2.0 * 3 / 4 * 1e8 / ChipDefaults::kLinkBandwidthBytesPerS +
                          2 * 3 * ChipDefaults::kLinkLatencyS;
  const OpCost c = CostOperator(ar, a, {});
  EXPECT_DOUBLE_EQ(c.single_core_s, expected);
  EXPECT_DOUBLE_EQ(c.all_cores_s, expected);
  ar.group_size = 1;
  EXPECT_EQ(CostOperator(ar, a, {}).all_cores_s, 0);
}

class CostPropertyTest : public ::testing::TestWithParam<CostMode> {};

TEST_P(CostPropertyTest, MoreBandwidthNeverMakesAnOperatorSlower) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> dim(1, 4096);
  CostOptions options;
  options.mode = GetParam();
  for (int trial = 0; trial < 100; ++trial) {
    Architecture a = Tpu();
    a.glb_bytes = (int64_t{1} << (1 + trial % 7)) * kMiB;
    const Operator op = Gemm(dim(rng), dim(rng), dim(rng));
    const OpCost slow = CostOperator(op, a, options);
    a.hbm_bandwidth_bytes_per_s *= 2;
    a.glb_bandwidth_bytes_per_s = 1e13;
    a.link_bandwidth_bytes_per_s *= 2;
    const OpCost fast = CostOperator(op, a, options);
    EXPECT_LE(fast.single_core_s, slow.single_core_s * (1 + 1e-12));
    EXPECT_LE(fast.all_cores_s, slow.all_cores_s * (1 + 1e-12));
  }
}

TEST_P(CostPropertyTest, LatencyGrowsWithProblemSize) {
  CostOptions options;
  options.mode = GetParam();
  const Architecture a = Tpu();
  double previous = 0;
  for (int64_t m = 128; m <= 16384; m *= 2) {
    const double s = CostOperator(Gemm(m, 2048, 2048), a, options).all_cores_s;
    EXPECT_GE(s, previous) << m;
    previous = s;
  }
}

TEST_P(CostPropertyTest, TheInterfaceCostsAGraphInOrderAsOneOperatorAtATime) {
  CostOptions options;
  options.mode = GetParam();
  const std::unique_ptr<CostModel> model = MakeCostModel(options);
  EXPECT_STREQ(model->Name(), GetParam() == CostMode::kCompat ? "compat" : "improved");
  Operator vector_op;
  vector_op.kind = OpKind::kVector;
  vector_op.fn = VectorFn::kGelu;
  vector_op.elements = 1 << 20;
  vector_op.bytes_in = vector_op.bytes_out = 2 << 20;
  const std::vector<Operator> ops = {Gemm(512, 1024, 2048), vector_op, Gemm(64, 64, 64)};
  const Architecture a = Tpu();
  const std::vector<OpCost> all = model->CostAll(ops, a);
  ASSERT_EQ(all.size(), ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    const OpCost one = model->Cost(ops[i], a);
    EXPECT_EQ(all[i].single_core_s, one.single_core_s) << i;
    EXPECT_EQ(all[i].all_cores_s, one.all_cores_s) << i;
    EXPECT_EQ(all[i].energy_j, one.energy_j) << i;
    EXPECT_GT(one.single_core_s, 0) << i;
    EXPECT_GT(one.energy_j, 0) << i;
  }
  // The two implementations disagree on the same GEMM: each is really itself.
  CostOptions other = options;
  other.mode = GetParam() == CostMode::kCompat ? CostMode::kImproved : CostMode::kCompat;
  EXPECT_NE(MakeCostModel(other)->Cost(ops[0], a).single_core_s, all[0].single_core_s);
}

INSTANTIATE_TEST_SUITE_P(BothModes, CostPropertyTest,
                         ::testing::Values(CostMode::kImproved, CostMode::kCompat));

TEST(CostModelTest, IntraOpOnAllCoresIsNeverSlowerForComputeBoundGemms) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> log_dim(6, 13);
  for (int trial = 0; trial < 200; ++trial) {
    Architecture a = Tpu();
    a.num_tc = int64_t{1} << (trial % 7);
    a.tc_width = a.tc_depth = int64_t{1} << (2 + trial % 6);
    const Operator op =
        Gemm(int64_t{1} << log_dim(rng), int64_t{1} << log_dim(rng), int64_t{1} << log_dim(rng));
    const OpCost c = CostOperator(op, a, {});
    EXPECT_LE(c.all_cores_s, c.single_core_s * (1 + 1e-12)) << a.Describe();
  }
}

// The original's Sunstone cycles for five GEMMs (reference section 4.2). Our compat mapper picks
// the minimum-latency mapping; the table's mappings were picked by energy-delay with placeholder
// energies, so some cells differ. This test prints the comparison and bounds the error.
TEST(CostModelTest, CompatModeTracksTheSunstoneTable) {
  struct Cell {
    int64_t cores, dim;
    int64_t glb_mib;
    int64_t rows, red, cols;
    double sunstone;
  };
  const std::vector<Cell> cells = {
      {1, 128, 128, 512, 1024, 3072, 122880},     {1, 128, 128, 512, 4096, 1024, 188416},
      {1, 128, 128, 2048, 2048, 128, 131072},     {1, 128, 128, 8192, 12288, 3072, 27918336},
      {1, 128, 128, 1024, 1024, 3072, 245760},    {8, 128, 128, 512, 1024, 3072, 122880},
      {8, 128, 128, 512, 4096, 1024, 188416},     {8, 128, 128, 2048, 2048, 128, 131072},
      {8, 128, 128, 8192, 12288, 3072, 27918336}, {8, 128, 128, 1024, 1024, 3072, 245760},
      {2, 256, 64, 512, 1024, 3072, 122880},      {2, 256, 64, 512, 4096, 1024, 122880},
      {2, 256, 64, 2048, 2048, 128, 81920},       {2, 256, 64, 8192, 12288, 3072, 13762560},
      {64, 32, 32, 512, 1024, 3072, 565248},      {64, 32, 32, 512, 4096, 1024, 778240},
      {64, 32, 32, 2048, 2048, 128, 192512},      {64, 32, 32, 8192, 12288, 3072, 112852992},
      {1024, 8, 16, 512, 1024, 3072, 2334720},    {1024, 8, 16, 512, 4096, 1024, 3137536},
      {1024, 8, 16, 2048, 2048, 128, 782336},     {1024, 8, 16, 8192, 12288, 3072, 452591616},
      {4, 64, 8, 512, 1024, 3072, 270336},        {4, 64, 8, 512, 4096, 1024, 385024},
      {4, 64, 8, 2048, 2048, 128, 126976},        {4, 64, 8, 8192, 12288, 3072, 56229888},
      {1, 32, 32, 1024, 1024, 3072, 3145728},     {16, 32, 32, 1024, 1024, 3072, 1130496},
  };
  int within15 = 0;
  double worst = 0;
  for (const Cell& c : cells) {
    const int64_t l1_words = std::max<int64_t>(1024, c.dim * c.dim * 16);
    const double ours =
        CompatGemmCycles(c.rows, c.red, c.cols, c.cores, c.dim, c.dim, l1_words, c.glb_mib * kMiB);
    const double ratio = ours / c.sunstone;
    within15 += std::abs(ratio - 1) <= 0.15 ? 1 : 0;
    if (std::abs(ratio - 1) > 0.15) {
      EXPECT_LT(ratio, 1.0);
    }
    worst = std::max(worst, std::abs(std::log(ratio)));
    std::printf(
        "%5lld x %3lld^2 %3lld MiB  %5lld x %5lld -> %5lld  sunstone %10.0f  ours %10.0f  "
        "ratio %.3f\n",
        static_cast<long long>(c.cores), static_cast<long long>(c.dim),
        static_cast<long long>(c.glb_mib), static_cast<long long>(c.rows),
        static_cast<long long>(c.red), static_cast<long long>(c.cols), c.sunstone, ours, ratio);
  }
  std::printf("compat mapper: %d of %zu cells within 15%%, worst ratio %.2fx\n", within15,
              cells.size(), std::exp(worst));
  // Where a cell is off by more than 15%, ours is the faster mapping: Sunstone minimised
  // energy x delay, we minimise latency.
  EXPECT_GE(within15, 25);
  EXPECT_LT(std::exp(worst), 1.7);
}

}  // namespace
}  // namespace phaze::cost
