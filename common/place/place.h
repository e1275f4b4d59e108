// Device placement: pipeline stages over the layer chain, tensor width t and data-parallel
// degree d, by dynamic programming (reference section 6, with the fixes of section 9).
//
// Model (all per device, SI units):
//  - The chain is embedding, blocks, head; every stage spans t devices (Megatron tensor
//    parallelism at width t for every layer), d replicas of the pipeline, p * t * d <= devices.
//  - A replica processes m = ceil(global_batch / (d * b)) micro-batches of b samples per step,
//    with the 1F1B schedule. Time per step = (m + p - 1) x the slowest stage's per-micro-batch
//    time (its forward, backward, recomputed forward if recomputing, and the activations and
//    gradients it receives over the link), plus the data-parallel gradient all-reduce of the
//    largest stage (a ring over d replicas, not overlapped).
//  - Memory of the stage at position k from the end (k micro-batches in flight):
//    parameters x (2 B weights + 2 B gradients, plus 12 B fp32 master and moments per parameter
//    with Adam), plus k x stashed activations, or with recompute k x layer inputs plus one
//    layer's full activations. The last stage never recomputes. It must fit HBM.
//  - The DP finds, for every p at once, the partition with the smallest slowest stage subject to
//    memory; d is then enumerated per p. Fixed strategies go through the same functions.
//
//   PlacementInput in = ...;           // per-layer costs for each t
//   Placement best = Place(in);        // best (p, t, d) and partition
//   Placement fixed = PlaceFixed(in, {32, 8, 4});
#ifndef PHAZE_COMMON_PLACE_PLACE_H_
#define PHAZE_COMMON_PLACE_PLACE_H_

#include <cstdint>
#include <vector>

#include "common/place/strategy.h"
#include "common/workload/layer_graph.h"

namespace phaze::place {

struct LayerCost {
  double fwd_s = 0;
  double bwd_s = 0;
  double fwd_energy_j = 0;  // one tensor-parallel rank
  double bwd_energy_j = 0;
  int64_t param_bytes = 0;  // per rank
  int64_t tied_param_bytes = 0;
  int64_t stash_bytes = 0;
  int64_t input_bytes = 0;
  int64_t output_bytes = 0;
};

// The whole chain (embedding, blocks..., head) at one tensor width.
struct Chain {
  int64_t tensor_width = 1;
  std::vector<LayerCost> layers;
};

struct PlacementInput {
  std::vector<Chain> chains;  // one per allowed tensor width
  int64_t accelerators = 1;
  int64_t global_batch = 1;
  int64_t micro_batch = 1;
  Optimizer optimizer = Optimizer::kAdam;
  bool recompute = false;
  int64_t hbm_bytes = 0;
  double link_bandwidth_bytes_per_s = 1;
  double link_latency_s = 0;
};

struct Placement {
  bool feasible = false;
  Strategy strategy;
  std::vector<int64_t> stage_layers;  // layers per stage, first to last
  int64_t micro_batches = 0;          // per replica per step
  double bottleneck_s = 0;            // slowest stage, per micro-batch
  double sync_s = 0;                  // gradient all-reduce
  double time_per_batch_s = 0;
  double throughput_samples_per_s = 0;
  double bubble_fraction = 0;
  int64_t memory_per_device_bytes = 0;  // the fullest stage
  double energy_per_sample_j = 0;       // dynamic energy of compute and collectives
};

// Best placement over every t in the input, every p and every d. Infeasible if nothing fits.
Placement Place(const PlacementInput& input);

// The fixed strategy (p, d, t) with the best partition for that p. Infeasible (never an error)
// when t is not among the chains, p exceeds the layers, devices or batch are exceeded, or memory
// does not fit.
Placement PlaceFixed(const PlacementInput& input, const Strategy& strategy);

// Building blocks shared with the brute-force test.
//
// Per-micro-batch time of the stage holding layers [first, last) of `chain`; `is_last_stage`
// stages never recompute.
double StageLoadS(const Chain& chain, int first, int last, const PlacementInput& in);
// Memory per device of that stage with `in_flight` micro-batches stashed.
int64_t StageMemoryBytes(const Chain& chain, int first, int last, int64_t in_flight,
                         const PlacementInput& in);
// Fills time, throughput, bubble, memory and energy of a placement whose strategy and
// stage_layers are set; feasible is false if a stage does not fit.
void Finish(const Chain& chain, const PlacementInput& in, Placement& placement);

}  // namespace phaze::place

#endif  // PHAZE_COMMON_PLACE_PLACE_H_
