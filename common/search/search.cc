#include "common/search/search.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "common/base/mutex.h"

namespace phaze::search {

using arch::ArchCandidate;
using eval::Candidate;
using eval::CandidateSpace;
using eval::EvaluationResult;
using eval::Evaluator;
using eval::PointResult;

const char* SearchStrategyName(SearchStrategy s) {
  switch (s) {
    case SearchStrategy::kExhaustive: return "exhaustive";
    case SearchStrategy::kPruned: return "pruned";
    case SearchStrategy::kAreaBuckets: return "area-buckets";
  }
  return "?";
}

SearchPlan::SearchPlan(const Evaluator& evaluator, const SearchSpec& spec)
    : evaluator_(evaluator), spec_(spec) {
  const CandidateSpace& space = evaluator.space();
  const int64_t n_mbs = space.NumMicroBatches();
  if (spec_.strategy != SearchStrategy::kAreaBuckets) {
    std::vector<int64_t> all;
    for (int64_t a = 0; a < space.NumArchitectures(); ++a) {
      if (!space.ArchitectureAt(a).valid) continue;
      for (int64_t m = 0; m < n_mbs; ++m) all.push_back(space.CandidateOf(a, m));
    }
    planned_ = static_cast<int64_t>(all.size());
    batches_.push_back(std::move(all));
    return;
  }
  // Descending area, buckets of bucket_um2, index order inside a bucket.
  struct Entry {
    int64_t arch;
    double area;
  };
  std::vector<Entry> valid;
  for (int64_t a = 0; a < space.NumArchitectures(); ++a) {
    const ArchCandidate c = space.ArchitectureAt(a);
    if (c.valid) valid.push_back({a, c.area_um2});
  }
  std::stable_sort(valid.begin(), valid.end(),
                   [](const Entry& x, const Entry& y) { return x.area > y.area; });
  const double width = spec_.bucket_um2;
  int64_t current = -1;
  for (const Entry& e : valid) {
    const int64_t bucket = static_cast<int64_t>(std::floor(e.area / width));
    if (bucket != current) {
      batches_.push_back({});
      current = bucket;
    }
    for (int64_t m = 0; m < n_mbs; ++m) {
      const int64_t candidate = space.CandidateOf(e.arch, m);
      batches_.back().push_back(candidate);
      bucket_of_candidate_[candidate] = static_cast<int64_t>(batches_.size()) - 1;
    }
  }
  for (auto& b : batches_) std::sort(b.begin(), b.end());
  planned_ = static_cast<int64_t>(bucket_of_candidate_.size());
  bucket_best_.assign(batches_.size(), -1.0);
}

std::vector<int64_t> SearchPlan::NextBatch() {
  if (spec_.strategy == SearchStrategy::kAreaBuckets && next_ > 0) {
    // The original's stop rule: the last `window` visited buckets' best throughputs never rise.
    const size_t window = static_cast<size_t>(spec_.bucket_window);
    if (next_ >= window) {
      bool rising = false;
      for (size_t b = next_ - window + 1; b < next_; ++b) {
        rising |= bucket_best_[b] > bucket_best_[b - 1];
      }
      if (!rising) return {};
    }
  }
  if (next_ >= batches_.size()) return {};
  return batches_[next_++];
}

void SearchPlan::Tell(const EvaluationResult& r) {
  if (spec_.strategy != SearchStrategy::kAreaBuckets) return;
  auto it = bucket_of_candidate_.find(r.candidate_index);
  if (it == bucket_of_candidate_.end()) return;
  double& best = bucket_best_[static_cast<size_t>(it->second)];
  for (const PointResult& p : r.points) {
    if (p.search.feasible) best = std::max(best, p.search.throughput_samples_per_s);
  }
}

bool SearchState::Add(const EvaluationResult& r) {
  if (results_.count(r.candidate_index) || errors_.count(r.candidate_index)) return false;
  ++stats_.evaluated;
  stats_.ilp.Merge(r.ilp);
  stats_.phases.Merge(r.phases);
  if (r.AnyFeasible()) {
    ++stats_.feasible;
  } else {
    ++stats_.infeasible;
  }
  for (const DesignPoint& p : DesignPoints(r, spec_)) {
    front_.Insert(p);
    best_.Offer(p);
  }
  results_.emplace(r.candidate_index, r);
  return true;
}

void SearchState::AddPruned(int64_t candidate, const eval::PhaseTimes& phases,
                            const eval::IlpStats& ilp) {
  if (!pruned_.emplace(candidate, true).second) return;
  ++stats_.pruned;
  stats_.phases.Merge(phases);
  stats_.ilp.Merge(ilp);
}

void SearchState::AddError(int64_t candidate, const std::string& message) {
  if (results_.count(candidate)) return;
  if (errors_.emplace(candidate, message).second) ++stats_.errors;
}

std::vector<DesignPoint> DesignPoints(const EvaluationResult& r, const eval::EvaluationSpec& spec) {
  const int64_t recompute_modes = static_cast<int64_t>(spec.training.recompute.size());
  std::vector<DesignPoint> out;
  for (size_t i = 0; i < r.points.size(); ++i) {
    const PointResult& pr = r.points[i];
    if (!pr.search.feasible) continue;
    DesignPoint p;
    p.candidate_index = r.candidate_index;
    p.hbm_index = static_cast<int64_t>(i) / recompute_modes;
    p.recompute_index = static_cast<int64_t>(i) % recompute_modes;
    p.throughput_samples_per_s = pr.search.throughput_samples_per_s;
    const eval::Weighed w =
        eval::WeighPoint(spec, r.arch, r.area_um2, pr.hbm_bytes, pr.search.energy_per_sample_j);
    p.area_um2 = w.area_um2;
    p.tdp_w = w.tdp_w;
    p.energy_per_sample_j = w.energy_per_sample_j;
    out.push_back(p);
  }
  return out;
}

const EvaluationResult& SearchState::ResultOf(const DesignPoint& p) const {
  return results_.at(p.candidate_index);
}

const PointResult& SearchState::PointOf(const DesignPoint& p) const {
  const size_t recompute_modes = spec_.training.recompute.size();
  const size_t row =
      static_cast<size_t>(p.hbm_index) * recompute_modes + static_cast<size_t>(p.recompute_index);
  return ResultOf(p).points.at(row);
}

bool CanPrune(const Evaluator& evaluator, int64_t candidate, const Evaluator::SkipTest& dominated) {
  const eval::EvaluationSpec& spec = evaluator.spec();
  const Candidate c = evaluator.space().At(candidate);
  // The chip's best area and TDP over the HBM sizes it may be placed at (a chip over budget at
  // every size has no points: nothing to gain by skipping its trivial evaluation).
  const std::vector<int64_t> sizes = eval::HbmSizesWithinBudget(spec, c.arch.arch);
  if (sizes.empty()) return false;
  const double energy_lower = evaluator.EnergyLowerBound(c.micro_batch);
  double area = std::numeric_limits<double>::infinity();
  double tdp = area, energy = area;
  for (int64_t hbm : sizes) {
    const eval::Weighed w = eval::WeighPoint(spec, c.arch.arch, c.arch.area_um2, hbm, energy_lower);
    area = std::min(area, w.area_um2);
    tdp = std::min(tdp, w.tdp_w);
    energy = std::min(energy, w.energy_per_sample_j);
  }
  return dominated(evaluator.ThroughputUpperBound(c.arch.arch, c.micro_batch), area, tdp, energy);
}

EvaluationResult PrunedResult(const Evaluator& evaluator, int64_t candidate) {
  const Candidate c = evaluator.space().At(candidate);
  EvaluationResult r;
  r.candidate_index = candidate;
  r.arch_index = c.arch.index;
  r.micro_batch = c.micro_batch;
  r.arch = c.arch.arch;
  r.area_um2 = c.arch.area_um2;
  r.valid = c.arch.valid;
  r.pruned = true;
  return r;
}

SearchState RunLocal(const Evaluator& evaluator, const SearchSpec& spec, int threads,
                     const std::function<void(const Progress&)>& on_progress) {
  SearchState state(evaluator.spec());
  SearchPlan plan(evaluator, spec);
  sched::ScheduleCache cache;
  absl::Mutex mu;
  Progress progress;
  progress.planned = plan.planned();
  const bool prune = spec.strategy == SearchStrategy::kPruned;
  threads = std::max(1, threads);
  for (std::vector<int64_t> batch = plan.NextBatch(); !batch.empty(); batch = plan.NextBatch()) {
    std::atomic<size_t> next{0};
    auto work = [&] {
      sched::CbcBackend backend;
      for (size_t i = next++; i < batch.size(); i = next++) {
        const int64_t candidate = batch[i];
        Evaluator::SkipTest dominated;
        if (prune) {
          dominated = [&](double throughput, double area, double tdp, double energy) {
            MutexLock lock(&mu);
            return state.front().DominatesBound({throughput, area, energy, tdp});
          };
        }
        const bool skip = prune && CanPrune(evaluator, candidate, dominated);
        absl::StatusOr<EvaluationResult> r;
        if (!skip) r = evaluator.Evaluate(candidate, backend, &cache, dominated);
        MutexLock lock(&mu);
        if (skip || (r.ok() && r->pruned)) {
          if (r.ok()) {
            state.AddPruned(candidate, r->phases, r->ilp);
          } else {
            state.AddPruned(candidate);
          }
        } else if (r.ok()) {
          state.Add(*r);
          plan.Tell(*r);
        } else {
          state.AddError(candidate, std::string(r.status().message()));
        }
        ++progress.done;
        progress.best = state.best().Get();
        if (on_progress) on_progress(progress);
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (std::thread& t : pool) t.join();
  }
  return state;
}

}  // namespace phaze::search
