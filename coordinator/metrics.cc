#include "coordinator/metrics.h"

namespace phaze {

CoordinatorMetrics::CoordinatorMetrics(prometheus::Registry& r)
    : jobs_(prometheus::BuildGauge()
                .Name("phaze_coordinator_jobs")
                .Help("Jobs by state")
                .Register(r)),
      candidates_(prometheus::BuildCounter()
                      .Name("phaze_coordinator_candidates_total")
                      .Help("Candidates with a result, by outcome")
                      .Register(r)),
      leased_(prometheus::BuildCounter()
                  .Name("phaze_coordinator_shards_leased_total")
                  .Help("Shard leases granted (first leases and retries)")
                  .Register(r)
                  .Add({})),
      expired_(prometheus::BuildCounter()
                   .Name("phaze_coordinator_leases_expired_total")
                   .Help("Leases that passed their deadline; their shards were retried")
                   .Register(r)
                   .Add({})),
      persisted_(prometheus::BuildCounter()
                     .Name("phaze_coordinator_results_persisted_total")
                     .Help("Results written to SQLite")
                     .Register(r)
                     .Add({})),
      pending_(prometheus::BuildGauge()
                   .Name("phaze_coordinator_pending_candidates")
                   .Help("Candidates of running jobs without a result yet")
                   .Register(r)
                   .Add({})),
      workers_(prometheus::BuildGauge()
                   .Name("phaze_coordinator_connected_workers")
                   .Help("Worker processes that asked for work in the last lease period")
                   .Register(r)
                   .Add({})),
      best_(prometheus::BuildGauge()
                .Name("phaze_coordinator_best_throughput_samples_per_second")
                .Help("Best throughput found so far, per running job")
                .Register(r)) {}

void CoordinatorMetrics::Advance(prometheus::Counter& c, int64_t total) {
  const double delta = static_cast<double>(total) - c.Value();
  if (delta > 0) c.Increment(delta);
}

void CoordinatorMetrics::Update(const ManagerTotals& t) {
  for (const char* state : {"running", "succeeded", "cancelled", "failed"}) {
    auto it = t.jobs_by_state.find(state);
    jobs_.Add({{"state", state}})
        .Set(it == t.jobs_by_state.end() ? 0.0 : static_cast<double>(it->second));
  }
  Advance(candidates_.Add({{"outcome", "feasible"}}), t.feasible);
  Advance(candidates_.Add({{"outcome", "infeasible"}}), t.infeasible);
  Advance(candidates_.Add({{"outcome", "pruned"}}), t.pruned);
  Advance(candidates_.Add({{"outcome", "error"}}), t.failed);
  Advance(leased_, t.leases_granted);
  Advance(expired_, t.leases_expired);
  Advance(persisted_, t.results_persisted);
  pending_.Set(static_cast<double>(t.pending_candidates));
  workers_.Set(static_cast<double>(t.connected_workers));
  std::map<std::string, prometheus::Gauge*> current;
  for (const auto& [job, throughput] : t.best_throughput) {
    prometheus::Gauge& g = best_.Add({{"job", job}});
    g.Set(throughput);
    current[job] = &g;
  }
  for (const auto& [job, gauge] : best_by_job_) {
    if (!current.count(job)) best_.Remove(gauge);  // the job ended
  }
  best_by_job_ = std::move(current);
}

}  // namespace phaze
