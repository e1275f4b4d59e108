// libFuzzer target: bytes as a submitted job file, through the coordinator's whole submit path
// (YAML parser, validation, evaluator construction, caps, store, first shards). Any input must
// end in a job or in INVALID_ARGUMENT / RESOURCE_EXHAUSTED; never a crash, leak or hang.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "coordinator/job_manager.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto store = phaze::Store::Open(":memory:");
  if (!store.ok()) std::abort();
  phaze::ManagerOptions options;
  options.max_space_size = 20'000;  // keep every accepted input quick to shard
  phaze::JobManager manager(store->get(), options);
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<phaze::v1::JobStatus> status = manager.Submit(yaml);
  if (!status.ok()) {
    const absl::StatusCode code = status.status().code();
    if (code != absl::StatusCode::kInvalidArgument &&
        code != absl::StatusCode::kResourceExhausted) {
      std::abort();  // an unexpected kind of failure is a bug too
    }
    if (!(*store)->Jobs()->empty()) std::abort();  // refused means nothing stored
    return 0;
  }
  (void)manager.Lease("fuzz", 0);
  return 0;
}
