// Conversions between the domain types of common/ and the phaze.v1 protos. The only place that
// knows both; used by the coordinator, the worker and their tests.
#ifndef PHAZE_COMMON_RPC_CONVERT_H_
#define PHAZE_COMMON_RPC_CONVERT_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/eval/eval.h"
#include "common/job/job.h"
#include "common/report/report.h"
#include "phaze/v1/phaze.pb.h"
#include "phaze/v1/service.pb.h"

namespace phaze {

v1::CandidateResult ToProto(const eval::EvaluationResult& r);
// The inverse, for everything the coordinator aggregates and reports. Solver stats, placements,
// architecture and area round-trip exactly.
eval::EvaluationResult FromProto(const v1::CandidateResult& p);
v1::IlpStats ToProto(const eval::IlpStats& ilp);
eval::IlpStats FromProto(const v1::IlpStats& s);
v1::PhaseTimes ToProto(const eval::PhaseTimes& t);
eval::PhaseTimes FromProto(const v1::PhaseTimes& p);

v1::Architecture ToProto(const arch::Architecture& a);
v1::Strategy ToProto(const place::Strategy& s);
v1::Recompute ToProto(place::Recompute r);
// Out-of-range values (a worker's result is not refused for them) map to kNone.
place::Recompute RecomputeFromProto(int value);

// The job as a structured message, and back. FromProto checks what the domain assumes (enums in
// range, the model, the architectures and the space valid, positive sizes): kInvalidArgument
// naming the field otherwise. FromProto(ToProto(job)) == job for every parsed job.
v1::Job ToProto(const job::JobSpec& job);
absl::StatusOr<job::JobSpec> FromProto(const v1::Job& p);
// "running", "succeeded", "cancelled", "failed" (the store's and the CLI's spelling).
const char* JobStateName(v1::JobState s);
v1::JobState JobStateFromName(const std::string& s);
arch::Architecture FromProto(const v1::Architecture& p);
// What a job page shows of a job's status.
report::JobPageInfo ToPageInfo(const v1::JobStatus& s);

}  // namespace phaze

#endif  // PHAZE_COMMON_RPC_CONVERT_H_
