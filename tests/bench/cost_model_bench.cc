// Layer costings per second: every operator (forward and backward) of one GPT-3 block costed on
// an architecture, in both cost-model modes. Run: build/tests/bench/cost_model_bench
#include <cstdint>

#include "benchmark/benchmark.h"
#include "common/arch/arch.h"
#include "common/cost/cost.h"
#include "common/workload/layer_graph.h"
#include "common/workload/model.h"

namespace phaze {

using arch::ArchCandidate;
using arch::ArchSpace;
using arch::OriginalSpaceSpec;
using cost::CostMode;
using cost::CostOperator;
using cost::CostOptions;
using workload::BuildModelGraph;
using workload::FindModel;
using workload::ModelGraph;
using workload::ModelSpec;
using workload::Operator;
namespace {

void BM_CostGpt3Block(benchmark::State& state) {
  const ModelSpec model = *FindModel("megatrongpt3");
  const ModelGraph g = *BuildModelGraph(model, 1, state.range(0), {});
  const ArchSpace space(OriginalSpaceSpec());
  CostOptions options;
  options.mode = state.range(1) == 0 ? CostMode::kImproved : CostMode::kCompat;
  int64_t index = 0;
  int64_t ops = 0;
  for (auto _ : state) {
    // Walk the space so that every iteration costs a different chip.
    ArchCandidate c = space.At(index);
    index = (index + 7919) % space.Size();
    for (const auto* list : {&g.block.forward, &g.block.backward}) {
      for (const Operator& op : *list) {
        benchmark::DoNotOptimize(CostOperator(op, c.arch, options));
        ++ops;
      }
    }
  }
  state.counters["layers_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["ops_per_s"] =
      benchmark::Counter(static_cast<double>(ops), benchmark::Counter::kIsRate);
  state.SetLabel(options.mode == CostMode::kImproved ? "improved" : "compat");
}
BENCHMARK(BM_CostGpt3Block)->Args({8, 0})->Args({1, 0})->Args({8, 1});

void BM_BuildGpt3Graph(benchmark::State& state) {
  const ModelSpec model = *FindModel("megatrongpt3");
  for (auto _ : state) {
    benchmark::DoNotOptimize(BuildModelGraph(model, 1, 8, {}));
  }
}
BENCHMARK(BM_BuildGpt3Graph);

}  // namespace
}  // namespace phaze

BENCHMARK_MAIN();
