// The Pareto front of design points: throughput up; chip area, TDP and energy per sample down.
//
// Which of area, TDP and energy a job weighs, and by which area model, is the evaluator's
// business (eval::WeighPoint): an objective the job does not weigh is 0 in every point, so it
// never decides.
//
// A design point is one (candidate, HBM size, recompute) row of an evaluation that is feasible.
// The front is the set of points no other point dominates; points with identical objectives are
// resolved by the smaller key (candidate index, HBM index, recompute index), so the front is a
// function of the set of points inserted, whatever the order, the sharding or the retries.
//
//   ParetoFront front;
//   for (const DesignPoint& p : points) front.Insert(p);
//   front.Points();   // sorted by key
#ifndef PHAZE_COMMON_SEARCH_PARETO_H_
#define PHAZE_COMMON_SEARCH_PARETO_H_

#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

namespace phaze::search {

// The objectives of a design: throughput up; chip area, TDP and energy per sample down.
struct Objectives {
  double throughput_samples_per_s = 0;
  double area_um2 = 0;
  double energy_per_sample_j = 0;
  double tdp_w = 0;
};

// a dominates b: no worse in every objective and better in one.
bool Dominates(const Objectives& a, const Objectives& b);

struct DesignPoint {
  int64_t candidate_index = 0;
  int64_t hbm_index = 0;
  int64_t recompute_index = 0;
  double throughput_samples_per_s = 0;
  double area_um2 = 0;
  double energy_per_sample_j = 0;
  double tdp_w = 0;

  Objectives objectives() const {
    return {throughput_samples_per_s, area_um2, energy_per_sample_j, tdp_w};
  }
  std::tuple<int64_t, int64_t, int64_t> Key() const {
    return {candidate_index, hbm_index, recompute_index};
  }
};

bool Dominates(const DesignPoint& a, const DesignPoint& b);
// a beats b: a dominates b, or ties with it and has the smaller key. A strict partial order.
bool Beats(const DesignPoint& a, const DesignPoint& b);

class ParetoFront {
 public:
  // Returns true if the front changed.
  bool Insert(const DesignPoint& p);
  // Whether some point of the front strictly dominates `bound`, the best every objective of a
  // candidate could reach (used to prune it without evaluating).
  bool DominatesBound(const Objectives& bound) const;
  std::vector<DesignPoint> Points() const;  // sorted by key
  size_t size() const { return points_.size(); }

 private:
  std::vector<DesignPoint> points_;
};

// A set of objective vectors without keys: what a pruning test needs, for instance a worker that
// receives the coordinator's front as bare objectives and adds its own results as it goes. Points
// covered by another (no worse in every objective) are dropped; unlike ParetoFront it never
// compares keys, so equal-looking points from different designs are never confused.
class ObjectiveSet {
 public:
  void Add(const Objectives& o);
  // Whether some point strictly dominates `bound`.
  bool DominatesBound(const Objectives& bound) const;
  size_t size() const { return points_.size(); }

 private:
  std::vector<Objectives> points_;
};

// Best point: highest throughput, then smaller area, then smaller key. Order-independent.
class BestPoint {
 public:
  bool Offer(const DesignPoint& p);
  const std::optional<DesignPoint>& Get() const { return best_; }

 private:
  std::optional<DesignPoint> best_;
};

}  // namespace phaze::search

#endif  // PHAZE_COMMON_SEARCH_PARETO_H_
