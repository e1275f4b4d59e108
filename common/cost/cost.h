// Operator cost model: latency on one core and on all cores of its kind, and energy.
//
// Tensor-core GEMMs use a tiled weight-stationary systolic-array model bounded by compute (with
// the utilisation lost when dimensions do not fill the array) and by the traffic of each memory
// level (core port, GLB, HBM) over its bandwidth. Vector ops use lanes, per-element cycle costs
// and their memory traffic. All-reduces use an alpha-beta ring on the device link. SI units
// throughout: seconds, bytes, joules.
//
// Two modes:
//  - kImproved (default): per-core port bandwidth, explicit GLB and HBM bandwidths, the HBM
//    traffic set by how well the GLB captures reuse; a single-core operator gets its fair share
//    (1/cores) of the shared GLB and HBM bandwidth, so a schedule of concurrent single-core
//    operators never oversubscribes memory.
//  - kCompat: the original's Sunstone-like mapper with chip-wide bandwidths of 64/256/128 words per
//    cycle (reg-L1 / L1-GLB / GLB-DRAM), divisor-only spatial unrolling, and the original's
//    vector-core cycle table without a memory term (reference sections 4.2-4.4).
//
//   OpCost c = CostOperator(op, arch, CostOptions{});
//   c.single_core_s; c.all_cores_s; c.energy_j;
#ifndef PHAZE_COMMON_COST_COST_H_
#define PHAZE_COMMON_COST_COST_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "common/arch/arch.h"
#include "common/arch/chip_model.h"
#include "common/workload/layer_graph.h"

namespace phaze::cost {

enum class CostMode { kImproved, kCompat };

// Energy per event (defaults and sources in arch/chip_model.h: the chip model charges the same
// figures at peak rate).
using EnergyModel = arch::EnergyModel;

struct CostOptions {
  CostMode mode = CostMode::kImproved;
  EnergyModel energy;
};

struct OpCost {
  double single_core_s = 0;  // L_1: on one core of its kind
  double all_cores_s = 0;    // L_io: intra-operator parallel over every core of its kind
  double energy_j = 0;       // energy of one execution (the same for either mapping)
  // Bytes moved between HBM and the chip in each mapping (0 in compat mode, which has no HBM
  // term): the scheduler shares HBM bandwidth between operators that run at once.
  double single_core_hbm_bytes = 0;
  double all_cores_hbm_bytes = 0;
};

// The cost model behind one interface: the improved model (the default) and the original's
// (compatibility). Implementations are immutable and thread-safe.
class CostModel {
 public:
  virtual ~CostModel() = default;
  virtual const char* Name() const = 0;
  // Cost of one operator. `arch` must be valid (ValidateArchitecture).
  virtual OpCost Cost(const workload::Operator& op, const arch::Architecture& arch) const = 0;
  // Costs of every operator of a graph, in the same order.
  std::vector<OpCost> CostAll(const std::vector<workload::Operator>& ops,
                              const arch::Architecture& arch) const;
};

class ImprovedCostModel : public CostModel {
 public:
  explicit ImprovedCostModel(EnergyModel energy = {}) : energy_(energy) {}
  const char* Name() const override { return "improved"; }
  OpCost Cost(const workload::Operator& op, const arch::Architecture& arch) const override;

 private:
  EnergyModel energy_;
};

class CompatCostModel : public CostModel {
 public:
  explicit CompatCostModel(EnergyModel energy = {}) : energy_(energy) {}
  const char* Name() const override { return "compat"; }
  OpCost Cost(const workload::Operator& op, const arch::Architecture& arch) const override;

 private:
  EnergyModel energy_;
};

// The model `options.mode` names, with its energy model.
std::unique_ptr<CostModel> MakeCostModel(const CostOptions& options);

// Shorthands that build the model for one call (tests, the `phaze layer` command).
OpCost CostOperator(const workload::Operator& op, const arch::Architecture& arch,
                    const CostOptions& options);
std::vector<OpCost> CostOperators(const std::vector<workload::Operator>& ops,
                                  const arch::Architecture& arch, const CostOptions& options);

// Building blocks, exposed for tests and the benchmark.
//
// Cycles of a GEMM on `cores` tensor cores in improved mode, with the bandwidths given in bytes
// per cycle for the whole group of cores.
struct GemmBreakdown {
  double compute_cycles = 0;
  double glb_bytes = 0;  // traffic between the GLB and the cores
  double hbm_bytes = 0;  // traffic between HBM and the GLB
  double cycles = 0;     // the binding bound
};
GemmBreakdown ImprovedGemm(const workload::GemmShape& g, bool weight_operand, int64_t cores,
                           const arch::Architecture& arch, double glb_bytes_per_cycle,
                           double hbm_bytes_per_cycle);

// Cycles of a GEMM on `cores` cores in compat mode (reference 4.3 "compat mode").
double CompatGemmCycles(int64_t rows, int64_t reduction, int64_t cols, int64_t cores,
                        int64_t array_x, int64_t array_y, int64_t l1_words, int64_t glb_words);

// Ring all-reduce time: 2(t-1)/t * bytes / bandwidth + 2(t-1) * latency.
double RingAllReduceS(int64_t bytes, int64_t ranks, double bandwidth_bytes_per_s, double latency_s);

// Cycles per element of a vector function (forward or backward) in the given mode.
double VectorCyclesPerElement(workload::VectorFn fn, workload::Direction direction, CostMode mode);

}  // namespace phaze::cost

#endif  // PHAZE_COMMON_COST_COST_H_
