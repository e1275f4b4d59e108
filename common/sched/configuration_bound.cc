// The configuration bound of a layer schedule: a linear program over the sets of operators that
// can run at once (Mingozzi, Maniezzo, Ricciardelli and Bianco, Management Science 1998), within
// time windows (Brucker and Knust, EJOR 2000), for the resource-constrained project scheduling
// problem; here with mappings (one core or all cores) and HBM bandwidth shares.
//
// Cut any schedule of makespan T at every start and finish: between two cuts a fixed set of
// (operator, mapping) pairs runs, a "configuration". Its operators are pairwise unordered by
// precedence and fit the chip together (cores of each kind, the link, HBM shares within 1).
// Operator i runs inside its window [r_i, T - q_i] (its head and its tail after it), so cut the
// horizon also at every window end: in each interval k of length len_k only the operators whose
// windows hold it can run. With x_Ck the time spent in configuration C inside interval k, an
// operator of duration d_im in mapping m is covered exactly once, and the intervals are not
// overfilled:
//
//   sum_{k, C holding (i, m)} x_Ck / d_im >= 1 for each operator i,   sum_C x_Ck <= len_k.
//
// If no x >= 0 satisfies both, no schedule of makespan T exists. The program is solved as
// "least overflow" (slack s_k on each interval, minimise sum s_k), and T is refuted only by a
// dual solution checked in double precision (the simplex's tolerances prove nothing). The bound
// is the largest T refuted, by bisection between a known bound and the makespan that would close
// the gap (the refuted T form an interval from 0: windows only widen as T grows).
//
// It sees what the one-machine bounds cannot: how badly operators pack (a GEMM that streams 60% of
// HBM leaves room for one quarter-bandwidth vector operator, not two) over the whole layer, and
// when they can run. It costs a few linear programs of some thousand columns, so the order search
// asks for it only when it stops with a gap above the target.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "coin/ClpSimplex.hpp"
#include "coin/CoinPackedMatrix.hpp"
#include "common/sched/internal.h"

namespace phaze::sched {
namespace {

// Configuration columns of one program over all its intervals: beyond them a program takes
// longer than the order search it would certify.
constexpr size_t kMaxColumns = 20'000;

struct Pair {
  int task;
  bool intra;
  double duration_s;
};

// The maximal configurations of `pairs` (a subset of a configuration covers less, so only
// maximal ones matter; each interval restricts them again), as indices into `pairs`; false if
// there are more than `limit`, or the search for them visits more than 20 x limit sets (many
// small operators that all fit together have few maximal sets and very many subsets).
bool MaximalConfigurations(const Problem& p, const Reach& reach, const std::vector<Pair>& pairs,
                           size_t limit, std::vector<std::vector<int>>& out) {
  const int np = static_cast<int>(pairs.size());
  auto compatible = [&](int a, int b) {
    const int i = pairs[a].task, j = pairs[b].task;
    return i != j && !reach[i][j] && !reach[j][i];
  };
  std::vector<int> chosen;
  Demand used;
  bool overflow = false;
  size_t visited = 0;
  // At most one pair per task (compatible refuses two of one task).
  auto fits = [&](int a) {
    for (int c : chosen) {
      if (!compatible(a, c)) return false;
    }
    return DemandOf(p, pairs[a].task, pairs[a].intra).FitsWith(used, p);
  };
  auto recurse = [&](auto&& self, int from) -> void {
    if (overflow || ++visited > 20 * limit) {
      overflow = true;
      return;
    }
    bool extended = false;
    for (int a = from; a < np; ++a) {
      if (!fits(a)) continue;
      extended = true;
      const Demand d = DemandOf(p, pairs[a].task, pairs[a].intra);
      chosen.push_back(a);
      used.Add(d);
      self(self, a + 1);
      used.Remove(d);
      chosen.pop_back();
      if (overflow) return;
    }
    if (extended || chosen.empty()) return;
    // A leaf: maximal only if no pair skipped before `from` fits either.
    for (int a = 0; a < np; ++a) {
      if (std::find(chosen.begin(), chosen.end(), a) == chosen.end() && fits(a)) return;
    }
    if (out.size() >= limit) {
      overflow = true;
      return;
    }
    out.push_back(chosen);
  };
  recurse(recurse, 0);
  return !overflow;
}

// Whether no schedule of makespan `t_s` exists, by the windowed program at T = t_s, certified
// by its dual (false when the program is feasible or the certificate fails).
bool Refuted(const Problem& p, const std::vector<Pair>& pairs,
             const std::vector<std::vector<int>>& configs, const std::vector<double>& heads,
             const std::vector<double>& after, double t_s, double unit_s) {
  const int n = static_cast<int>(p.tasks.size());
  const double horizon = t_s / unit_s;
  // Windows in units of unit_s: operator i runs within [r_i, D_i], D_i = T - after_i; a pair
  // whose duration does not fit its window is out.
  std::vector<double> release(static_cast<size_t>(n)), deadline(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    release[static_cast<size_t>(i)] = heads[static_cast<size_t>(i)] / unit_s;
    deadline[static_cast<size_t>(i)] = horizon - after[static_cast<size_t>(i)] / unit_s;
  }
  std::vector<bool> allowed(pairs.size());
  std::vector<int> row_of(static_cast<size_t>(n), -1);
  int num_rows = 0;
  std::vector<bool> coverable(static_cast<size_t>(n), false);
  for (size_t a = 0; a < pairs.size(); ++a) {
    const Pair& q = pairs[a];
    const size_t i = static_cast<size_t>(q.task);
    if (row_of[i] < 0) row_of[i] = num_rows++;
    allowed[a] = release[i] + q.duration_s / unit_s <= deadline[i];
    coverable[i] = coverable[i] || allowed[a];
  }
  for (size_t a = 0; a < pairs.size(); ++a) {
    // An operator none of whose mappings fits its window: T is too short (its critical path).
    if (!coverable[static_cast<size_t>(pairs[a].task)]) return true;
  }
  // The intervals between consecutive window ends within [0, T].
  std::vector<double> cuts = {0.0, horizon};
  for (int i = 0; i < n; ++i) {
    if (row_of[static_cast<size_t>(i)] < 0) continue;
    for (double x : {release[static_cast<size_t>(i)], deadline[static_cast<size_t>(i)]}) {
      if (x > 0 && x < horizon) cuts.push_back(x);
    }
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  const int intervals = static_cast<int>(cuts.size()) - 1;
  // Columns: per interval, each configuration restricted to the allowed pairs whose window holds
  // the interval (a configuration's subset is one too), without repeats; then one slack column
  // per interval.
  CoinPackedMatrix matrix(true, 0, 0);
  matrix.setDimensions(num_rows + intervals, 0);
  std::vector<std::vector<int>> columns;  // pairs of each configuration column
  std::vector<int> column_interval;
  for (int k = 0; k < intervals; ++k) {
    const double lo = cuts[static_cast<size_t>(k)], hi = cuts[static_cast<size_t>(k) + 1];
    absl::flat_hash_set<std::vector<int>> seen;
    for (const std::vector<int>& c : configs) {
      std::vector<int> part;
      for (int a : c) {
        const size_t i = static_cast<size_t>(pairs[static_cast<size_t>(a)].task);
        if (allowed[static_cast<size_t>(a)] && release[i] <= lo && deadline[i] >= hi) {
          part.push_back(a);
        }
      }
      if (part.empty() || !seen.insert(part).second) continue;
      if (columns.size() >= kMaxColumns) return false;  // too large to be worth it: no refutation
      std::vector<int> index;
      std::vector<double> value;
      for (int a : part) {
        const Pair& q = pairs[static_cast<size_t>(a)];
        index.push_back(row_of[static_cast<size_t>(q.task)]);
        value.push_back(unit_s / q.duration_s);
      }
      index.push_back(num_rows + k);
      value.push_back(1.0);
      matrix.appendCol(static_cast<int>(index.size()), index.data(), value.data());
      columns.push_back(std::move(part));
      column_interval.push_back(k);
    }
  }
  for (int k = 0; k < intervals; ++k) {
    const int index = num_rows + k;
    const double value = -1.0;
    matrix.appendCol(1, &index, &value);
  }
  const int num_x = static_cast<int>(columns.size());
  const int num_cols = num_x + intervals;
  const int total_rows = num_rows + intervals;
  std::vector<double> col_lo(static_cast<size_t>(num_cols), 0.0),
      col_up(static_cast<size_t>(num_cols), COIN_DBL_MAX), cost(static_cast<size_t>(num_cols), 0.0),
      row_lo(static_cast<size_t>(total_rows), -COIN_DBL_MAX),
      row_up(static_cast<size_t>(total_rows), COIN_DBL_MAX);
  for (int k = 0; k < intervals; ++k) {
    cost[static_cast<size_t>(num_x + k)] = 1.0;
    row_up[static_cast<size_t>(num_rows + k)] =
        cuts[static_cast<size_t>(k) + 1] - cuts[static_cast<size_t>(k)];
  }
  for (int r = 0; r < num_rows; ++r) row_lo[static_cast<size_t>(r)] = 1.0;
  ClpSimplex lp;
  lp.setLogLevel(0);
  lp.loadProblem(matrix, col_lo.data(), col_up.data(), cost.data(), row_lo.data(), row_up.data());
  lp.dual();
  if (!lp.isProvenOptimal()) return false;
  if (lp.objectiveValue() <= 1e-7) return false;
  // The certificate: y >= 0 on the cover rows, z_k = -(dual of interval k) >= 0, raised until
  // every configuration column of interval k has sum a y <= z_k, then scaled so that z <= 1. Its
  // value sum y - sum z len bounds the least overflow from below.
  const double* dual = lp.dualRowSolution();
  std::vector<double> y(static_cast<size_t>(num_rows)), z(static_cast<size_t>(intervals));
  for (int r = 0; r < num_rows; ++r) y[static_cast<size_t>(r)] = std::max(0.0, dual[r]);
  for (int k = 0; k < intervals; ++k) {
    z[static_cast<size_t>(k)] = std::max(0.0, -dual[num_rows + k]);
  }
  for (int c = 0; c < num_x; ++c) {
    double load = 0;
    for (int a : columns[static_cast<size_t>(c)]) {
      const Pair& q = pairs[static_cast<size_t>(a)];
      load += unit_s / q.duration_s * y[static_cast<size_t>(row_of[static_cast<size_t>(q.task)])];
    }
    double& zk = z[static_cast<size_t>(column_interval[static_cast<size_t>(c)])];
    zk = std::max(zk, load);
  }
  double scale = 1.0;
  for (double v : z) scale = std::max(scale, v);
  double value = 0;
  for (double v : y) value += v;
  for (int k = 0; k < intervals; ++k) {
    value -= z[static_cast<size_t>(k)] *
             (cuts[static_cast<size_t>(k) + 1] - cuts[static_cast<size_t>(k)]);
  }
  return value / scale > 1e-9;
}

}  // namespace

double ConfigurationBound(const Problem& p, double lower_s, double target_s, double upper_s,
                          size_t max_configurations) {
  const int n = static_cast<int>(p.tasks.size());
  if (n == 0 || !(upper_s > 0) || !(upper_s < kInf) || !(lower_s < upper_s)) return lower_s;
  std::vector<double> heads = Heads(p), tails = Tails(p);
  TightenHeadsAndTails(p, heads, tails);
  std::vector<double> after(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    after[static_cast<size_t>(i)] = tails[static_cast<size_t>(i)] - Fastest(p.tasks[i]);
  }
  // Every (operator, mapping) of positive time that may finish within the incumbent; an
  // operator that may take no time holds nothing and needs no cover.
  std::vector<Pair> pairs;
  for (int i = 0; i < n; ++i) {
    const Task& t = p.tasks[i];
    if (!(Fastest(t) > 0)) continue;
    for (const bool intra : {false, true}) {
      if (intra && !HasChoice(p, i)) continue;
      const double d = Duration(t, intra);
      if (heads[static_cast<size_t>(i)] + d + after[static_cast<size_t>(i)] > upper_s) continue;
      pairs.push_back({i, intra, d});
    }
  }
  if (pairs.empty()) return lower_s;
  std::vector<std::vector<int>> configs;
  if (!MaximalConfigurations(p, Reachability(p), pairs, max_configurations, configs)) {
    return lower_s;
  }
  // A refuted T is a bound; the windows only widen as T grows, so the refuted T are an interval
  // from 0. First the target (a refuted target closes the gap at once), then four steps of
  // bisection between the bound and the target (each program costs milliseconds; a whole-space
  // search meets hundreds of such layers).
  const double target = std::max(lower_s, std::min(target_s, upper_s));
  if (target > lower_s && Refuted(p, pairs, configs, heads, after, target, upper_s)) return target;
  double lo = lower_s, hi = target;
  for (int step = 0; step < 4 && hi - lo > 1e-3 * upper_s; ++step) {
    const double mid = 0.5 * (lo + hi);
    if (Refuted(p, pairs, configs, heads, after, mid, upper_s)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

}  // namespace phaze::sched
