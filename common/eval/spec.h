// What one evaluation needs to know: the model, the training setup, the chips (a space or a fixed
// list), the HBM sizes, the cost model and the scheduler's options. Plain data; the job file's
// parser (common/job/) fills it, and nothing here knows about YAML or the wire.
//
//   EvaluationSpec spec;
//   spec.model = *ZooModel("bertlarge");
//   spec.fixed_architectures = {*Preset("tpuv4")};
//   PHAZE_ASSIGN_OR_RETURN(auto evaluator, Evaluator::Create(spec));
#ifndef PHAZE_COMMON_EVAL_SPEC_H_
#define PHAZE_COMMON_EVAL_SPEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/arch/arch.h"
#include "common/arch/chip_model.h"
#include "common/cost/cost.h"
#include "common/place/strategy.h"
#include "common/workload/model.h"

namespace phaze::eval {

struct TrainingSpec {
  int64_t accelerators = 1024;
  int64_t global_batch = 4096;  // samples (sequences) per optimizer step
  std::vector<int64_t> micro_batch_sizes = {1};
  // Each mode is its own row of every evaluation (a design dimension of the front).
  std::vector<place::Recompute> recompute = {place::Recompute::kNone, place::Recompute::kFull};
  place::Optimizer optimizer = place::Optimizer::kAdam;
  // What the placement may choose (the DP tries every combination).
  std::vector<int64_t> virtual_stages = {1};
  std::vector<bool> sequence_parallel = {false};
  std::vector<place::Sharding> sharding = {place::Sharding::kNone};
  place::RankOrder rank_order = place::RankOrder::kTensorDataPipeline;
  // Whether backward tensor-parallel collectives may overlap the weight-gradient GEMMs.
  bool tp_overlap = false;
  // Whether each stage's gradient reduction overlaps its last backward pass (place.h:
  // PlacementInput::dp_overlap; the placement then uses uniform splits only).
  bool dp_overlap = false;
  // Gradients accumulated, reduced and stored in fp32 (Megatron's default with bf16; place.h and
  // layer_graph.h say what it costs). false: 16-bit gradients.
  bool fp32_main_grads = false;
  int64_t max_tensor_width = 8;
  std::optional<place::Strategy> fixed_strategy;  // e.g. the paper's baseline, reported beside
};

struct SolverSpec {
  double time_limit_s = 10;  // per scheduling ILP, wall clock (a safety net)
  double relative_gap = 0.01;
  int64_t max_nodes = 500;  // per scheduling ILP; deterministic, unlike the time limit
  // Nodes of the exact search over operator orders and mappings tried on a layer before its MILP
  // (0: every open layer goes to the MILP, as the original did).
  int64_t order_search_nodes = 50'000;
};

// Budgets by the chip model (arch/chip_model.h): a (chip, HBM size) point over one is
// infeasible and is not placed. 0 (or false): no budget.
struct BudgetSpec {
  double chip_area_mm2 = 0;
  double tdp_w = 0;
  // The HBM stacks must fit along the edge of the die its logic needs: no edge pad. Without it
  // a die that needs more edge is padded (the chip model charges the pad's area).
  bool shoreline = false;
  // The die fits one lithography exposure field (arch::kReticleMm2, 858 mm^2).
  bool reticle = false;
};

// How a design's chip is weighed on the Pareto front, besides its throughput.
enum class AreaModel {
  // The chip model (arch/chip_model.h): every resource costs area and power, HBM stacks, GLB
  // ports, links and the on-chip network included. The default.
  kChip,
  // The original PHAZE's area model (arch.h: AreaUm2): cores and SRAM capacity only; bandwidth,
  // HBM and links are free and there is no power. For reproducing the paper.
  kOriginal,
};
const char* AreaModelName(AreaModel m);

// Which objectives the front weighs besides throughput (an objective not weighed is 0 in every
// point, so it never decides) and by which area model. Budgets (BudgetSpec) are the constraints.
struct ObjectiveSpec {
  AreaModel area_model = AreaModel::kChip;
  bool area = true;
  bool power = true;  // TDP by the chip model; only with AreaModel::kChip
  bool energy = true;
};

struct EvaluationSpec {
  workload::ModelSpec model;
  TrainingSpec training;
  // Exactly one of: a list of fixed architectures (presets or spelled out), or a space.
  std::vector<arch::Architecture> fixed_architectures;
  std::optional<arch::ArchSpaceSpec> space;
  std::vector<int64_t> hbm_bytes = {32 * kGiB, 64 * kGiB, 80 * kGiB};
  BudgetSpec budget;
  ObjectiveSpec objectives;
  arch::ChipModelScales chip_model;  // multipliers on the chip model's constants (sensitivity)
  cost::CostOptions cost;
  bool compat_backward = false;  // the original's backward without weight gradients
  SolverSpec solver;
};

}  // namespace phaze::eval

#endif  // PHAZE_COMMON_EVAL_SPEC_H_
