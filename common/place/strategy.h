// The vocabulary of device placement, shared by the DP, the evaluator, the job spec and the wire:
// a parallel strategy, the optimizer whose state the devices hold, and how activations are
// recomputed.
//
//   Strategy s{.pipeline = 8, .data = 16, .tensor = 8, .virtual_stages = 3,
//              .sequence_parallel = true, .sharding = Sharding::kZero1};   // 1,024 devices
#ifndef PHAZE_COMMON_PLACE_STRATEGY_H_
#define PHAZE_COMMON_PLACE_STRATEGY_H_

#include <cstdint>

namespace phaze::place {

enum class Optimizer { kSgd, kAdam };

// Activation recomputation (Korthikanti et al. 2022): none; selective (the attention core,
// Megatron's default `core_attn`); full (every layer's forward on every stage, the last
// included, as Megatron's --recompute-granularity full).
enum class Recompute { kNone, kSelective, kFull };

// Optimizer-state sharding over the data-parallel group (Rajbhandari et al. 2020): none (plain
// data parallelism), ZeRO-1 (optimizer state; Megatron's distributed optimizer), ZeRO-2 (and
// gradients), ZeRO-3 (and parameters, gathered for every micro-batch's forward and backward).
enum class Sharding { kNone, kZero1, kZero2, kZero3 };

// How the layers are split over the pipeline: the DP's best split, or Megatron's uniform split
// (blocks evenly over the stages, the embedding on the first and the head on the last; when the
// blocks do not divide, the embedding and the head count as one block each).
enum class Split { kBest, kUniform };

// Megatron's rank order: tensor innermost, then data then pipeline (its default), or pipeline
// then data.
enum class RankOrder { kTensorDataPipeline, kTensorPipelineData };

// A parallel strategy: pipeline stages p, data-parallel degree d, tensor width t, virtual stages
// v per pipeline rank (interleaved 1F1B when v > 1), sequence parallelism, optimizer sharding.
struct Strategy {
  int64_t pipeline = 1;
  int64_t data = 1;
  int64_t tensor = 1;
  int64_t virtual_stages = 1;
  bool sequence_parallel = false;
  Sharding sharding = Sharding::kNone;
  Split split = Split::kBest;
};

const char* RecomputeName(Recompute r);  // "none", "selective", "full"
const char* ShardingName(Sharding s);    // "none", "zero1", "zero2", "zero3"
const char* SplitName(Split s);          // "best", "uniform"
const char* RankOrderName(RankOrder o);  // "tp-dp-pp", "tp-pp-dp"

}  // namespace phaze::place

#endif  // PHAZE_COMMON_PLACE_STRATEGY_H_
