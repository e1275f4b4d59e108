// Prometheus metrics of the coordinator: one place that defines them, refreshed from the job
// manager's totals. Owned by the server; never static. Names: phaze_coordinator_<what>_<unit>,
// counters end in _total.
#ifndef PHAZE_COORDINATOR_METRICS_H_
#define PHAZE_COORDINATOR_METRICS_H_

#include <map>
#include <memory>
#include <string>

#include "coordinator/job_manager.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace phaze {

class CoordinatorMetrics {
 public:
  explicit CoordinatorMetrics(prometheus::Registry& registry);
  // Brings every metric up to date with `t` (counters advance by the difference).
  void Update(const ManagerTotals& t);

 private:
  static void Advance(prometheus::Counter& c, int64_t total);
  prometheus::Family<prometheus::Gauge>& jobs_;
  prometheus::Family<prometheus::Counter>& candidates_;
  prometheus::Counter& leased_;
  prometheus::Counter& expired_;
  prometheus::Counter& persisted_;
  prometheus::Gauge& pending_;
  prometheus::Gauge& workers_;
  prometheus::Family<prometheus::Gauge>& best_;
  std::map<std::string, prometheus::Gauge*> best_by_job_;
};

}  // namespace phaze

#endif  // PHAZE_COORDINATOR_METRICS_H_
