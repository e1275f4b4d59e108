// Prometheus metrics of a worker, defined in one place and fed from the worker's evaluation hook.
// Names: phaze_worker_<what>_<unit>, counters end in _total.
#ifndef PHAZE_WORKER_METRICS_H_
#define PHAZE_WORKER_METRICS_H_

#include "common/eval/eval.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace phaze {

class WorkerMetrics {
 public:
  explicit WorkerMetrics(prometheus::Registry& registry);
  // Thread-safe (prometheus-cpp metrics are).
  void Record(const eval::EvaluationResult* result, double seconds);

 private:
  prometheus::Family<prometheus::Counter>& candidates_;
  prometheus::Histogram& evaluation_s_;
  prometheus::Histogram& ilp_solve_s_;
  prometheus::Histogram& ilp_gap_;
  prometheus::Counter& milps_;
  prometheus::Counter& timeouts_;
  prometheus::Counter& cache_hits_;
};

}  // namespace phaze

#endif  // PHAZE_WORKER_METRICS_H_
