#include "common/sched/milp.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/sched/internal.h"

namespace phaze::sched {

using workload::Engine;
namespace {

constexpr double kUnitS = MilpModel::kUnitS;

// Per kind: is per-core assignment needed? Only if more single-core operators of that kind can
// run at once (the width of their poset, by Dilworth: tasks minus a maximum matching) than it has
// cores.
bool NeedsAssignment(const Problem& p, const Reach& reach, Engine kind) {
  const int n = static_cast<int>(p.tasks.size());
  const int64_t cores = CoresOf(p, kind);
  std::vector<int> ops;
  for (int i = 0; i < n; ++i) {
    if (p.tasks[i].engine == kind) ops.push_back(i);
  }
  if (cores == 1 || static_cast<int64_t>(ops.size()) <= cores) return false;
  const int m = static_cast<int>(ops.size());
  std::vector<int> match_right(m, -1);
  auto augment = [&](auto&& self, int u, std::vector<bool>& seen) -> bool {
    for (int v = 0; v < m; ++v) {
      if (!reach[ops[u]][ops[v]] || seen[v]) continue;
      seen[v] = true;
      if (match_right[v] < 0 || self(self, match_right[v], seen)) {
        match_right[v] = u;
        return true;
      }
    }
    return false;
  };
  int matching = 0;
  for (int u = 0; u < m; ++u) {
    std::vector<bool> seen(m, false);
    matching += augment(augment, u, seen) ? 1 : 0;
  }
  return m - matching > cores;
}

}  // namespace

namespace {

// The resource flow of HBM bandwidth (see milp.h). With r_i = s1_i + (sA_i - s1_i) y_i the
// share task i holds: inflow(i) = r_i = outflow(i); the source gives at most 1; an arc i -> j
// carries flow only when i precedes j (a path of dependences, or the pair's ordering binary).
void AddHbmFlow(const Problem& p, const Reach& reach, const std::vector<double>& max_share,
                MilpModel& m) {
  const int n = static_cast<int>(p.tasks.size());
  std::vector<std::vector<int>> pair_of(n, std::vector<int>(n, -1));
  for (size_t k = 0; k < m.pairs.size(); ++k)
    pair_of[m.pairs[k].i][m.pairs[k].j] = static_cast<int>(k);
  std::vector<std::vector<std::pair<int, double>>> in(n), out(n);
  std::vector<std::pair<int, double>> from_source;
  auto add_flow = [&](int from, int to, double upper) {
    m.columns.push_back({0, upper, 0, false});
    const int col = static_cast<int>(m.columns.size()) - 1;
    m.flows.push_back({from, to, col});
    (from < 0 ? from_source : out[from]).push_back({col, 1.0});
    if (to >= 0) in[to].push_back({col, 1.0});
    return col;
  };
  for (int i = 0; i < n; ++i) {
    if (max_share[i] <= 0) continue;
    add_flow(-1, i, max_share[i]);
    add_flow(i, -1, max_share[i]);
    for (int j = 0; j < n; ++j) {
      if (j == i || max_share[j] <= 0 || reach[j][i]) continue;
      const double upper = std::min(max_share[i], max_share[j]);
      // Incomparable: only when i is ordered before j (every such pair has its binaries).
      const int pair = reach[i][j] ? -1 : pair_of[std::min(i, j)][std::max(i, j)];
      if (!reach[i][j] && pair < 0) continue;
      const int col = add_flow(i, j, upper);
      if (reach[i][j]) continue;
      const MilpModel::Pair& pr = m.pairs[static_cast<size_t>(pair)];
      if (i < j) {
        m.rows.push_back({{{col, 1.0}, {pr.before, -upper}}, -kInf, 0.0});
      } else if (pr.after >= 0) {
        m.rows.push_back({{{col, 1.0}, {pr.after, -upper}}, -kInf, 0.0});
      } else {
        m.rows.push_back({{{col, 1.0}, {pr.before, upper}}, -kInf, upper});
      }
    }
  }
  m.rows.push_back({from_source, -kInf, kHbmCapacity});
  for (int i = 0; i < n; ++i) {
    if (max_share[i] <= 0) continue;
    const Task& t = p.tasks[i];
    const double single = HbmShare(t, false);
    for (auto* terms : {&in[i], &out[i]}) {
      MilpModel::Row row{*terms, single, single};
      if (m.intra_op[i] >= 0) row.terms.push_back({m.intra_op[i], single - HbmShare(t, true)});
      m.rows.push_back(std::move(row));
    }
  }
}

}  // namespace

MilpModel BuildSchedulingMilp(const Problem& p, double lb_s, const Schedule& incumbent) {
  const int n = static_cast<int>(p.tasks.size());
  const double ub = incumbent.makespan_s / kUnitS;
  const Reach reach = Reachability(p);
  const std::vector<double> heads = Heads(p), tails = Tails(p);
  const bool assign_tc = NeedsAssignment(p, reach, Engine::kTensor);
  const bool assign_vc = NeedsAssignment(p, reach, Engine::kVector);
  const bool hbm = HbmMayBind(p);
  std::vector<double> max_share(n, 0.0);
  if (hbm) {
    for (int i = 0; i < n; ++i) max_share[i] = MaxHbmShare(p, i);
  }

  MilpModel m;
  auto add_col = [&](double lo, double hi, double cost, bool is_int) {
    m.columns.push_back({lo, hi, cost, is_int});
    return static_cast<int>(m.columns.size()) - 1;
  };
  m.makespan = add_col(lb_s / kUnitS, ub, 1.0, false);
  m.start.assign(n, -1);
  m.intra_op.assign(n, -1);
  for (int i = 0; i < n; ++i) {
    m.start[i] =
        add_col(heads[i] / kUnitS, std::max(heads[i] / kUnitS, ub - tails[i] / kUnitS), 0.0, false);
    if (HasChoice(p, i)) {
      // A single-core run that cannot fit between the operator's earliest start and its latest
      // finish under the incumbent makespan forces intra-op: fix y = 1.
      const Task& t = p.tasks[i];
      const double after = tails[i] - std::min(t.single_core_s, t.all_cores_s);
      // (With a relative tolerance: a single-core run that exactly fills the window must stay
      // allowed, or rounding would cut off an optimum that is exactly the incumbent.)
      const bool forced = (heads[i] + t.single_core_s + after) / kUnitS > ub * (1 + 1e-9);
      m.intra_op[i] = add_col(forced ? 1 : 0, 1, 0, true);
    }
  }
  // z[i][c] for kinds that need assignment; symmetry broken: the k-th task of a kind may only use
  // cores 0..k.
  m.core.assign(n, {});
  for (Engine kind : {Engine::kTensor, Engine::kVector}) {
    if ((kind == Engine::kTensor && !assign_tc) || (kind == Engine::kVector && !assign_vc))
      continue;
    const int64_t cores = CoresOf(p, kind);
    int rank = 0;
    for (int i = 0; i < n; ++i) {
      if (p.tasks[i].engine != kind) continue;
      const int64_t usable = std::min<int64_t>(cores, rank + 1);
      for (int64_t c = 0; c < usable; ++c) m.core[i].push_back(add_col(0, 1, 0, true));
      ++rank;
    }
  }
  // Pairs that may conflict, with their ordering binaries.
  for (int i = 0; i < n; ++i) {
    for (int j = i + 1; j < n; ++j) {
      if (reach[i][j] || reach[j][i]) continue;
      const Task& a = p.tasks[i];
      const Task& b = p.tasks[j];
      // An operator of no time holds no core or link (as in the list schedules and the checker):
      // it may start inside another's run, so it never conflicts.
      if (std::max(a.single_core_s, a.all_cores_s) <= 0 ||
          std::max(b.single_core_s, b.all_cores_s) <= 0) {
        continue;
      }
      // Only operators of the same kind compete: tensor cores, vector cores and the link are
      // separate units.
      bool may_conflict = false;
      if (a.engine == b.engine) {
        may_conflict = !IsCompute(a) || m.intra_op[i] >= 0 || m.intra_op[j] >= 0 ||
                       CoresOf(p, a.engine) == 1 || !m.core[i].empty();
      }
      // Any two operators that use HBM bandwidth may take part in a set that overloads it.
      const bool share_hbm = max_share[i] > 0 && max_share[j] > 0;
      if (!may_conflict && !share_hbm) continue;
      const bool must_order = may_conflict && (!IsCompute(a) || CoresOf(p, a.engine) == 1);
      // Time windows under the incumbent: x cannot precede y if x's earliest finish is after
      // y's latest start.
      auto can_precede = [&](int x, int y) {
        const double earliest_finish =
            heads[x] + std::min(p.tasks[x].single_core_s, p.tasks[x].all_cores_s);
        const double latest_start = ub * kUnitS - tails[y];
        return earliest_finish <= latest_start * (1 + 1e-9);
      };
      const int before = add_col(0, can_precede(i, j) ? 1 : 0, 0, true);
      const int after = must_order ? -1 : add_col(0, can_precede(j, i) ? 1 : 0, 0, true);
      m.pairs.push_back({i, j, before, after, may_conflict});
    }
  }

  auto add_row = [&](std::vector<std::pair<int, double>> terms, double lo, double hi) {
    m.rows.push_back({std::move(terms), lo, hi});
  };
  // p_i = L1_i - (L1_i - Lio_i) y_i; "x + p_i" terms expand to x + L1_i - delta_i y_i.
  auto single_u = [&](int i) { return p.tasks[i].single_core_s / kUnitS; };
  auto delta_u = [&](int i) {
    return (p.tasks[i].single_core_s - p.tasks[i].all_cores_s) / kUnitS;
  };
  auto with_duration = [&](std::vector<std::pair<int, double>> terms, int i) {
    // adds -p_i's variable part: + delta_i * y_i (moved to the left-hand side)
    if (m.intra_op[i] >= 0) terms.push_back({m.intra_op[i], delta_u(i)});
    return terms;
  };
  for (int i = 0; i < n; ++i) {
    // T >= s_i + p_i
    add_row(with_duration({{m.makespan, 1.0}, {m.start[i], -1.0}}, i), single_u(i), kInf);
    for (int d : p.tasks[i].deps) {
      // s_i >= s_d + p_d
      add_row(with_duration({{m.start[i], 1.0}, {m.start[d], -1.0}}, d), single_u(d), kInf);
    }
  }
  // The tightest valid big-M: i can finish no later than UB minus its shortest tail, and j can
  // start no earlier than its head.
  auto big_m = [&](int i, int j) {
    const double after_i = tails[i] - std::min(p.tasks[i].single_core_s, p.tasks[i].all_cores_s);
    return std::max(0.0, ub - (after_i + heads[j]) / kUnitS);
  };
  for (const MilpModel::Pair& pr : m.pairs) {
    const double m_ij = big_m(pr.i, pr.j), m_ji = big_m(pr.j, pr.i);
    const int s_i = m.start[pr.i], s_j = m.start[pr.j];
    // s_j >= s_i + p_i - M_ij (1 - before)
    add_row(with_duration({{s_j, 1.0}, {s_i, -1.0}, {pr.before, -m_ij}}, pr.i),
            single_u(pr.i) - m_ij, kInf);
    if (pr.after < 0) {
      // s_i >= s_j + p_j - M_ji before
      add_row(with_duration({{s_i, 1.0}, {s_j, -1.0}, {pr.before, m_ji}}, pr.j), single_u(pr.j),
              kInf);
      continue;
    }
    // s_i >= s_j + p_j - M_ji (1 - after)
    add_row(with_duration({{s_i, 1.0}, {s_j, -1.0}, {pr.after, -m_ji}}, pr.j),
            single_u(pr.j) - m_ji, kInf);
    add_row({{pr.before, 1.0}, {pr.after, 1.0}}, -kInf, 1.0);
    if (!pr.same_unit) continue;
    // An intra-op operator has every core of its kind: it overlaps no other operator of that kind.
    if (m.intra_op[pr.i] >= 0)
      add_row({{pr.before, 1.0}, {pr.after, 1.0}, {m.intra_op[pr.i], -1.0}}, 0, kInf);
    if (m.intra_op[pr.j] >= 0)
      add_row({{pr.before, 1.0}, {pr.after, 1.0}, {m.intra_op[pr.j], -1.0}}, 0, kInf);
    if (!m.core[pr.i].empty()) {
      const size_t shared = std::min(m.core[pr.i].size(), m.core[pr.j].size());
      for (size_t c = 0; c < shared; ++c) {
        add_row(
            {{pr.before, 1.0}, {pr.after, 1.0}, {m.core[pr.i][c], -1.0}, {m.core[pr.j][c], -1.0}},
            -1.0, kInf);
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    if (m.core[i].empty()) continue;
    // Each single-core task sits on exactly one core; an intra-op task on none.
    std::vector<std::pair<int, double>> terms;
    for (int c : m.core[i]) terms.push_back({c, 1.0});
    if (m.intra_op[i] >= 0) terms.push_back({m.intra_op[i], 1.0});
    add_row(terms, 1.0, 1.0);
  }
  if (hbm) AddHbmFlow(p, reach, max_share, m);
  return m;
}

namespace {

// The cores of `s` under the model's symmetry breaking (the k-th operator of a kind may only use
// cores 0..k): each kind's colours renamed in the order the operators first use them, so the
// k-th operator's colour is among the first k + 1 named. (Clamping a core into range instead
// could put two overlapping operators on one core.)
void EncodeCores(const Problem& p, const MilpModel& m, const Schedule& s, std::vector<double>& x) {
  const int n = static_cast<int>(p.tasks.size());
  for (Engine kind : {Engine::kTensor, Engine::kVector}) {
    std::vector<int> name(static_cast<size_t>(CoresOf(p, kind)), -1);
    int named = 0;
    for (int i = 0; i < n; ++i) {
      if (p.tasks[i].engine != kind || m.core[i].empty() || s.intra_op[i]) continue;
      int& c = name[static_cast<size_t>(s.core[i])];
      if (c < 0) c = named++;
      x[static_cast<size_t>(m.core[i][static_cast<size_t>(c)])] = 1.0;
    }
  }
}

// A flow of HBM bandwidth that `s` admits: in start order, each operator draws its share from
// operators already finished (an arc exists: each precedes it) and then from the source. What is
// free at a start is 1 minus the shares of what still runs, so a valid schedule never runs dry.
void EncodeHbmFlow(const Problem& p, const MilpModel& m, const Schedule& s,
                   std::vector<double>& x) {
  if (m.flows.empty()) return;
  const int n = static_cast<int>(p.tasks.size());
  std::vector<std::vector<int>> arc(n + 1, std::vector<int>(n + 1, -1));  // [from + 1][to + 1]
  for (const MilpModel::Flow& f : m.flows) arc[f.from + 1][f.to + 1] = f.column;
  std::vector<int> order;
  for (int i = 0; i < n; ++i) {
    if (arc[0][i + 1] >= 0) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return s.start_s[a] != s.start_s[b] ? s.start_s[a] < s.start_s[b] : a < b;
  });
  const double tol = 1e-9 * std::max(1e-6, s.makespan_s);
  std::vector<double> left(p.tasks.size(), 0.0);  // bandwidth each task has still to pass on
  std::vector<int> started;
  for (int j : order) {
    const double share = HbmShare(p.tasks[j], s.intra_op[j]);
    double need = share;
    for (int i : started) {
      if (need <= 0) break;
      const double end_i = s.start_s[i] + Duration(p.tasks[i], s.intra_op[i]);
      if (left[i] <= 0 || end_i > s.start_s[j] + tol || arc[i + 1][j + 1] < 0) continue;
      const double give = std::min(need, left[i]);
      x[static_cast<size_t>(arc[i + 1][j + 1])] += give;
      left[i] -= give;
      need -= give;
    }
    x[static_cast<size_t>(arc[0][j + 1])] += need;  // the rest from the source
    left[j] = share;
    started.push_back(j);
  }
  for (int i : started) x[static_cast<size_t>(arc[i + 1][0])] = left[i];
}

}  // namespace

std::vector<double> EncodeSchedule(const Problem& p, const MilpModel& m, const Schedule& s) {
  const int n = static_cast<int>(p.tasks.size());
  std::vector<double> x(m.columns.size(), 0.0);
  x[static_cast<size_t>(m.makespan)] = s.makespan_s / kUnitS;
  for (int i = 0; i < n; ++i) {
    x[static_cast<size_t>(m.start[i])] = s.start_s[i] / kUnitS;
    if (m.intra_op[i] >= 0) x[static_cast<size_t>(m.intra_op[i])] = s.intra_op[i] ? 1.0 : 0.0;
  }
  EncodeCores(p, m, s, x);
  for (const MilpModel::Pair& pr : m.pairs) {
    const double end_i = s.start_s[pr.i] + Duration(p.tasks[pr.i], s.intra_op[pr.i]);
    const double end_j = s.start_s[pr.j] + Duration(p.tasks[pr.j], s.intra_op[pr.j]);
    const double tol = 1e-9 * std::max(1e-6, s.makespan_s);
    if (end_i <= s.start_s[pr.j] + tol) {
      x[static_cast<size_t>(pr.before)] = 1.0;
    } else if (end_j <= s.start_s[pr.i] + tol && pr.after >= 0) {
      x[static_cast<size_t>(pr.after)] = 1.0;
    }
  }
  EncodeHbmFlow(p, m, s, x);
  return x;
}

bool IsFeasible(const MilpModel& m, const std::vector<double>& x, double tolerance,
                std::string* violated) {
  auto fail = [&](std::string what) {
    if (violated != nullptr) *violated = std::move(what);
    return false;
  };
  if (x.size() != m.columns.size()) return fail("wrong number of columns");
  for (size_t c = 0; c < x.size(); ++c) {
    const MilpModel::Column& col = m.columns[c];
    if (x[c] < col.lower - tolerance || x[c] > col.upper + tolerance) {
      return fail(
          absl::StrCat("column ", c, " = ", x[c], " outside [", col.lower, ", ", col.upper, "]"));
    }
    if (col.integer && std::abs(x[c] - std::round(x[c])) > tolerance) {
      return fail(absl::StrCat("column ", c, " = ", x[c], " is not integral"));
    }
  }
  for (size_t r = 0; r < m.rows.size(); ++r) {
    const MilpModel::Row& row = m.rows[r];
    double lhs = 0;
    for (const auto& [c, v] : row.terms) lhs += v * x[static_cast<size_t>(c)];
    if (lhs < row.lower - tolerance || lhs > row.upper + tolerance) {
      return fail(
          absl::StrCat("row ", r, " = ", lhs, " outside [", row.lower, ", ", row.upper, "]"));
    }
  }
  return true;
}

Schedule DecodeSchedule(const Problem& p, const MilpModel& m, const double* x) {
  const int n = static_cast<int>(p.tasks.size());
  std::vector<bool> intra(n, false);
  for (int i = 0; i < n; ++i) intra[i] = m.intra_op[i] >= 0 && x[m.intra_op[i]] > 0.5;
  // The solver's start times give the priority.
  std::vector<double> priority(n);
  for (int i = 0; i < n; ++i) priority[i] = -x[m.start[i]];
  return SerialSgs(p, PriorityOrder(p, priority), intra);
}

}  // namespace phaze::sched
