// The candidates of an evaluation as one index space: candidate i is (architecture i / M,
// micro-batch size i % M) for the M micro-batch sizes of the spec, over the architectures of the
// spec's space or its fixed list. All candidate-index arithmetic lives here, so a shard is a range
// of indices and a retried shard replays exactly.
//
//   CandidateSpace space(spec);
//   for (int64_t i = 0; i < space.Size(); ++i) {
//     const Candidate c = space.At(i);   // c.arch.valid: inside the area window
//   }
#ifndef PHAZE_COMMON_EVAL_CANDIDATE_SPACE_H_
#define PHAZE_COMMON_EVAL_CANDIDATE_SPACE_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "common/arch/arch.h"
#include "common/eval/spec.h"

namespace phaze::eval {

struct Candidate {
  int64_t index = 0;
  int64_t micro_batch = 0;
  arch::ArchCandidate arch;  // arch.index is the architecture index
};

// Cheap to copy; thread-compatible (const methods are safe to call concurrently).
class CandidateSpace {
 public:
  explicit CandidateSpace(const EvaluationSpec& spec);

  // Saturates at INT64_MAX (a space too large to index; every limit refuses it).
  int64_t Size() const {
    int64_t size = 0;
    if (__builtin_mul_overflow(NumArchitectures(), NumMicroBatches(), &size)) {
      return std::numeric_limits<int64_t>::max();
    }
    return size;
  }
  int64_t NumArchitectures() const;
  int64_t NumMicroBatches() const { return static_cast<int64_t>(micro_batch_sizes_.size()); }

  // 0 <= candidate < Size().
  Candidate At(int64_t candidate) const;
  int64_t ArchIndexOf(int64_t candidate) const { return candidate / NumMicroBatches(); }
  int64_t MicroBatchOf(int64_t candidate) const {
    return micro_batch_sizes_[static_cast<size_t>(candidate % NumMicroBatches())];
  }
  int64_t CandidateOf(int64_t arch_index, int64_t micro_batch_index) const {
    return arch_index * NumMicroBatches() + micro_batch_index;
  }
  // 0 <= arch_index < NumArchitectures(); `valid` is false outside the area window.
  arch::ArchCandidate ArchitectureAt(int64_t arch_index) const;

 private:
  std::optional<arch::ArchSpace> space_;
  std::vector<arch::Architecture> fixed_;
  std::vector<int64_t> micro_batch_sizes_;
};

// A candidate count for messages: the number, or "more than 2^63" for a saturated Size().
std::string CandidateCountText(int64_t size);

}  // namespace phaze::eval

#endif  // PHAZE_COMMON_EVAL_CANDIDATE_SPACE_H_
