#include "common/arch/chip_model.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace phaze::arch {
namespace {

constexpr double kUm2PerMm2 = 1e6;

// Placed area of one BF16 MAC (FP32 accumulation) in a systolic array at N7, wiring and the
// array's share of control included: TPU v4i's four 128x128 MXUs take about 100 mm^2 of its
// 7 nm die (Jouppi et al., ISCA 2021, floorplan; 0.72 mm^2 per BF16 TOPS as public accelerator
// cost models read it): 100 mm^2 / 65,536 MACs. A second die (TPU v4i), not one of
// PublishedChips, so A100 and H100 stay held out; TPU v4 shares the MXU design.
constexpr double kMacAreaUm2AtN7 = 100e6 / 65536.0;

// The original's area tables (AreaUm2) are CACTI and Accelergy output at a 22 nm-class setting
// (reference phaze-original.md section 3.3): the node they scale from.
constexpr int64_t kOriginalTablesNodeNm = 22;

// ceil(x) as a count, 0 for x <= 0 or NaN and saturating at 2^53 (a job may name absurd
// bandwidths; the cast of a larger double would be undefined).
int64_t CeilCount(double x) {
  if (!(x > 0)) return 0;
  return static_cast<int64_t>(std::ceil(std::min(x, 9007199254740992.0)));
}

// Lanes of `bandwidth` bytes/s per direction, each lane `lane_bits_per_s`.
int64_t LanesFor(double bandwidth_bytes_per_s, double lane_bits_per_s) {
  return CeilCount(bandwidth_bytes_per_s * 8.0 / lane_bits_per_s - 1e-9);
}

}  // namespace

absl::StatusOr<TechNode> FindTechNode(int64_t nm) {
  // Density and energy steps from TSMC's node announcements: 10FF 2x the logic density of 16FF+
  // and 40% less power; N7 1.6x 10FF and 40% less power; N5 1.8x N7 and 30% less power; N3 1.6x
  // N5 and 25-30% less power (0.7 used). 16FF+ is taken as dense as the 20 nm-class node of the
  // original's tables (FinFETs on the 20 nm metal stack): an assumption. SRAM: high-density
  // bitcell areas 0.070 (16 nm), 0.042 (10 nm), 0.027 (N7), 0.021 (N5), 0.0199 (N3) um^2
  // (TSMC's IEDM papers); the 20 nm class taken as 16 nm's. NVIDIA's 4N (H100) is an N5
  // derivative: N5's figures.
  struct Row {
    int64_t nm;
    double logic, sram, energy;
  };
  constexpr Row kRows[] = {
      {22, 1.0 / 3.2, 0.027 / 0.070, 1.0 / (0.6 * 0.6)},
      {16, 1.0 / 3.2, 0.027 / 0.070, 1.0 / (0.6 * 0.6)},
      {10, 1.0 / 1.6, 0.027 / 0.042, 1.0 / 0.6},
      {7, 1.0, 1.0, 1.0},
      {5, 1.8, 0.027 / 0.021, 0.7},
      {4, 1.8, 0.027 / 0.021, 0.7},
      {3, 1.8 * 1.6, 0.027 / 0.0199, 0.7 * 0.7},
  };
  for (const Row& r : kRows) {
    if (r.nm == nm) return TechNode{r.nm, r.logic, r.sram, r.energy};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("technology node ", nm, " nm: not modelled (22, 16, 10, 7, 5, 4, 3)"));
}

absl::StatusOr<HbmStackType> FindHbmStack(const std::string& name) {
  // JEDEC generations at the per-pin rates shipped on the chips of PublishedChips: HBM2 at
  // 2.4 Gb/s x 1,024 pins (TPU v4: 1.2 TB/s over 4 stacks), HBM2e at 3.2 Gb/s (A100-80GB:
  // 2,039 GB/s over 5 stacks), HBM3 at 6.4 Gb/s (JESD238's top rate; H100-SXM runs 5 stacks at
  // 3.35 TB/s, 670 GB/s each).
  if (name == "hbm2") return HbmStackType{"hbm2", 8 * kGiB, 307.2e9};
  if (name == "hbm2e") return HbmStackType{"hbm2e", 16 * kGiB, 409.6e9};
  if (name == "hbm3") return HbmStackType{"hbm3", 16 * kGiB, 819.2e9};
  return absl::InvalidArgumentError(
      absl::StrCat("HBM stack type '", name, "': unknown (hbm2, hbm2e, hbm3)"));
}

int64_t HbmStacksFor(double hbm_bandwidth_bytes_per_s, int64_t hbm_bytes, const HbmStackType& s) {
  const int64_t for_bandwidth =
      CeilCount(hbm_bandwidth_bytes_per_s / s.bandwidth_bytes_per_s - 1e-9);
  const int64_t for_capacity =
      (std::max<int64_t>(hbm_bytes, 0) + s.capacity_bytes - 1) / s.capacity_bytes;
  return std::max<int64_t>({1, for_bandwidth, for_capacity});
}

ChipCostConstants DefaultChipCostConstants() {
  ChipCostConstants c;
  c.node_nm = 7;
  c.mac_area_um2 = kMacAreaUm2AtN7;
  // A vector lane (an FP32 ALU with its register slice): taken as one MAC (assumption).
  c.lane_area_um2 = kMacAreaUm2AtN7;
  c.sram_area_scale = 1;
  c.hbm_stack = "hbm2";  // the TPUv4-like chip's (1.2 TB/s: 4 stacks)
  // A 1,024-bit HBM2e PHY and its controller at 7 nm, from annotated A100 and MI210 die photos
  // (Zhang et al., LLMCompass, ISCA 2024, table II: 10.45 and 5.707 mm^2). The PHY is analog
  // and keeps its area at other nodes; the controller scales as logic.
  c.hbm_phy_mm2 = 10.45;
  c.hbm_controller_mm2 = 5.707;
  // Die edge per stack: assumption, 8 mm (a PHY about 1.3 mm deep for its 10.45 mm^2). GA100
  // and GH100 place 3 stacks on each of two opposite sides of a ~29 mm die (10 mm would not fit
  // them), TPU v4 two per side: HBM on 2 of the 4 sides, the others for links and host I/O
  // (package photos).
  c.hbm_edge_mm = 8.0;
  c.hbm_edge_sides = 2;
  // GLB banks: assumption, one 64-byte (cache-line) port per bank; GA100's L2 delivers 5,120
  // bytes per clock (LLMCompass table IV), i.e. 80 such banks. A bank's port, sense amplifiers
  // and its share of the crossbar: 0.1 mm^2 at N7 (assumption).
  c.glb_bank_bytes_per_cycle = 64;
  c.glb_bank_port_mm2 = 0.1;
  // A scale-up port: one NVLink 3 link, 25 GB/s each way (A100 whitepaper: 12 links, 300 GB/s).
  c.link_port_bytes_per_s = 25e9;
  // On-chip network: one router port per core, 0.1 mm^2 at N7 (assumption).
  c.noc_port_mm2 = 0.1;
  // SerDes: NVLink 3 signals at 50 Gb/s per pair (A100 whitepaper); a lane (one pair each way)
  // of 0.3 mm^2 (assumption: published 50G-class 7 nm SerDes are 0.2-0.5 mm^2 per lane). Analog:
  // does not scale.
  c.serdes_lane_bits_per_s = 50e9;
  c.serdes_lane_mm2 = 0.3;
  // Host interface (PCIe x16), clocks, fuses, management: 30 mm^2 at N7 (assumption).
  c.uncore_mm2 = 30;
  // Leakage: 0.05 W per mm^2 at N7 and the junction temperatures of a loaded accelerator
  // (assumption).
  c.leakage_w_per_mm2 = 0.05;
  return c;
}

absl::StatusOr<ChipResources> ResourcesOf(const Architecture& a, int64_t hbm_bytes,
                                          const ChipCostConstants& c) {
  PHAZE_RETURN_IF_ERROR(FindTechNode(c.node_nm).status());
  absl::StatusOr<HbmStackType> stack = FindHbmStack(c.hbm_stack);
  if (!stack.ok()) return stack.status();
  ChipResources r;
  r.name = a.name.empty() ? a.Describe() : a.name;
  r.node_nm = c.node_nm;
  r.cores = a;
  r.clock_hz = a.clock_hz;
  r.glb_bytes_per_cycle = a.glb_bandwidth_bytes_per_s > 0
                              ? a.glb_bandwidth_bytes_per_s / a.clock_hz
                              : static_cast<double>(a.num_tc) * a.TcGlbPortBytesPerCycle() +
                                    static_cast<double>(a.num_vc) * a.VcGlbPortBytesPerCycle();
  r.hbm_stacks = a.hbm_stacks > 0 ? a.hbm_stacks
                                  : HbmStacksFor(a.hbm_bandwidth_bytes_per_s, hbm_bytes, *stack);
  r.hbm_bandwidth_bytes_per_s = a.hbm_bandwidth_bytes_per_s;
  const bool two_tier = a.scale_up_domain > 0 && a.scale_out_bandwidth_bytes_per_s > 0;
  r.link_bandwidth_bytes_per_s =
      a.link_bandwidth_bytes_per_s + (two_tier ? a.scale_out_bandwidth_bytes_per_s : 0.0);
  r.link_lanes =
      LanesFor(a.link_bandwidth_bytes_per_s, c.serdes_lane_bits_per_s) +
      (two_tier ? LanesFor(a.scale_out_bandwidth_bytes_per_s, c.serdes_lane_bits_per_s) : 0);
  return r;
}

ChipCost Estimate(const ChipResources& r, const ChipCostConstants& c) {
  // Callers pass nodes FindTechNode knows (ResourcesOf checks); N7 otherwise.
  const TechNode node = FindTechNode(r.node_nm).value_or(TechNode{});
  const TechNode tables = FindTechNode(kOriginalTablesNodeNm).value_or(TechNode{});
  const double sram_scale = c.sram_area_scale * tables.sram_density / node.sram_density;
  const double logic_n7 = 1.0 / node.logic_density;  // N7 figures at this node

  const Architecture& a = r.cores;
  ChipCost cost;
  AreaBreakdown& area = cost.area;
  // Cores: MACs and lanes at the placed MAC area (logic), their own SRAM by the original's table.
  const double tc_macs =
      static_cast<double>(a.num_tc) * static_cast<double>(a.tc_width * a.tc_depth);
  const double vc_lanes = static_cast<double>(a.num_vc) * static_cast<double>(a.vc_width);
  const double core_sram_um2 = static_cast<double>(a.num_tc) * L2AreaUm2(a.TcL2Bytes()) +
                               static_cast<double>(a.num_vc) * L2AreaUm2(a.VcL2Bytes());
  const double core_logic_um2 = (tc_macs * c.mac_area_um2 + vc_lanes * c.lane_area_um2) * logic_n7;
  area.cores_mm2 = (core_logic_um2 + core_sram_um2 * sram_scale) / kUm2PerMm2;
  // GLB capacity by the GLB table; SRAM beyond it (register files, L1) at the GLB's density.
  const double glb_um2 = GlbAreaUm2(a.glb_bytes);
  const double extra_um2 = r.extra_sram_bytes > 0 ? glb_um2 / static_cast<double>(a.glb_bytes) *
                                                        static_cast<double>(r.extra_sram_bytes)
                                                  : 0.0;
  area.glb_mm2 = (glb_um2 + extra_um2) * sram_scale / kUm2PerMm2;
  cost.glb_banks =
      std::max<int64_t>(1, CeilCount(r.glb_bytes_per_cycle / c.glb_bank_bytes_per_cycle - 1e-9));
  area.glb_ports_mm2 = static_cast<double>(cost.glb_banks) * c.glb_bank_port_mm2 * logic_n7;
  area.noc_mm2 = static_cast<double>(a.num_tc + a.num_vc) * c.noc_port_mm2 * logic_n7;
  area.hbm_mm2 =
      static_cast<double>(r.hbm_stacks) * (c.hbm_phy_mm2 + c.hbm_controller_mm2 * logic_n7);
  area.links_mm2 = static_cast<double>(r.link_lanes) * c.serdes_lane_mm2;
  area.uncore_mm2 = c.uncore_mm2 * logic_n7;
  const double logic_mm2 = area.cores_mm2 + area.glb_mm2 + area.glb_ports_mm2 + area.noc_mm2 +
                           area.hbm_mm2 + area.links_mm2 + area.uncore_mm2;

  cost.hbm_stacks = r.hbm_stacks;
  cost.max_hbm_stacks = MaxHbmStacks(logic_mm2, c);
  cost.fits_shoreline = r.hbm_stacks <= cost.max_hbm_stacks;
  // A die too small for its stacks' edge grows until they fit (pad-limited): more stacks than
  // the logic's edge carries are not free.
  area.shoreline_pad_mm2 =
      cost.fits_shoreline ? 0.0 : std::max(0.0, DieAreaForStacksMm2(r.hbm_stacks, c) - logic_mm2);
  area.total_mm2 = logic_mm2 + area.shoreline_pad_mm2;
  cost.fits_reticle = area.total_mm2 <= kReticleMm2;

  PowerBreakdown& power = cost.power;
  const EnergyModel& e = c.energy;
  power.tensor_w = tc_macs * r.clock_hz * e.mac_j * node.energy;
  power.vector_w = vc_lanes * r.clock_hz * e.vector_op_j * node.energy;
  power.glb_w = r.glb_bytes_per_cycle * r.clock_hz * e.glb_byte_j * node.energy;
  power.hbm_w = r.hbm_bandwidth_bytes_per_s * e.hbm_byte_j;  // DRAM energy: not the die's node
  power.links_w = r.link_bandwidth_bytes_per_s * e.link_byte_j;
  power.leakage_w = logic_mm2 * c.leakage_w_per_mm2;  // the pad is whitespace
  power.total_w =
      power.tensor_w + power.vector_w + power.glb_w + power.hbm_w + power.links_w + power.leakage_w;
  return cost;
}

double TrainingPowerW(const ChipCost& c, double dynamic_j_per_s) {
  return dynamic_j_per_s + c.power.leakage_w;
}

int64_t MaxHbmStacks(double die_mm2, const ChipCostConstants& c) {
  const double side_mm = std::sqrt(std::max(die_mm2, 0.0));
  // The 1e-9 keeps DieAreaForStacksMm2's square root of a square from rounding a stack away.
  return static_cast<int64_t>(c.hbm_edge_sides) *
         static_cast<int64_t>(std::min(side_mm / c.hbm_edge_mm * (1 + 1e-9), 4503599627370496.0));
}

double DieAreaForStacksMm2(int64_t stacks, const ChipCostConstants& c) {
  const double per_side = std::ceil(static_cast<double>(std::max<int64_t>(stacks, 0)) /
                                    std::max(c.hbm_edge_sides, 1.0));
  const double side_mm = per_side * c.hbm_edge_mm;
  return side_mm * side_mm;
}

ChipCostConstants Scaled(ChipCostConstants c, const ChipModelScales& s) {
  c.mac_area_um2 *= s.mac_area;
  c.lane_area_um2 *= s.mac_area;
  c.sram_area_scale *= s.sram_area;
  c.glb_bank_port_mm2 *= s.glb_bank_port;
  c.noc_port_mm2 *= s.noc_port;
  c.hbm_phy_mm2 *= s.hbm_interface;
  c.hbm_controller_mm2 *= s.hbm_interface;
  c.hbm_edge_mm *= s.hbm_edge;
  c.serdes_lane_mm2 *= s.serdes_lane;
  c.uncore_mm2 *= s.uncore;
  c.leakage_w_per_mm2 *= s.leakage;
  return c;
}

ChipCostConstants ChipCostConstantsFor(const Architecture& arch, const ChipModelScales& s) {
  ChipCostConstants c = Scaled(DefaultChipCostConstants(), s);
  c.node_nm = arch.tech_node_nm;
  c.hbm_stack = arch.hbm_stack;
  return c;
}

absl::StatusOr<ChipCost> EstimateChip(const Architecture& arch, int64_t hbm_bytes,
                                      const ChipModelScales& scales) {
  const ChipCostConstants c = ChipCostConstantsFor(arch, scales);
  absl::StatusOr<ChipResources> r = ResourcesOf(arch, hbm_bytes, c);
  if (!r.ok()) return r.status();
  return Estimate(*r, c);
}

std::vector<PublishedChip> PublishedChips() {
  std::vector<PublishedChip> chips;
  {
    // GA100 as the NVIDIA A100 Tensor Core GPU Architecture whitepaper describes the full die:
    // 128 SMs (108 enabled on A100), each with 4 tensor cores of 256 dense FP16 FMAs per clock
    // (modelled as 16x16 arrays) and 64 FP32 lanes, 256 KB of registers and 192 KB of L1/shared
    // memory; 48 MB of L2 (40 MB enabled) delivering 5,120 B per clock (LLMCompass table IV);
    // 6 HBM2e sites (5 used, 2,039 GB/s); 12 NVLink 3 links of 4 x 50 Gb/s pairs each way;
    // 1.41 GHz. TSMC N7, 826 mm^2, 400 W (A100-SXM4-80GB datasheet).
    PublishedChip c;
    ChipResources& r = c.resources;
    r.name = "A100-SXM4 (GA100)";
    r.node_nm = 7;
    r.cores.num_tc = 512;
    r.cores.tc_width = 16;
    r.cores.tc_depth = 16;
    r.cores.num_vc = 128;
    r.cores.vc_width = 64;
    r.cores.glb_bytes = 48 * kMiB;
    r.extra_sram_bytes = 128 * 448 * kKiB;
    r.glb_bytes_per_cycle = 5120;
    r.clock_hz = 1.41e9;
    r.hbm_stacks = 6;
    r.hbm_bandwidth_bytes_per_s = 2039e9;
    r.link_lanes = 12 * 4;
    r.link_bandwidth_bytes_per_s = 300e9;
    c.die_mm2 = 826;
    c.tdp_w = 400;
    c.source = "NVIDIA A100 whitepaper and datasheet";
    chips.push_back(c);
  }
  {
    // GH100 as the NVIDIA H100 Tensor Core GPU Architecture whitepaper describes the full die:
    // 144 SMs (132 on H100-SXM5), each with 4 tensor cores of 512 dense FP16 FMAs per clock
    // (16x32 arrays) and 128 FP32 lanes, 256 KB of registers and 256 KB of L1/shared memory;
    // 60 MB of L2 (50 MB enabled), 5,120 B per clock taken as GA100's; 6 HBM3 sites (5 used,
    // 3.35 TB/s); 18 NVLink 4 links, 450 GB/s each way (counted as 50 Gb/s lanes); 1.83 GHz (the
    // clock of the datasheet's 989 dense BF16 TFLOP/s). TSMC 4N, 814 mm^2, 700 W.
    PublishedChip c;
    ChipResources& r = c.resources;
    r.name = "H100-SXM5 (GH100)";
    r.node_nm = 4;
    r.cores.num_tc = 576;
    r.cores.tc_width = 16;
    r.cores.tc_depth = 32;
    r.cores.num_vc = 144;
    r.cores.vc_width = 128;
    r.cores.glb_bytes = 60 * kMiB;
    r.extra_sram_bytes = 144 * 512 * kKiB;
    r.glb_bytes_per_cycle = 5120;
    r.clock_hz = 1.83e9;
    r.hbm_stacks = 6;
    r.hbm_bandwidth_bytes_per_s = 3.35e12;
    r.link_lanes = LanesFor(450e9, 50e9);
    r.link_bandwidth_bytes_per_s = 450e9;
    c.die_mm2 = 814;
    c.tdp_w = 700;
    c.source = "NVIDIA H100 whitepaper and datasheet";
    chips.push_back(c);
  }
  {
    // TPU v4 (Jouppi et al., ISCA 2023; Google Cloud's TPU v4 page): 2 TensorCores, each with
    // 4 MXUs of 128x128 BF16 MACs and a vector unit of 8 x 128 lanes; 128 MiB of CMEM (the GLB
    // here) and 32 MiB of VMEM; 4 HBM2 stacks (32 GiB, 1.2 TB/s); 6 ICI links of 50 GB/s each
    // way; 1.05 GHz. TSMC N7; die published as "< 600 mm^2" (compared with 600); 192 W maximum.
    PublishedChip c;
    ChipResources& r = c.resources;
    r.name = "TPU v4";
    r.node_nm = 7;
    r.cores.num_tc = 8;
    r.cores.tc_width = 128;
    r.cores.tc_depth = 128;
    r.cores.num_vc = 2;
    r.cores.vc_width = 1024;
    r.cores.glb_bytes = 128 * kMiB;
    r.extra_sram_bytes = 32 * kMiB;
    r.glb_bytes_per_cycle =
        8 * r.cores.TcGlbPortBytesPerCycle() + 2 * r.cores.VcGlbPortBytesPerCycle();
    r.clock_hz = 1.05e9;
    r.hbm_stacks = 4;
    r.hbm_bandwidth_bytes_per_s = 1.2e12;
    r.link_lanes = LanesFor(6 * 50e9, 50e9);
    r.link_bandwidth_bytes_per_s = 6 * 50e9;
    c.die_mm2 = 600;
    c.tdp_w = 192;
    c.source = "Jouppi et al. 2023; Google Cloud TPU v4 documentation";
    chips.push_back(c);
  }
  return chips;
}

}  // namespace phaze::arch
