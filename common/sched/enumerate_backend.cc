#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/sched/internal.h"
#include "common/sched/milp.h"

namespace phaze::sched {

absl::StatusOr<Schedule> EnumerateBackend::Solve(const Problem& p, const SolveOptions& options) {
  if (absl::Status st = ValidateProblem(p); !st.ok()) return st;
  const int n = static_cast<int>(p.tasks.size());
  if (n > kMaxTasks) {
    return absl::ResourceExhaustedError(
        absl::StrCat("enumerate backend: ", n, " tasks exceed ", kMaxTasks));
  }
  if (!AllFinite(p)) return InfeasibleSchedule();
  std::vector<int> choice;
  for (int i = 0; i < n; ++i) {
    if (HasChoice(p, i)) choice.push_back(i);
  }
  // Every precedence-feasible order.
  std::vector<std::vector<int>> orders;
  std::vector<int> current;
  std::vector<bool> done(n, false);
  auto extend = [&](auto&& self) -> void {
    if (static_cast<int>(current.size()) == n) {
      orders.push_back(current);
      return;
    }
    for (int i = 0; i < n; ++i) {
      if (done[i]) continue;
      bool ready = true;
      for (int d : p.tasks[i].deps) ready &= done[d];
      if (!ready) continue;
      done[i] = true;
      current.push_back(i);
      self(self);
      current.pop_back();
      done[i] = false;
    }
  };
  extend(extend);
  Schedule best;
  best.makespan_s = kInf;
  for (uint32_t mask = 0; mask < (1u << choice.size()); ++mask) {
    std::vector<bool> intra(n, false);
    for (size_t k = 0; k < choice.size(); ++k) intra[choice[k]] = (mask >> k) & 1u;
    for (const std::vector<int>& order : orders) {
      Schedule s = SerialSgs(p, order, intra);
      if (s.makespan_s < best.makespan_s - kEps) best = std::move(s);
    }
  }
  SetGap(best, best.makespan_s, options.relative_gap);
  best.status = SolveStatus::kOptimal;
  // The same neutral MILP the CBC backend solves must admit this optimum, with the same
  // objective: otherwise the formulation cuts off a valid schedule, and CBC would be wrong.
  if (n > 0) {
    const MilpModel milp = BuildSchedulingMilp(p, LowerBound(p), best);
    const std::vector<double> x = EncodeSchedule(p, milp, best);
    std::string violated;
    if (!IsFeasible(milp, x, 1e-6 * std::max(1.0, best.makespan_s / MilpModel::kUnitS),
                    &violated)) {
      return absl::InternalError(absl::StrCat(
          "enumerate backend: the optimum is not a point of the scheduling MILP: ", violated));
    }
  }
  return best;
}

}  // namespace phaze::sched
