#include "common/arch/arch.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/arch/chip_model.h"

namespace phaze::arch {
namespace {

// Area of one TC MAC plus its 16-entry register file, and of one VC lane plus its 6-entry file
// (reference section 3.3, fitted to the original's Accelergy output to 2e-13).
constexpr double kTcMacAreaUm2 = 760.041386;
constexpr double kVcLaneAreaUm2 = 759.823853;

struct AreaPoint {
  int64_t bytes;
  double area_um2;
};

// CACTI areas of the per-core SRAM (1 KiB .. 1 MiB) and of the GLB (2 .. 128 MiB).
constexpr std::array<AreaPoint, 11> kL2Table = {{{1 * kKiB, 6133.98},
                                                 {2 * kKiB, 8248.43},
                                                 {4 * kKiB, 12610.5},
                                                 {8 * kKiB, 22139.9},
                                                 {16 * kKiB, 38583.0},
                                                 {32 * kKiB, 63338.4},
                                                 {64 * kKiB, 115579},
                                                 {128 * kKiB, 204764},
                                                 {256 * kKiB, 446565},
                                                 {512 * kKiB, 897890},
                                                 {1024 * kKiB, 1634130}}};
constexpr std::array<AreaPoint, 7> kGlbTable = {{{2 * kMiB, 3338220},
                                                 {4 * kMiB, 6078640},
                                                 {8 * kMiB, 11952400},
                                                 {16 * kMiB, 23745200},
                                                 {32 * kMiB, 46750900},
                                                 {64 * kMiB, 88605700},
                                                 {128 * kMiB, 175423000}}};

// Exact at table entries; log-log interpolation between them and extrapolation from the nearest
// two entries outside.
template <size_t N>
double Interpolate(const std::array<AreaPoint, N>& table, int64_t bytes) {
  for (const AreaPoint& p : table) {
    if (p.bytes == bytes) return p.area_um2;
  }
  size_t hi = 1;
  while (hi + 1 < N && table[hi].bytes < bytes) ++hi;
  const AreaPoint& a = table[hi - 1];
  const AreaPoint& b = table[hi];
  const double x = std::log(static_cast<double>(bytes));
  const double xa = std::log(static_cast<double>(a.bytes));
  const double xb = std::log(static_cast<double>(b.bytes));
  const double ya = std::log(a.area_um2);
  const double yb = std::log(b.area_um2);
  return std::exp(ya + (yb - ya) * (x - xa) / (xb - xa));
}

void SortDescending(std::vector<int64_t>& v) {
  std::sort(v.begin(), v.end(), std::greater<>());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

absl::Status CheckRange(const char* field, const std::vector<int64_t>& values, bool may_be_empty) {
  if (values.empty() && !may_be_empty) {
    return absl::InvalidArgumentError(absl::StrCat("space.", field, ": must not be empty"));
  }
  for (int64_t v : values) {
    if (v <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("space.", field, ": values must be positive, got ", v));
    }
  }
  return absl::OkStatus();
}

}  // namespace

int64_t Architecture::TcL2Bytes() const {
  return std::max<int64_t>(kKiB, tc_width * tc_depth * 16);
}
int64_t Architecture::VcL2Bytes() const { return std::max<int64_t>(kKiB, vc_width * 16); }

Architecture Architecture::WithChipParameters(const Architecture& shared) const {
  Architecture a = *this;
  a.clock_hz = shared.clock_hz;
  a.hbm_bandwidth_bytes_per_s = shared.hbm_bandwidth_bytes_per_s;
  a.glb_bandwidth_bytes_per_s = shared.glb_bandwidth_bytes_per_s;
  a.link_bandwidth_bytes_per_s = shared.link_bandwidth_bytes_per_s;
  a.link_latency_s = shared.link_latency_s;
  a.link_efficiency = shared.link_efficiency;
  a.scale_up_domain = shared.scale_up_domain;
  a.scale_out_bandwidth_bytes_per_s = shared.scale_out_bandwidth_bytes_per_s;
  a.scale_out_latency_s = shared.scale_out_latency_s;
  a.scale_out_efficiency = shared.scale_out_efficiency;
  a.tc_efficiency = shared.tc_efficiency;
  a.hbm_efficiency = shared.hbm_efficiency;
  a.memory_overlap = shared.memory_overlap;
  a.op_overhead_s = shared.op_overhead_s;
  a.single_stream = shared.single_stream;
  a.tech_node_nm = shared.tech_node_nm;
  a.hbm_stack = shared.hbm_stack;
  return a;
}

std::string Architecture::Describe() const {
  return absl::StrFormat("%dx%dx%d tc, %dx%d vc, %d MiB glb", num_tc, tc_width, tc_depth, num_vc,
                         vc_width, glb_bytes / kMiB);
}

absl::Status ValidateArchitecture(const Architecture& a) {
  for (const auto& [field, value] :
       std::vector<std::pair<const char*, int64_t>>{{"num_tc", a.num_tc},
                                                    {"tc_width", a.tc_width},
                                                    {"tc_depth", a.tc_depth},
                                                    {"num_vc", a.num_vc},
                                                    {"vc_width", a.vc_width},
                                                    {"glb_mib", a.glb_bytes}}) {
    if (value <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("architecture.", field, ": must be positive, got ", value));
    }
  }
  for (const auto& [field, value] : std::vector<std::pair<const char*, double>>{
           {"clock_ghz", a.clock_hz},
           {"hbm_bandwidth_gbps", a.hbm_bandwidth_bytes_per_s},
           {"link_bandwidth_gbps", a.link_bandwidth_bytes_per_s}}) {
    if (!(value > 0) || !std::isfinite(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("architecture.", field, ": must be a positive number"));
    }
  }
  if (!(a.glb_bandwidth_bytes_per_s >= 0) || !(a.link_latency_s >= 0)) {
    return absl::InvalidArgumentError(
        "architecture: glb_bandwidth_gbps and link_latency_us must not be negative");
  }
  if (a.hbm_bytes < 0) {
    return absl::InvalidArgumentError("architecture.hbm_gb: must not be negative");
  }
  for (const auto& [field, value] :
       std::vector<std::pair<const char*, double>>{{"link_efficiency", a.link_efficiency},
                                                   {"scale_out_efficiency", a.scale_out_efficiency},
                                                   {"tc_efficiency", a.tc_efficiency},
                                                   {"hbm_efficiency", a.hbm_efficiency}}) {
    if (!(value > 0 && value <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("architecture.", field, ": must be in (0, 1], got ", value));
    }
  }
  if (!(a.memory_overlap >= 0 && a.memory_overlap <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("architecture.memory_overlap: must be in [0, 1], got ", a.memory_overlap));
  }
  if (a.scale_up_domain < 0 || !(a.scale_out_bandwidth_bytes_per_s >= 0) ||
      !std::isfinite(a.scale_out_bandwidth_bytes_per_s) || !(a.scale_out_latency_s >= 0) ||
      !(a.op_overhead_s >= 0) || !std::isfinite(a.op_overhead_s)) {
    return absl::InvalidArgumentError(
        "architecture: scale_up_domain, scale_out_bandwidth_gb_per_s, scale_out_latency_us and "
        "op_overhead_us must not be negative");
  }
  if (absl::Status st = FindTechNode(a.tech_node_nm).status(); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("architecture.tech_node_nm: ", st.message()));
  }
  if (absl::Status st = FindHbmStack(a.hbm_stack).status(); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("architecture.hbm_stack: ", st.message()));
  }
  if (a.hbm_stacks < 0) {
    return absl::InvalidArgumentError("architecture.hbm_stacks: must not be negative");
  }
  return absl::OkStatus();
}

double L2AreaUm2(int64_t bytes) { return Interpolate(kL2Table, bytes); }
double GlbAreaUm2(int64_t bytes) { return Interpolate(kGlbTable, bytes); }

double AreaUm2(const Architecture& a) {
  const double tc =
      static_cast<double>(a.num_tc) *
      (static_cast<double>(a.tc_width * a.tc_depth) * kTcMacAreaUm2 + L2AreaUm2(a.TcL2Bytes()));
  const double vc = static_cast<double>(a.num_vc) *
                    (static_cast<double>(a.vc_width) * kVcLaneAreaUm2 + L2AreaUm2(a.VcL2Bytes()));
  return tc + vc + GlbAreaUm2(a.glb_bytes);
}

Architecture A100() {
  // NVIDIA A100-SXM4-80GB in a DGX A100 (Selene-like) system. Every constant is a datasheet
  // figure or a published measurement; none is fitted to a training run.
  Architecture a;
  a.name = "a100";
  // 108 SMs x 4 third-generation tensor cores x 256 dense FP16/BF16 FMAs per clock at the
  // 1.41 GHz boost clock = 312 TFLOP/s (NVIDIA A100 datasheet; A100 whitepaper, table 1),
  // modelled as 432 16x16 systolic arrays.
  a.num_tc = 432;
  a.tc_width = 16;
  a.tc_depth = 16;
  a.clock_hz = 1.41e9;
  // 108 SMs x 64 FP32 lanes (6,912 CUDA cores, datasheet).
  a.num_vc = 108;
  a.vc_width = 64;
  a.glb_bytes = 40 * kMiB;  // L2 cache (datasheet)
  a.hbm_bytes = 80 * kGiB;
  a.hbm_bandwidth_bytes_per_s = 2039e9;  // HBM2e, datasheet
  // NVLink 3 through NVSwitch: 12 links x 25 GB/s = 300 GB/s per direction (datasheet), 8 GPUs
  // per DGX A100 node. Achieved all-reduce bus bandwidth about 230 GB/s at large messages
  // (NVIDIA engineer, NVIDIA/nccl-tests issue 149): 0.767 of the line rate.
  a.link_bandwidth_bytes_per_s = 300e9;
  a.link_efficiency = 230.0 / 300.0;
  a.scale_up_domain = 8;
  // Scale-out: 8 x HDR 200 Gb/s InfiniBand per node, one per GPU = 25 GB/s per direction (DGX
  // A100 user guide); multi-node all-reduce reaches 192 of the node's 200 GB/s (NVIDIA/nccl
  // issue 812): 0.96.
  a.scale_out_bandwidth_bytes_per_s = 25e9;
  a.scale_out_efficiency = 0.96;
  // Per-step latencies: an assumption (no source read gives NCCL's per-step alpha); of the order
  // of the 10-20 us small-message all-reduce that 8 GPUs show over 14 ring steps.
  a.link_latency_s = 1e-6;
  a.scale_out_latency_s = 5e-6;
  // Best achievable BF16 GEMM: 271.2 of 312 TFLOP/s over a brute-force shape search
  // (stas00/ml-engineering, compute/accelerator, "maximum achievable matmul FLOPS"): 0.869.
  a.tc_efficiency = 271.2 / 312.0;
  // Streaming bandwidth: about 90% of the HBM peak (BabelStream-style measurements on A100; the
  // 0.9 of reference training-model.md section 10.3). An assumption within a few percent.
  a.hbm_efficiency = 0.9;
  // Memory time of an operator not hidden behind its compute: an assumption (Calculon's shipped
  // mode adds them; a perfect roofline would be 1).
  a.memory_overlap = 0;
  // Kernel launch: 4-6 us per launch measured on the host (reference section 10.4); a floor per
  // operator, since launches overlap the previous kernel.
  a.op_overhead_s = 5e-6;
  // Megatron-LM issues every GEMM and element-wise kernel on one CUDA stream, each kernel over all
  // 108 SMs; tensor cores and CUDA cores are parts of the same SMs, so tensor and vector work do
  // not overlap (NCCL collectives run on their own streams).
  a.single_stream = true;
  // 5 HBM2e stacks of 16 GB at 3.2 Gb/s per pin (A100-80GB datasheet: 2,039 GB/s); TSMC N7.
  a.hbm_stack = "hbm2e";
  a.tech_node_nm = 7;
  return a;
}

absl::StatusOr<Architecture> FindPreset(const std::string& name) {
  if (name == "tpuv4") {
    Architecture a;
    a.name = "tpuv4";
    a.num_tc = 8;
    a.tc_width = 128;
    a.tc_depth = 128;
    a.num_vc = 2;
    a.vc_width = 128;
    a.glb_bytes = 128 * kMiB;
    return a;
  }
  if (name == "a100") return A100();
  return absl::NotFoundError(absl::StrCat("unknown architecture preset '", name,
                                          "'; presets: ", absl::StrJoin(PresetNames(), ", ")));
}

std::vector<std::string> PresetNames() { return {"tpuv4", "a100"}; }

std::vector<int64_t> PowersOfTwo(int64_t lo, int64_t hi) {
  std::vector<int64_t> v;
  for (int64_t x = 1; x <= hi; x *= 2) {
    if (x >= lo) v.push_back(x);
  }
  return v;
}

ArchSpaceSpec OriginalSpaceSpec() {
  ArchSpaceSpec s;
  s.num_tc = PowersOfTwo(1, 4096);
  s.num_vc = PowersOfTwo(1, 4096);
  s.tc_width = PowersOfTwo(2, 256);
  s.tc_depth = PowersOfTwo(2, 256);
  for (int64_t mib : PowersOfTwo(2, 128)) s.glb_bytes.push_back(mib * kMiB);
  s.max_area_um2 = AreaUm2(*FindPreset("tpuv4"));
  s.min_area_fraction = 0.3;
  s.single_core_min_area_fraction = 0.0;
  return s;
}

absl::Status ValidateSpaceSpec(const ArchSpaceSpec& s) {
  if (absl::Status st = CheckRange("num_tc", s.num_tc, false); !st.ok()) return st;
  if (absl::Status st = CheckRange("num_vc", s.num_vc, false); !st.ok()) return st;
  if (absl::Status st = CheckRange("tc_width", s.tc_width, false); !st.ok()) return st;
  if (absl::Status st = CheckRange("tc_depth", s.tc_depth, false); !st.ok()) return st;
  if (absl::Status st = CheckRange("vc_width", s.vc_width, true); !st.ok()) return st;
  if (absl::Status st = CheckRange("glb_mib", s.glb_bytes, false); !st.ok()) return st;
  for (const auto& [field, values] :
       std::vector<std::pair<const char*, const std::vector<int64_t>*>>{
           {"glb_banks", &s.glb_banks},
           {"hbm_stacks", &s.hbm_stacks},
           {"link_ports", &s.link_ports},
           {"scale_up_domain", &s.scale_up_domain}}) {
    if (absl::Status st = CheckRange(field, *values, true); !st.ok()) return st;
  }
  for (size_t i = 0; i < s.hbm_stack_types.size(); ++i) {
    if (absl::StatusOr<HbmStackType> t = FindHbmStack(s.hbm_stack_types[i]); !t.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("space.hbm_stack[", i, "]: ", t.status().message()));
    }
    for (size_t j = 0; j < i; ++j) {
      if (s.hbm_stack_types[j] == s.hbm_stack_types[i]) {
        return absl::InvalidArgumentError(
            absl::StrCat("space.hbm_stack[", i, "]: '", s.hbm_stack_types[i], "' is listed twice"));
      }
    }
  }
  if (!(s.max_area_um2 > 0)) {
    return absl::InvalidArgumentError("space.max_area_mm2: must be positive");
  }
  if (s.min_area_fraction < 0 || s.min_area_fraction > 1 || s.single_core_min_area_fraction < 0 ||
      s.single_core_min_area_fraction > 1) {
    return absl::InvalidArgumentError(
        "space.min_area_fraction / single_core_min_area_fraction: must lie in [0, 1]");
  }
  Architecture probe = s.base;
  probe.num_tc = probe.num_vc = probe.tc_width = probe.tc_depth = probe.vc_width = 1;
  probe.glb_bytes = 1;
  return ValidateArchitecture(probe);
}

ArchSpace::ArchSpace(ArchSpaceSpec spec) : spec_(std::move(spec)) {
  const ChipCostConstants chip = DefaultChipCostConstants();
  glb_bank_bytes_per_cycle_ = chip.glb_bank_bytes_per_cycle;
  link_port_bytes_per_s_ = chip.link_port_bytes_per_s;
  // ValidateSpaceSpec checked the stack types.
  for (const std::string& type : spec_.hbm_stack_types.empty()
                                     ? std::vector<std::string>{spec_.base.hbm_stack}
                                     : spec_.hbm_stack_types) {
    const absl::StatusOr<HbmStackType> stack = FindHbmStack(type);
    hbm_stack_bytes_per_s_.push_back(stack.ok() ? stack->bandwidth_bytes_per_s : 0.0);
  }
  for (auto* v : {&spec_.num_tc, &spec_.num_vc, &spec_.tc_width, &spec_.tc_depth, &spec_.vc_width,
                  &spec_.glb_bytes, &spec_.glb_banks, &spec_.hbm_stacks, &spec_.link_ports,
                  &spec_.scale_up_domain}) {
    SortDescending(*v);
  }
  // The product of the dimensions, saturating: a space too large to index has Size() ==
  // INT64_MAX, which every limit refuses (value lists of thousands of entries must not wrap to a
  // small or negative size).
  size_ = 1;
  for (size_t n :
       {spec_.num_tc.size(), spec_.num_vc.size(), spec_.tc_width.size(), spec_.tc_depth.size(),
        std::max<size_t>(1, spec_.vc_width.size()), spec_.glb_bytes.size(),
        std::max<size_t>(1, spec_.glb_banks.size()), std::max<size_t>(1, spec_.hbm_stacks.size()),
        std::max<size_t>(1, spec_.link_ports.size()),
        std::max<size_t>(1, spec_.scale_up_domain.size()),
        std::max<size_t>(1, spec_.hbm_stack_types.size())}) {
    if (__builtin_mul_overflow(size_, static_cast<int64_t>(n), &size_)) {
      size_ = std::numeric_limits<int64_t>::max();
      break;
    }
  }
}

ArchCandidate ArchSpace::At(int64_t index) const {
  // Mixed radix, the chip resources fastest (HBM stack type, scale-up domain, link ports, HBM
  // stacks, GLB banks, each only if the space lists it), then GLB capacity, vc_width (if free),
  // depth, width, num_vc, num_tc: a space without the resource dimensions numbers its chips as
  // before.
  int64_t rest = index;
  auto take = [&rest](const std::vector<int64_t>& values) {
    const int64_t n = static_cast<int64_t>(values.size());
    const int64_t v = values[static_cast<size_t>(rest % n)];
    rest /= n;
    return v;
  };
  ArchCandidate c;
  c.index = index;
  c.arch = spec_.base;
  c.arch.name.clear();
  size_t type = 0;
  if (!spec_.hbm_stack_types.empty()) {
    type = static_cast<size_t>(rest % static_cast<int64_t>(spec_.hbm_stack_types.size()));
    rest /= static_cast<int64_t>(spec_.hbm_stack_types.size());
    c.arch.hbm_stack = spec_.hbm_stack_types[type];
  }
  if (!spec_.scale_up_domain.empty()) c.arch.scale_up_domain = take(spec_.scale_up_domain);
  if (!spec_.link_ports.empty()) {
    c.arch.link_bandwidth_bytes_per_s =
        static_cast<double>(take(spec_.link_ports)) * link_port_bytes_per_s_;
  }
  if (!spec_.hbm_stacks.empty()) {
    c.arch.hbm_stacks = take(spec_.hbm_stacks);
    c.arch.hbm_bandwidth_bytes_per_s =
        static_cast<double>(c.arch.hbm_stacks) * hbm_stack_bytes_per_s_[type];
  }
  if (!spec_.glb_banks.empty()) {
    c.arch.glb_bandwidth_bytes_per_s =
        static_cast<double>(take(spec_.glb_banks)) * glb_bank_bytes_per_cycle_ * c.arch.clock_hz;
  }
  c.arch.glb_bytes = take(spec_.glb_bytes);
  const int64_t vc_width = spec_.vc_width.empty() ? 0 : take(spec_.vc_width);
  c.arch.tc_depth = take(spec_.tc_depth);
  c.arch.tc_width = take(spec_.tc_width);
  c.arch.num_vc = take(spec_.num_vc);
  c.arch.num_tc = take(spec_.num_tc);
  c.arch.vc_width = spec_.vc_width.empty() ? c.arch.tc_width : vc_width;
  c.area_um2 = AreaUm2(c.arch);
  const bool single = c.arch.num_tc == 1 || c.arch.num_vc == 1;
  const double lo =
      (single ? spec_.single_core_min_area_fraction : spec_.min_area_fraction) * spec_.max_area_um2;
  c.valid = c.area_um2 >= lo && c.area_um2 <= spec_.max_area_um2;
  return c;
}

int64_t ArchSpace::CountValid() const {
  int64_t valid = 0;
  for (int64_t i = 0; i < size_; ++i) valid += At(i).valid ? 1 : 0;
  return valid;
}

}  // namespace phaze::arch
