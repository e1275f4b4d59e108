#include "common/sched/sched.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <numeric>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "coin/CbcModel.hpp"
#include "coin/CoinPackedMatrix.hpp"
#include "coin/OsiClpSolverInterface.hpp"
#include "common/base/mutex.h"

namespace phaze::sched {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kEps = 1e-12;
// The MILP works in microseconds, for conditioning.
constexpr double kUnitS = 1e-6;

using Reach = std::vector<std::vector<bool>>;

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

struct Demand {
  int64_t tc = 0, vc = 0, link = 0;
};

Demand DemandOf(const Problem& p, int i, bool intra_op) {
  const Task& t = p.tasks[i];
  const int64_t cores = intra_op ? CoresOf(p, t.engine) : 1;
  switch (t.engine) {
    case Engine::kTensor: return {cores, 0, 0};
    case Engine::kVector: return {0, cores, 0};
    case Engine::kLink: return {0, 0, 1};
  }
  return {0, 0, 1};
}

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
                   const std::vector<bool>& intra_op, bool greedy = false) {
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
      Demand use = d;
      for (const Interval& iv : placed) {
        if (iv.start <= x + kEps && x < iv.end - kEps) {
          use.tc += iv.d.tc;
          use.vc += iv.d.vc;
          use.link += iv.d.link;
        }
      }
      if (use.tc > p.num_tc || use.vc > p.num_vc || use.link > 1) return false;
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
      if (HasChoice(p, i) && prefer_intra) {
        const Demand all = DemandOf(p, i, true);
        intra = used.tc + all.tc <= p.num_tc && used.vc + all.vc <= p.num_vc;
      }
      const Demand d = DemandOf(p, i, intra);
      if (used.tc + d.tc > p.num_tc || used.vc + d.vc > p.num_vc || used.link + d.link > 1) {
        still.push_back(i);
        continue;
      }
      used.tc += d.tc;
      used.vc += d.vc;
      used.link += d.link;
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
        const Demand d = DemandOf(p, i, s.intra_op[i]);
        used.tc -= d.tc;
        used.vc -= d.vc;
        used.link -= d.link;
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

// Longest path to a sink with each task at its faster mapping.
std::vector<double> Tails(const Problem& p) {
  const int n = static_cast<int>(p.tasks.size());
  std::vector<double> tail(n, 0.0);
  for (int i = n - 1; i >= 0; --i) {
    const Task& t = p.tasks[i];
    tail[i] += std::min(t.single_core_s, t.all_cores_s);
    for (int d : t.deps) tail[d] = std::max(tail[d], tail[i]);
  }
  return tail;
}

// Earliest start with each task at its faster mapping.
std::vector<double> Heads(const Problem& p) {
  const int n = static_cast<int>(p.tasks.size());
  std::vector<double> head(n, 0.0);
  for (int i = 0; i < n; ++i) {
    for (int d : p.tasks[i].deps) {
      const Task& t = p.tasks[d];
      head[i] = std::max(head[i], head[d] + std::min(t.single_core_s, t.all_cores_s));
    }
  }
  return head;
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

}  // namespace

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
    for (int d : t.deps) {
      if (d < 0 || static_cast<size_t>(d) >= i) {
        return absl::InvalidArgumentError(
            absl::StrCat("schedule: task ", i, " depends on ", d, ", not an earlier task"));
      }
    }
  }
  return absl::OkStatus();
}

double LowerBound(const Problem& p) {
  const int n = static_cast<int>(p.tasks.size());
  const std::vector<double> heads = Heads(p), tails = Tails(p);
  std::vector<double> after(n);  // shortest path after the operator (tails include its own)
  for (int i = 0; i < n; ++i) {
    after[i] = tails[i] - std::min(p.tasks[i].single_core_s, p.tasks[i].all_cores_s);
  }
  double bound = 0;
  for (int i = 0; i < n; ++i) bound = std::max(bound, heads[i] + tails[i]);  // critical path
  // Energetic bound per kind: the kind's cores as one machine on which operator j needs w_j of
  // wall time (L_io intra-op, or L_1 / cores as its share of a single-core run), released at its
  // head and followed by its tail. Jackson's preemptive schedule gives the exact optimum of that
  // relaxation. Destructive lower bounding tightens w_j: in a schedule of makespan T an operator
  // whose single-core run cannot fit (head + L_1 + after > T) must run intra-op. The bound B(T)
  // falls as T grows, and the makespan is at least the smallest T with B(T) <= T.
  struct Job {
    double release, work, after;
  };
  auto jackson = [](std::vector<Job> jobs) {
    double lb = 0, t = 0;
    std::vector<double> left(jobs.size());
    size_t done = 0;
    for (size_t j = 0; j < jobs.size(); ++j) {
      left[j] = jobs[j].work;
      // A task of no work (a zero-latency operator) completes at its release.
      if (left[j] <= 0) {
        ++done;
        lb = std::max(lb, jobs[j].release + jobs[j].after);
      }
    }
    while (done < jobs.size()) {
      int pick = -1;
      double next_release = kInf;
      for (size_t j = 0; j < jobs.size(); ++j) {
        if (left[j] <= 0) continue;
        if (jobs[j].release <= t) {
          if (pick < 0 || jobs[j].after > jobs[static_cast<size_t>(pick)].after) {
            pick = static_cast<int>(j);
          }
        } else {
          next_release = std::min(next_release, jobs[j].release);
        }
      }
      if (pick < 0) {
        t = next_release;
        continue;
      }
      const size_t j = static_cast<size_t>(pick);
      const double run = std::min(left[j], next_release - t);
      t += run;
      left[j] -= run;
      if (left[j] <= 0) {
        ++done;
        lb = std::max(lb, t + jobs[j].after);
      }
    }
    return lb;
  };
  std::vector<double> breaks;
  auto relaxation = [&](double makespan) {
    double b = 0;
    for (Engine kind : {Engine::kTensor, Engine::kVector, Engine::kLink}) {
      const double cores = static_cast<double>(CoresOf(p, kind));
      std::vector<Job> jobs;
      for (int i = 0; i < n; ++i) {
        const Task& t = p.tasks[i];
        if (t.engine != kind) continue;
        const bool forced = heads[i] + t.single_core_s + after[i] > makespan;
        const double work = forced ? std::min(t.all_cores_s, t.single_core_s)
                                   : std::min(t.all_cores_s, t.single_core_s / cores);
        jobs.push_back({heads[i], work, after[i]});
      }
      if (!jobs.empty()) b = std::max(b, jackson(std::move(jobs)));
    }
    return b;
  };
  for (int i = 0; i < n; ++i) {
    const double b = heads[i] + p.tasks[i].single_core_s + after[i];
    if (b > bound) breaks.push_back(b);
  }
  std::sort(breaks.begin(), breaks.end());
  double start = bound;
  for (size_t k = 0; k <= breaks.size(); ++k) {
    const double end = k < breaks.size() ? breaks[k] : kInf;
    if (end <= start) continue;
    // Forced sets only change at breakpoints, so the relaxation is constant on [start, end).
    const double t = std::max(start, relaxation(start));
    if (t < end) return std::max(bound, t);
    start = end;
  }
  return bound;
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

namespace {

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

}  // namespace

Schedule ListSchedule(const Problem& p) { return ListScheduleWithBound(p, LowerBound(p)); }

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
      const Demand d = DemandOf(p, j, s.intra_op[j]);
      use.tc += d.tc;
      use.vc += d.vc;
      use.link += d.link;
      if (!s.intra_op[j] && p.tasks[j].engine == Engine::kTensor) tc_cores.push_back(s.core[j]);
      if (!s.intra_op[j] && p.tasks[j].engine == Engine::kVector) vc_cores.push_back(s.core[j]);
    }
    if (use.tc > p.num_tc || use.vc > p.num_vc || use.link > 1) {
      return absl::InternalError(absl::StrCat("resources overloaded at the start of task ", i));
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
  return best;
}

absl::StatusOr<Schedule> CbcBackend::Solve(const Problem& p, const SolveOptions& options) {
  if (absl::Status st = ValidateProblem(p); !st.ok()) return st;
  if (!AllFinite(p)) return InfeasibleSchedule();
  const int n = static_cast<int>(p.tasks.size());
  const double lb_s = LowerBound(p);
  Schedule start = options.incumbent != nullptr &&
                           options.incumbent->start_s.size() == p.tasks.size() &&
                           CheckSchedule(p, *options.incumbent).ok()
                       ? *options.incumbent
                       : ListScheduleWithBound(p, lb_s);
  if (n == 0) {
    start.status = SolveStatus::kOptimal;
    return start;
  }
  const double ub = start.makespan_s / kUnitS;
  const Reach reach = Reachability(p);
  const std::vector<double> heads = Heads(p), tails = Tails(p);

  // Per kind: is per-core assignment needed? Only if more single-core operators of that kind can
  // run at once (the width of their poset, by Dilworth: tasks minus a maximum matching) than it
  // has cores.
  auto needs_assignment = [&](Engine kind) {
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
  };
  const bool assign_tc = needs_assignment(Engine::kTensor);
  const bool assign_vc = needs_assignment(Engine::kVector);

  // Columns.
  std::vector<double> col_lb, col_ub, obj;
  std::vector<bool> integer;
  auto add_col = [&](double lo, double hi, double cost, bool is_int) {
    col_lb.push_back(lo);
    col_ub.push_back(hi);
    obj.push_back(cost);
    integer.push_back(is_int);
    return static_cast<int>(col_lb.size()) - 1;
  };
  const int col_T = add_col(lb_s / kUnitS, ub, 1.0, false);
  std::vector<int> col_s(n), col_y(n, -1);
  for (int i = 0; i < n; ++i) {
    col_s[i] =
        add_col(heads[i] / kUnitS, std::max(heads[i] / kUnitS, ub - tails[i] / kUnitS), 0.0, false);
    if (HasChoice(p, i)) {
      // A single-core run that cannot fit between the operator's earliest start and its latest
      // finish under the incumbent makespan forces intra-op: fix y = 1.
      const Task& t = p.tasks[i];
      const double after = tails[i] - std::min(t.single_core_s, t.all_cores_s);
      const bool forced = (heads[i] + t.single_core_s + after) / kUnitS > ub;
      col_y[i] = add_col(forced ? 1 : 0, 1, 0, true);
    }
  }
  // z[i][c] for kinds that need assignment; symmetry broken: the k-th task of a kind may only use
  // cores 0..k.
  std::vector<std::vector<int>> col_z(n);
  for (Engine kind : {Engine::kTensor, Engine::kVector}) {
    if ((kind == Engine::kTensor && !assign_tc) || (kind == Engine::kVector && !assign_vc))
      continue;
    const int64_t cores = CoresOf(p, kind);
    int rank = 0;
    for (int i = 0; i < n; ++i) {
      if (p.tasks[i].engine != kind) continue;
      const int64_t usable = std::min<int64_t>(cores, rank + 1);
      for (int64_t c = 0; c < usable; ++c) col_z[i].push_back(add_col(0, 1, 0, true));
      ++rank;
    }
  }
  // Pairs that may conflict, with their ordering binaries.
  struct Pair {
    int i, j;
    int before;  // binary: i finishes before j starts
    int after;   // binary: j finishes before i starts; -1 when the pair must be ordered, and
                 // after = 1 - before
  };
  std::vector<Pair> pairs;
  for (int i = 0; i < n; ++i) {
    for (int j = i + 1; j < n; ++j) {
      if (reach[i][j] || reach[j][i]) continue;
      const Task& a = p.tasks[i];
      const Task& b = p.tasks[j];
      // Only operators of the same kind compete: tensor cores, vector cores and the link are
      // separate units.
      bool may_conflict = false;
      if (a.engine == b.engine) {
        may_conflict = !IsCompute(a) || col_y[i] >= 0 || col_y[j] >= 0 ||
                       CoresOf(p, a.engine) == 1 || !col_z[i].empty();
      }
      if (!may_conflict) continue;
      const bool must_order = !IsCompute(a) || CoresOf(p, a.engine) == 1;
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
      pairs.push_back({i, j, before, after});
    }
  }
  const int num_cols = static_cast<int>(col_lb.size());

  // Rows.
  CoinPackedMatrix matrix(false, 0, 0);
  matrix.setDimensions(0, num_cols);
  std::vector<double> row_lb, row_ub;
  auto add_row = [&](std::vector<std::pair<int, double>> terms, double lo, double hi) {
    std::vector<int> idx;
    std::vector<double> val;
    for (auto& [c, v] : terms) {
      idx.push_back(c);
      val.push_back(v);
    }
    matrix.appendRow(static_cast<int>(idx.size()), idx.data(), val.data());
    row_lb.push_back(lo);
    row_ub.push_back(hi);
  };
  // p_i = L1_i - (L1_i - Lio_i) y_i; "x + p_i" terms expand to x + L1_i - delta_i y_i.
  auto single_u = [&](int i) { return p.tasks[i].single_core_s / kUnitS; };
  auto delta_u = [&](int i) {
    return (p.tasks[i].single_core_s - p.tasks[i].all_cores_s) / kUnitS;
  };
  auto with_duration = [&](std::vector<std::pair<int, double>> terms, int i) {
    // adds -p_i's variable part: + delta_i * y_i (moved to the left-hand side)
    if (col_y[i] >= 0) terms.push_back({col_y[i], delta_u(i)});
    return terms;
  };
  for (int i = 0; i < n; ++i) {
    // T >= s_i + p_i
    add_row(with_duration({{col_T, 1.0}, {col_s[i], -1.0}}, i), single_u(i), kInf);
    for (int d : p.tasks[i].deps) {
      // s_i >= s_d + p_d
      add_row(with_duration({{col_s[i], 1.0}, {col_s[d], -1.0}}, d), single_u(d), kInf);
    }
  }
  // The tightest valid big-M: i can finish no later than UB minus its shortest tail, and j can
  // start no earlier than its head.
  auto big_m = [&](int i, int j) {
    const double after_i = tails[i] - std::min(p.tasks[i].single_core_s, p.tasks[i].all_cores_s);
    return std::max(0.0, ub - (after_i + heads[j]) / kUnitS);
  };
  for (const Pair& pr : pairs) {
    const double m_ij = big_m(pr.i, pr.j), m_ji = big_m(pr.j, pr.i);
    // s_j >= s_i + p_i - M_ij (1 - before)
    add_row(with_duration({{col_s[pr.j], 1.0}, {col_s[pr.i], -1.0}, {pr.before, -m_ij}}, pr.i),
            single_u(pr.i) - m_ij, kInf);
    if (pr.after < 0) {
      // s_i >= s_j + p_j - M_ji before
      add_row(with_duration({{col_s[pr.i], 1.0}, {col_s[pr.j], -1.0}, {pr.before, m_ji}}, pr.j),
              single_u(pr.j), kInf);
      continue;
    }
    // s_i >= s_j + p_j - M_ji (1 - after)
    add_row(with_duration({{col_s[pr.i], 1.0}, {col_s[pr.j], -1.0}, {pr.after, -m_ji}}, pr.j),
            single_u(pr.j) - m_ji, kInf);
    add_row({{pr.before, 1.0}, {pr.after, 1.0}}, -kInf, 1.0);
    // An intra-op operator has every core of its kind: it overlaps no other operator of that kind.
    if (col_y[pr.i] >= 0)
      add_row({{pr.before, 1.0}, {pr.after, 1.0}, {col_y[pr.i], -1.0}}, 0, kInf);
    if (col_y[pr.j] >= 0)
      add_row({{pr.before, 1.0}, {pr.after, 1.0}, {col_y[pr.j], -1.0}}, 0, kInf);
    if (!col_z[pr.i].empty()) {
      const size_t shared = std::min(col_z[pr.i].size(), col_z[pr.j].size());
      for (size_t c = 0; c < shared; ++c) {
        add_row({{pr.before, 1.0}, {pr.after, 1.0}, {col_z[pr.i][c], -1.0}, {col_z[pr.j][c], -1.0}},
                -1.0, kInf);
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    if (col_z[i].empty()) continue;
    // Each single-core task sits on exactly one core; an intra-op task on none.
    std::vector<std::pair<int, double>> terms;
    for (int c : col_z[i]) terms.push_back({c, 1.0});
    if (col_y[i] >= 0) terms.push_back({col_y[i], 1.0});
    add_row(terms, 1.0, 1.0);
  }

  // MIP start from the list schedule.
  std::vector<double> x0(num_cols, 0.0);
  x0[col_T] = ub;
  for (int i = 0; i < n; ++i) {
    x0[col_s[i]] = start.start_s[i] / kUnitS;
    if (col_y[i] >= 0) x0[col_y[i]] = start.intra_op[i] ? 1.0 : 0.0;
    if (!col_z[i].empty() && !start.intra_op[i]) {
      const int c = std::min<int>(start.core[i], static_cast<int>(col_z[i].size()) - 1);
      x0[col_z[i][static_cast<size_t>(c)]] = 1.0;
    }
  }
  for (const Pair& pr : pairs) {
    const double end_i = start.start_s[pr.i] + Duration(p.tasks[pr.i], start.intra_op[pr.i]);
    const double end_j = start.start_s[pr.j] + Duration(p.tasks[pr.j], start.intra_op[pr.j]);
    const double tol = 1e-9 * std::max(1e-6, start.makespan_s);
    if (end_i <= start.start_s[pr.j] + tol) {
      x0[pr.before] = 1.0;
    } else if (end_j <= start.start_s[pr.i] + tol && pr.after >= 0) {
      x0[pr.after] = 1.0;
    }
  }

  Schedule result = start;
  result.mip_built = true;
  try {
    OsiClpSolverInterface solver;
    solver.messageHandler()->setLogLevel(0);
    solver.loadProblem(matrix, col_lb.data(), col_ub.data(), obj.data(), row_lb.data(),
                       row_ub.data());
    for (int c = 0; c < num_cols; ++c) {
      if (integer[c]) solver.setInteger(c);
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
    model.setBestSolution(x0.data(), num_cols, ub, true);
    model.branchAndBound();
    result.nodes = model.getNodeCount();
    result.solve_s = model.getCurrentSeconds();
    result.hit_time_limit = model.isSecondsLimitReached() || model.isNodeLimitReached();
    const double* x = model.bestSolution();
    if (x != nullptr) {
      // Replay CBC's order and mapping through the schedule generator: a valid schedule no
      // longer than CBC's (up to rounding).
      std::vector<bool> intra(n, false);
      for (int i = 0; i < n; ++i) intra[i] = col_y[i] >= 0 && x[col_y[i]] > 0.5;
      // CBC's start times give the priority; a ready-list pass keeps precedence exact even where
      // rounding puts a successor a hair before its input.
      std::vector<double> priority(n);
      for (int i = 0; i < n; ++i) priority[i] = -x[col_s[i]];
      const std::vector<int> order = PriorityOrder(p, priority);
      {
        Schedule replay = SerialSgs(p, order, intra);
        if (replay.makespan_s < result.makespan_s) {
          replay.mip_built = true;
          replay.nodes = result.nodes;
          replay.solve_s = result.solve_s;
          replay.hit_time_limit = result.hit_time_limit;
          result = std::move(replay);
        }
      }
    }
    const double cbc_bound = model.getBestPossibleObjValue() * kUnitS;
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
                          options.max_nodes, p.tasks.size());
  for (const Task& t : p.tasks) {
    h = absl::HashOf(h, static_cast<int>(t.engine), t.single_core_s, t.all_cores_s, t.deps);
  }
  return static_cast<uint64_t>(h);
}

Schedule BoundLayer(const Problem& problem, const SolveOptions& options, ScheduleCache* cache) {
  // Bounds are cached under their own key: a bound is not a solve.
  const uint64_t key = ProblemKey(problem, options) ^ 0x5bd1e9955bd1e995ull;
  Schedule s;
  if (cache != nullptr && cache->Lookup(key, &s)) {
    s.from_cache = true;
    return s;
  }
  if (!AllFinite(problem)) {
    s = InfeasibleSchedule();
  } else {
    const double lower = LowerBound(problem);
    s = ListScheduleWithBound(problem, lower);
    SetGap(s, lower, options.relative_gap);
  }
  if (cache != nullptr) cache->Insert(key, s);
  return s;
}

absl::StatusOr<Schedule> ScheduleLayer(const Problem& problem, const SolveOptions& options,
                                       SchedulerBackend& backend, ScheduleCache* cache) {
  if (absl::Status st = ValidateProblem(problem); !st.ok()) return st;
  const uint64_t key = ProblemKey(problem, options);
  Schedule cached;
  if (cache != nullptr && cache->Lookup(key, &cached)) {
    cached.from_cache = true;
    return cached;
  }
  Schedule s = BoundLayer(problem, options, cache);
  s.from_cache = false;
  if (s.status == SolveStatus::kFeasible) {
    // Improve the incumbent by local search first: it may close the gap, and otherwise it is a
    // better start for the MILP.
    s = ImproveByInsertion(problem, std::move(s), s.lower_bound_s);
    SetGap(s, s.lower_bound_s, options.relative_gap);
  }
  if (s.status == SolveStatus::kFeasible) {
    SolveOptions with_start = options;
    with_start.incumbent = &s;
    if (options.incumbent != nullptr && options.incumbent->makespan_s < s.makespan_s &&
        CheckSchedule(problem, *options.incumbent).ok()) {
      with_start.incumbent = options.incumbent;
    }
    absl::StatusOr<Schedule> solved = backend.Solve(problem, with_start);
    if (!solved.ok()) return solved.status();
    s = *std::move(solved);
  }
  if (cache != nullptr) cache->Insert(key, s);
  return s;
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
