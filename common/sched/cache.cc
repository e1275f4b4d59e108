#include "absl/hash/hash.h"
#include "common/base/mutex.h"
#include "common/sched/internal.h"

namespace phaze::sched {

bool ScheduleCache::Lookup(uint64_t key, Schedule* out) const {
  MutexLock lock(&mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return false;
  *out = it->second;
  return true;
}

void ScheduleCache::Insert(uint64_t key, const Schedule& schedule) {
  MutexLock lock(&mu_);
  if (static_cast<int64_t>(map_.size()) >= max_entries_) map_.clear();
  map_.emplace(key, schedule);
}

int64_t ScheduleCache::size() const {
  MutexLock lock(&mu_);
  return static_cast<int64_t>(map_.size());
}

uint64_t ProblemKey(const Problem& p, const SolveOptions& options) {
  size_t h = absl::HashOf(p.num_tc, p.num_vc, options.time_limit_s, options.relative_gap,
                          options.max_nodes, options.order_search_nodes, p.tasks.size());
  for (const Task& t : p.tasks) {
    h = absl::HashOf(h, static_cast<int>(t.engine), t.single_core_s, t.all_cores_s,
                     t.single_core_hbm_share, t.all_cores_hbm_share, t.deps);
  }
  return static_cast<uint64_t>(h);
}

}  // namespace phaze::sched
