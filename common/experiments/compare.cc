#include <atomic>
#include <limits>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/arch/chip_model.h"
#include "common/base/mutex.h"
#include "common/base/status_macros.h"
#include "common/experiments/experiments.h"
#include "common/report/report.h"

namespace phaze::experiments {

using arch::ArchCandidate;
using arch::Architecture;
using arch::FindPreset;
using eval::EvaluationResult;
using eval::Evaluator;
using eval::PointResult;
using job::JobSpec;
using search::SearchState;
using search::SearchStrategy;

JobSpec OnPreset(const JobSpec& job, const std::string& preset) {
  const Architecture chip = FindPreset(preset).value();
  // The preset keeps the job's shared chip parameters (clock, bandwidths, link).
  const Architecture& shared = job.space.has_value()             ? job.space->base
                               : job.fixed_architectures.empty() ? chip
                                                                 : job.fixed_architectures.front();
  return OnChip(job, chip.WithChipParameters(shared));
}

JobSpec OnChip(const JobSpec& job, const Architecture& chip) {
  JobSpec j = job;
  j.space.reset();
  j.fixed_architectures = {chip};
  j.search.strategy = SearchStrategy::kExhaustive;
  return j;
}

JobSpec WithStrategy(const JobSpec& job, SearchStrategy strategy) {
  JobSpec j = job;
  j.search.strategy = strategy;
  return j;
}

absl::StatusOr<DecoupledPick> PickBySingleDeviceLatency(const Evaluator& evaluator, int threads) {
  const int64_t n = evaluator.space().NumArchitectures();
  const std::vector<int64_t>& mbs = evaluator.spec().training.micro_batch_sizes;
  struct Best {
    double latency = std::numeric_limits<double>::infinity();
    int64_t index = -1;
    int64_t micro_batch = 0;
    int64_t costed = 0;
  };
  absl::Mutex mu;
  Best best;
  absl::Status error = absl::OkStatus();
  std::atomic<int64_t> next{0};
  sched::ScheduleCache cache;
  auto work = [&] {
    Best local;
    while (true) {
      const int64_t i = next.fetch_add(1);
      if (i >= n) break;
      const ArchCandidate c = evaluator.space().ArchitectureAt(i);
      // The decoupled designer keeps the same area window and chip budgets.
      if (!c.valid || !eval::WithinBudgetSomewhere(evaluator.spec(), c.arch)) continue;
      ++local.costed;
      for (int64_t b : mbs) {
        absl::StatusOr<Evaluator::SingleDevice> cost =
            evaluator.SingleDeviceCost(c.arch, b, &cache);
        if (!cost.ok()) {
          MutexLock lock(&mu);
          error = cost.status();
          return;
        }
        const double per_sample = cost->latency_s / static_cast<double>(b);
        if (per_sample < local.latency || (per_sample == local.latency && i < local.index)) {
          local = {per_sample, i, b, local.costed};
        }
      }
    }
    MutexLock lock(&mu);
    best.costed += local.costed;
    if (local.index >= 0 && (local.latency < best.latency ||
                             (local.latency == best.latency && local.index < best.index))) {
      best.latency = local.latency;
      best.index = local.index;
      best.micro_batch = local.micro_batch;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) pool.emplace_back(work);
  for (std::thread& t : pool) t.join();
  PHAZE_RETURN_IF_ERROR(error);
  if (best.index < 0) return absl::NotFoundError("the space has no valid chip");
  const ArchCandidate c = evaluator.space().ArchitectureAt(best.index);
  DecoupledPick pick;
  pick.arch_index = best.index;
  pick.arch = c.arch;
  pick.area_um2 = c.area_um2;
  pick.micro_batch = best.micro_batch;
  pick.latency_per_sample_s = best.latency;
  pick.chips_costed = best.costed;
  return pick;
}

namespace {

// What the chip provides (bandwidths and network) and what the chip model charges for it.
nlohmann::json ChipRowJson(const Architecture& a, int64_t hbm_bytes,
                           const arch::ChipModelScales& scales) {
  nlohmann::json j = report::ChipModelJson(a, hbm_bytes, scales);
  j["hbm_tb_per_s"] = a.hbm_bandwidth_bytes_per_s / 1e12;
  j["link_gb_per_s"] = a.link_bandwidth_bytes_per_s / 1e9;
  j["scale_up_domain"] = a.scale_up_domain;
  return j;
}

}  // namespace

nlohmann::json BestRowJson(const SearchState& state, bool fixed,
                           const arch::ChipModelScales& scales) {
  const PointResult* best_point = nullptr;
  const EvaluationResult* best_result = nullptr;
  double best_throughput = 0;
  // As BestPoint: highest throughput, then smaller area, then the first in (candidate, HBM,
  // recompute) order, which is the order of this scan.
  for (const auto& [index, r] : state.results()) {
    for (const PointResult& p : r.points) {
      const place::Placement& pl = fixed ? p.fixed : p.search;
      if (fixed && !p.has_fixed) continue;
      if (!pl.feasible) continue;
      const bool better = pl.throughput_samples_per_s > best_throughput ||
                          (pl.throughput_samples_per_s == best_throughput &&
                           best_result != nullptr && r.area_um2 < best_result->area_um2);
      if (better) {
        best_throughput = pl.throughput_samples_per_s;
        best_point = &p;
        best_result = &r;
      }
    }
  }
  if (best_point == nullptr) return {{"feasible", false}};
  const place::Placement& pl = fixed ? best_point->fixed : best_point->search;
  return {{"feasible", true},
          {"throughput_samples_per_s", pl.throughput_samples_per_s},
          {"architecture", best_result->arch.Describe()},
          {"area_mm2", best_result->area_um2 / 1e6},
          {"peak_tflops", best_result->arch.PeakFlopsPerS() / 1e12},
          {"micro_batch", best_result->micro_batch},
          {"hbm_gib", best_point->hbm_bytes / kGiB},
          {"recompute", place::RecomputeName(best_point->recompute)},
          {"pipeline", pl.strategy.pipeline},
          {"tensor", pl.strategy.tensor},
          {"data", pl.strategy.data},
          {"bubble_fraction", pl.bubble_fraction},
          {"gradient_sync_s", pl.sync_s},
          {"memory_per_device_gib", static_cast<double>(pl.memory_per_device_bytes) / kGiB},
          {"energy_per_sample_j", pl.energy_per_sample_j},
          {"chip_model", ChipRowJson(best_result->arch, best_point->hbm_bytes, scales)}};
}

}  // namespace phaze::experiments
