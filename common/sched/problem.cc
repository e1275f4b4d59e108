#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/sched/internal.h"

namespace phaze::sched {

using workload::Engine;

// reach[i][j]: j is reachable from i (i != j).
Reach Reachability(const Problem& p) {
  const int n = static_cast<int>(p.tasks.size());
  Reach reach(n, std::vector<bool>(n, false));
  for (int j = 0; j < n; ++j) {
    for (int d : p.tasks[j].deps) {
      reach[d][j] = true;
      for (int i = 0; i < n; ++i) {
        if (reach[i][d]) reach[i][j] = true;
      }
    }
  }
  return reach;
}

bool IsCompute(const Task& t) { return t.engine != Engine::kLink; }

int64_t CoresOf(const Problem& p, Engine e) {
  return e == Engine::kTensor ? p.num_tc : e == Engine::kVector ? p.num_vc : 1;
}

// Whether the intra-op choice is a real choice for task i.
bool HasChoice(const Problem& p, int i) {
  const Task& t = p.tasks[i];
  return IsCompute(t) && CoresOf(p, t.engine) > 1 && t.all_cores_s < t.single_core_s;
}

double Duration(const Task& t, bool intra_op) { return intra_op ? t.all_cores_s : t.single_core_s; }

double HbmShare(const Task& t, bool intra_op) {
  if (Duration(t, intra_op) <= 0) return 0;
  return intra_op ? t.all_cores_hbm_share : t.single_core_hbm_share;
}

bool UsesHbm(const Problem& p) {
  for (const Task& t : p.tasks) {
    if (t.single_core_hbm_share > 0 || t.all_cores_hbm_share > 0) return true;
  }
  return false;
}

double MaxHbmShare(const Problem& p, int i) {
  const Task& t = p.tasks[i];
  return std::max(HbmShare(t, false), HasChoice(p, i) ? HbmShare(t, true) : 0.0);
}

bool HbmMayBind(const Problem& p) {
  double sum = 0;
  for (int i = 0; i < static_cast<int>(p.tasks.size()); ++i) sum += MaxHbmShare(p, i);
  return sum > kHbmCapacity;
}

Demand DemandOf(const Problem& p, int i, bool intra_op) {
  const Task& t = p.tasks[i];
  const int64_t cores = intra_op ? CoresOf(p, t.engine) : 1;
  const double hbm = HbmShare(t, intra_op);
  switch (t.engine) {
    case Engine::kTensor: return {cores, 0, 0, hbm};
    case Engine::kVector: return {0, cores, 0, hbm};
    case Engine::kLink: return {0, 0, 1, hbm};
  }
  return {0, 0, 1, hbm};
}

void SetGap(Schedule& s, double lower_bound, double target) {
  s.lower_bound_s = std::min(lower_bound, s.makespan_s);
  s.gap = s.makespan_s > 0 ? (s.makespan_s - s.lower_bound_s) / s.makespan_s : 0.0;
  s.status = s.gap <= target + 1e-9 ? SolveStatus::kOptimal : SolveStatus::kFeasible;
}

bool AllFinite(const Problem& p) {
  for (const Task& t : p.tasks) {
    if (!std::isfinite(t.single_core_s) || !std::isfinite(t.all_cores_s)) return false;
  }
  return true;
}

Schedule InfeasibleSchedule() {
  Schedule s;
  s.status = SolveStatus::kInfeasible;
  s.makespan_s = kInf;
  return s;
}

absl::Status ValidateProblem(const Problem& p) {
  if (p.num_tc < 1 || p.num_vc < 1) {
    return absl::InvalidArgumentError("schedule: core counts must be at least 1");
  }
  for (size_t i = 0; i < p.tasks.size(); ++i) {
    const Task& t = p.tasks[i];
    if (std::isnan(t.single_core_s) || std::isnan(t.all_cores_s) || t.single_core_s < 0 ||
        t.all_cores_s < 0) {
      return absl::InvalidArgumentError(absl::StrCat("schedule: task ", i, " has a bad latency"));
    }
    for (double share : {t.single_core_hbm_share, t.all_cores_hbm_share}) {
      if (!(share >= 0 && share <= kHbmCapacity)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "schedule: task ", i, " has an HBM bandwidth share of ", share, ", not in [0, 1]"));
      }
    }
    for (int d : t.deps) {
      if (d < 0 || static_cast<size_t>(d) >= i) {
        return absl::InvalidArgumentError(
            absl::StrCat("schedule: task ", i, " depends on ", d, ", not an earlier task"));
      }
    }
  }
  return absl::OkStatus();
}

const char* SolveStatusName(SolveStatus s) {
  switch (s) {
    case SolveStatus::kOptimal: return "optimal";
    case SolveStatus::kFeasible: return "feasible";
    case SolveStatus::kInfeasible: return "infeasible";
    case SolveStatus::kNoSolution: return "no_solution";
  }
  return "?";
}

}  // namespace phaze::sched
