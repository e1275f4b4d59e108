#include "common/eval/candidate_space.h"

#include "absl/strings/str_cat.h"

namespace phaze::eval {

using arch::ArchCandidate;
using arch::AreaUm2;

CandidateSpace::CandidateSpace(const EvaluationSpec& spec)
    : fixed_(spec.fixed_architectures), micro_batch_sizes_(spec.training.micro_batch_sizes) {
  if (spec.space.has_value()) space_.emplace(*spec.space);
}

int64_t CandidateSpace::NumArchitectures() const {
  return space_.has_value() ? space_->Size() : static_cast<int64_t>(fixed_.size());
}

ArchCandidate CandidateSpace::ArchitectureAt(int64_t arch_index) const {
  if (space_.has_value()) return space_->At(arch_index);
  ArchCandidate c;
  c.index = arch_index;
  c.arch = fixed_[static_cast<size_t>(arch_index)];
  c.area_um2 = AreaUm2(c.arch);
  c.valid = true;
  return c;
}

Candidate CandidateSpace::At(int64_t candidate) const {
  Candidate c;
  c.index = candidate;
  c.micro_batch = MicroBatchOf(candidate);
  c.arch = ArchitectureAt(ArchIndexOf(candidate));
  return c;
}

std::string CandidateCountText(int64_t size) {
  return size == std::numeric_limits<int64_t>::max() ? std::string("more than 2^63")
                                                     : absl::StrCat(size);
}

}  // namespace phaze::eval
