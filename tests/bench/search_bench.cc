// Whole-search benchmark: runs a job's search on this machine and prints wall time, evaluations
// per second (and per core) and the ILP statistics. Not a test: it asserts nothing and prints
// figures.
//
//   build/tests/bench/search_bench [--job examples/megatrongpt3.yaml] [--threads 2]
//                                  [--strategy exhaustive|pruned]
//
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "common/job/job.h"
#include "common/search/search.h"

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
  const auto start = std::chrono::steady_clock::now();
  const phaze::search::SearchState state =
      phaze::search::RunLocal(**evaluator, job->search, threads, nullptr);
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const phaze::search::SearchStats& s = state.stats();
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
      "threads), %lld skipped by "
      "bounds, %lld skipped by width dominance, %lld cache hits, %lld stopped by the node or time "
      "limit, mean gap "
      "%.5f, max gap %.4f\n",
      static_cast<long long>(s.ilp.layers), static_cast<long long>(s.ilp.built), s.ilp.solve_s,
      static_cast<long long>(s.ilp.skipped_by_bounds),
      static_cast<long long>(s.ilp.skipped_by_dominance), static_cast<long long>(s.ilp.cache_hits),
      static_cast<long long>(s.ilp.time_outs),
      s.ilp.layers ? s.ilp.sum_gap / static_cast<double>(s.ilp.layers) : 0.0, s.ilp.max_gap);
  if (state.best().Get().has_value()) {
    const auto& b = *state.best().Get();
    std::printf("best: %.4f samples/s at %.2f mm^2 (candidate %lld); front %zu points\n",
                b.throughput_samples_per_s, b.area_um2 / 1e6,
                static_cast<long long>(b.candidate_index), state.front().size());
  }
  return 0;
}
