// The chip's bill: what every resource a chip provides costs it in die area and in power.
//
// The original's area model (arch.h: AreaUm2) prices tensor and vector cores and SRAM capacity
// only; bandwidth, HBM and links are free there, so a space point can buy a GLB port per core,
// ten HBM stacks or a 4 TB/s link at no cost. This model adds them, at a technology node:
//
//   area = MACs and vector lanes at a placed area per MAC (TPU v4i's MXUs) / logic density
//        + SRAM: the original's per-core and GLB tables, scaled from their 22 nm-class node
//        + GLB banks (one port of kGlbBankBytesPerCycle each) and the on-chip network (one port
//          per core)
//        + HBM stacks (PHY, which does not shrink, and controller, which does)
//        + link SerDes lanes (scale-up and scale-out ports)
//        + uncore (host interface, clocks, management)
//   TDP-level power = every unit at its peak rate (MACs, vector lanes, GLB ports, HBM, links)
//                     x its energy per event at the node + leakage per mm^2.
//
// A point's HBM stacks follow from its bandwidth and capacity (HbmStacksFor); a stack needs die
// edge for its PHY, so a die of a given area fits only so many (the shoreline). A die whose logic
// is too small for its stacks' edge is made larger (`shoreline_pad_mm2`, pad-limited as real
// dies are): HBM bought beyond what the logic's edge carries costs die area. Every constant
// names its source, or says that it is an assumption; `phaze chips` prints the model against
// published chips (A100, H100, TPU v4). docs/chip-model.md has the constants and the errors.
//
//   PHAZE_ASSIGN_OR_RETURN(ChipCost c, EstimateChip(arch, /*hbm_bytes=*/32 * kGiB));
//   c.area.total_mm2; c.power.total_w; c.hbm_stacks; c.fits_shoreline;
#ifndef PHAZE_COMMON_ARCH_CHIP_MODEL_H_
#define PHAZE_COMMON_ARCH_CHIP_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/arch/arch.h"

namespace phaze::arch {

// Energy per event at TSMC N7 (the reference node). The cost model charges the same figures to
// the work of a training step (energy per sample); the chip model charges them at peak rate.
// Order-of-magnitude figures for 16-bit arithmetic (Horowitz, ISSCC 2014, 45 nm, scaled): they
// rank designs, they do not sign off silicon.
struct EnergyModel {
  double mac_j = 0.5e-12;        // one 16-bit multiply-accumulate
  double vector_op_j = 0.3e-12;  // one lane operation on a vector core
  double glb_byte_j = 1.0e-12;   // one byte read or written in the shared GLB
  double hbm_byte_j = 30e-12;    // one byte of HBM traffic (about 3.9 pJ/bit for HBM2)
  double link_byte_j = 10e-12;   // one byte sent over a device link
};

// A process node relative to TSMC N7: how much denser its logic and SRAM are, and how much
// energy a switching event takes.
struct TechNode {
  int64_t nm = 7;
  double logic_density = 1;  // x N7
  double sram_density = 1;   // x N7 (high-density bitcell area ratio)
  double energy = 1;         // x N7 at iso-speed
};
// 22 (the original's area tables), 16, 10, 7, 5, 4 (N4/4N: N5 figures) and 3. kInvalidArgument
// naming the nodes otherwise.
absl::StatusOr<TechNode> FindTechNode(int64_t nm);

// One HBM generation's stack.
struct HbmStackType {
  std::string name;
  int64_t capacity_bytes = 0;
  double bandwidth_bytes_per_s = 0;
};
// "hbm2" (8 GiB, 307 GB/s), "hbm2e" (16 GiB, 410 GB/s), "hbm3" (16 GiB, 819 GB/s).
absl::StatusOr<HbmStackType> FindHbmStack(const std::string& name);

// Stacks a chip needs for `hbm_bandwidth_bytes_per_s` and `hbm_bytes`: the larger of the two
// ceilings (at least 1).
int64_t HbmStacksFor(double hbm_bandwidth_bytes_per_s, int64_t hbm_bytes, const HbmStackType& s);

// The largest die one lithography exposure prints: the 26 x 33 mm exposure field of the 193 nm
// immersion scanners every node from 16 to 3 nm uses (ASML's NXT series specification). A larger
// die needs stitching or chiplets, which the model does not price.
inline constexpr double kReticleMm2 = 26.0 * 33.0;

// The constants of the chip model, at N7 unless said. Every default is in chip_model.cc with its
// source or the word "assumption".
struct ChipCostConstants {
  int64_t node_nm = 7;
  double mac_area_um2 = 0;         // placed BF16 MAC at N7
  double lane_area_um2 = 0;        // vector lane at N7
  double sram_area_scale = 1;      // x the original's SRAM tables
  std::string hbm_stack = "hbm2";  // the stack type a space point buys
  double hbm_phy_mm2 = 0;          // per stack; analog, does not scale with the node
  double hbm_controller_mm2 = 0;   // per stack at N7; logic, scales
  double hbm_edge_mm = 0;          // die edge one stack's PHY takes
  double hbm_edge_sides = 0;       // die sides given to HBM (of 4)
  double glb_bank_bytes_per_cycle = 0;
  double link_port_bytes_per_s = 0;  // one scale-up link port, per direction
  double glb_bank_port_mm2 = 0;      // per bank at N7
  double noc_port_mm2 = 0;           // per core at N7
  double serdes_lane_bits_per_s = 0;
  double serdes_lane_mm2 = 0;  // per lane and direction pair; analog, does not scale
  double uncore_mm2 = 0;       // at N7
  double leakage_w_per_mm2 = 0;
  EnergyModel energy;
};
ChipCostConstants DefaultChipCostConstants();

// Multipliers on the constants (1: as documented), for sensitivity studies: a job's
// `chip_model:` section. Budgets and reports of the job use the scaled model.
struct ChipModelScales {
  double mac_area = 1;  // placed MAC and lane area
  double sram_area = 1;
  double glb_bank_port = 1;
  double noc_port = 1;
  double hbm_interface = 1;  // PHY and controller
  double hbm_edge = 1;
  double serdes_lane = 1;
  double uncore = 1;
  double leakage = 1;
};
ChipCostConstants Scaled(ChipCostConstants c, const ChipModelScales& s);

// What a chip provides, in the chip model's terms. From an Architecture (ResourcesOf) or written
// out for a published die (PublishedChips).
struct ChipResources {
  std::string name;
  int64_t node_nm = 7;
  Architecture cores;            // cores, arrays, lanes and SRAM priced by the original's tables
  int64_t extra_sram_bytes = 0;  // SRAM beyond the original's per-core and GLB terms
  double glb_bytes_per_cycle = 0;
  double clock_hz = 0;
  int64_t hbm_stacks = 0;
  double hbm_bandwidth_bytes_per_s = 0;
  int64_t link_lanes = 0;  // SerDes lanes, each one direction pair of serdes_lane_bits_per_s
  double link_bandwidth_bytes_per_s = 0;  // per direction, every port together
};

// The resources of a space point or preset with `hbm_bytes` of HBM: GLB bandwidth as the cost
// model sees it (explicit, or one port per core), the stacks its HBM needs, and SerDes lanes for
// its scale-up link and, with a scale-out tier, its scale-out link.
absl::StatusOr<ChipResources> ResourcesOf(const Architecture& arch, int64_t hbm_bytes,
                                          const ChipCostConstants& c);

struct AreaBreakdown {
  double cores_mm2 = 0;  // tensor and vector cores with their own SRAM
  double glb_mm2 = 0;    // GLB capacity and any extra SRAM
  double glb_ports_mm2 = 0;
  double noc_mm2 = 0;
  double hbm_mm2 = 0;  // PHYs and controllers
  double links_mm2 = 0;
  double uncore_mm2 = 0;
  // Die area added so the HBM PHYs fit along the edge (0 when the logic's die carries them).
  // Whitespace: it costs area (and so wafer) but no leakage.
  double shoreline_pad_mm2 = 0;
  double total_mm2 = 0;
};

struct PowerBreakdown {
  double tensor_w = 0;
  double vector_w = 0;
  double glb_w = 0;
  double hbm_w = 0;
  double links_w = 0;
  double leakage_w = 0;
  double total_w = 0;
};

struct ChipCost {
  AreaBreakdown area;
  PowerBreakdown power;  // TDP-level: every unit at its peak rate
  int64_t hbm_stacks = 0;
  int64_t glb_banks = 0;
  int64_t max_hbm_stacks = 0;  // the edge of the die without padding takes
  bool fits_shoreline = true;  // the stacks fit without padding (area.shoreline_pad_mm2 == 0)
  bool fits_reticle = true;    // area.total_mm2 <= kReticleMm2
};

ChipCost Estimate(const ChipResources& r, const ChipCostConstants& c);

// Power while training, per device: the dynamic energy of the work it does per second (a
// placement's energy per sample x samples per second / devices) plus the chip's leakage. The
// work cannot run any unit faster than its peak, so this is at most the TDP-level figure.
double TrainingPowerW(const ChipCost& c, double dynamic_j_per_s);
// The stacks whose PHYs fit along hbm_edge_sides sides of a square die of `die_mm2`.
int64_t MaxHbmStacks(double die_mm2, const ChipCostConstants& c);
// The smallest square die whose edge takes `stacks` (ceil(stacks / sides) x edge a side):
// MaxHbmStacks of it is at least `stacks`.
double DieAreaForStacksMm2(int64_t stacks, const ChipCostConstants& c);
// The default constants, scaled, at `arch`'s node and HBM generation.
ChipCostConstants ChipCostConstantsFor(const Architecture& arch, const ChipModelScales& s = {});
// ResourcesOf then Estimate with ChipCostConstantsFor(arch) (kInvalidArgument on an unknown node
// or stack type). With arch.hbm_stacks > 0 the stacks are the chip's, whatever hbm_bytes says.
absl::StatusOr<ChipCost> EstimateChip(const Architecture& arch, int64_t hbm_bytes,
                                      const ChipModelScales& scales = {});

// A published die with its datasheet area and power, for validation.
struct PublishedChip {
  ChipResources resources;
  double die_mm2 = 0;
  double tdp_w = 0;
  std::string source;
};
// A100-SXM4 (GA100), H100-SXM5 (GH100), TPU v4: the full dies (every SM, every HBM site).
std::vector<PublishedChip> PublishedChips();

}  // namespace phaze::arch

#endif  // PHAZE_COMMON_ARCH_CHIP_MODEL_H_
