// A made-up result for a candidate that passes the coordinator's checks: the candidate's own
// shape, the job's HBM sizes and recompute modes in order, throughput = batch / step time, far
// below the chip's peak. For benchmarks of the coordinator (coordinator_bench, cluster_bench),
// which measure what it costs to take results, not to compute them.
#ifndef PHAZE_TESTS_BENCH_SYNTHETIC_RESULT_H_
#define PHAZE_TESTS_BENCH_SYNTHETIC_RESULT_H_

#include <cstdint>
#include <random>

#include "common/eval/eval.h"
#include "common/job/job.h"
#include "common/rpc/convert.h"
#include "phaze/v1/phaze.pb.h"

namespace phaze::bench {

inline v1::CandidateResult SyntheticResult(const eval::Evaluator& evaluator,
                                           const job::JobSpec& spec, int64_t candidate,
                                           std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0.5, 1.5);
  const eval::Candidate cand = evaluator.space().At(candidate);
  v1::CandidateResult r;
  r.mutable_candidate()->set_index(candidate);
  r.mutable_candidate()->set_arch_index(cand.arch.index);
  r.mutable_candidate()->set_micro_batch_size(cand.micro_batch);
  if (!cand.arch.valid) {
    r.set_outcome(v1::OUTCOME_INVALID);
    return r;
  }
  r.set_outcome(v1::OUTCOME_FEASIBLE);
  const double peak = evaluator.ThroughputUpperBound(cand.arch.arch, cand.micro_batch);
  for (int64_t hbm : spec.hbm_bytes) {
    for (place::Recompute mode : spec.training.recompute) {
      v1::PlacementPoint* p = r.add_points();
      p->set_hbm_bytes(hbm);
      p->set_recompute(ToProto(mode));
      v1::Placement* pl = p->mutable_search();
      pl->set_feasible(true);
      pl->mutable_strategy()->set_pipeline(1);
      pl->mutable_strategy()->set_data(1);
      pl->mutable_strategy()->set_tensor(1);
      const double throughput = 0.01 * peak * u(rng);
      pl->set_throughput_samples_per_s(throughput);
      pl->set_time_per_batch_s(static_cast<double>(spec.training.global_batch) / throughput);
      pl->set_energy_per_sample_j(50 * u(rng));
    }
  }
  return r;
}

}  // namespace phaze::bench

#endif  // PHAZE_TESTS_BENCH_SYNTHETIC_RESULT_H_
