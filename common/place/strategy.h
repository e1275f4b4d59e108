// The vocabulary of device placement, shared by the DP, the evaluator, the job spec and the wire:
// a parallel strategy and the optimizer whose state the devices hold.
//
//   Strategy s{.pipeline = 8, .data = 16, .tensor = 8};   // 1,024 devices
#ifndef PHAZE_COMMON_PLACE_STRATEGY_H_
#define PHAZE_COMMON_PLACE_STRATEGY_H_

#include <cstdint>

namespace phaze::place {

enum class Optimizer { kSgd, kAdam };

// A parallel strategy: pipeline stages p, data-parallel degree d, tensor width t.
struct Strategy {
  int64_t pipeline = 1;
  int64_t data = 1;
  int64_t tensor = 1;
};

}  // namespace phaze::place

#endif  // PHAZE_COMMON_PLACE_STRATEGY_H_
