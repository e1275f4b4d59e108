// Checks of untrusted input from the wire: a worker's result must describe the candidate it
// names, in the job's shape, with finite numbers in range, before it may touch the store or the
// front.
//
//   PHAZE_RETURN_IF_ERROR(CheckAndSanitizeWorkerResult(evaluator, prunes, &result));
#ifndef PHAZE_COMMON_RPC_CHECKS_H_
#define PHAZE_COMMON_RPC_CHECKS_H_

#include "absl/status/status.h"
#include "common/eval/eval.h"
#include "phaze/v1/phaze.pb.h"

namespace phaze {

// At most this many bytes of error text in a result.
inline constexpr size_t kMaxResultErrorBytes = 4096;

// kInvalidArgument naming the field when `r` does not fit the job `ev` evaluates: a candidate of
// the job; an outcome its architecture allows (INVALID exactly outside the area window, PRUNED
// only when the job prunes, FEASIBLE exactly when a point is); the job's HBM sizes and recompute
// modes in order; every feasible placement within the job's devices, its HBM, and the devices'
// peak FLOP/s over the model's work per sample, with throughput = batch / step time and finite
// non-negative numbers; error text of bounded size. What the coordinator can compute itself (the
// architecture and its area) is overwritten in `r` with its own values, never trusted.
absl::Status CheckAndSanitizeWorkerResult(const eval::Evaluator& ev, bool job_prunes,
                                          v1::CandidateResult* r);

}  // namespace phaze

#endif  // PHAZE_COMMON_RPC_CHECKS_H_
