#include "common/search/pareto.h"

#include <algorithm>

namespace phaze::search {
namespace {

bool NoWorse(const Objectives& a, const Objectives& b) {
  return a.throughput_samples_per_s >= b.throughput_samples_per_s && a.area_um2 <= b.area_um2 &&
         a.energy_per_sample_j <= b.energy_per_sample_j && a.tdp_w <= b.tdp_w;
}

bool Equal(const Objectives& a, const Objectives& b) { return NoWorse(a, b) && NoWorse(b, a); }

}  // namespace

bool Dominates(const Objectives& a, const Objectives& b) {
  return NoWorse(a, b) &&
         (a.throughput_samples_per_s > b.throughput_samples_per_s || a.area_um2 < b.area_um2 ||
          a.energy_per_sample_j < b.energy_per_sample_j || a.tdp_w < b.tdp_w);
}

bool Dominates(const DesignPoint& a, const DesignPoint& b) {
  return Dominates(a.objectives(), b.objectives());
}

bool Beats(const DesignPoint& a, const DesignPoint& b) {
  if (Dominates(a, b)) return true;
  return Equal(a.objectives(), b.objectives()) && a.Key() < b.Key();
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

bool ParetoFront::DominatesBound(const Objectives& bound) const {
  return std::any_of(points_.begin(), points_.end(),
                     [&](const DesignPoint& q) { return Dominates(q.objectives(), bound); });
}

void ObjectiveSet::Add(const Objectives& o) {
  // A point no worse in every objective already dominates whatever `o` would.
  if (std::any_of(points_.begin(), points_.end(),
                  [&](const Objectives& q) { return NoWorse(q, o); })) {
    return;
  }
  points_.erase(std::remove_if(points_.begin(), points_.end(),
                               [&](const Objectives& q) { return Dominates(o, q); }),
                points_.end());
  points_.push_back(o);
}

bool ObjectiveSet::DominatesBound(const Objectives& bound) const {
  return std::any_of(points_.begin(), points_.end(),
                     [&](const Objectives& q) { return Dominates(q, bound); });
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

}  // namespace phaze::search
