#include "common/pareto.h"

#include <algorithm>

namespace phaze {

bool Dominates(const DesignPoint& a, const DesignPoint& b) {
  const bool no_worse = a.throughput_samples_per_s >= b.throughput_samples_per_s &&
                        a.area_um2 <= b.area_um2 && a.energy_per_sample_j <= b.energy_per_sample_j;
  const bool better = a.throughput_samples_per_s > b.throughput_samples_per_s ||
                      a.area_um2 < b.area_um2 || a.energy_per_sample_j < b.energy_per_sample_j;
  return no_worse && better;
}

bool Beats(const DesignPoint& a, const DesignPoint& b) {
  if (Dominates(a, b)) return true;
  const bool tie = a.throughput_samples_per_s == b.throughput_samples_per_s &&
                   a.area_um2 == b.area_um2 && a.energy_per_sample_j == b.energy_per_sample_j;
  return tie && a.Key() < b.Key();
}

bool ParetoFront::Insert(const DesignPoint& p) {
  for (const DesignPoint& q : points_) {
    if (Beats(q, p) || q.Key() == p.Key()) return false;
  }
  points_.erase(std::remove_if(points_.begin(), points_.end(),
                               [&](const DesignPoint& q) { return Beats(p, q); }),
                points_.end());
  points_.push_back(p);
  return true;
}

bool ParetoFront::DominatesBound(double throughput_upper, double area, double energy_lower) const {
  for (const DesignPoint& q : points_) {
    const bool no_worse = q.throughput_samples_per_s >= throughput_upper && q.area_um2 <= area &&
                          q.energy_per_sample_j <= energy_lower;
    const bool better = q.throughput_samples_per_s > throughput_upper || q.area_um2 < area ||
                        q.energy_per_sample_j < energy_lower;
    if (no_worse && better) {
      return true;
    }
  }
  return false;
}

std::vector<DesignPoint> ParetoFront::Points() const {
  std::vector<DesignPoint> out = points_;
  std::sort(out.begin(), out.end(),
            [](const DesignPoint& a, const DesignPoint& b) { return a.Key() < b.Key(); });
  return out;
}

bool BestPoint::Offer(const DesignPoint& p) {
  if (best_.has_value()) {
    const DesignPoint& b = *best_;
    if (p.throughput_samples_per_s != b.throughput_samples_per_s) {
      if (p.throughput_samples_per_s < b.throughput_samples_per_s) return false;
    } else if (p.area_um2 != b.area_um2) {
      if (p.area_um2 > b.area_um2) return false;
    } else if (!(p.Key() < b.Key())) {
      return false;
    }
  }
  best_ = p;
  return true;
}

std::vector<DesignPoint> DesignPoints(const EvaluationResult& r, int64_t recompute_modes) {
  std::vector<DesignPoint> out;
  for (size_t i = 0; i < r.points.size(); ++i) {
    const PointResult& pr = r.points[i];
    if (!pr.search.feasible) continue;
    DesignPoint p;
    p.candidate_index = r.candidate_index;
    p.hbm_index = static_cast<int64_t>(i) / recompute_modes;
    p.recompute_index = static_cast<int64_t>(i) % recompute_modes;
    p.throughput_samples_per_s = pr.search.throughput_samples_per_s;
    p.area_um2 = r.area_um2;
    p.energy_per_sample_j = pr.search.energy_per_sample_j;
    out.push_back(p);
  }
  return out;
}

}  // namespace phaze
