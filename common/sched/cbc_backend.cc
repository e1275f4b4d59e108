// The only file that includes CBC: translates a MilpModel into a CbcModel, solves it with plain
// branch-and-bound (safe to run in several threads at once, unlike CBC's driver), and decodes
// the answer.
#include <algorithm>
#include <cmath>
#include <new>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coin/CbcModel.hpp"
#include "coin/CoinPackedMatrix.hpp"
#include "coin/OsiClpSolverInterface.hpp"
#include "common/sched/internal.h"
#include "common/sched/milp.h"

namespace phaze::sched {

absl::StatusOr<Schedule> CbcBackend::Solve(const Problem& p, const SolveOptions& options) {
  if (absl::Status st = ValidateProblem(p); !st.ok()) return st;
  if (!AllFinite(p)) return InfeasibleSchedule();
  const double lb_s = LowerBound(p);
  Schedule start = options.incumbent != nullptr &&
                           options.incumbent->start_s.size() == p.tasks.size() &&
                           CheckSchedule(p, *options.incumbent).ok()
                       ? *options.incumbent
                       : ListScheduleWithBound(p, lb_s);
  if (p.tasks.empty()) {
    start.status = SolveStatus::kOptimal;
    return start;
  }
  const MilpModel milp = BuildSchedulingMilp(p, lb_s, start);
  const std::vector<double> x0 = EncodeSchedule(p, milp, start);
  const int num_cols = static_cast<int>(milp.columns.size());

  Schedule result = start;
  result.mip_built = true;
  try {
    CoinPackedMatrix matrix(false, 0, 0);
    matrix.setDimensions(0, num_cols);
    std::vector<double> row_lb, row_ub;
    for (const MilpModel::Row& row : milp.rows) {
      std::vector<int> idx;
      std::vector<double> val;
      for (const auto& [c, v] : row.terms) {
        idx.push_back(c);
        val.push_back(v);
      }
      matrix.appendRow(static_cast<int>(idx.size()), idx.data(), val.data());
      row_lb.push_back(row.lower);
      row_ub.push_back(row.upper);
    }
    std::vector<double> col_lb, col_ub, obj;
    for (const MilpModel::Column& col : milp.columns) {
      col_lb.push_back(col.lower);
      col_ub.push_back(col.upper);
      obj.push_back(col.cost);
    }
    OsiClpSolverInterface solver;
    solver.messageHandler()->setLogLevel(0);
    solver.loadProblem(matrix, col_lb.data(), col_ub.data(), obj.data(), row_lb.data(),
                       row_ub.data());
    for (int c = 0; c < num_cols; ++c) {
      if (milp.columns[static_cast<size_t>(c)].integer) solver.setInteger(c);
    }
    CbcModel model(solver);
    model.setLogLevel(0);
    model.messageHandler()->setLogLevel(0);
    model.solver()->messageHandler()->setLogLevel(0);
    // Wall-clock limits: CBC's default CPU time is the whole process's, which runs ahead of the
    // wall clock when several threads solve at once.
    model.setUseElapsedTime(true);
    model.setMaximumSeconds(options.time_limit_s);
    model.setMaximumNodes(static_cast<int>(std::min<int64_t>(options.max_nodes, 1 << 30)));
    model.setAllowableFractionGap(options.relative_gap);
    model.setBestSolution(x0.data(), num_cols, x0[static_cast<size_t>(milp.makespan)], true);
    model.branchAndBound();
    result.nodes = model.getNodeCount();
    result.solve_s = model.getCurrentSeconds();
    result.hit_time_limit = model.isSecondsLimitReached() || model.isNodeLimitReached();
    if (const double* x = model.bestSolution(); x != nullptr) {
      // A valid schedule no longer than CBC's (up to rounding).
      Schedule replay = DecodeSchedule(p, milp, x);
      if (replay.makespan_s < result.makespan_s) {
        replay.mip_built = true;
        replay.nodes = result.nodes;
        replay.solve_s = result.solve_s;
        replay.hit_time_limit = result.hit_time_limit;
        result = std::move(replay);
      }
    }
    const double cbc_bound = model.getBestPossibleObjValue() * MilpModel::kUnitS;
    double bound = lb_s;
    if (model.isProvenOptimal()) {
      bound = std::max(bound, result.makespan_s * (1 - options.relative_gap));
    } else if (std::isfinite(cbc_bound)) {
      bound = std::max(bound, cbc_bound);
    }
    SetGap(result, bound, options.relative_gap);
    if (model.isProvenOptimal()) result.status = SolveStatus::kOptimal;
  } catch (const CoinError& e) {
    return absl::InternalError(absl::StrCat("cbc: ", e.message()));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("cbc: out of memory");
  }
  return result;
}

}  // namespace phaze::sched
