// A whole search over a job's candidates: the plan (which candidates, in which batches), the
// aggregation (Pareto front, best point, statistics), and a local runner on threads.
//
// Plans, as an ask/tell loop (timeloop style):
//  - exhaustive: every candidate of a valid architecture, in one batch;
//  - pruned: the same, but a candidate is skipped when its throughput upper bound, area and energy
//    lower bound are strictly dominated by a point already on the front (it cannot reach it);
//  - area-buckets: the original's heuristic: architectures in descending-area buckets, one batch
//    per bucket, stopping when the best throughput has not risen over the last `window` buckets.
// SearchState::Add is idempotent by candidate index and order-independent, so the front and best
// point do not depend on the number of threads, arrival order or retries.
//
//   PHAZE_ASSIGN_OR_RETURN(auto evaluator, Evaluator::Create(job));
//   SearchState state = RunLocal(*evaluator, /*threads=*/2, nullptr);
#ifndef PHAZE_COMMON_SEARCH_SEARCH_H_
#define PHAZE_COMMON_SEARCH_SEARCH_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/eval/eval.h"
#include "common/search/pareto.h"

namespace phaze::search {

enum class SearchStrategy {
  kExhaustive,   // every valid architecture
  kPruned,       // skip an architecture only when a bound proves it cannot reach the front
  kAreaBuckets,  // the original's descending-area bucket heuristic (compatibility)
};

struct SearchSpec {
  SearchStrategy strategy = SearchStrategy::kPruned;
  // The original's bucket heuristic: bucket width and stop window.
  double bucket_um2 = 10'000;
  int64_t bucket_window = 5;
};

const char* SearchStrategyName(SearchStrategy s);

class SearchPlan {
 public:
  // `evaluator` must outlive the plan.
  SearchPlan(const eval::Evaluator& evaluator, const SearchSpec& spec);
  // The next batch of candidate indices (ascending); empty when the search is over.
  std::vector<int64_t> NextBatch();
  // Feeds one result back (for the bucket stop rule).
  void Tell(const eval::EvaluationResult& result);
  int64_t planned() const { return planned_; }  // candidates the plan may visit in all

 private:
  const eval::Evaluator& evaluator_;
  SearchSpec spec_;
  std::vector<std::vector<int64_t>> batches_;
  size_t next_ = 0;
  int64_t planned_ = 0;
  // Area-buckets bookkeeping.
  std::map<int64_t, int64_t> bucket_of_candidate_;
  std::vector<double> bucket_best_;
};

struct SearchStats {
  int64_t evaluated = 0;
  int64_t feasible = 0;  // candidates with at least one feasible placement
  int64_t infeasible = 0;
  int64_t pruned = 0;  // skipped by bounds
  int64_t errors = 0;
  eval::IlpStats ilp;
  eval::PhaseTimes phases;  // summed over every evaluation, pruned ones included
};

class SearchState {
 public:
  // The job's spec decides how a result's points are weighed (DesignPoints).
  explicit SearchState(eval::EvaluationSpec spec) : spec_(std::move(spec)) {}
  // Returns false for a duplicate (already counted).
  bool Add(const eval::EvaluationResult& result);
  // `phases`, `ilp`: what the evaluation spent before it was pruned (nothing if the chip bound
  // pruned it).
  void AddPruned(int64_t candidate, const eval::PhaseTimes& phases = {},
                 const eval::IlpStats& ilp = {});
  void AddError(int64_t candidate, const std::string& message);
  // For a state rebuilt from stored results: the coordinator's totals, which include what pruned
  // candidates spent (a pruned candidate's result carries no points to rebuild it from).
  void UseTotals(const eval::IlpStats& ilp, const eval::PhaseTimes& phases) {
    stats_.ilp = ilp;
    stats_.phases = phases;
  }

  const eval::EvaluationSpec& spec() const { return spec_; }
  const ParetoFront& front() const { return front_; }
  const BestPoint& best() const { return best_; }
  const SearchStats& stats() const { return stats_; }
  const std::map<int64_t, eval::EvaluationResult>& results() const { return results_; }
  const std::map<int64_t, std::string>& errors() const { return errors_; }
  // The evaluation and the (HBM size, recompute mode) row that design point `p` names; `p` must
  // come from this state's front or best point.
  const eval::EvaluationResult& ResultOf(const DesignPoint& p) const;
  const eval::PointResult& PointOf(const DesignPoint& p) const;

 private:
  eval::EvaluationSpec spec_;
  ParetoFront front_;
  BestPoint best_;
  SearchStats stats_;
  std::map<int64_t, eval::EvaluationResult> results_;
  std::map<int64_t, std::string> errors_;
  std::map<int64_t, bool> pruned_;
};

// The feasible design points of one evaluation (the search placements), one row per HBM size and
// recompute mode, weighed as the job says (eval::WeighPoint).
std::vector<DesignPoint> DesignPoints(const eval::EvaluationResult& r,
                                      const eval::EvaluationSpec& spec);

// Whether the pruned plan may skip this candidate before any schedule is built: `dominated` (a
// front's DominatesBound) holds for the whole chip's bounds (peak-rate throughput, the smallest
// area and TDP over its HBM sizes, GEMM-only energy). 0 <= candidate < evaluator.NumCandidates().
bool CanPrune(const eval::Evaluator& evaluator, int64_t candidate,
              const eval::Evaluator::SkipTest& dominated);
// The result of a candidate skipped that way: its architecture and area, `pruned`, no points.
eval::EvaluationResult PrunedResult(const eval::Evaluator& evaluator, int64_t candidate);

struct Progress {
  int64_t done = 0;
  int64_t planned = 0;
  std::optional<DesignPoint> best;
};

// Runs the job's plan on `threads` threads in this process, one CBC model per thread, one shared
// schedule cache. `on_progress` (may be empty) is called from one thread at a time.
SearchState RunLocal(const eval::Evaluator& evaluator, const SearchSpec& spec, int threads,
                     const std::function<void(const Progress&)>& on_progress);

}  // namespace phaze::search

#endif  // PHAZE_COMMON_SEARCH_SEARCH_H_
