#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/arch/chip_model.h"
#include "common/base/status_macros.h"
#include "common/cost/cost.h"
#include "common/eval/eval.h"
#include "common/net/network.h"

namespace phaze::eval {

using arch::ArchCandidate;
using arch::Architecture;
using cost::MakeCostModel;
using cost::OpCost;
using workload::AllowedTensorWidths;
using workload::BuildModelGraph;
using workload::LayerGraph;
using workload::ModelGraph;
using workload::Operator;
using workload::OpKind;
namespace {

int Severity(sched::SolveStatus s) {
  switch (s) {
    case sched::SolveStatus::kOptimal: return 0;
    case sched::SolveStatus::kFeasible: return 1;
    case sched::SolveStatus::kNoSolution: return 2;
    case sched::SolveStatus::kInfeasible: return 3;
  }
  return 3;
}

double SumEnergy(const std::vector<OpCost>& costs) {
  double e = 0;
  for (const OpCost& c : costs) e += c.energy_j;
  return e;
}

int64_t GemmMacs(const LayerGraph& layer) {
  int64_t macs = 0;
  for (const auto* ops : {&layer.forward, &layer.backward}) {
    for (const Operator& op : *ops) {
      if (op.kind == OpKind::kGemm) macs += op.gemm.Macs();
    }
  }
  return macs;
}

}  // namespace

void IlpStats::Add(const sched::Schedule& s) {
  ++layers;
  if (s.from_cache) {
    ++cache_hits;
  } else if (s.mip_built) {
    ++built;
    solve_s += s.solve_s;
  } else if (s.order_searched) {
    ++searched;
  } else {
    ++skipped_by_bounds;
  }
  if (s.hit_time_limit && !s.from_cache) ++time_outs;
  sum_gap += s.gap;
  max_gap = std::max(max_gap, s.gap);
  if (Severity(s.status) > Severity(worst)) worst = s.status;
}

void IlpStats::Merge(const IlpStats& o) {
  layers += o.layers;
  built += o.built;
  searched += o.searched;
  skipped_by_bounds += o.skipped_by_bounds;
  cache_hits += o.cache_hits;
  time_outs += o.time_outs;
  skipped_by_dominance += o.skipped_by_dominance;
  sum_gap += o.sum_gap;
  max_gap = std::max(max_gap, o.max_gap);
  solve_s += o.solve_s;
  if (Severity(o.worst) > Severity(worst)) worst = o.worst;
}

void PhaseTimes::Merge(const PhaseTimes& o) {
  cost_s += o.cost_s;
  bounds_s += o.bounds_s;
  milp_s += o.milp_s;
  placement_s += o.placement_s;
}

bool EvaluationResult::AnyFeasible() const {
  for (const PointResult& p : points) {
    if (p.search.feasible) return true;
  }
  return false;
}

Evaluator::Evaluator(const EvaluationSpec& spec)
    : spec_(spec), space_(spec), cost_model_(MakeCostModel(spec.cost)) {
  graph_options_.compat_backward = spec.compat_backward;
  graph_options_.tp_overlap = spec.training.tp_overlap;
  graph_options_.fp32_main_grads = spec.training.fp32_main_grads;
}

absl::StatusOr<std::unique_ptr<Evaluator>> Evaluator::Create(const EvaluationSpec& job) {
  std::unique_ptr<Evaluator> e(new Evaluator(job));
  const int64_t max_t = std::min(job.training.max_tensor_width, job.training.accelerators);
  e->widths_ = AllowedTensorWidths(job.model, max_t);
  if (e->widths_.empty()) {
    return absl::InvalidArgumentError("training.max_tensor_width: allows no tensor width");
  }
  e->sp_modes_ = job.training.sequence_parallel;
  if (job.training.fixed_strategy.has_value() &&
      std::find(e->sp_modes_.begin(), e->sp_modes_.end(),
                job.training.fixed_strategy->sequence_parallel) == e->sp_modes_.end()) {
    e->sp_modes_.push_back(job.training.fixed_strategy->sequence_parallel);
  }
  for (int64_t mbs : job.training.micro_batch_sizes) {
    for (int64_t t : e->widths_) {
      for (bool requested : e->sp_modes_) {
        const bool sp = requested && t > 1;  // at t = 1 there is nothing to shard
        if (e->graphs_.count(std::make_tuple(mbs, t, sp)) > 0) continue;
        workload::GraphOptions options = e->graph_options_;
        options.sequence_parallel = sp;
        absl::StatusOr<ModelGraph> g = BuildModelGraph(job.model, mbs, t, options);
        if (!g.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("training.micro_batch_sizes: ", g.status().message()));
        }
        if (sp && mbs * job.model.seq_len % t != 0) continue;  // s b must split over t
        e->graphs_.emplace(std::make_tuple(mbs, t, sp), *std::move(g));
      }
    }
  }
  return e;
}

namespace {

// The state of one evaluation between its passes: per tensor width, the three distinct layers
// (embedding, block, head), each with its forward and backward scheduling problem and the best
// schedule known so far.
struct LayerWork {
  sched::Problem problem[2];  // forward, backward
  sched::Schedule bound[2];
  double energy_j[2] = {0, 0};
  double tp_comm_s[2] = {0, 0};  // tensor-parallel collectives (for the breakdown)
  double attention_core_s = 0;   // the forward's attention core (selective recompute)
  double attention_core_energy_j = 0;
  const LayerGraph* graph = nullptr;
  bool solved[2] = {false, false};  // its MILP has run
  // Whether the points will use this schedule's makespan as it stands: its bounds met within
  // the gap, or its MILP has run. Only the others can still get faster.
  bool Settled(int d) const {
    return solved[d] || bound[d].status != sched::SolveStatus::kFeasible;
  }
};
struct Width {
  int64_t t = 0;
  bool sp = false;
  int64_t num_blocks = 0;
  LayerWork layers[3];  // embedding, block, head
  bool schedulable = true;
};

// The chain of per-layer costs at one width: the schedules' makespans, or (optimistic) the lower
// bound of every schedule that is not settled yet, so that no placement of the points can beat
// it.
place::Chain MakeChain(const Width& w, bool optimistic) {
  place::LayerCost per_layer[3];
  for (int l = 0; l < 3; ++l) {
    const LayerWork& lw = w.layers[l];
    place::LayerCost& c = per_layer[l];
    auto latency = [&](int d) {
      return optimistic && !lw.Settled(d) ? lw.bound[d].lower_bound_s : lw.bound[d].makespan_s;
    };
    c.fwd_s = latency(0);
    c.bwd_s = latency(1);
    c.fwd_energy_j = lw.energy_j[0];
    c.bwd_energy_j = lw.energy_j[1];
    c.fwd_tp_comm_s = std::min(lw.tp_comm_s[0], c.fwd_s);
    c.bwd_tp_comm_s = std::min(lw.tp_comm_s[1], c.bwd_s);
    c.recompute_selective_s = lw.attention_core_s;
    c.recompute_selective_energy_j = lw.attention_core_energy_j;
    c.param_bytes = lw.graph->param_bytes;
    c.tied_param_bytes = lw.graph->tied_param_bytes;
    c.stash_bytes = lw.graph->stash_bytes;
    c.stash_selective_bytes = lw.graph->stash_selective_bytes;
    // Full recompute checkpoints the blocks (Megatron's transformer layers); the embedding and
    // the head keep their activations and are not recomputed.
    const bool block = lw.graph->kind == workload::LayerKind::kBlock;
    c.recompute_full_s = block ? c.fwd_s : 0.0;
    c.recompute_full_energy_j = block ? c.fwd_energy_j : 0.0;
    c.stash_full_bytes = block ? lw.graph->input_bytes : lw.graph->stash_bytes;
    // Megatron's scatter/gather of pipeline messages: each tensor-parallel rank sends its 1/t
    // slice of the replicated activation (Narayanan et al. 2021, section 4.1).
    c.output_bytes = lw.graph->output_bytes / w.t;
  }
  place::Chain chain;
  chain.tensor_width = w.t;
  chain.sequence_parallel = w.sp;
  chain.layers.reserve(static_cast<size_t>(w.num_blocks) + 2);
  chain.layers.push_back(per_layer[0]);
  for (int64_t b = 0; b < w.num_blocks; ++b) chain.layers.push_back(per_layer[1]);
  chain.layers.push_back(per_layer[2]);
  return chain;
}

// `only` (if not empty) keeps the widths it marks.
std::vector<place::Chain> MakeChains(const std::vector<Width>& widths, bool optimistic,
                                     const std::vector<bool>& only = {}) {
  std::vector<place::Chain> chains;
  for (size_t k = 0; k < widths.size(); ++k) {
    if (only.empty() || only[k]) chains.push_back(MakeChain(widths[k], optimistic));
  }
  return chains;
}

}  // namespace

place::PlacementInput PlacementInputFor(const EvaluationSpec& spec, const Architecture& arch,
                                        int64_t micro_batch, std::vector<place::Chain> chains,
                                        int64_t hbm, place::Recompute recompute) {
  place::PlacementInput in;
  in.chains = std::move(chains);
  in.accelerators = spec.training.accelerators;
  in.global_batch = spec.training.global_batch;
  in.micro_batch = micro_batch;
  in.optimizer = spec.training.optimizer;
  in.recompute = recompute;
  in.hbm_bytes = hbm;
  in.hbm_bandwidth_bytes_per_s = arch.hbm_bandwidth_bytes_per_s * arch.hbm_efficiency;
  in.network = net::NetworkOf(arch);
  in.rank_order = spec.training.rank_order;
  in.virtual_stages = spec.training.virtual_stages;
  in.shardings = spec.training.sharding;
  in.dp_overlap = spec.training.dp_overlap;
  in.fp32_main_grads = spec.training.fp32_main_grads;
  return in;
}

namespace {

place::PlacementInput InputFor(const EvaluationSpec& spec, const EvaluationResult& r,
                               std::vector<place::Chain> chains, int64_t hbm,
                               place::Recompute recompute) {
  return PlacementInputFor(spec, r.arch, r.micro_batch, std::move(chains), hbm, recompute);
}

}  // namespace

std::vector<int64_t> HbmSizesWithinBudget(const EvaluationSpec& spec, const Architecture& arch) {
  std::vector<int64_t> sizes;
  for (int64_t hbm : HbmSizesFor(spec, arch)) {
    if (OverBudget(spec, arch, hbm).empty()) sizes.push_back(hbm);
  }
  return sizes;
}

namespace {

// Best placements over the HBM sizes of one candidate, largest first, for the bounds (their times
// only). The sizes differ only in capacity, so a smaller size's feasible placements are a subset
// of a larger one's: where the larger size's best fits the smaller capacity (with a byte to spare
// for rounding) it is also the smaller size's best time, and where nothing fits the larger size
// nothing fits the smaller. Exact; it only skips a DP.
class PlacementsByHbm {
 public:
  const place::Placement& Place(const place::PlacementInput& in, int key) {
    return Get(in, key, [&] { return place::Place(in); });
  }
  const place::Placement& PlaceFixed(const place::PlacementInput& in, const place::Strategy& s,
                                     int key) {
    return Get(in, key, [&] { return place::PlaceFixed(in, s); });
  }

 private:
  template <typename Solve>
  const place::Placement& Get(const place::PlacementInput& in, int key, Solve solve) {
    auto it = larger_.find(key);
    if (it != larger_.end() && it->second.hbm_bytes >= in.hbm_bytes &&
        (!it->second.placement.feasible ||
         it->second.placement.memory_per_device_bytes + 1 <= in.hbm_bytes)) {
      return it->second.placement;
    }
    Entry& e = larger_[key];
    e.hbm_bytes = in.hbm_bytes;
    e.placement = solve();
    return e.placement;
  }
  struct Entry {
    int64_t hbm_bytes = 0;
    place::Placement placement;
  };
  std::map<int, Entry> larger_;  // node-based: a returned reference outlives later calls
};

// Pruned search: whether nothing this candidate could reach (lower-bound latencies, the layers'
// energy) escapes `can_skip` at any HBM size and recompute mode.
constexpr double kBoundSlack = 1e-9;

// `relevant` (if not empty): the widths that can still be chosen. `bound_only`: screen with the
// DP-free throughput bound alone (a point it cannot exclude counts as one that may make the
// front).
bool AllDominated(const EvaluationSpec& spec, const EvaluationResult& r,
                  const std::vector<Width>& widths, const std::vector<bool>& relevant,
                  const Evaluator::SkipTest& can_skip, bool bound_only = false) {
  const std::vector<place::Chain> optimistic = MakeChains(widths, true, relevant);
  double energy_lower = std::numeric_limits<double>::infinity();
  for (size_t k = 0, i = 0; k < widths.size(); ++k) {
    if (!relevant.empty() && !relevant[k]) continue;
    const place::Chain& chain = optimistic[i++];
    double e = 0;
    for (const place::LayerCost& c : chain.layers) e += c.fwd_energy_j + c.bwd_energy_j;
    energy_lower = std::min(
        energy_lower, e * static_cast<double>(widths[k].t) / static_cast<double>(r.micro_batch));
  }
  // Largest HBM first: more capacity never lowers the best throughput, so a smaller size that
  // weighs the same as a larger one already checked (the original's area model; a chip whose
  // stack count does not change) is dominated whenever that one is.
  std::vector<int64_t> sizes = HbmSizesWithinBudget(spec, r.arch);
  std::sort(sizes.rbegin(), sizes.rend());
  std::vector<Weighed> checked;
  PlacementsByHbm placements;
  for (int64_t hbm : sizes) {
    const Weighed w = WeighPoint(spec, r.arch, r.area_um2, hbm, energy_lower * (1 - kBoundSlack));
    if (std::any_of(checked.begin(), checked.end(), [&](const Weighed& c) {
          return c.area_um2 <= w.area_um2 && c.tdp_w <= w.tdp_w &&
                 c.energy_per_sample_j <= w.energy_per_sample_j;
        })) {
      continue;
    }
    checked.push_back(w);
    for (place::Recompute recompute : spec.training.recompute) {
      const place::PlacementInput in = InputFor(spec, r, optimistic, hbm, recompute);
      // The DP-free bound first: most candidates that cannot make the front fail it already.
      if (can_skip(place::ThroughputUpperBound(in) * (1 + kBoundSlack), w.area_um2, w.tdp_w,
                   w.energy_per_sample_j)) {
        continue;
      }
      if (bound_only) return false;
      const place::Placement& a = placements.Place(in, static_cast<int>(recompute));
      // The bounds are widened by a relative 1e-9: the optimistic and the real placement are
      // the same sums of different layer times, and rounding may put the bound an ulp below.
      if (a.feasible && !can_skip(a.throughput_samples_per_s * (1 + kBoundSlack), w.area_um2,
                                  w.tdp_w, w.energy_per_sample_j)) {
        return false;  // this point may make the front: the candidate is evaluated
      }
    }
  }
  return true;
}

// Survivors get better incumbents before the widths are compared: local search on every layer
// whose bounds are still apart (it often closes the gap, and tightens the comparison below).
void ImproveIncumbents(std::vector<Width>& widths, double relative_gap) {
  for (Width& w : widths) {
    for (LayerWork& lw : w.layers) {
      for (int d = 0; d < 2; ++d) {
        sched::Schedule& b = lw.bound[d];
        if (b.status != sched::SolveStatus::kFeasible) continue;
        const double lower = b.lower_bound_s;
        b = sched::ImproveByInsertion(lw.problem[d], std::move(b), lower);
        b.lower_bound_s = lower;
        b.gap = b.makespan_s > 0 ? (b.makespan_s - lower) / b.makespan_s : 0.0;
        if (b.gap <= relative_gap + 1e-9) b.status = sched::SolveStatus::kOptimal;
      }
    }
  }
}

// A width whose optimistic time per batch (lower-bound latencies) is worse than another width's
// pessimistic one (list-schedule latencies) at every HBM size and recompute mode can never be
// chosen, so its layer schedules need no MILP. The fixed strategy's width is kept.
std::vector<bool> RelevantWidths(const EvaluationSpec& spec, const EvaluationResult& r,
                                 const std::vector<Width>& widths) {
  std::vector<bool> relevant(widths.size(), widths.size() == 1);
  bool any_open = false;
  for (const Width& w : widths) {
    for (const LayerWork& lw : w.layers) {
      for (const sched::Schedule& b : lw.bound)
        any_open |= b.status != sched::SolveStatus::kOptimal;
    }
  }
  if (widths.size() > 1 && any_open) {
    const std::vector<place::Chain> optimistic = MakeChains(widths, true);
    const std::vector<place::Chain> pessimistic = MakeChains(widths, false);
    std::vector<int64_t> sizes = HbmSizesWithinBudget(spec, r.arch);
    std::sort(sizes.rbegin(), sizes.rend());  // largest first, for PlacementsByHbm
    PlacementsByHbm placements;
    for (int64_t hbm : sizes) {
      for (place::Recompute recompute : spec.training.recompute) {
        std::vector<double> lo(widths.size()), hi(widths.size());
        double best_hi = std::numeric_limits<double>::infinity();
        for (size_t k = 0; k < widths.size(); ++k) {
          const int key = (static_cast<int>(recompute) * static_cast<int>(widths.size()) +
                           static_cast<int>(k)) *
                          2;
          const place::Placement& a =
              placements.Place(InputFor(spec, r, {optimistic[k]}, hbm, recompute), key);
          const place::Placement& b =
              placements.Place(InputFor(spec, r, {pessimistic[k]}, hbm, recompute), key + 1);
          lo[k] = a.feasible ? a.time_per_batch_s : std::numeric_limits<double>::infinity();
          hi[k] = b.feasible ? b.time_per_batch_s : std::numeric_limits<double>::infinity();
          best_hi = std::min(best_hi, hi[k]);
        }
        for (size_t k = 0; k < widths.size(); ++k) {
          if (lo[k] <= best_hi * (1 + kBoundSlack) && std::isfinite(lo[k])) relevant[k] = true;
        }
      }
    }
  } else {
    relevant.assign(widths.size(), true);
  }
  if (spec.training.fixed_strategy.has_value()) {
    for (size_t k = 0; k < widths.size(); ++k) {
      if (widths[k].t == spec.training.fixed_strategy->tensor &&
          widths[k].sp == spec.training.fixed_strategy->sequence_parallel) {
        relevant[k] = true;
      }
    }
  }
  return relevant;
}

// A layer schedule whose bounds are still apart in a width that can win, and the time at stake
// in it per micro-batch (its gap, once per block for the blocks).
struct OpenLayer {
  size_t width = 0;
  int layer = 0;
  int dir = 0;
  double stake_s = 0;
};

// The MILPs still to solve, the most time at stake first (index order among equals).
std::vector<OpenLayer> OpenLayers(const std::vector<Width>& widths,
                                  const std::vector<bool>& relevant) {
  std::vector<OpenLayer> open;
  for (size_t k = 0; k < widths.size(); ++k) {
    if (!relevant[k]) continue;
    for (int l = 0; l < 3; ++l) {
      const LayerWork& lw = widths[k].layers[l];
      const double count = l == 1 ? static_cast<double>(widths[k].num_blocks) : 1.0;
      for (int d = 0; d < 2; ++d) {
        if (lw.Settled(d)) continue;
        open.push_back({k, l, d, count * (lw.bound[d].makespan_s - lw.bound[d].lower_bound_s)});
      }
    }
  }
  std::stable_sort(open.begin(), open.end(),
                   [](const OpenLayer& a, const OpenLayer& b) { return a.stake_s > b.stake_s; });
  return open;
}

// One open layer schedule, started from the best schedule known: with `milp`, solved (the order
// search or the MILP); without, only what the order search settles (cheap), else its best
// schedule so far, still open.
absl::Status SolveOpen(LayerWork& lw, int d, const sched::SolveOptions& solve, bool milp,
                       sched::SchedulerBackend& backend, sched::ScheduleCache* cache) {
  sched::SolveOptions with_start = solve;
  with_start.incumbent = &lw.bound[d];
  with_start.allow_milp = milp;
  PHAZE_ASSIGN_OR_RETURN(lw.bound[d],
                         sched::ScheduleLayer(lw.problem[d], with_start, backend, cache));
  lw.solved[d] = milp;
  return absl::OkStatus();
}

// Every layer schedule's statistics: settled ones as they stand, open ones as skipped (their
// width, or the whole candidate, cannot make the front, so their gap never reaches a number).
void CountSchedules(const std::vector<Width>& widths, const std::vector<bool>& relevant,
                    IlpStats& ilp) {
  for (size_t k = 0; k < widths.size(); ++k) {
    for (const LayerWork& lw : widths[k].layers) {
      for (int d = 0; d < 2; ++d) {
        if (relevant[k] ? lw.Settled(d) : lw.bound[d].status == sched::SolveStatus::kOptimal) {
          ilp.Add(lw.bound[d]);
        } else {
          ++ilp.layers;
          ++ilp.skipped_by_dominance;
        }
      }
    }
  }
}

// The points of every HBM size (HbmSizesFor) and recompute mode, placed over `chains`; a point
// over the job's budget stays infeasible and is not placed.
void AddPoints(const EvaluationSpec& spec, const std::vector<place::Chain>& chains,
               EvaluationResult& r) {
  std::vector<int64_t> sizes = HbmSizesFor(spec, r.arch);
  // Placed from the largest size down (PlacementsByHbm); listed in the job's order.
  std::vector<size_t> order(sizes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sizes[a] > sizes[b]; });
  const size_t modes = spec.training.recompute.size();
  std::vector<PointResult> points(sizes.size() * modes);
  PlacementsByHbm searched, fixed;
  for (size_t i : order) {
    const int64_t hbm = sizes[i];
    const bool within = OverBudget(spec, r.arch, hbm).empty();
    for (size_t k = 0; k < modes; ++k) {
      const place::Recompute recompute = spec.training.recompute[k];
      PointResult& point = points[i * modes + k];
      point.hbm_bytes = hbm;
      point.recompute = recompute;
      point.has_fixed = spec.training.fixed_strategy.has_value();
      if (within) {
        const place::PlacementInput in = InputFor(spec, r, chains, hbm, recompute);
        point.search = searched.Place(in, static_cast<int>(k));
        if (point.has_fixed) {
          point.fixed = fixed.PlaceFixed(in, *spec.training.fixed_strategy, static_cast<int>(k));
        }
      }
    }
  }
  for (PointResult& point : points) r.points.push_back(std::move(point));
}

}  // namespace

absl::StatusOr<EvaluationResult> Evaluator::Evaluate(int64_t candidate,
                                                     sched::SchedulerBackend& backend,
                                                     sched::ScheduleCache* cache,
                                                     const SkipTest& can_skip) const {
  if (candidate < 0 || candidate >= NumCandidates()) {
    return absl::InvalidArgumentError(
        absl::StrCat("candidate ", candidate, " outside [0, ", NumCandidates(), ")"));
  }
  const Candidate cand = space_.At(candidate);
  const ArchCandidate& arch = cand.arch;
  EvaluationResult r;
  r.candidate_index = candidate;
  r.arch_index = arch.index;
  r.micro_batch = cand.micro_batch;
  r.arch = arch.arch;
  r.area_um2 = arch.area_um2;
  r.valid = arch.valid;
  if (!arch.valid) return r;
  // A chip over the job's budget at every HBM size is placed nowhere: no schedule is needed.
  if (!WithinBudgetSomewhere(spec_, r.arch)) {
    AddPoints(spec_, {}, r);
    return r;
  }
  const sched::SolveOptions solve = SolveOptionsOf(spec_.solver);
  // Charges the time since the last lap to one phase (nothing without a clock).
  double last = clock_ ? clock_() : 0.0;
  auto lap = [&](double PhaseTimes::*phase) {
    if (!clock_) return;
    const double now = clock_();
    r.phases.*phase += now - last;
    last = now;
  };

  // Pass 1: bounds for every layer schedule of every width (list schedule and lower bound).
  std::vector<Width> widths;
  for (const auto& [key, g] : graphs_) {
    const auto& [mbs, t, sp] = key;
    if (mbs != r.micro_batch) continue;
    Width w;
    w.t = t;
    w.sp = sp;
    w.num_blocks = g.num_blocks;
    const LayerGraph* layers[3] = {&g.embedding, &g.block, &g.head};
    for (int l = 0; l < 3; ++l) {
      LayerWork& lw = w.layers[l];
      lw.graph = layers[l];
      const std::vector<Operator>* dirs[2] = {&layers[l]->forward, &layers[l]->backward};
      for (int d = 0; d < 2; ++d) {
        const std::vector<OpCost> costs = cost_model_->CostAll(*dirs[d], r.arch);
        lw.problem[d] = SchedulingProblem(*dirs[d], costs, r.arch, spec_.training.tp_overlap);
        PHAZE_RETURN_IF_ERROR(sched::ValidateProblem(lw.problem[d]));
        lap(&PhaseTimes::cost_s);
        // A pruned search screens on the lower bounds first (pass 1b adds the list schedules).
        lw.bound[d] = can_skip ? sched::LowerBoundLayer(lw.problem[d], solve, cache)
                               : sched::BoundLayer(lw.problem[d], solve, cache);
        lap(&PhaseTimes::bounds_s);
        lw.energy_j[d] = SumEnergy(costs);
        const std::vector<Operator>& ops = *dirs[d];
        for (size_t i = 0; i < ops.size(); ++i) {
          if (ops[i].kind == OpKind::kAllReduce) lw.tp_comm_s[d] += costs[i].all_cores_s;
          if (d == 0 && ops[i].attention_core) {
            lw.attention_core_s += costs[i].all_cores_s;
            lw.attention_core_energy_j += costs[i].energy_j;
          }
        }
        if (lw.bound[d].status == sched::SolveStatus::kInfeasible) w.schedulable = false;
      }
    }
    if (w.schedulable) widths.push_back(std::move(w));
  }
  // Pruned search: stop here if nothing this candidate could reach would make the front. First
  // on the lower bounds and the DP-free throughput bound (most candidates stop there), then on
  // the list schedules with the placement DP.
  lap(&PhaseTimes::cost_s);
  if (can_skip && !widths.empty()) {
    const bool screened = AllDominated(spec_, r, widths, {}, can_skip, /*bound_only=*/true);
    lap(&PhaseTimes::placement_s);
    if (screened) {
      r.pruned = true;
      return r;
    }
    // Pass 1b: the list schedules of the survivors.
    for (Width& w : widths) {
      for (LayerWork& lw : w.layers) {
        for (int d = 0; d < 2; ++d) {
          if (sched::OnlyLowerBound(lw.bound[d])) {
            lw.bound[d] = sched::BoundLayer(lw.problem[d], solve, cache);
          }
        }
      }
    }
    lap(&PhaseTimes::bounds_s);
    const bool dominated = AllDominated(spec_, r, widths, {}, can_skip);
    lap(&PhaseTimes::placement_s);
    if (dominated) {
      r.pruned = true;
      return r;
    }
  }
  ImproveIncumbents(widths, solve.relative_gap);
  lap(&PhaseTimes::bounds_s);
  // Pass 2: the widths that can win.
  const std::vector<bool> relevant = RelevantWidths(spec_, r, widths);
  lap(&PhaseTimes::placement_s);
  // Pass 3: their exact schedules. First what the order search settles (milliseconds each);
  // then, while MILPs remain, the most time at stake first, a pruned search checks again before
  // each: every solved schedule tightens the bound, and a candidate that falls behind the front
  // needs none of the rest.
  for (const OpenLayer& o : OpenLayers(widths, relevant)) {
    PHAZE_RETURN_IF_ERROR(
        SolveOpen(widths[o.width].layers[o.layer], o.dir, solve, false, backend, cache));
  }
  lap(&PhaseTimes::milp_s);
  for (const OpenLayer& o : OpenLayers(widths, relevant)) {
    if (can_skip) {
      const bool dominated = AllDominated(spec_, r, widths, relevant, can_skip);
      lap(&PhaseTimes::placement_s);
      if (dominated) {
        CountSchedules(widths, relevant, r.ilp);
        r.pruned = true;
        return r;
      }
    }
    PHAZE_RETURN_IF_ERROR(
        SolveOpen(widths[o.width].layers[o.layer], o.dir, solve, true, backend, cache));
    lap(&PhaseTimes::milp_s);
  }
  CountSchedules(widths, relevant, r.ilp);
  // Pass 4: the placement of every HBM size and recompute mode (and the fixed strategy's).
  AddPoints(spec_, MakeChains(widths, false, relevant), r);
  lap(&PhaseTimes::placement_s);
  return r;
}

std::vector<int64_t> HbmSizesFor(const EvaluationSpec& spec, const Architecture& arch) {
  if (arch.hbm_stacks <= 0) return spec.hbm_bytes;
  const absl::StatusOr<arch::HbmStackType> stack = arch::FindHbmStack(arch.hbm_stack);
  return {stack.ok() ? arch.hbm_stacks * stack->capacity_bytes : 0};
}

bool WithinBudgetSomewhere(const EvaluationSpec& spec, const Architecture& arch) {
  return !HbmSizesWithinBudget(spec, arch).empty();
}

const char* AreaModelName(AreaModel m) { return m == AreaModel::kChip ? "chip" : "original"; }

absl::Status ValidateObjectives(const ObjectiveSpec& o) {
  if (o.power && o.area_model == AreaModel::kOriginal) {
    return absl::InvalidArgumentError(
        "objectives: power needs the chip model (chip_model.area_model: chip); the original's "
        "area model has no power");
  }
  return absl::OkStatus();
}

Weighed WeighPoint(const EvaluationSpec& spec, const Architecture& arch, double original_area_um2,
                   int64_t hbm_bytes, double energy_per_sample_j) {
  const ObjectiveSpec& o = spec.objectives;
  Weighed w;
  if (o.energy) w.energy_per_sample_j = energy_per_sample_j;
  const bool chip_area = o.area && o.area_model == AreaModel::kChip;
  if (o.area && !chip_area) w.area_um2 = original_area_um2;
  if (chip_area || o.power) {
    // The job's node and stack type were checked when it was parsed; a chip the model cannot
    // price weighs as infinitely large (never on the front, never pruning another).
    const absl::StatusOr<arch::ChipCost> c = arch::EstimateChip(arch, hbm_bytes, spec.chip_model);
    const double inf = std::numeric_limits<double>::infinity();
    if (chip_area) w.area_um2 = c.ok() ? c->area.total_mm2 * 1e6 : inf;
    if (o.power) w.tdp_w = c.ok() ? c->power.total_w : inf;
  }
  return w;
}

std::string OverBudget(const EvaluationSpec& spec, const Architecture& arch, int64_t hbm_bytes) {
  const BudgetSpec& budget = spec.budget;
  if (budget.chip_area_mm2 <= 0 && budget.tdp_w <= 0 && !budget.shoreline && !budget.reticle) {
    return "";
  }
  const absl::StatusOr<arch::ChipCost> c = arch::EstimateChip(arch, hbm_bytes, spec.chip_model);
  if (!c.ok()) return std::string(c.status().message());
  if (budget.chip_area_mm2 > 0 && c->area.total_mm2 > budget.chip_area_mm2) {
    return absl::StrFormat("chip area %.1f mm^2 > %.1f", c->area.total_mm2, budget.chip_area_mm2);
  }
  if (budget.tdp_w > 0 && c->power.total_w > budget.tdp_w) {
    return absl::StrFormat("TDP %.1f W > %.1f", c->power.total_w, budget.tdp_w);
  }
  if (budget.reticle && !c->fits_reticle) {
    return absl::StrFormat("chip area %.1f mm^2 > the %.0f mm^2 reticle", c->area.total_mm2,
                           arch::kReticleMm2);
  }
  if (budget.shoreline && !c->fits_shoreline) {
    return absl::StrFormat("%d HBM stacks, the die's edge takes %d without padding", c->hbm_stacks,
                           c->max_hbm_stacks);
  }
  return "";
}

sched::Problem SchedulingProblem(const std::vector<Operator>& ops, const std::vector<OpCost>& costs,
                                 const Architecture& arch, bool tp_overlap) {
  sched::Problem p;
  p.num_tc = arch.single_stream ? 1 : arch.num_tc;
  p.num_vc = arch.single_stream ? 1 : arch.num_vc;
  const double hbm_bytes_per_s = arch.hbm_bandwidth_bytes_per_s * arch.hbm_efficiency;
  p.tasks.reserve(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    sched::Task t;
    t.engine = ops[i].engine();
    t.single_core_s = costs[i].single_core_s;
    t.all_cores_s = costs[i].all_cores_s;
    // Each mapping's share of HBM bandwidth: its bytes over its latency, over the bandwidth the
    // chip achieves. (One stream runs one operator at a time: nothing to share.)
    if (!arch.single_stream && hbm_bytes_per_s > 0) {
      auto share = [&](double bytes, double s) {
        return s > 0 ? std::min(1.0, bytes / (s * hbm_bytes_per_s)) : 0.0;
      };
      t.single_core_hbm_share = share(costs[i].single_core_hbm_bytes, t.single_core_s);
      t.all_cores_hbm_share = share(costs[i].all_cores_hbm_bytes, t.all_cores_s);
    }
    if (arch.single_stream && (t.engine != workload::Engine::kLink || !tp_overlap)) {
      // One compute unit: the whole chip, at its all-cores latency.
      t.engine = workload::Engine::kTensor;
      t.single_core_s = costs[i].all_cores_s;
    }
    t.deps = ops[i].deps;
    p.tasks.push_back(std::move(t));
  }
  return p;
}

double Evaluator::ThroughputUpperBound(const Architecture& arch, int64_t micro_batch) const {
  // Sum over t ranks of a layer's GEMM work equals its t = 1 work, so the t = 1 graph gives the
  // whole model's MACs per micro-batch.
  const ModelGraph& g = graphs_.at({micro_batch, widths_.front(), false});
  const double t = static_cast<double>(widths_.front());
  const double macs_per_microbatch =
      t * static_cast<double>(GemmMacs(g.embedding) + g.num_blocks * GemmMacs(g.block) +
                              GemmMacs(g.head));
  const double macs_per_sample = macs_per_microbatch / static_cast<double>(micro_batch);
  const double device_macs_per_s = static_cast<double>(arch.TcMacs()) * arch.clock_hz;
  return static_cast<double>(spec_.training.accelerators) * device_macs_per_s / macs_per_sample;
}

absl::StatusOr<Evaluator::SingleDevice> Evaluator::SingleDeviceCost(
    const Architecture& arch, int64_t micro_batch, sched::ScheduleCache* cache) const {
  auto it = graphs_.find({micro_batch, 1, false});
  if (it == graphs_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("micro-batch ", micro_batch, " at tensor width 1 is not in the job"));
  }
  const ModelGraph& g = it->second;
  const sched::SolveOptions solve = SolveOptionsOf(spec_.solver);
  SingleDevice total;
  for (const auto& [layer, count] : workload::RepeatedLayers(g)) {
    for (const std::vector<Operator>* ops : {&layer->forward, &layer->backward}) {
      const std::vector<OpCost> costs = cost_model_->CostAll(*ops, arch);
      const sched::Problem problem =
          SchedulingProblem(*ops, costs, arch, spec_.training.tp_overlap);
      PHAZE_RETURN_IF_ERROR(sched::ValidateProblem(problem));
      const sched::Schedule s = sched::BoundLayer(problem, solve, cache);
      total.latency_s += count * s.makespan_s;
      total.energy_j += count * SumEnergy(costs);
    }
  }
  return total;
}

double Evaluator::EnergyLowerBound(int64_t micro_batch) const {
  const ModelGraph& g = graphs_.at({micro_batch, widths_.front(), false});
  const double t = static_cast<double>(widths_.front());
  const double macs = t * static_cast<double>(GemmMacs(g.embedding) +
                                              g.num_blocks * GemmMacs(g.block) + GemmMacs(g.head));
  return macs * spec_.cost.energy.mac_j / static_cast<double>(micro_batch);
}

sched::SolveOptions SolveOptionsOf(const SolverSpec& solver) {
  sched::SolveOptions solve;
  solve.time_limit_s = solver.time_limit_s;
  solve.relative_gap = solver.relative_gap;
  solve.max_nodes = solver.max_nodes;
  solve.order_search_nodes = solver.order_search_nodes;
  return solve;
}

}  // namespace phaze::eval
