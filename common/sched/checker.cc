#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/sched/internal.h"

namespace phaze::sched {

using workload::Engine;

absl::Status CheckSchedule(const Problem& p, const Schedule& s) {
  const int n = static_cast<int>(p.tasks.size());
  if (static_cast<int>(s.start_s.size()) != n || static_cast<int>(s.intra_op.size()) != n) {
    return absl::InternalError("schedule: wrong number of start times");
  }
  const double tol = 1e-9 * std::max(1e-6, s.makespan_s);
  for (int j = 0; j < n; ++j) {
    const double dur = Duration(p.tasks[j], s.intra_op[j]);
    if (s.start_s[j] < -tol) return absl::InternalError(absl::StrCat("task ", j, " starts < 0"));
    if (s.start_s[j] + dur > s.makespan_s + tol) {
      return absl::InternalError(absl::StrCat("task ", j, " ends after the makespan"));
    }
    if (s.intra_op[j] && !HasChoice(p, j) && p.tasks[j].engine == Engine::kLink) {
      return absl::InternalError(absl::StrCat("link task ", j, " marked intra-op"));
    }
    for (int d : p.tasks[j].deps) {
      if (s.start_s[d] + Duration(p.tasks[d], s.intra_op[d]) > s.start_s[j] + tol) {
        return absl::InternalError(absl::StrCat("task ", j, " starts before its input ", d));
      }
    }
  }
  // Resource usage at every start time.
  for (int i = 0; i < n; ++i) {
    const double x = s.start_s[i];
    Demand use;
    std::vector<int> tc_cores, vc_cores;
    for (int j = 0; j < n; ++j) {
      const double dur = Duration(p.tasks[j], s.intra_op[j]);
      if (dur <= 0 || !(s.start_s[j] <= x + tol && x < s.start_s[j] + dur - tol)) continue;
      use.Add(DemandOf(p, j, s.intra_op[j]));
      if (!s.intra_op[j] && p.tasks[j].engine == Engine::kTensor) tc_cores.push_back(s.core[j]);
      if (!s.intra_op[j] && p.tasks[j].engine == Engine::kVector) vc_cores.push_back(s.core[j]);
    }
    if (!Demand{}.FitsWith(use, p)) {
      return absl::InternalError(absl::StrCat(
          "resources overloaded at the start of task ", i,
          use.hbm > kHbmCapacity ? absl::StrCat(" (HBM bandwidth ", use.hbm, ")") : std::string()));
    }
    for (auto* cores : {&tc_cores, &vc_cores}) {
      std::sort(cores->begin(), cores->end());
      if (std::adjacent_find(cores->begin(), cores->end()) != cores->end()) {
        return absl::InternalError(absl::StrCat("two tasks share a core at task ", i));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace phaze::sched
