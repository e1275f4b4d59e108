// libFuzzer target: bytes as a worker's ReportResults message for a running job, through the
// proto parser, the coordinator's result checks, proto-to-domain conversion, the store and the
// Pareto aggregation. A refused result must leave the job untouched.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "coordinator/job_manager.h"

namespace {

constexpr char kJob[] = R"(name: fuzz
model: {base: megatrongpt2-54, name: gpt-tiny, layers: 2, seq_len: 128}
training: {accelerators: 8, global_batch: 16, micro_batch_sizes: [1, 2], max_tensor_width: 2}
architecture:
  space: {num_tc: [4, 16], num_vc: [4], tc_width: [64, 128], tc_depth: [128], glb_mib: [32],
          max_area_preset: tpuv4}
  hbm_gib: [4, 8]
search: {strategy: exhaustive}
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  phaze::v1::ResultReport report;
  if (!report.ParseFromArray(data, static_cast<int>(size))) return 0;
  auto store = phaze::Store::Open(":memory:");
  if (!store.ok()) std::abort();
  phaze::JobManager manager(store->get(), {});
  const std::string id = manager.Submit(kJob)->job_id();
  const phaze::v1::Lease lease = manager.Lease("fuzz", 0);
  // The fuzzed report on the live lease of the job (the ids are the lease's, so the checks of the
  // result itself are reached), and as it came (ids fuzzed too).
  phaze::v1::ResultReport on_lease = report;
  on_lease.set_lease_id(lease.lease_id());
  on_lease.set_job_id(id);
  const absl::StatusOr<int64_t> forged = manager.Report(report, 0);
  if (!forged.ok() && !(*store)->Results(id)->empty()) std::abort();
  const absl::StatusOr<int64_t> added = manager.Report(on_lease, 0);
  if (!added.ok() && !forged.ok()) {
    if (!(*store)->Results(id)->empty()) std::abort();
    if (manager.Get(id)->candidates_done() != 0) std::abort();
    return 0;
  }
  manager.Complete(lease.lease_id());
  phaze::v1::ListResultsRequest request;
  request.set_job_id(id);
  (void)manager.Results(request);  // front, best and rows from what was accepted
  return 0;
}
