// Device placement and the time of one training step: pipeline stages over the layer chain,
// tensor width t, data-parallel degree d, virtual stages v, sequence parallelism, recompute and
// optimizer sharding (docs/training-model.md has the formulas and their sources).
//
// Model (per device, SI units):
//  - The chain is embedding, blocks, head; every stage spans t devices; d replicas of the
//    pipeline; p * t * d <= devices. A replica runs m = ceil(global_batch / (d * b))
//    micro-batches per step.
//  - A stage's load per micro-batch is its layers' forward + backward (each layer's schedule,
//    tensor-parallel collectives included) + recompute (none; the attention core; the whole
//    forward), + with ZeRO-3 the all-gather of its parameters for forward and backward, + with
//    p > 1, 2 v pipeline messages (the chain's largest boundary activation per rank, on the tier
//    the pipeline group uses).
//  - Time per step T = (m + (p - 1) / v) x the slowest rank's load
//                      + max over stages of (gradient synchronisation + optimizer step),
//    the synchronisation an all-reduce of the stage's fp16 gradients (ZeRO-1/2: reduce-scatter
//    + parameter all-gather; ZeRO-3: reduce-scatter) over the data-parallel group, not
//    overlapped unless dp_overlap (then only the reduction's excess over the stage's last
//    backward pass counts); the optimizer step a stream over the locally owned parameters (28 B per
//    parameter for mixed-precision Adam, 6 B for SGD) at the chip's achieved HBM bandwidth.
//  - Memory of stage k of p: parameter state (16 B per parameter with Adam: 2 weights, 2
//    gradients, 12 fp32 master and moments, 18 B with fp32 main gradients; 4 B with SGD;
//    sharded as the scheme says) + the
//    activations of its in-flight micro-batches (min(p - k, m) with 1F1B; with v > 1 Megatron's
//    interleaved warm-up, (2 (p - k - 1) + (v - 1) p + 1) / v rank-sets, at most m): per layer
//    the whole stash (none), the stash without the attention core (selective), or the layer
//    input (full) plus one layer's working set; with ZeRO-3 one layer's gathered weights. It
//    must fit HBM.
//  - Interleaving (v > 1) uses the uniform split and needs the blocks to divide into p v
//    chunks and m to be a multiple of p (Megatron before 2024).
//
// Exactness: Place() returns the minimum of T over every (t, sequence parallelism, sharding, v,
// p, d, split) the input allows (checked against brute force in place_test). The layer split
// minimises a sum of two maxima (slowest load, largest synchronisation); it is found exactly by
// solving the min-max-load DP once per threshold on the largest stage's parameters, only for
// the thresholds that can beat the unconstrained split.
//
//   PlacementInput in = ...;           // per-layer costs for each (t, sp)
//   Placement best = Place(in);        // best strategy and split
//   Placement fixed = PlaceFixed(in, {.pipeline = 32, .data = 8, .tensor = 4});
#ifndef PHAZE_COMMON_PLACE_PLACE_H_
#define PHAZE_COMMON_PLACE_PLACE_H_

#include <cstdint>
#include <vector>

#include "common/net/network.h"
#include "common/place/strategy.h"

namespace phaze::place {

struct LayerCost {
  double fwd_s = 0;  // one micro-batch on one tensor-parallel rank, collectives included
  double bwd_s = 0;
  double recompute_selective_s = 0;  // the attention core's forward
  double recompute_full_s = 0;       // the forward again (blocks; Megatron keeps the head's)
  double fwd_tp_comm_s = 0;          // of which tensor-parallel collectives (for the breakdown)
  double bwd_tp_comm_s = 0;
  double fwd_energy_j = 0;  // one tensor-parallel rank
  double bwd_energy_j = 0;
  double recompute_selective_energy_j = 0;
  double recompute_full_energy_j = 0;
  int64_t param_bytes = 0;  // per rank, 2-byte weights
  int64_t tied_param_bytes = 0;
  int64_t stash_bytes = 0;            // activations kept for backward without recompute
  int64_t stash_selective_bytes = 0;  // ... with the attention core recomputed
  int64_t stash_full_bytes = 0;       // ... with full recompute (a block keeps its input)
  int64_t output_bytes = 0;           // the activation sent to the next stage, per rank
};

// The whole chain (embedding, blocks..., head) at one tensor width and sequence-parallel mode.
struct Chain {
  int64_t tensor_width = 1;
  bool sequence_parallel = false;
  std::vector<LayerCost> layers;
};

struct PlacementInput {
  std::vector<Chain> chains;  // one per allowed (tensor width, sequence parallelism)
  int64_t accelerators = 1;
  int64_t global_batch = 1;
  int64_t micro_batch = 1;
  Optimizer optimizer = Optimizer::kAdam;
  Recompute recompute = Recompute::kNone;
  int64_t hbm_bytes = 0;
  double hbm_bandwidth_bytes_per_s = 1;  // achieved, for the optimizer step
  net::Network network;
  RankOrder rank_order = RankOrder::kTensorDataPipeline;
  std::vector<int64_t> virtual_stages = {1};            // the v the search may use
  std::vector<Sharding> shardings = {Sharding::kNone};  // the schemes the search may use
  // The gradient reduction of a stage (the all-reduce, or ZeRO's reduce-scatter) overlaps the
  // backward pass of its last micro-batch (Megatron's overlap_grad_reduce, PyTorch DDP's
  // buckets): only what exceeds that pass (recompute included) is exposed. ZeRO-1/2's parameter
  // all-gather and the optimizer step stay exposed. Every split is then Megatron's uniform one:
  // the exact best split under overlap is not implemented (its tail is not monotone in the
  // stage), so the search is exact over uniform splits only.
  bool dp_overlap = false;
  // Gradients accumulated, reduced and kept in fp32 (Megatron's default in bf16): 4 B per
  // parameter of gradient memory, twice the bytes of the gradient reduction, and 2 B more per
  // parameter read by the optimizer step. Off: 16-bit gradients.
  bool fp32_main_grads = false;
};

// Per step, of the slowest pipeline rank: the terms add up to time_per_batch_s.
struct TimeBreakdown {
  double forward_s = 0;  // compute of the m micro-batches (tensor-parallel collectives apart)
  double backward_s = 0;
  double recompute_s = 0;
  double tp_comm_s = 0;  // tensor-parallel collectives in forward and backward
  double pipeline_comm_s = 0;
  double zero3_gather_s = 0;
  double bubble_s = 0;
  double data_comm_s = 0;  // gradient synchronisation of the largest stage
  double optimizer_s = 0;
};

// Per device, of the fullest stage.
struct MemoryBreakdown {
  int64_t weights_bytes = 0;
  int64_t gradients_bytes = 0;
  int64_t optimizer_bytes = 0;
  int64_t activations_bytes = 0;
};

struct Placement {
  bool feasible = false;
  Strategy strategy;
  Recompute recompute = Recompute::kNone;
  std::vector<int64_t> stage_layers;  // layers per stage (per chunk when v > 1), first to last
  int64_t micro_batches = 0;          // per replica per step
  double bottleneck_s = 0;            // slowest rank, per micro-batch
  double sync_s = 0;                  // gradient synchronisation + optimizer step
  double time_per_batch_s = 0;
  double throughput_samples_per_s = 0;
  double bubble_fraction = 0;
  int64_t memory_per_device_bytes = 0;  // the fullest stage
  double energy_per_sample_j = 0;       // dynamic energy of compute and collectives
  TimeBreakdown time;
  MemoryBreakdown memory;
};

// The dynamic energy one device spends per second on its share of the work: energy per sample x
// samples per second / devices (0 when infeasible).
double DynamicPowerPerDeviceW(const Placement& p);

// Best placement over everything the input allows. Infeasible if nothing fits.
Placement Place(const PlacementInput& input);

// An upper bound on Place(input)'s throughput in O(chains x layers), with no DP: for every p,
// the slowest rank computes at least the chain's total / p and at least its largest layer, the
// pipeline runs at least m = ceil(B / (d_max b)) + (p - 1) / v_max of them, and communication,
// synchronisation and memory are left out. 0 if no strategy is possible. For screening: a
// candidate whose bound cannot make the front needs no placement.
double ThroughputUpperBound(const PlacementInput& input);

// The fixed strategy with its split (the DP's best, or uniform). Infeasible (never an error)
// when (t, sp) is not among the chains, the devices or batch are exceeded, the split is
// impossible, or memory does not fit.
Placement PlaceFixed(const PlacementInput& input, const Strategy& strategy);

// The placement with this strategy and these stage (chunk when v > 1) sizes, costed by the
// model above: the building block of Place and of the brute-force test. Infeasible if the sizes
// do not cover the chain, a limit is exceeded or a stage does not fit.
Placement Evaluate(const PlacementInput& input, const Strategy& strategy,
                   const std::vector<int64_t>& stage_layers);

// Megatron's uniform split of an n-layer chain into `pieces` chunks (see Split::kUniform);
// empty if impossible.
std::vector<int64_t> UniformSplit(int64_t layers, int64_t pieces);

}  // namespace phaze::place

#endif  // PHAZE_COMMON_PLACE_PLACE_H_
