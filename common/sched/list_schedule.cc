#include <algorithm>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "common/sched/internal.h"

namespace phaze::sched {

using workload::Engine;

// Interval colouring in start order: optimal for interval graphs, so it never needs more cores
// than the peak concurrency the schedule already respects.
void AssignCores(const Problem& p, Schedule& s) {
  const int n = static_cast<int>(p.tasks.size());
  s.core.assign(n, -1);
  for (Engine kind : {Engine::kTensor, Engine::kVector}) {
    std::vector<int> ops;
    for (int i = 0; i < n; ++i) {
      if (p.tasks[i].engine == kind && !s.intra_op[i]) ops.push_back(i);
    }
    std::sort(ops.begin(), ops.end(), [&](int a, int b) {
      return s.start_s[a] != s.start_s[b] ? s.start_s[a] < s.start_s[b] : a < b;
    });
    std::vector<double> free_at(static_cast<size_t>(CoresOf(p, kind)), 0.0);
    for (int i : ops) {
      const double start = s.start_s[i];
      int best = -1;
      for (size_t c = 0; c < free_at.size(); ++c) {
        if (free_at[c] <= start + kEps * std::max(1.0, start)) {
          best = static_cast<int>(c);
          break;
        }
      }
      if (best < 0) best = 0;  // CheckSchedule reports the overload
      s.core[i] = best;
      free_at[static_cast<size_t>(best)] = start + Duration(p.tasks[i], false);
    }
  }
}

// Serial schedule generation: tasks in `order` (precedence-feasible), each at the earliest time
// its predecessors are done and its resources are free for its whole duration.
// With `greedy`, a task that has the choice takes whichever mapping finishes it first given what
// is already placed (intra_op is then only the initial guess and is overwritten).
Schedule SerialSgs(const Problem& p, const std::vector<int>& order,
                   const std::vector<bool>& intra_op, bool greedy) {
  const int n = static_cast<int>(p.tasks.size());
  Schedule s;
  s.start_s.assign(n, 0.0);
  s.intra_op = intra_op;
  std::vector<double> finish(n, 0.0);
  struct Interval {
    double start, end;
    Demand d;
  };
  std::vector<Interval> placed;
  placed.reserve(n);
  auto fits = [&](double t, double dur, const Demand& d) {
    // Resource usage only rises at interval starts, so checking t and every start inside
    // [t, t + dur) suffices.
    std::vector<double> points = {t};
    for (const Interval& iv : placed) {
      if (iv.start > t && iv.start < t + dur) points.push_back(iv.start);
    }
    for (double x : points) {
      Demand use;
      for (const Interval& iv : placed) {
        if (iv.start <= x + kEps && x < iv.end - kEps) use.Add(iv.d);
      }
      if (!d.FitsWith(use, p)) return false;
    }
    return true;
  };
  auto earliest = [&](double est, double dur, const Demand& demand) {
    std::vector<double> candidates = {est};
    for (const Interval& iv : placed) {
      if (iv.end > est) candidates.push_back(iv.end);
    }
    std::sort(candidates.begin(), candidates.end());
    for (double c : candidates) {
      if (dur <= 0 || fits(c, dur, demand)) return c;
    }
    return candidates.back();
  };
  for (int i : order) {
    const Task& t = p.tasks[i];
    double est = 0;
    for (int d : t.deps) est = std::max(est, finish[d]);
    bool intra = intra_op[i] && HasChoice(p, i);
    double start = earliest(est, Duration(t, intra), DemandOf(p, i, intra));
    if (greedy && HasChoice(p, i)) {
      const double other = earliest(est, Duration(t, !intra), DemandOf(p, i, !intra));
      if (other + Duration(t, !intra) < start + Duration(t, intra) - kEps) {
        intra = !intra;
        start = other;
      }
    }
    s.intra_op[i] = intra;
    const double dur = Duration(t, intra);
    s.start_s[i] = start;
    finish[i] = start + dur;
    if (dur > 0) placed.push_back({start, start + dur, DemandOf(p, i, intra)});
  }
  s.makespan_s = n == 0 ? 0 : *std::max_element(finish.begin(), finish.end());
  AssignCores(p, s);
  s.status = SolveStatus::kFeasible;
  return s;
}

// Parallel schedule generation: time advances from event to event; at each event the ready tasks
// start in priority order while their resources are free. A task with a choice runs intra-op
// when `prefer_intra` and every core of its kind is free, otherwise on one core.
Schedule ParallelSgs(const Problem& p, const std::vector<double>& priority, bool prefer_intra) {
  const int n = static_cast<int>(p.tasks.size());
  Schedule s;
  s.start_s.assign(n, 0.0);
  s.intra_op.assign(n, false);
  std::vector<double> finish(n, kInf);
  std::vector<int> waiting(n, 0);
  std::vector<std::vector<int>> succ(n);
  for (int j = 0; j < n; ++j) {
    waiting[j] = static_cast<int>(p.tasks[j].deps.size());
    for (int d : p.tasks[j].deps) succ[d].push_back(j);
  }
  std::vector<int> ready;
  for (int i = 0; i < n; ++i) {
    if (waiting[i] == 0) ready.push_back(i);
  }
  std::vector<int> running;
  Demand used;
  double now = 0;
  int started = 0;
  while (started < n) {
    std::sort(ready.begin(), ready.end(), [&](int a, int b) {
      return priority[a] != priority[b] ? priority[a] > priority[b] : a < b;
    });
    std::vector<int> still;
    for (int i : ready) {
      const Task& t = p.tasks[i];
      bool intra = false;
      if (HasChoice(p, i) && prefer_intra) intra = DemandOf(p, i, true).FitsWith(used, p);
      const Demand d = DemandOf(p, i, intra);
      if (!d.FitsWith(used, p)) {
        still.push_back(i);
        continue;
      }
      used.Add(d);
      s.start_s[i] = now;
      s.intra_op[i] = intra;
      finish[i] = now + Duration(t, intra);
      running.push_back(i);
      ++started;
    }
    ready = std::move(still);
    if (running.empty()) break;  // cannot happen: an idle chip always admits a ready task
    // Advance to the next completion; release everything that ends then.
    double next = kInf;
    for (int i : running) next = std::min(next, finish[i]);
    now = next;
    std::vector<int> keep;
    for (int i : running) {
      if (finish[i] <= now) {
        used.Remove(DemandOf(p, i, s.intra_op[i]));
        for (int j : succ[i]) {
          if (--waiting[j] == 0) ready.push_back(j);
        }
      } else {
        keep.push_back(i);
      }
    }
    running = std::move(keep);
  }
  s.makespan_s = 0;
  for (int i = 0; i < n; ++i) s.makespan_s = std::max(s.makespan_s, finish[i]);
  AssignCores(p, s);
  s.status = SolveStatus::kFeasible;
  return s;
}

std::vector<int> PriorityOrder(const Problem& p, const std::vector<double>& priority) {
  const int n = static_cast<int>(p.tasks.size());
  std::vector<int> indegree(n, 0);
  std::vector<std::vector<int>> succ(n);
  for (int j = 0; j < n; ++j) {
    for (int d : p.tasks[j].deps) {
      ++indegree[j];
      succ[d].push_back(j);
    }
  }
  std::vector<int> order, ready;
  for (int i = 0; i < n; ++i) {
    if (indegree[i] == 0) ready.push_back(i);
  }
  while (!ready.empty()) {
    auto it = std::max_element(ready.begin(), ready.end(), [&](int a, int b) {
      return priority[a] != priority[b] ? priority[a] < priority[b] : a > b;
    });
    const int i = *it;
    ready.erase(it);
    order.push_back(i);
    for (int j : succ[i]) {
      if (--indegree[j] == 0) ready.push_back(j);
    }
  }
  return order;
}

// Local search on the activity list of a schedule: move one operator to another precedence-
// feasible position, or flip its intra-op choice, and regenerate with the serial scheme; keep
// the first improvement. Bounded to a fixed number of regenerations.
Schedule ImproveByInsertion(const Problem& p, Schedule best, double lower) {
  const int n = static_cast<int>(p.tasks.size());
  if (n < 2) return best;
  std::vector<std::vector<int>> succ(n);
  for (int j = 0; j < n; ++j) {
    for (int d : p.tasks[j].deps) succ[d].push_back(j);
  }
  constexpr int kBudget = 600;
  int evaluations = 0;
  bool improved = true;
  while (improved && evaluations < kBudget && best.makespan_s > lower * (1 + 1e-9)) {
    improved = false;
    std::vector<int> list(n);
    std::iota(list.begin(), list.end(), 0);
    std::stable_sort(list.begin(), list.end(), [&](int a, int b) {
      return best.start_s[a] != best.start_s[b] ? best.start_s[a] < best.start_s[b] : a < b;
    });
    std::vector<int> position(n);
    for (int k = 0; k < n; ++k) position[list[k]] = k;
    auto try_list = [&](const std::vector<int>& order, const std::vector<bool>& intra) {
      ++evaluations;
      Schedule s = SerialSgs(p, order, intra);
      if (s.makespan_s < best.makespan_s * (1 - 1e-9)) {
        best = std::move(s);
        return true;
      }
      return false;
    };
    for (int a = 0; a < n && !improved && evaluations < kBudget; ++a) {
      const int x = list[a];
      if (HasChoice(p, x)) {
        std::vector<bool> flipped = best.intra_op;
        flipped[x] = !flipped[x];
        if (try_list(list, flipped)) {
          improved = true;
          break;
        }
      }
      // Earliest and latest positions that keep x after its inputs and before its users.
      int lo = 0, hi = n - 1;
      for (int d : p.tasks[x].deps) lo = std::max(lo, position[d] + 1);
      for (int u : succ[x]) hi = std::min(hi, position[u] - 1);
      for (int b = lo; b <= hi && evaluations < kBudget; ++b) {
        if (b == a) continue;
        std::vector<int> moved = list;
        moved.erase(moved.begin() + a);
        moved.insert(moved.begin() + (b > a ? b : b), x);
        if (try_list(moved, best.intra_op)) {
          improved = true;
          break;
        }
      }
    }
  }
  return best;
}

// ListSchedule with the problem's lower bound already computed (it decides whether the extra
// priority rules are worth trying); callers that need the bound themselves compute it once.
Schedule ListScheduleWithBound(const Problem& p, double lower) {
  const int n = static_cast<int>(p.tasks.size());
  const std::vector<int> order = PriorityOrder(p, Tails(p));
  std::vector<bool> none(n, false), all(n, false), faster(n, false);
  for (int i = 0; i < n; ++i) {
    all[i] = HasChoice(p, i);
    // Intra-op when it beats the best a single core could do with perfect sharing.
    faster[i] = HasChoice(p, i) && p.tasks[i].all_cores_s <=
                                       p.tasks[i].single_core_s /
                                           static_cast<double>(CoresOf(p, p.tasks[i].engine)) * 2.0;
  }
  Schedule best = SerialSgs(p, order, none);
  for (const auto* choice : {&all, &faster}) {
    Schedule s = SerialSgs(p, order, *choice);
    if (s.makespan_s < best.makespan_s) best = std::move(s);
  }
  // Greedy: each task in list order takes whichever mapping finishes it first.
  Schedule g = SerialSgs(p, order, none, /*greedy=*/true);
  if (g.makespan_s < best.makespan_s) best = std::move(g);
  const std::vector<double> tails = Tails(p);
  for (bool prefer_intra : {true, false}) {
    Schedule ps = ParallelSgs(p, tails, prefer_intra);
    if (ps.makespan_s < best.makespan_s) best = std::move(ps);
  }
  // If that is not provably good, try a few more priority rules: the tail plus a multiple of the
  // operator's own duration (favouring long operators that would otherwise be left to the end),
  // and deterministic pseudo-random perturbations of the tail.
  if (best.makespan_s <= lower * (1 + 1e-3)) return best;
  std::vector<double> priority(n);
  uint64_t state = 0x9e3779b97f4a7c15ull;
  for (int variant = 0; variant < 24; ++variant) {
    for (int i = 0; i < n; ++i) {
      const double own = std::min(p.tasks[i].single_core_s, p.tasks[i].all_cores_s);
      if (variant < 4) {
        priority[i] = tails[i] + own * (0.5 * (variant + 1));
      } else {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        const double noise = static_cast<double>(state >> 11) / 9007199254740992.0;  // [0, 1)
        priority[i] = tails[i] * (0.7 + 0.6 * noise);
      }
    }
    for (bool prefer_intra : {true, false}) {
      Schedule ps = ParallelSgs(p, priority, prefer_intra);
      if (ps.makespan_s < best.makespan_s) best = std::move(ps);
      Schedule ss = SerialSgs(p, PriorityOrder(p, priority), std::vector<bool>(n, prefer_intra),
                              /*greedy=*/true);
      if (ss.makespan_s < best.makespan_s) best = std::move(ss);
    }
  }
  return best;
}

Schedule ListSchedule(const Problem& p) { return ListScheduleWithBound(p, LowerBound(p)); }

}  // namespace phaze::sched
