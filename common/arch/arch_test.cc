#include "common/arch/arch.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <tuple>

#include "gtest/gtest.h"

namespace phaze::arch {
namespace {

TEST(AreaModelTest, TpuV4LikeChipMatchesTheOriginal) {
  const Architecture tpu = *FindPreset("tpuv4");
  EXPECT_NEAR(AreaUm2(tpu), 278'826'676.31, 1.0);
}

TEST(AreaModelTest, ReproducesEveryShippedTableEntry) {
  const std::map<int64_t, double> l2 = {{1, 6133.98},  {2, 8248.43},  {4, 12610.5},   {8, 22139.9},
                                        {16, 38583.0}, {32, 63338.4}, {64, 115579},   {128, 204764},
                                        {256, 446565}, {512, 897890}, {1024, 1634130}};
  for (const auto& [kib, area] : l2) EXPECT_DOUBLE_EQ(L2AreaUm2(kib * kKiB), area) << kib;
  const std::map<int64_t, double> glb = {{2, 3338220},    {4, 6078640},   {8, 11952400},
                                         {16, 23745200},  {32, 46750900}, {64, 88605700},
                                         {128, 175423000}};
  for (const auto& [mib, area] : glb) EXPECT_DOUBLE_EQ(GlbAreaUm2(mib * kMiB), area) << mib;
  // Between entries the interpolation is monotone.
  EXPECT_GT(GlbAreaUm2(3 * kMiB), GlbAreaUm2(2 * kMiB));
  EXPECT_LT(GlbAreaUm2(3 * kMiB), GlbAreaUm2(4 * kMiB));
}

TEST(AreaModelTest, SingleConfigsByHand) {
  // 1 TC 2x2 (L2 = 1 KiB), 1 VC 2 lanes (1 KiB), 2 MiB GLB.
  Architecture a;
  a.num_tc = 1;
  a.tc_width = 2;
  a.tc_depth = 2;
  a.num_vc = 1;
  a.vc_width = 2;
  a.glb_bytes = 2 * kMiB;
  const double expected = 4 * 760.041386 + 6133.98 + 2 * 759.823853 + 6133.98 + 3338220;
  EXPECT_NEAR(AreaUm2(a), expected, 1e-6);
}

TEST(ArchSpaceTest, OriginalSpaceHasTheOriginalsCounts) {
  const ArchSpace space(OriginalSpaceSpec());
  EXPECT_EQ(space.Size(), 75'712);
  int64_t valid = 0, single = 0;
  std::set<int64_t> buckets;
  std::set<std::tuple<int64_t, int64_t, int64_t, int64_t>> tc_keys;
  std::set<std::tuple<int64_t, int64_t, int64_t>> vc_keys;
  for (int64_t i = 0; i < space.Size(); ++i) {
    const ArchCandidate c = space.At(i);
    if (!c.valid) continue;
    ++valid;
    if (c.arch.num_tc == 1 || c.arch.num_vc == 1) ++single;
    buckets.insert(static_cast<int64_t>(std::floor(c.area_um2 / 10'000)));
    tc_keys.insert({c.arch.num_tc, c.arch.tc_width, c.arch.tc_depth, c.arch.glb_bytes});
    vc_keys.insert({c.arch.num_vc, c.arch.vc_width, c.arch.glb_bytes});
  }
  EXPECT_EQ(valid, 29'360);
  EXPECT_EQ(space.CountValid(), 29'360);
  EXPECT_EQ(single, 9'308);
  EXPECT_EQ(buckets.size(), 13'506u);  // the original's 0.01 mm^2 buckets
  EXPECT_EQ(tc_keys.size(), 4'186u);
  EXPECT_EQ(vc_keys.size(), 697u);
}

TEST(ArchSpaceTest, OrderIsDescendingWithGlbFastest) {
  const ArchSpace space(OriginalSpaceSpec());
  const ArchCandidate first = space.At(0);
  EXPECT_EQ(first.arch.num_tc, 4096);
  EXPECT_EQ(first.arch.glb_bytes, 128 * kMiB);
  const ArchCandidate second = space.At(1);
  EXPECT_EQ(second.arch.glb_bytes, 64 * kMiB);
  EXPECT_EQ(second.arch.tc_depth, first.arch.tc_depth);
  const ArchCandidate last = space.At(space.Size() - 1);
  EXPECT_EQ(last.arch.num_tc, 1);
  EXPECT_EQ(last.arch.tc_width, 2);
  EXPECT_EQ(last.arch.glb_bytes, 2 * kMiB);
  // At() is a pure function of the index: a retried shard replays the same chips.
  EXPECT_EQ(space.At(12345).arch.Describe(), space.At(12345).arch.Describe());
}

TEST(ArchSpaceTest, TheTpuV4ChipIsTheLargestValidPoint) {
  const ArchSpace space(OriginalSpaceSpec());
  double largest = 0;
  ArchCandidate best;
  for (int64_t i = 0; i < space.Size(); ++i) {
    const ArchCandidate c = space.At(i);
    if (c.valid && c.area_um2 > largest) {
      largest = c.area_um2;
      best = c;
    }
  }
  EXPECT_EQ(best.arch.Describe(), FindPreset("tpuv4")->Describe());
}

TEST(ArchSpaceTest, ValidationNamesTheField) {
  ArchSpaceSpec s = OriginalSpaceSpec();
  s.tc_width = {0, 4};
  absl::Status st = ValidateSpaceSpec(s);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("tc_width"), std::string::npos);
  Architecture a = *FindPreset("tpuv4");
  a.num_vc = -1;
  EXPECT_NE(ValidateArchitecture(a).message().find("num_vc"), std::string::npos);
  EXPECT_EQ(FindPreset("tpuv9").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace phaze::arch
