// Checks of untrusted input from the wire: a worker's result must describe the candidate it
// names, in the job's shape, with finite numbers, before it may touch the store or the front.
//
//   PHAZE_RETURN_IF_ERROR(CheckWorkerResult(evaluator, result));   // kInvalidArgument names why
#ifndef PHAZE_COMMON_RPC_CHECKS_H_
#define PHAZE_COMMON_RPC_CHECKS_H_

#include "absl/status/status.h"
#include "common/eval/eval.h"
#include "phaze/v1/phaze.pb.h"

namespace phaze {

// kInvalidArgument naming the field when `r` does not fit the job `ev` evaluates.
absl::Status CheckWorkerResult(const eval::Evaluator& ev, const v1::CandidateResult& r);

}  // namespace phaze

#endif  // PHAZE_COMMON_RPC_CHECKS_H_
