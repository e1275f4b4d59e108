// Whole-search benchmark: runs a job's search on this machine and prints wall time, evaluations
// per second (and per core) and the ILP statistics. Not a test: it asserts nothing and prints
// figures.
//
//   build/tests/bench/search_bench [--job examples/megatrongpt3.yaml] [--threads 2]
//                                  [--strategy exhaustive|pruned] [--oracle] [--front F.csv]
//                                  [--times T.txt]
//
// --oracle then visits the space again with the final front known from the start: how many
// candidates a perfect visiting order would still evaluate, and in what time (the headroom of
// ordering the space; the bounds' strength limits the rest).
//
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "common/job/job.h"
#include "common/sched/sched.h"
#include "common/search/search.h"

namespace {

// Every candidate once more, pruned against the final front (fixed): what remains is evaluated.
void Oracle(const phaze::eval::Evaluator& evaluator, const phaze::search::SearchState& state,
            int threads) {
  using phaze::eval::Evaluator;
  const phaze::search::ParetoFront& front = state.front();
  std::vector<int64_t> todo;
  for (int64_t c = 0; c < evaluator.NumCandidates(); ++c) {
    if (evaluator.space().At(c).arch.valid) todo.push_back(c);
  }
  std::atomic<size_t> next{0};
  std::atomic<int64_t> by_chip{0}, by_layers{0}, evaluated{0}, milps{0};
  phaze::sched::ScheduleCache cache;
  const auto start = std::chrono::steady_clock::now();
  auto work = [&] {
    phaze::sched::CbcBackend backend;
    const Evaluator::SkipTest dominated = [&](double throughput, double area, double tdp,
                                              double energy) {
      return front.DominatesBound({throughput, area, energy, tdp});
    };
    for (size_t i = next++; i < todo.size(); i = next++) {
      if (phaze::search::CanPrune(evaluator, todo[i], dominated)) {
        ++by_chip;
        continue;
      }
      const auto r = evaluator.Evaluate(todo[i], backend, &cache, dominated);
      if (r.ok() && r->pruned) {
        ++by_layers;
      } else {
        ++evaluated;
        if (r.ok()) milps += r->ilp.built;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "oracle (final front known from the start): %lld pruned by the chip bound, %lld by the "
      "layer bounds, %lld evaluated, %lld MILPs built; wall %.1f s\n",
      static_cast<long long>(by_chip.load()), static_cast<long long>(by_layers.load()),
      static_cast<long long>(evaluated.load()), static_cast<long long>(milps.load()), wall_s);
}

}  // namespace

int main(int argc, char** argv) {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  CLI::App app{"Phaze whole-search benchmark"};
  std::string job_path = PHAZE_SOURCE_DIR "/examples/megatrongpt3.yaml";
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  std::string strategy;
  app.add_option("--job", job_path)->capture_default_str();
  app.add_option("--threads", threads)->capture_default_str();
  app.add_option("--strategy", strategy, "Override the job's search strategy");
  std::string front_path;
  app.add_option("--front", front_path,
                 "Write the front (candidate, HBM, recompute, objectives) as CSV, to diff runs");
  std::string times_path;
  app.add_option("--times", times_path,
                 "Write each visited candidate's evaluation seconds, one per line (for "
                 "cluster_bench): evaluated ones their own, pruned ones the mean of the pruned");
  bool oracle = false;
  app.add_flag("--oracle", oracle, "Visit again with the final front known from the start");
  CLI11_PARSE(app, argc, argv);

  std::ifstream in(job_path);
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<phaze::job::JobSpec> job = phaze::job::ParseJobYaml(text.str());
  if (!job.ok()) {
    std::fprintf(stderr, "%s\n", std::string(job.status().message()).c_str());
    return 2;
  }
  if (strategy == "exhaustive") job->search.strategy = phaze::search::SearchStrategy::kExhaustive;
  if (strategy == "pruned") job->search.strategy = phaze::search::SearchStrategy::kPruned;
  auto evaluator = phaze::eval::Evaluator::Create(*job);
  if (!evaluator.ok()) return 2;
  (*evaluator)->SetClock([] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  });
  const auto start = std::chrono::steady_clock::now();
  const phaze::search::SearchState state =
      phaze::search::RunLocal(**evaluator, job->search, threads, nullptr);
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const phaze::search::SearchStats& s = state.stats();
  if (!times_path.empty()) {
    std::ofstream times(times_path);
    double evaluated_s = 0;
    for (const auto& [c, r] : state.results()) {
      times << r.phases.Total() << "\n";
      evaluated_s += r.phases.Total();
    }
    const double pruned_mean_s =
        s.pruned > 0 ? std::max(0.0, s.phases.Total() - evaluated_s) / static_cast<double>(s.pruned)
                     : 0.0;
    for (int64_t k = 0; k < s.pruned; ++k) times << pruned_mean_s << "\n";
  }
  const double visited = static_cast<double>(s.evaluated + s.pruned);
  std::printf("job %s, model %s, strategy %s, %d threads\n", job->name.c_str(),
              job->model.name.c_str(), phaze::search::SearchStrategyName(job->search.strategy),
              threads);
  std::printf("candidates: %lld visited (%lld evaluated, %lld pruned by bounds), %lld feasible\n",
              static_cast<long long>(visited), static_cast<long long>(s.evaluated),
              static_cast<long long>(s.pruned), static_cast<long long>(s.feasible));
  std::printf("wall time: %.1f s; %.1f candidates/s; %.1f candidates/s per thread\n", wall_s,
              visited / wall_s, visited / wall_s / threads);
  std::printf(
      "ILP: %lld layer schedules, %lld MILPs built (%.1f s of CBC wall time, summed over "
      "threads), %lld solved exactly by order search, %lld skipped by "
      "bounds, %lld skipped by width dominance, %lld cache hits, %lld stopped by the node or time "
      "limit, mean gap "
      "%.5f, max gap %.4f\n",
      static_cast<long long>(s.ilp.layers), static_cast<long long>(s.ilp.built), s.ilp.solve_s,
      static_cast<long long>(s.ilp.searched), static_cast<long long>(s.ilp.skipped_by_bounds),
      static_cast<long long>(s.ilp.skipped_by_dominance), static_cast<long long>(s.ilp.cache_hits),
      static_cast<long long>(s.ilp.time_outs),
      s.ilp.layers ? s.ilp.sum_gap / static_cast<double>(s.ilp.layers) : 0.0, s.ilp.max_gap);
  const phaze::eval::PhaseTimes& ph = state.stats().phases;
  const double total = std::max(ph.Total(), 1e-9);
  std::printf(
      "phases (%.1f s of evaluation, summed over threads): cost model %.1f%%, layer bounds "
      "%.1f%%, MILP %.1f%%, placement DP %.1f%%\n",
      ph.Total(), 100 * ph.cost_s / total, 100 * ph.bounds_s / total, 100 * ph.milp_s / total,
      100 * ph.placement_s / total);
  if (state.best().Get().has_value()) {
    const auto& b = *state.best().Get();
    std::printf("best: %.4f samples/s at %.2f mm^2 (candidate %lld); front %zu points\n",
                b.throughput_samples_per_s, b.area_um2 / 1e6,
                static_cast<long long>(b.candidate_index), state.front().size());
  }
  if (!front_path.empty()) {
    std::ofstream out(front_path);
    out << "candidate,hbm_index,recompute_index,throughput_samples_per_s,area_um2,tdp_w,"
           "energy_per_sample_j\n";
    char line[256];
    for (const phaze::search::DesignPoint& p : state.front().Points()) {
      std::snprintf(line, sizeof line, "%lld,%lld,%lld,%.17g,%.17g,%.17g,%.17g\n",
                    static_cast<long long>(p.candidate_index), static_cast<long long>(p.hbm_index),
                    static_cast<long long>(p.recompute_index), p.throughput_samples_per_s,
                    p.area_um2, p.tdp_w, p.energy_per_sample_j);
      out << line;
    }
  }
  if (oracle) Oracle(**evaluator, state, threads);
  return 0;
}
