#include "common/cost/cost.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "common/net/network.h"

namespace phaze::cost {

using arch::Architecture;
using workload::Direction;
using workload::GemmShape;
using workload::kBytesPerElement;
using workload::Operator;
using workload::OpKind;
using workload::VectorFn;
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double CeilDiv(double a, double b) { return std::ceil(a / b); }
int64_t CeilDivI(int64_t a, int64_t b) { return (a + b - 1) / b; }

std::vector<int64_t> Divisors(int64_t n) {
  std::vector<int64_t> small, large;
  for (int64_t d = 1; d * d <= n; ++d) {
    if (n % d == 0) {
      small.push_back(d);
      if (d != n / d) large.push_back(n / d);
    }
  }
  small.insert(small.end(), large.rbegin(), large.rend());
  return small;
}

int64_t LargestDivisorAtMost(int64_t n, int64_t limit) {
  int64_t best = 1;
  for (int64_t d : Divisors(n)) {
    if (d <= limit) best = d;
  }
  return best;
}

// Per-element cycles: {forward, backward}.
struct CycleCost {
  double fwd;
  double bwd;
};

CycleCost ImprovedCycles(VectorFn fn) {
  switch (fn) {
    case VectorFn::kAdd: return {1, 1};
    case VectorFn::kBiasDropoutAdd: return {4, 2};  // bias add, RNG + mask, add
    case VectorFn::kDropout: return {2, 1};
    case VectorFn::kGelu: return {8, 12};  // tanh approximation
    case VectorFn::kRelu: return {1, 1};
    case VectorFn::kSiluMul: return {6, 10};   // sigmoid, two multiplies
    case VectorFn::kLayerNorm: return {5, 8};  // mean, variance, normalise, affine
    case VectorFn::kRmsNorm: return {3, 5};
    case VectorFn::kSoftmax: return {5, 3};  // scale+mask, max, exp, sum, divide
    case VectorFn::kRotary: return {3, 3};
    case VectorFn::kGather: return {1, 1};
    case VectorFn::kCrossEntropy: return {6, 2};
  }
  return {1, 1};
}

// The original's PE-cycle table (reference section 2.6), with fused chains
// summed.
CycleCost CompatCycles(VectorFn fn) {
  switch (fn) {
    case VectorFn::kAdd: return {1, 1};
    case VectorFn::kBiasDropoutAdd: return {4, 3};
    case VectorFn::kDropout: return {2, 1};
    case VectorFn::kGelu: return {1, 1};  // GELU costs as ReLU in the original
    case VectorFn::kRelu: return {1, 1};
    case VectorFn::kSiluMul: return {13, 3};
    case VectorFn::kLayerNorm: return {1, 1};
    case VectorFn::kRmsNorm: return {43, 36};  // pow, mean, add, rsqrt, mul, mul
    case VectorFn::kSoftmax: return {10, 2};
    case VectorFn::kRotary: return {4, 4};
    case VectorFn::kGather: return {0, 0};  // embedding lookups are free in the original
    case VectorFn::kCrossEntropy: return {13, 2};
  }
  return {1, 1};
}

double CompatVectorCycles(const Operator& op, int64_t lanes) {
  const double e = static_cast<double>(op.elements);
  const double chunks = CeilDiv(e, static_cast<double>(lanes));
  const CycleCost c = CompatCycles(op.fn);
  const bool softmax_like = op.fn == VectorFn::kSoftmax || op.fn == VectorFn::kCrossEntropy;
  if (op.direction == Direction::kForward) {
    if (softmax_like && op.row_length > 0) {
      const double rows = e / static_cast<double>(op.row_length);
      return rows * CeilDiv(static_cast<double>(op.row_length), static_cast<double>(lanes)) +
             c.fwd + chunks * c.fwd;
    }
    return chunks * c.fwd;
  }
  // Backward charges every input's gradient: ceil(n1/L) + ceil(n2/L) for a
  // binary op.
  return static_cast<double>(op.inputs) * chunks * c.bwd;
}

struct Bandwidths {
  double glb_bytes_per_cycle;
  double hbm_bytes_per_cycle;
};

// GLB and HBM bandwidth available to `cores` cores of a kind that has
// `total_cores` in all.
Bandwidths Share(const Architecture& a, int64_t cores, int64_t total_cores,
                 double port_bytes_per_cycle_per_core) {
  const double share = static_cast<double>(cores) / static_cast<double>(total_cores);
  Bandwidths b;
  b.glb_bytes_per_cycle = a.glb_bandwidth_bytes_per_s > 0
                              ? share * a.glb_bandwidth_bytes_per_s / a.clock_hz
                              : static_cast<double>(cores) * port_bytes_per_cycle_per_core;
  b.hbm_bytes_per_cycle = share * a.hbm_bandwidth_bytes_per_s * a.hbm_efficiency / a.clock_hz;
  return b;
}

// On-chip and off-chip (HBM) time of one operator: the longer, plus the part of the shorter
// that the chip does not hide (memory_overlap = 1 is a perfect roofline).
double Combine(const Architecture& a, double compute, double memory) {
  return std::max(compute, memory) + (1.0 - a.memory_overlap) * std::min(compute, memory);
}

// Seconds of `cycles`, never below the per-operator dispatch floor.
double Seconds(const Architecture& a, double cycles) {
  return std::max(cycles / a.clock_hz, a.op_overhead_s);
}

double HbmTrafficElements(double m, double k, double n, double batch, double stationary_batch,
                          double glb_elements) {
  const double a = m * k, b = k * n, c = m * n;
  if ((a + b + c) * static_cast<double>(kBytesPerElement) <=
      glb_elements * static_cast<double>(kBytesPerElement)) {
    return batch * (a + c) + stationary_batch * b;
  }
  // Output-stationary square tiles in the GLB, panels of the operands streamed
  // through.
  const double side = std::max(1.0, std::floor(std::sqrt(glb_elements / 3.0)));
  const double mt = std::min(m, side), nt = std::min(n, side);
  return batch * (a * std::ceil(n / nt) + c) + stationary_batch * b * std::ceil(m / mt);
}

}  // namespace

GemmBreakdown ImprovedGemm(const GemmShape& g, bool weight_operand, int64_t cores,
                           const Architecture& arch, double glb_bytes_per_cycle,
                           double hbm_bytes_per_cycle) {
  const double X = static_cast<double>(arch.tc_width);
  const double Y = static_cast<double>(arch.tc_depth);
  const double elem = static_cast<double>(kBytesPerElement);
  const double batch = static_cast<double>(g.batch);
  const double stationary_batch = weight_operand ? 1.0 : batch;
  const double glb_elements = static_cast<double>(arch.glb_bytes) / elem;
  GemmBreakdown best;
  best.cycles = kInf;
  // Either operand may be the stationary one: C = A B or C^T = B^T A^T (rows and columns swap).
  for (bool transposed : {false, true}) {
    const int64_t M = transposed ? g.n : g.m;
    const int64_t N = transposed ? g.m : g.n;
    const int64_t K = g.k;
    const int64_t kt = CeilDivI(K, arch.tc_width);
    const int64_t nt = CeilDivI(N, arch.tc_depth);
    const int64_t tiles = g.batch * kt * nt;
    const double m = static_cast<double>(M), n = static_cast<double>(N), k = static_cast<double>(K);
    const double hbm_elems = HbmTrafficElements(m, k, n, batch, stationary_batch, glb_elements);
    // Weight-stationary loop nest: each weight tile streams a chunk of rows whose fp32 partial
    // sums fit half the core's SRAM; the stationary operand is reloaded once per chunk. Chunks
    // are split further while that keeps more cores busy.
    const int64_t max_chunk = std::max<int64_t>(1, arch.TcL2Bytes() / 2 / (arch.tc_depth * 4));
    const int64_t min_chunks = CeilDivI(M, max_chunk);
    for (int64_t chunks = min_chunks; chunks <= min_chunks * cores && chunks <= M; chunks *= 2) {
      const double rows = static_cast<double>(CeilDivI(M, chunks));
      const double streams = static_cast<double>(tiles * chunks);
      GemmBreakdown b;
      b.compute_cycles =
          (std::ceil(streams / static_cast<double>(cores)) * std::max(rows, X) + X + Y) /
          arch.tc_efficiency;
      b.glb_bytes = (batch * m * k * static_cast<double>(nt) +
                     stationary_batch * k * n * static_cast<double>(chunks) + batch * m * n) *
                    elem;
      b.hbm_bytes = hbm_elems * elem;
      // The array is fed from the GLB as it computes (a pipelined on-chip bound); off-chip
      // traffic hides behind that only as far as memory_overlap says.
      b.cycles = Combine(arch, std::max(b.compute_cycles, b.glb_bytes / glb_bytes_per_cycle),
                         b.hbm_bytes / hbm_bytes_per_cycle);
      if (b.cycles < best.cycles) best = b;
    }
  }
  return best;
}

double CompatGemmCycles(int64_t R, int64_t C, int64_t K, int64_t cores, int64_t array_x,
                        int64_t array_y, int64_t l1_words, int64_t glb_words) {
  constexpr double kRegL1 = 64, kL1Glb = 256,
                   kGlbDram = 128;  // words per cycle, chip-wide
  constexpr int64_t kRegWords = 32;
  const double r = static_cast<double>(R), c = static_cast<double>(C), k = static_cast<double>(K);
  const double macs = r * c * k;
  // Level 2: DRAM <-> GLB.
  double reads2, writes2 = r * k;
  if (r * c + c * k + r * k <= static_cast<double>(glb_words)) {
    reads2 = r * c + c * k;
  } else {
    const double tiles = std::ceil(c * k / (static_cast<double>(glb_words) / 2.0));
    reads2 = r * c * tiles + c * k;
  }
  double best = kInf;
  for (bool swap : {false, true}) {
    const int64_t ax = swap ? array_y : array_x;
    const int64_t ay = swap ? array_x : array_y;
    const int64_t x = LargestDivisorAtMost(C, ax);
    const int64_t y = LargestDivisorAtMost(K, ay);
    // Cores split the rows or the output columns; using fewer cores than exist
    // is allowed.
    for (bool split_rows : {true, false}) {
      for (int64_t p : Divisors(split_rows ? R : K / y)) {
        if (p > cores) break;
        const int64_t rows_per_core = split_rows ? R / p : R;
        const double spatial = static_cast<double>(x * y * p);
        for (int64_t cr : Divisors(C / x)) {
          for (int64_t kr : Divisors(K / y)) {
            if (cr * kr > kRegWords) break;
            const int64_t wx = x * cr, wy = y * kr;
            if (wx * wy > l1_words) continue;
            int64_t r1 = 0;
            for (int64_t d : Divisors(rows_per_core)) {
              if (d * wx <= l1_words && d * wy <= l1_words) r1 = d;
            }
            if (r1 == 0) continue;
            const double weight_refills = std::ceil(r / static_cast<double>(r1));
            const double i0 = macs / static_cast<double>(wy);
            const double w0 = c * k * weight_refills;
            const double o0w = macs / static_cast<double>(wx);
            const double o0r = o0w - r * k;
            const double level0 = std::max((i0 + w0 + o0r) / kRegL1, o0w / kRegL1);
            // Level 1 tiles: the largest k1 for each c1 that fits the three
            // per-core buffers.
            double level1 = kInf;
            for (int64_t c1 : Divisors(C / wx)) {
              if (r1 * wx * c1 > l1_words) break;
              int64_t k1 = 0;
              for (int64_t d : Divisors(K / wy)) {
                if (wx * c1 * wy * d <= l1_words && r1 * wy * d <= l1_words) k1 = d;
              }
              if (k1 == 0) continue;
              const double i1 = r * c * std::ceil(k / static_cast<double>(wy * k1));
              const double passes = std::ceil(c / static_cast<double>(wx * c1));
              const double o1w = r * k * passes;
              const double o1r = r * k * (passes - 1);
              level1 = std::min(level1, std::max((i1 + w0 + o1r) / kL1Glb, o1w / kL1Glb));
            }
            const double cycles =
                std::max({macs / spatial, level0, level1, reads2 / kGlbDram, writes2 / kGlbDram});
            best = std::min(best, cycles);
          }
        }
      }
    }
  }
  if (best == kInf) best = macs;  // nothing fits: one MAC per cycle, as a floor
  return best;
}

double RingAllReduceS(int64_t bytes, int64_t ranks, double bandwidth_bytes_per_s,
                      double latency_s) {
  if (ranks <= 1) return 0;
  const double n = static_cast<double>(ranks);
  return 2.0 * (n - 1) / n * static_cast<double>(bytes) / bandwidth_bytes_per_s +
         2.0 * (n - 1) * latency_s;
}

double VectorCyclesPerElement(VectorFn fn, Direction direction, CostMode mode) {
  const CycleCost c = mode == CostMode::kCompat ? CompatCycles(fn) : ImprovedCycles(fn);
  return direction == Direction::kForward ? c.fwd : c.bwd;
}

OpCost ImprovedCostModel::Cost(const Operator& op, const Architecture& a) const {
  const EnergyModel& e = energy_;
  OpCost cost;
  switch (op.kind) {
    case OpKind::kAllReduce: {
      // Tensor-parallel groups are innermost in the rank order: consecutive ranks.
      const net::Network network = net::NetworkOf(a);
      const net::Group group{op.group_size, 1};
      const double bytes = static_cast<double>(op.allreduce_bytes);
      const bool half = op.collective != workload::Collective::kAllReduce;
      cost.single_core_s = cost.all_cores_s = half ? net::ReduceScatterS(network, group, bytes)
                                                   : net::AllReduceS(network, group, bytes);
      cost.energy_j =
          net::AllReduceWireBytes(op.group_size, bytes) * (half ? 0.5 : 1.0) * e.link_byte_j;
      return cost;
    }
    case OpKind::kGemm: {
      const double macs = static_cast<double>(op.gemm.Macs());
      const double port = a.TcGlbPortBytesPerCycle();
      const Bandwidths one = Share(a, 1, a.num_tc, port);
      const Bandwidths all = Share(a, a.num_tc, a.num_tc, port);
      const GemmBreakdown single = ImprovedGemm(op.gemm, op.has_weight, 1, a,
                                                one.glb_bytes_per_cycle, one.hbm_bytes_per_cycle);
      const GemmBreakdown wide = ImprovedGemm(op.gemm, op.has_weight, a.num_tc, a,
                                              all.glb_bytes_per_cycle, all.hbm_bytes_per_cycle);
      cost.single_core_s = Seconds(a, single.cycles);
      cost.all_cores_s = Seconds(a, wide.cycles);
      cost.single_core_hbm_bytes = single.hbm_bytes;
      cost.all_cores_hbm_bytes = wide.hbm_bytes;
      cost.energy_j =
          macs * e.mac_j + wide.glb_bytes * e.glb_byte_j + wide.hbm_bytes * e.hbm_byte_j;
      return cost;
    }
    case OpKind::kVector: {
      const double cpe = VectorCyclesPerElement(op.fn, op.direction, CostMode::kImproved);
      const double lane_ops = static_cast<double>(op.elements) * cpe;
      const double bytes = static_cast<double>(op.bytes_in + op.bytes_out);
      const bool resident = bytes <= static_cast<double>(a.glb_bytes);
      // A vector core's GLB port moves one read and one write word per lane per
      // cycle.
      const double port = a.VcGlbPortBytesPerCycle();
      auto cycles = [&](int64_t cores) {
        const Bandwidths bw = Share(a, cores, a.num_vc, port);
        const double lanes = static_cast<double>(cores * a.vc_width);
        const double compute = std::ceil(static_cast<double>(op.elements) / lanes) * cpe;
        if (resident) return std::max(compute, bytes / bw.glb_bytes_per_cycle);
        return Combine(a, compute, bytes / bw.hbm_bytes_per_cycle);
      };
      cost.single_core_s = Seconds(a, cycles(1));
      cost.all_cores_s = Seconds(a, cycles(a.num_vc));
      cost.single_core_hbm_bytes = cost.all_cores_hbm_bytes = resident ? 0.0 : bytes;
      cost.energy_j = lane_ops * e.vector_op_j + bytes * (resident ? e.glb_byte_j : e.hbm_byte_j);
      return cost;
    }
  }
  return cost;
}

OpCost CompatCostModel::Cost(const Operator& op, const Architecture& a) const {
  const EnergyModel& e = energy_;
  OpCost cost;
  switch (op.kind) {
    case OpKind::kAllReduce: {
      // The original's all-reduce has no latency term.
      const double half = op.collective != workload::Collective::kAllReduce ? 0.5 : 1.0;
      cost.single_core_s = cost.all_cores_s =
          half * RingAllReduceS(op.allreduce_bytes, op.group_size, a.link_bandwidth_bytes_per_s, 0);
      const double n = static_cast<double>(op.group_size);
      cost.energy_j =
          half * 2.0 * (n - 1) / n * static_cast<double>(op.allreduce_bytes) * e.link_byte_j;
      return cost;
    }
    case OpKind::kGemm: {
      const double macs = static_cast<double>(op.gemm.Macs());
      const int64_t rows = op.gemm.batch * op.gemm.m;
      auto cycles = [&](int64_t cores) {
        return CompatGemmCycles(rows, op.gemm.k, op.gemm.n, cores, a.tc_width, a.tc_depth,
                                a.TcL2Bytes(), a.glb_bytes);
      };
      cost.single_core_s = cycles(1) / a.clock_hz;
      cost.all_cores_s = cycles(a.num_tc) / a.clock_hz;
      cost.energy_j = macs * e.mac_j + static_cast<double>(op.bytes_in + op.bytes_out) *
                                           (e.glb_byte_j + e.hbm_byte_j);
      return cost;
    }
    case OpKind::kVector: {
      const double cpe = VectorCyclesPerElement(op.fn, op.direction, CostMode::kCompat);
      cost.single_core_s = CompatVectorCycles(op, a.vc_width) / a.clock_hz;
      cost.all_cores_s = CompatVectorCycles(op, a.VcLanes()) / a.clock_hz;
      cost.energy_j = static_cast<double>(op.elements) * cpe * e.vector_op_j;
      return cost;
    }
  }
  return cost;
}

std::vector<OpCost> CostModel::CostAll(const std::vector<Operator>& ops,
                                       const Architecture& arch) const {
  std::vector<OpCost> costs;
  costs.reserve(ops.size());
  for (const Operator& op : ops) costs.push_back(Cost(op, arch));
  return costs;
}

std::unique_ptr<CostModel> MakeCostModel(const CostOptions& options) {
  if (options.mode == CostMode::kCompat) return std::make_unique<CompatCostModel>(options.energy);
  return std::make_unique<ImprovedCostModel>(options.energy);
}

OpCost CostOperator(const Operator& op, const Architecture& arch, const CostOptions& options) {
  return MakeCostModel(options)->Cost(op, arch);
}

std::vector<OpCost> CostOperators(const std::vector<Operator>& ops, const Architecture& arch,
                                  const CostOptions& options) {
  return MakeCostModel(options)->CostAll(ops, arch);
}

}  // namespace phaze::cost
