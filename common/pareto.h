// The Pareto front of design points: throughput up, chip area down, energy per sample down.
//
// A design point is one (candidate, HBM size, recompute) row of an evaluation that is feasible.
// The front is the set of points no other point dominates; points with identical objectives are
// resolved by the smaller key (candidate index, HBM index, recompute index), so the front is a
// function of the set of points inserted, whatever the order, the sharding or the retries.
//
//   ParetoFront front;
//   for (const DesignPoint& p : points) front.Insert(p);
//   front.Points();   // sorted by key
#ifndef PHAZE_COMMON_PARETO_H_
#define PHAZE_COMMON_PARETO_H_

#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

#include "common/evaluate.h"

namespace phaze {

struct DesignPoint {
  int64_t candidate_index = 0;
  int64_t hbm_index = 0;
  int64_t recompute_index = 0;
  double throughput_samples_per_s = 0;
  double area_um2 = 0;
  double energy_per_sample_j = 0;

  std::tuple<int64_t, int64_t, int64_t> Key() const {
    return {candidate_index, hbm_index, recompute_index};
  }
};

// a dominates b: no worse in every objective and better in one.
bool Dominates(const DesignPoint& a, const DesignPoint& b);
// a beats b: a dominates b, or ties with it and has the smaller key. A strict partial order.
bool Beats(const DesignPoint& a, const DesignPoint& b);

class ParetoFront {
 public:
  // Returns true if the front changed.
  bool Insert(const DesignPoint& p);
  // Whether some point of the front strictly dominates every point a candidate with these bounds
  // could reach (used to prune it without evaluating).
  bool DominatesBound(double throughput_upper, double area, double energy_lower) const;
  std::vector<DesignPoint> Points() const;  // sorted by key
  size_t size() const { return points_.size(); }

 private:
  std::vector<DesignPoint> points_;
};

// Best point: highest throughput, then smaller area, then smaller key. Order-independent.
class BestPoint {
 public:
  bool Offer(const DesignPoint& p);
  const std::optional<DesignPoint>& Get() const { return best_; }

 private:
  std::optional<DesignPoint> best_;
};

// The feasible design points of one evaluation (the search placements).
std::vector<DesignPoint> DesignPoints(const EvaluationResult& r, int64_t recompute_modes);

}  // namespace phaze

#endif  // PHAZE_COMMON_PARETO_H_
