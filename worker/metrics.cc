#include "worker/metrics.h"

namespace phaze {

using eval::EvaluationResult;

WorkerMetrics::WorkerMetrics(prometheus::Registry& r)
    : candidates_(prometheus::BuildCounter()
                      .Name("phaze_worker_candidates_total")
                      .Help("Candidates evaluated, by outcome")
                      .Register(r)),
      evaluation_s_(
          prometheus::BuildHistogram()
              .Name("phaze_worker_evaluation_seconds")
              .Help("Wall time of one candidate evaluation")
              .Register(r)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.003, 0.01, 0.03, 0.1, 0.3,
                                                               1, 3, 10, 30, 100})),
      ilp_solve_s_(prometheus::BuildHistogram()
                       .Name("phaze_worker_ilp_solve_seconds")
                       .Help("CBC wall time per evaluation that built scheduling MILPs")
                       .Register(r)
                       .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.01, 0.03, 0.1, 0.3,
                                                                        1, 3, 10, 30})),
      ilp_gap_(prometheus::BuildHistogram()
                   .Name("phaze_worker_ilp_gap_ratio")
                   .Help("Largest relative gap of an evaluation's layer schedules")
                   .Register(r)
                   .Add({}, prometheus::Histogram::BucketBoundaries{0, 0.001, 0.005, 0.01, 0.02,
                                                                    0.05, 0.1, 0.2})),
      milps_(prometheus::BuildCounter()
                 .Name("phaze_worker_ilp_milps_total")
                 .Help("Scheduling MILPs handed to CBC")
                 .Register(r)
                 .Add({})),
      timeouts_(prometheus::BuildCounter()
                    .Name("phaze_worker_ilp_timeouts_total")
                    .Help("Scheduling MILPs stopped by the node or time limit")
                    .Register(r)
                    .Add({})),
      cache_hits_(prometheus::BuildCounter()
                      .Name("phaze_worker_schedule_cache_hits_total")
                      .Help("Layer schedules served from the schedule cache")
                      .Register(r)
                      .Add({})) {}

void WorkerMetrics::Record(const EvaluationResult* r, double seconds) {
  evaluation_s_.Observe(seconds);
  if (r == nullptr) {
    candidates_.Add({{"outcome", "error"}}).Increment();
    return;
  }
  const char* outcome = !r->valid          ? "invalid"
                        : r->pruned        ? "pruned"
                        : r->AnyFeasible() ? "feasible"
                                           : "infeasible";
  candidates_.Add({{"outcome", outcome}}).Increment();
  if (r->ilp.built > 0) ilp_solve_s_.Observe(r->ilp.solve_s);
  if (r->ilp.layers > 0) ilp_gap_.Observe(r->ilp.max_gap);
  milps_.Increment(static_cast<double>(r->ilp.built));
  timeouts_.Increment(static_cast<double>(r->ilp.time_outs));
  cache_hits_.Increment(static_cast<double>(r->ilp.cache_hits));
}

}  // namespace phaze
