#include "common/arch/chip_model.h"

#include <cmath>

#include "gtest/gtest.h"

namespace phaze::arch {
namespace {

Architecture TpuV4Like() { return FindPreset("tpuv4").value(); }

TEST(ChipModelTest, NodesAndStacksAreLookedUpOrRefusedByName) {
  const TechNode n7 = FindTechNode(7).value();
  EXPECT_EQ(n7.logic_density, 1.0);
  EXPECT_EQ(n7.energy, 1.0);
  EXPECT_NEAR(FindTechNode(5)->sram_density, 0.027 / 0.021, 1e-12);
  const absl::Status bad = FindTechNode(8).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("8 nm"), std::string::npos) << bad.message();
  EXPECT_EQ(FindHbmStack("hbm4").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChipModelTest, StacksCoverBothBandwidthAndCapacity) {
  const HbmStackType hbm2 = FindHbmStack("hbm2").value();  // 8 GiB, 307.2 GB/s
  EXPECT_EQ(HbmStacksFor(1.2e12, 32 * kGiB, hbm2), 4);     // 3.9 -> 4 for bandwidth
  EXPECT_EQ(HbmStacksFor(1.2e12, 80 * kGiB, hbm2), 10);    // capacity decides
  EXPECT_EQ(HbmStacksFor(307.2e9, 0, hbm2), 1);
  EXPECT_EQ(HbmStacksFor(1.0, 1, hbm2), 1);
}

// The TPUv4-like chip at N7 with 32 GiB, every term by hand from the constants.
TEST(ChipModelTest, TheTpuV4LikeChipTermByTerm) {
  const ChipCost c = EstimateChip(TpuV4Like(), 32 * kGiB).value();
  // One port per core: 8 arrays x 2 x (128 + 128) B + 2 vector cores x 4 x 128 B = 5,120 B per
  // cycle = 80 banks of 64 B.
  EXPECT_EQ(c.glb_banks, 80);
  EXPECT_NEAR(c.area.glb_ports_mm2, 80 * 0.1, 1e-9);
  EXPECT_NEAR(c.area.noc_mm2, 10 * 0.1, 1e-9);
  EXPECT_EQ(c.hbm_stacks, 4);
  EXPECT_NEAR(c.area.hbm_mm2, 4 * (10.45 + 5.707), 1e-9);
  EXPECT_NEAR(c.area.links_mm2, 0.3, 1e-12);  // 4 GiB/s: one 50 Gb/s lane
  EXPECT_NEAR(c.area.uncore_mm2, 30, 1e-12);
  // MACs and lanes at TPU v4i's placed MAC area (100 mm^2 / 65,536); SRAM by the original's
  // tables at 22 nm, scaled to N7 by x 0.027 / 0.070.
  const Architecture a = TpuV4Like();
  const double sram_um2 = 8 * L2AreaUm2(a.TcL2Bytes()) + 2 * L2AreaUm2(a.VcL2Bytes());
  const double mac_um2 = 100e6 / 65536;
  EXPECT_NEAR(c.area.cores_mm2, ((131072 + 256) * mac_um2 + sram_um2 * 0.027 / 0.070) / 1e6, 1e-9);
  EXPECT_NEAR(c.area.glb_mm2, GlbAreaUm2(a.glb_bytes) * 0.027 / 0.070 / 1e6, 1e-9);
  const double sum = c.area.cores_mm2 + c.area.glb_mm2 + c.area.glb_ports_mm2 + c.area.noc_mm2 +
                     c.area.hbm_mm2 + c.area.links_mm2 + c.area.uncore_mm2;
  EXPECT_NEAR(c.area.total_mm2, sum, 1e-9);
  // Peak power: 131,072 MACs x 1.05 GHz x 0.5 pJ; 256 lanes x 0.3 pJ; 5,120 B/cycle x 1 pJ;
  // 1.2 TB/s of HBM x 30 pJ/B; the link's 4 GiB/s x 10 pJ/B; 0.05 W/mm^2.
  EXPECT_NEAR(c.power.tensor_w, 131072 * 1.05e9 * 0.5e-12, 1e-9);
  EXPECT_NEAR(c.power.vector_w, 256 * 1.05e9 * 0.3e-12, 1e-12);
  EXPECT_NEAR(c.power.glb_w, 5120 * 1.05e9 * 1e-12, 1e-9);
  EXPECT_NEAR(c.power.hbm_w, 36.0, 1e-9);
  EXPECT_NEAR(c.power.links_w, 4.0 * kGiB * 10e-12, 1e-12);
  EXPECT_NEAR(c.power.leakage_w, c.area.total_mm2 * 0.05, 1e-9);
  // A die of about 370 mm^2 (19 mm a side) has edge for 2 stacks on each of 2 sides.
  EXPECT_GT(c.area.total_mm2, 256.0);
  EXPECT_LT(c.area.total_mm2, 576.0);
  EXPECT_EQ(c.max_hbm_stacks, 4);
  EXPECT_TRUE(c.fits_shoreline);
}

// No free lunch: buying more of any resource never makes the chip smaller or cooler.
TEST(ChipModelTest, MoreOfAnyResourceNeverCostsLess) {
  const Architecture base = TpuV4Like();
  const ChipCost c0 = EstimateChip(base, 32 * kGiB).value();
  auto no_cheaper = [&](const Architecture& a, int64_t hbm, const char* what) {
    const ChipCost c = EstimateChip(a, hbm).value();
    EXPECT_GT(c.area.total_mm2, c0.area.total_mm2) << what;
    EXPECT_GE(c.power.total_w, c0.power.total_w) << what;
  };
  no_cheaper(base, 80 * kGiB, "HBM capacity");
  Architecture a = base;
  a.hbm_bandwidth_bytes_per_s *= 2;
  no_cheaper(a, 32 * kGiB, "HBM bandwidth");
  a = base;
  a.glb_bandwidth_bytes_per_s = 4 * 5120 * a.clock_hz;
  no_cheaper(a, 32 * kGiB, "GLB bandwidth");
  a = base;
  a.link_bandwidth_bytes_per_s = 300e9;
  no_cheaper(a, 32 * kGiB, "link bandwidth");
  a = base;
  a.num_tc *= 2;
  no_cheaper(a, 32 * kGiB, "tensor cores");
  // Many small arrays fed by their own ports pay for the ports and the network: 4,096 8x8
  // arrays (the same MACs as 16 128x128 ones) need 128 KiB per cycle of GLB bandwidth.
  a = base;
  a.num_tc = 4096;
  a.tc_width = a.tc_depth = 8;
  const ChipCost many = EstimateChip(a, 32 * kGiB).value();
  EXPECT_EQ(many.glb_banks, (4096 * 2 * 16 + 2 * 4 * 128) / 64);
  EXPECT_GT(many.area.glb_ports_mm2 + many.area.noc_mm2, 200.0);
}

// Absurd bandwidths (a job may name them) give saturated counts, not undefined casts.
TEST(ChipModelTest, AbsurdBandwidthsSaturate) {
  Architecture a = TpuV4Like();
  a.link_bandwidth_bytes_per_s = 1e300;
  a.hbm_bandwidth_bytes_per_s = 1e300;
  a.glb_bandwidth_bytes_per_s = 1e300;
  const ChipCost c = EstimateChip(a, 32 * kGiB).value();
  EXPECT_EQ(c.hbm_stacks, int64_t{1} << 53);
  EXPECT_EQ(c.glb_banks, int64_t{1} << 53);
  EXPECT_TRUE(std::isfinite(c.area.total_mm2));
  EXPECT_FALSE(c.fits_shoreline);
}

// A die whose logic is too small for its stacks' edge is padded to the smallest square that
// takes them, and the pad costs area but no leakage.
TEST(ChipModelTest, ADieTooSmallForItsStacksIsPaddedToTheirEdge) {
  Architecture a = TpuV4Like();
  const ChipCost c = EstimateChip(a, 256 * kGiB).value();  // 32 HBM2 stacks
  EXPECT_EQ(c.hbm_stacks, 32);
  const double logic_mm2 = c.area.cores_mm2 + c.area.glb_mm2 + c.area.glb_ports_mm2 +
                           c.area.noc_mm2 + c.area.hbm_mm2 + c.area.links_mm2 + c.area.uncore_mm2;
  EXPECT_EQ(c.max_hbm_stacks, 2 * static_cast<int64_t>(std::sqrt(logic_mm2) / 8.0));
  EXPECT_FALSE(c.fits_shoreline);
  // 16 stacks on each of 2 sides at 8 mm: a 128 mm square.
  EXPECT_NEAR(c.area.total_mm2, 128.0 * 128.0, 1e-6);
  EXPECT_NEAR(c.area.shoreline_pad_mm2, 128.0 * 128.0 - logic_mm2, 1e-6);
  EXPECT_NEAR(c.power.leakage_w, logic_mm2 * 0.05, 1e-9);
  EXPECT_GE(MaxHbmStacks(c.area.total_mm2, DefaultChipCostConstants()), 32);
  EXPECT_FALSE(c.fits_reticle);  // 16,384 mm^2: no scanner prints it
  // A die that carries its stacks has no pad.
  const ChipCost fits = EstimateChip(a, 32 * kGiB).value();
  EXPECT_TRUE(fits.fits_shoreline);
  EXPECT_EQ(fits.area.shoreline_pad_mm2, 0.0);
  EXPECT_TRUE(fits.fits_reticle);
}

// The padded die is the smallest that takes the stacks, for every count: its edge takes them,
// and 1% less would not (whenever a smaller die could not).
TEST(ChipModelTest, DieAreaForStacksIsTheSmallestThatTakesThem) {
  const ChipCostConstants c = DefaultChipCostConstants();
  for (int64_t n = 1; n <= 64; ++n) {
    const double die_mm2 = DieAreaForStacksMm2(n, c);
    EXPECT_GE(MaxHbmStacks(die_mm2, c), n) << n;
    EXPECT_LT(MaxHbmStacks(die_mm2 * 0.99, c), n) << n;
  }
  EXPECT_NEAR(DieAreaForStacksMm2(6, c), 24.0 * 24.0, 1e-9);  // 3 a side: GA100's 6 sites
}

// More HBM never costs less, padded or not: the die only grows with its stacks.
TEST(ChipModelTest, MoreStacksNeverShrinkThePaddedDie) {
  const Architecture a = TpuV4Like();
  double last_mm2 = 0, last_w = 0;
  for (int64_t gib = 8; gib <= 512; gib += 8) {
    const ChipCost c = EstimateChip(a, gib * kGiB).value();
    EXPECT_GE(c.area.total_mm2, last_mm2) << gib;
    EXPECT_GE(c.power.total_w, last_w) << gib;
    last_mm2 = c.area.total_mm2;
    last_w = c.power.total_w;
  }
}

TEST(ChipModelTest, ANewerNodeShrinksLogicAndSramButNotPhys) {
  const ChipCostConstants n7 = DefaultChipCostConstants();
  ChipCostConstants n5 = n7;
  n5.node_nm = 5;
  const Architecture a = TpuV4Like();
  const ChipCost c7 = Estimate(ResourcesOf(a, 32 * kGiB, n7).value(), n7);
  const ChipCost c5 = Estimate(ResourcesOf(a, 32 * kGiB, n5).value(), n5);
  const double sram_um2 = 8 * L2AreaUm2(a.TcL2Bytes()) + 2 * L2AreaUm2(a.VcL2Bytes());
  EXPECT_NEAR(c5.area.cores_mm2,
              ((131072 + 256) * 100e6 / 65536 / 1.8 + sram_um2 * 0.021 / 0.070) / 1e6, 1e-9);
  EXPECT_NEAR(c5.area.glb_mm2, c7.area.glb_mm2 * 0.021 / 0.027, 1e-9);
  EXPECT_NEAR(c5.area.hbm_mm2, 4 * (10.45 + 5.707 / 1.8), 1e-9);
  EXPECT_NEAR(c5.power.tensor_w, 0.7 * c7.power.tensor_w, 1e-9);
  EXPECT_EQ(c5.power.hbm_w, c7.power.hbm_w);
}

TEST(ChipModelTest, PublishedChipsAreFullDiesWithTheirDatasheetFigures) {
  const std::vector<PublishedChip> chips = PublishedChips();
  ASSERT_EQ(chips.size(), 3u);
  const ChipCostConstants c = DefaultChipCostConstants();
  for (const PublishedChip& chip : chips) {
    const ChipCost cost = Estimate(chip.resources, c);
    EXPECT_GT(cost.area.total_mm2, 0) << chip.resources.name;
    // Each published die carries its stacks along its edge.
    EXPECT_LE(chip.resources.hbm_stacks, MaxHbmStacks(chip.die_mm2, c)) << chip.resources.name;
  }
  // A100: 6 HBM sites, dense FP16 peak 128 SMs x 1,024 FMAs.
  const ChipCost a100 = Estimate(chips[0].resources, c);
  EXPECT_NEAR(a100.area.hbm_mm2, 6 * (10.45 + 5.707), 1e-9);
  EXPECT_NEAR(a100.power.tensor_w, 128 * 1024 * 1.41e9 * 0.5e-12, 1e-9);
  EXPECT_EQ(chips[1].resources.link_lanes, 72);  // 450 GB/s in 50 Gb/s lanes
}

}  // namespace
}  // namespace phaze::arch

namespace phaze::arch {
namespace {

// A space of the TPUv4-like chip alone, for the chip resources to be added to.
ArchSpaceSpec TpuV4LikeAlone() {
  ArchSpaceSpec spec;
  spec.num_tc = {8};
  spec.num_vc = {2};
  spec.tc_width = spec.tc_depth = {128};
  spec.glb_bytes = {128 * kMiB};
  spec.max_area_um2 = AreaUm2(TpuV4Like());
  spec.base = TpuV4Like();
  return spec;
}

// The chip resources a space may buy: each sets the chip parameter it provides, a space that
// lists none numbers its chips as before, and the size is the product.
TEST(ArchSpaceResourcesTest, EachResourceSetsWhatItProvides) {
  ArchSpaceSpec spec = TpuV4LikeAlone();
  spec.base.hbm_stack = "hbm2e";
  const ArchSpace plain(spec);
  spec.glb_banks = {16, 64};
  spec.hbm_stacks = {2, 6};
  spec.link_ports = {4};
  spec.scale_up_domain = {8, 64};
  ASSERT_TRUE(ValidateSpaceSpec(spec).ok());
  const ArchSpace space(spec);
  EXPECT_EQ(plain.Size(), 1);
  EXPECT_EQ(space.Size(), 2 * 2 * 1 * 2);
  // Fastest first: domain, ports, stacks, banks (each sorted descending).
  const ArchCandidate c0 = space.At(0);
  EXPECT_EQ(c0.arch.scale_up_domain, 64);
  EXPECT_EQ(c0.arch.link_bandwidth_bytes_per_s, 4 * 25e9);
  EXPECT_EQ(c0.arch.hbm_stacks, 6);
  EXPECT_EQ(c0.arch.hbm_bandwidth_bytes_per_s, 6 * 409.6e9);
  EXPECT_EQ(c0.arch.glb_bandwidth_bytes_per_s, 64 * 64 * c0.arch.clock_hz);
  const ArchCandidate c7 = space.At(7);
  EXPECT_EQ(c7.arch.scale_up_domain, 8);
  EXPECT_EQ(c7.arch.hbm_stacks, 2);
  EXPECT_EQ(c7.arch.glb_bandwidth_bytes_per_s, 16 * 64 * c7.arch.clock_hz);
  // The chip model charges what the point bought: 16 banks, 2 stacks, 4 ports of 4 lanes.
  const ChipCost cost = EstimateChip(c7.arch, 0).value();
  EXPECT_EQ(cost.glb_banks, 16);
  EXPECT_EQ(cost.hbm_stacks, 2);
  EXPECT_NEAR(cost.area.links_mm2, 16 * 0.3, 1e-9);
  // Bad resource values are refused naming the field.
  spec.hbm_stacks = {0};
  EXPECT_NE(ValidateSpaceSpec(spec).message().find("hbm_stacks"), std::string::npos);
  spec.hbm_stacks = {2};
  spec.base.hbm_stack = "hbm9";
  EXPECT_NE(ValidateSpaceSpec(spec).message().find("hbm_stack"), std::string::npos);
}

// The HBM generation as a dimension: the fastest, in the job's order; with hbm_stacks a point's
// bandwidth is its stacks of its type, and the chip model bills that type's stacks.
TEST(ArchSpaceResourcesTest, TheStackTypeIsADimension) {
  ArchSpaceSpec spec = TpuV4LikeAlone();
  spec.hbm_stacks = {2, 4};
  spec.hbm_stack_types = {"hbm2e", "hbm3"};
  ASSERT_TRUE(ValidateSpaceSpec(spec).ok()) << ValidateSpaceSpec(spec);
  const ArchSpace space(spec);
  ASSERT_EQ(space.Size(), 4);
  const Architecture a = space.At(0).arch, b = space.At(1).arch, c = space.At(2).arch;
  EXPECT_EQ(a.hbm_stack, "hbm2e");
  EXPECT_EQ(a.hbm_stacks, 4);
  EXPECT_EQ(a.hbm_bandwidth_bytes_per_s, 4 * 409.6e9);
  EXPECT_EQ(b.hbm_stack, "hbm3");
  EXPECT_EQ(b.hbm_stacks, 4);
  EXPECT_EQ(b.hbm_bandwidth_bytes_per_s, 4 * 819.2e9);
  EXPECT_EQ(c.hbm_stack, "hbm2e");
  EXPECT_EQ(c.hbm_stacks, 2);
  // The faster stacks of the same count draw more HBM power.
  EXPECT_GT(EstimateChip(b, 0)->power.hbm_w, EstimateChip(a, 0)->power.hbm_w);
  spec.hbm_stack_types = {"hbm3", "hbm9"};
  EXPECT_NE(ValidateSpaceSpec(spec).message().find("space.hbm_stack[1]"), std::string::npos);
  spec.hbm_stack_types = {"hbm3", "hbm3"};
  EXPECT_NE(ValidateSpaceSpec(spec).message().find("listed twice"), std::string::npos);
}

}  // namespace
}  // namespace phaze::arch
