// Accelerator architectures, the original PHAZE area model, and the architecture space as an
// index space.
//
// An Architecture is one chip: tensor cores (systolic arrays), vector cores, a shared on-chip
// buffer (GLB), HBM, clock and the device link. The ArchSpace enumerates the cartesian product of
// the job's ranges in a fixed order (num_tc, num_vc, width, depth, GLB, each descending, as the
// original's cores.json), so index i always means the same chip and a shard is a range [lo, hi).
// Validity is the original's area window.
//
//   ArchSpace space(OriginalSpaceSpec());
//   for (int64_t i = 0; i < space.Size(); ++i) {
//     ArchCandidate c = space.At(i);
//     if (c.valid) Evaluate(c.arch);
//   }
#ifndef PHAZE_COMMON_ARCH_ARCH_H_
#define PHAZE_COMMON_ARCH_ARCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/base/units.h"

namespace phaze::arch {

// Defaults for what the original left implicit. SI units.
struct ChipDefaults {
  static constexpr double kClockHz = 1.05e9;  // the original's 1.05 GHz
  // TPUv4's HBM2 bandwidth (Jouppi et al. 2023: 1,200 GB/s), shared by every chip of the space.
  static constexpr double kHbmBandwidthBytesPerS = 1.2e12;
  // The original's device link: 4 GiB/s ("PCIe 3.0"), kept so results compare with the paper.
  static constexpr double kLinkBandwidthBytesPerS = 4.0 * 1024 * 1024 * 1024;
  static constexpr double kLinkLatencyS = 1e-6;  // per ring step (alpha); the original had none
};

struct Architecture {
  std::string name;       // preset name, or empty for a point of a space
  int64_t num_tc = 0;     // tensor cores (systolic arrays)
  int64_t tc_width = 0;   // array rows X (reduction dimension of a GEMM maps here)
  int64_t tc_depth = 0;   // array columns Y (output features map here)
  int64_t num_vc = 0;     // vector cores
  int64_t vc_width = 0;   // lanes per vector core
  int64_t glb_bytes = 0;  // shared on-chip buffer
  int64_t hbm_bytes = 0;  // HBM capacity; evaluations sweep the job's list
  double clock_hz = ChipDefaults::kClockHz;
  double hbm_bandwidth_bytes_per_s = ChipDefaults::kHbmBandwidthBytesPerS;
  // Chip-wide GLB bandwidth. 0 means one port of (width + depth) words per cycle per tensor core
  // (and lanes words per cycle per vector core), i.e. the bandwidth grows with the cores it feeds.
  double glb_bandwidth_bytes_per_s = 0;
  double link_bandwidth_bytes_per_s = ChipDefaults::kLinkBandwidthBytesPerS;
  double link_latency_s = ChipDefaults::kLinkLatencyS;
  // The two-tier network (common/net): link_* is the scale-up tier (per device, per direction)
  // and its achieved fraction of the line rate; scale_up_domain devices share it. The scale-out
  // tier is used only when both scale_up_domain and scale_out_bandwidth are set (otherwise one
  // link serves every collective, the original's model).
  double link_efficiency = 1;
  int64_t scale_up_domain = 0;
  double scale_out_bandwidth_bytes_per_s = 0;
  double scale_out_latency_s = 0;
  double scale_out_efficiency = 1;
  // What a real chip reaches (the cost model's compute realism; 1, 1, 1, 0 is the ideal chip):
  // the fraction of the array peak the best GEMM reaches, the fraction of HBM bandwidth a
  // stream reaches, how much of the shorter of compute and memory time hides behind the longer
  // (1: a perfect max, 0: their sum), and a fixed dispatch/launch overhead per operator.
  double tc_efficiency = 1;
  double hbm_efficiency = 1;
  double memory_overlap = 1;
  double op_overhead_s = 0;
  // How the chip runs a layer's operators. false: tensor and vector cores are separate units that
  // the layer schedule may use at the same time (a systolic-array chip; the original's model).
  // true: one operator at a time over the whole chip (a GPU running a framework's kernels on one
  // compute stream: GEMMs and element-wise kernels share the same SMs and never overlap); only
  // collectives, on their own stream, may overlap compute.
  bool single_stream = false;
  // The chip model's view (arch/chip_model.h): the process node, the HBM generation, and the
  // stacks when the space chooses them (0: HBM bandwidth as given, capacity from the job's list;
  // n > 0: n stacks, bandwidth n x the stack's and capacity n x the stack's).
  int64_t tech_node_nm = 7;
  std::string hbm_stack = "hbm2";
  int64_t hbm_stacks = 0;

  int64_t TcMacs() const { return num_tc * tc_width * tc_depth; }
  int64_t VcLanes() const { return num_vc * vc_width; }
  double PeakFlopsPerS() const { return 2.0 * static_cast<double>(TcMacs()) * clock_hz; }
  // The per-core SRAM the original derives: max(1 KiB, 16 B per PE).
  int64_t TcL2Bytes() const;
  int64_t VcL2Bytes() const;
  // Bytes per cycle one core's GLB port moves when no chip-wide GLB bandwidth is given: a tensor
  // core reads (width + depth) 2-byte words, a vector core reads and writes a 2-byte word per lane.
  double TcGlbPortBytesPerCycle() const { return 2.0 * static_cast<double>(tc_width + tc_depth); }
  double VcGlbPortBytesPerCycle() const { return 4.0 * static_cast<double>(vc_width); }
  // "8x128x128 tc, 2x128 vc, 128 MiB glb".
  std::string Describe() const;
  // This chip's cores and buffer with `shared`'s clock, bandwidths and link: how a preset or a
  // point of a space takes the job's chip-wide parameters.
  Architecture WithChipParameters(const Architecture& shared) const;
};

// kInvalidArgument naming the field if a size is not positive or a bandwidth not finite > 0.
absl::Status ValidateArchitecture(const Architecture& arch);

// The original's area model (reference section 3.3), in square micrometres. Per-core SRAM and GLB
// areas come from the CACTI tables the original shipped; sizes between table entries are
// interpolated log-log.
double AreaUm2(const Architecture& arch);
double L2AreaUm2(int64_t bytes);
double GlbAreaUm2(int64_t bytes);

// Named presets. "tpuv4": the paper's TPUv4-like baseline (8 TC x 128x128, 2 VC x 128 lanes,
// 128 MiB GLB, 1.05 GHz, 1.2 TB/s HBM). "a100": NVIDIA A100-SXM4-80GB in a DGX A100 system
// (NVLink domain of 8, InfiniBand scale-out, achieved efficiencies), every constant with its
// source in arch.cc.
absl::StatusOr<Architecture> FindPreset(const std::string& name);
Architecture A100();
std::vector<std::string> PresetNames();

// The ranges of a design space and its validity window.
struct ArchSpaceSpec {
  std::vector<int64_t> num_tc;
  std::vector<int64_t> num_vc;
  std::vector<int64_t> tc_width;
  std::vector<int64_t> tc_depth;
  std::vector<int64_t> vc_width;  // empty: tied to tc_width, as in the original
  std::vector<int64_t> glb_bytes;
  // Chip resources the search may buy (empty: the base's value for every point). GLB banks of
  // 64 B per cycle set the GLB bandwidth; HBM stacks set the HBM bandwidth and capacity; link
  // ports of 25 GB/s each way set the scale-up link bandwidth; the scale-up domain size.
  std::vector<int64_t> glb_banks;
  std::vector<int64_t> hbm_stacks;
  std::vector<int64_t> link_ports;
  std::vector<int64_t> scale_up_domain;
  // HBM generations the search may buy (arch/chip_model.h names; empty: the base's). With
  // hbm_stacks, a point's bandwidth and capacity are its stacks of its type.
  std::vector<std::string> hbm_stack_types;
  // Area window: valid iff lo <= area <= max_area_um2, where lo = min_area_fraction * max_area_um2
  // except for chips with a single tensor or vector core, whose lo is
  // single_core_min_area_fraction * max_area_um2 (the original: 0.3 and 0).
  double max_area_um2 = 0;
  double min_area_fraction = 0.3;
  double single_core_min_area_fraction = 0.0;
  Architecture base;  // clock, bandwidths and link shared by every point
};

// The original's space: num_tc, num_vc in 1..4096, width, depth in 2..256 (powers of two),
// vc_width tied to width, GLB 2..128 MiB, area budget = the TPUv4-like chip.
ArchSpaceSpec OriginalSpaceSpec();

absl::Status ValidateSpaceSpec(const ArchSpaceSpec& spec);

struct ArchCandidate {
  int64_t index = 0;
  Architecture arch;
  double area_um2 = 0;
  bool valid = false;
};

class ArchSpace {
 public:
  // `spec` must have passed ValidateSpaceSpec.
  explicit ArchSpace(ArchSpaceSpec spec);

  int64_t Size() const { return size_; }
  // 0 <= index < Size().
  ArchCandidate At(int64_t index) const;
  // Counts valid points by scanning the whole space (O(Size())).
  int64_t CountValid() const;
  const ArchSpaceSpec& spec() const { return spec_; }

 private:
  ArchSpaceSpec spec_;  // every range sorted descending
  int64_t size_ = 0;
  // What one bank, one link port and one HBM stack of the base's type provide (chip_model.h),
  // looked up once rather than per point.
  double glb_bank_bytes_per_cycle_ = 0;
  double link_port_bytes_per_s_ = 0;
  // Per stack type of the space (or the base's alone).
  std::vector<double> hbm_stack_bytes_per_s_;
};

// Parses "4096", "2", ... style values are handled by the job parser; helpers for ranges:
// powers of two from lo to hi inclusive.
std::vector<int64_t> PowersOfTwo(int64_t lo, int64_t hi);

}  // namespace phaze::arch

#endif  // PHAZE_COMMON_ARCH_ARCH_H_
