// One evaluation: (workload, architecture, micro-batch) -> for every HBM size and recompute mode,
// the best placement (and the job's fixed strategy), with the architecture's area and energy.
//
// Layer schedules are solved once per (t, layer, direction) and reused across HBM sizes and
// recompute modes; a shared ScheduleCache also reuses them across architectures whose latencies
// coincide.
//
//   PHAZE_ASSIGN_OR_RETURN(auto evaluator, Evaluator::Create(spec));
//   CbcBackend cbc;
//   ScheduleCache cache;
//   PHAZE_ASSIGN_OR_RETURN(EvaluationResult r, evaluator->Evaluate(index, cbc, &cache));
#ifndef PHAZE_COMMON_EVAL_EVAL_H_
#define PHAZE_COMMON_EVAL_EVAL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/cost/cost.h"
#include "common/eval/candidate_space.h"
#include "common/eval/spec.h"
#include "common/place/place.h"
#include "common/sched/sched.h"
#include "common/workload/layer_graph.h"

namespace phaze::eval {

struct IlpStats {
  int64_t layers = 0;             // layer schedules requested
  int64_t built = 0;              // MILPs built and handed to the solver
  int64_t searched = 0;           // solved exactly by the search over operator orders: no MILP
  int64_t skipped_by_bounds = 0;  // bounds met within the gap: no MILP
  int64_t cache_hits = 0;
  int64_t skipped_by_dominance = 0;  // bounds apart, but the width cannot be chosen: no MILP
  int64_t time_outs = 0;
  double sum_gap = 0;
  double max_gap = 0;
  double solve_s = 0;  // as reported by the solver
  sched::SolveStatus worst = sched::SolveStatus::kOptimal;
  void Add(const sched::Schedule& s);
  void Merge(const IlpStats& other);
};

// Where an evaluation's time went, in seconds of the evaluating thread, by the clock the
// Evaluator was given (all 0 without one): the cost model and the scheduling problems, the layer
// bounds (list schedules, lower bounds, local search), the MILPs, and the placement DP (the
// pruning check, the width comparison and the points).
struct PhaseTimes {
  double cost_s = 0;
  double bounds_s = 0;
  double milp_s = 0;
  double placement_s = 0;
  double Total() const { return cost_s + bounds_s + milp_s + placement_s; }
  void Merge(const PhaseTimes& other);
};

struct PointResult {
  int64_t hbm_bytes = 0;
  place::Recompute recompute = place::Recompute::kNone;
  place::Placement search;
  bool has_fixed = false;
  place::Placement fixed;
};

struct EvaluationResult {
  int64_t candidate_index = 0;
  int64_t arch_index = 0;
  int64_t micro_batch = 0;
  arch::Architecture arch;
  double area_um2 = 0;
  bool valid = false;               // inside the area window; invalid points are not evaluated
  bool pruned = false;              // skipped by bounds (pruned search); no points
  std::vector<PointResult> points;  // HBM-major (HbmSizesFor), then recompute, in the job's order
  IlpStats ilp;
  PhaseTimes phases;
  bool AnyFeasible() const;
};

class Evaluator {
 public:
  // Builds every (micro-batch, t) operator graph once. kInvalidArgument if the job's model does
  // not admit its micro-batch sizes or tensor widths.
  static absl::StatusOr<std::unique_ptr<Evaluator>> Create(const EvaluationSpec& spec);

  // Candidates are numbered arch_index * |micro_batch_sizes| + micro-batch index (see
  // CandidateSpace).
  int64_t NumCandidates() const { return space_.Size(); }
  const EvaluationSpec& spec() const { return spec_; }
  const CandidateSpace& space() const { return space_; }

  // A monotonic clock in seconds for PhaseTimes (the services and benchmarks pass one; the core
  // reads no clock of its own). Set before the first Evaluate.
  using Clock = std::function<double()>;
  void SetClock(Clock clock) { clock_ = std::move(clock); }

  // Thread-safe; `cache` may be null. Outcomes (infeasible, time-outs) are data on the result.
  //
  // `can_skip` (may be empty) lets a pruned search stop early: after the cheap bound pass it is
  // asked, with an upper bound on throughput (samples/s), the exact area (um^2) and TDP (W) and a
  // lower bound on energy per sample (J), each as the job weighs it (WeighPoint), whether some
  // known design already beats anything this candidate could reach; if it answers true for every
  // HBM size and recompute mode, no MILP is solved and the result comes back with `pruned` set
  // and no points.
  using SkipTest = std::function<bool(double throughput_upper, double area_um2, double tdp_w,
                                      double energy_lower)>;
  absl::StatusOr<EvaluationResult> Evaluate(int64_t candidate, sched::SchedulerBackend& backend,
                                            sched::ScheduleCache* cache,
                                            const SkipTest& can_skip = {}) const;

  // Upper bound on the throughput any placement on this chip can reach: every device at its peak
  // tensor-core rate on the model's GEMM work.
  double ThroughputUpperBound(const arch::Architecture& arch, int64_t micro_batch) const;
  // Lower bound on energy per sample: the GEMM MACs alone.
  double EnergyLowerBound(int64_t micro_batch) const;

  // The chip alone, without placement: one micro-batch through every layer of the model,
  // forward and backward, at tensor width 1, each layer by its list schedule (no MILP), and the
  // energy of that work. For decoupled (Spotlight-style) baselines that choose a chip for
  // single-accelerator latency and place it afterwards.
  struct SingleDevice {
    double latency_s = 0;
    double energy_j = 0;
  };
  absl::StatusOr<SingleDevice> SingleDeviceCost(const arch::Architecture& arch, int64_t micro_batch,
                                                sched::ScheduleCache* cache) const;

 private:
  explicit Evaluator(const EvaluationSpec& spec);
  EvaluationSpec spec_;
  CandidateSpace space_;
  std::unique_ptr<const cost::CostModel> cost_model_;
  workload::GraphOptions graph_options_;
  // (micro-batch, t, sequence parallel) -> graph
  std::map<std::tuple<int64_t, int64_t, bool>, workload::ModelGraph> graphs_;
  std::vector<int64_t> widths_;
  std::vector<bool> sp_modes_;
  Clock clock_;
};

// The HBM sizes a chip is evaluated at: its stacks' capacity when the space chooses the stacks
// (arch.hbm_stacks > 0), otherwise the job's list.
std::vector<int64_t> HbmSizesFor(const EvaluationSpec& spec, const arch::Architecture& arch);

// Why the chip with `hbm_bytes` breaks the job's budget ("chip area 612.3 mm^2 > 600"), or empty
// when it keeps every budget.
std::string OverBudget(const EvaluationSpec& spec, const arch::Architecture& arch,
                       int64_t hbm_bytes);

// Whether the chip keeps the job's budget at one of its HBM sizes at least.
bool WithinBudgetSomewhere(const EvaluationSpec& spec, const arch::Architecture& arch);

// The HBM sizes of the chip that keep the job's budget (HbmSizesFor's order).
std::vector<int64_t> HbmSizesWithinBudget(const EvaluationSpec& spec,
                                          const arch::Architecture& arch);

// kInvalidArgument naming the field if the objectives ask for power by the original's area
// model (which has none).
absl::Status ValidateObjectives(const ObjectiveSpec& objectives);

// The objectives besides throughput of a (chip, HBM size) point, as the job weighs them
// (spec.objectives): its area in um^2 by the job's area model (`original_area_um2` is the
// original's, from the space), its TDP in W by the chip model, and `energy_per_sample_j`; 0 for
// an objective the job does not weigh.
struct Weighed {
  double area_um2 = 0;
  double tdp_w = 0;
  double energy_per_sample_j = 0;
};
Weighed WeighPoint(const EvaluationSpec& spec, const arch::Architecture& arch,
                   double original_area_um2, int64_t hbm_bytes, double energy_per_sample_j);

// The placement problem of one (architecture, micro-batch, HBM size, recompute mode): the job's
// training setup, the chip's network and achieved HBM bandwidth, and the given chains.
place::PlacementInput PlacementInputFor(const EvaluationSpec& spec, const arch::Architecture& arch,
                                        int64_t micro_batch, std::vector<place::Chain> chains,
                                        int64_t hbm, place::Recompute recompute);

// The scheduling problem of one layer direction on `arch`: one task per operator with its
// single-core and all-cores latency. On a single-stream chip (a GPU) every compute operator takes
// the whole chip (all its cores) and no two compute operators overlap: they share one unit.
// Collectives run beside compute there only with `tp_overlap` (where the graph's dependencies
// let them); without it the compute stream waits for each collective, so it joins that unit too.
sched::Problem SchedulingProblem(const std::vector<workload::Operator>& ops,
                                 const std::vector<cost::OpCost>& costs,
                                 const arch::Architecture& arch, bool tp_overlap);

// The layer scheduler's options from a job's `solver:` section.
sched::SolveOptions SolveOptionsOf(const SolverSpec& solver);

}  // namespace phaze::eval

#endif  // PHAZE_COMMON_EVAL_EVAL_H_
