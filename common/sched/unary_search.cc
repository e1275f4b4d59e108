// Exact branch and bound for layers whose every operator has a settled mapping, so that each kind
// of core acts as one machine. This is the common case on large chips: with thousands of tensor
// cores a GEMM on one core takes thousands of times its intra-op time and cannot beat the
// incumbent, so every GEMM takes all tensor cores, every vector operator all vector cores, and the
// layer becomes a three-machine problem (tensor cores, vector cores, the link) with precedence.
// The MILP's big-M disjunctions are weak on that problem (CBC often spends its node limit without
// closing a 1% gap); a search over operator orders with one-machine bounds closes it in a few
// hundred nodes.
//
// Completeness. Take any schedule in which each machine runs its operators one at a time and each
// operator starts as soon as its machine and its predecessors allow (a semi-active schedule; some
// optimum is one). List its operators by (start, index) and append them one by one, each at
// max(its machine's last finish, its predecessors' finish): this rebuilds the schedule exactly,
// because everything that delays an operator starts no later than it does and comes first in
// the list. So searching appends in (start, index) order, and nothing else, misses no optimum.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/sched/internal.h"

namespace phaze::sched {

using workload::Engine;
namespace {

constexpr int kMachines = 3;  // tensor cores, vector cores, the link

int MachineOf(Engine e) { return e == Engine::kTensor ? 0 : e == Engine::kVector ? 1 : 2; }

class UnarySearch {
 public:
  UnarySearch(const Problem& p, std::vector<int> machine, std::vector<double> duration,
              double best_s, int64_t max_nodes)
      : p_(p),
        n_(static_cast<int>(p.tasks.size())),
        machine_(std::move(machine)),
        duration_(std::move(duration)),
        best_s_(best_s),
        max_nodes_(max_nodes),
        after_(n_, 0.0),
        finish_(n_, 0.0),
        start_(n_, 0.0),
        release_(n_, 0.0) {
    // The longest path after each operator (its own time excluded), at the settled durations.
    for (int i = n_ - 1; i >= 0; --i) {
      for (int d : p_.tasks[i].deps) {
        after_[d] = std::max(after_[d], duration_[i] + after_[i]);
      }
    }
  }

  // Searches from the empty schedule; true when the search space was exhausted.
  bool Run() {
    const double free[kMachines] = {0, 0, 0};
    Node(0, free, -kInf, -1, 0);
    return nodes_ <= max_nodes_;
  }

  bool improved() const { return !best_start_.empty(); }
  double best_s() const { return best_s_; }
  const std::vector<double>& best_start() const { return best_start_; }
  int64_t nodes() const { return nodes_; }

 private:
  // The lower bound of every completion of the partial schedule: each unplaced operator released
  // no earlier than the last start (the order), its machine's last finish and its predecessors'
  // earliest finish; then the critical path and Jackson's preemptive bound on each machine.
  double Bound(uint64_t placed, const double free[kMachines], double last_start) {
    double bound = 0;
    std::vector<OneMachineJob> jobs[kMachines];
    for (int i = 0; i < n_; ++i) {
      if (placed >> i & 1) {
        bound = std::max(bound, finish_[i] + after_[i]);
        continue;
      }
      double r = std::max(last_start, free[machine_[i]]);
      for (int d : p_.tasks[i].deps) {
        r = std::max(r, (placed >> d & 1) ? finish_[d] : release_[d] + duration_[d]);
      }
      release_[i] = r;
      bound = std::max(bound, r + duration_[i] + after_[i]);
      jobs[machine_[i]].push_back({r, duration_[i], after_[i]});
    }
    for (const auto& j : jobs) {
      if (j.size() > 1) bound = std::max(bound, JacksonPreemptive(j));
    }
    return bound;
  }

  void Node(uint64_t placed, const double free[kMachines], double last_start, int last, int depth) {
    if (++nodes_ > max_nodes_) return;
    if (depth == n_) {
      double makespan = 0;
      for (int i = 0; i < n_; ++i) makespan = std::max(makespan, finish_[i]);
      if (makespan < best_s_) {
        best_s_ = makespan;
        best_start_ = start_;
      }
      return;
    }
    const double bound = Bound(placed, free, last_start);
    if (bound >= best_s_) return;
    // Children: the ready operators that can come next in (start, index) order, earliest first.
    struct Child {
      double start;
      int task;
    };
    std::vector<Child> children;
    for (int i = 0; i < n_; ++i) {
      if (placed >> i & 1) continue;
      double s = free[machine_[i]];
      bool ready = true;
      for (int d : p_.tasks[i].deps) {
        if (!(placed >> d & 1)) {
          ready = false;
          break;
        }
        s = std::max(s, finish_[d]);
      }
      if (!ready || s < last_start || (s == last_start && i < last)) continue;
      children.push_back({s, i});
    }
    std::sort(children.begin(), children.end(), [&](const Child& a, const Child& b) {
      if (a.start != b.start) return a.start < b.start;
      const double ta = duration_[a.task] + after_[a.task];
      const double tb = duration_[b.task] + after_[b.task];
      return ta != tb ? ta > tb : a.task < b.task;
    });
    for (const Child& c : children) {
      const int i = c.task;
      start_[i] = c.start;
      finish_[i] = c.start + duration_[i];
      double next_free[kMachines] = {free[0], free[1], free[2]};
      // An operator of no time holds no machine (as in the list schedules).
      if (duration_[i] > 0) next_free[machine_[i]] = finish_[i];
      Node(placed | uint64_t{1} << i, next_free, c.start, i, depth + 1);
      if (nodes_ > max_nodes_) return;
    }
  }

  const Problem& p_;
  const int n_;
  const std::vector<int> machine_;
  const std::vector<double> duration_;
  double best_s_;
  const int64_t max_nodes_;
  std::vector<double> after_, finish_, start_, release_;
  std::vector<double> best_start_;
  int64_t nodes_ = 0;
};

}  // namespace

std::optional<Schedule> SearchUnaryMachines(const Problem& p, const Schedule& incumbent,
                                            double relative_gap, int64_t max_nodes) {
  // The search is exact (it prunes only what cannot beat the best); relative_gap only sets the
  // status of a search stopped at max_nodes.
  const int n = static_cast<int>(p.tasks.size());
  if (n == 0 || n > 64 || !AllFinite(p) || !(incumbent.makespan_s < kInf)) return std::nullopt;
  // Settle each operator's mapping. A single-core run is of no use to a better schedule when it
  // cannot finish within the incumbent: after its earliest start, before its shortest path to
  // the end; or, since it keeps every intra-op operator of its kind waiting, when it and the
  // operators of its kind already settled intra-op cannot run one at a time within the incumbent
  // (Jackson's preemptive bound over them). Settling one may settle others: repeat until none.
  std::vector<double> heads = Heads(p), tails = Tails(p);
  TightenHeadsAndTails(p, heads, tails);
  const double limit = incumbent.makespan_s * (1 + 1e-9);
  std::vector<int> machine(n);
  std::vector<double> duration(n), after(n);
  std::vector<bool> intra(n, false), settled(n, true);
  for (int i = 0; i < n; ++i) {
    const Task& t = p.tasks[i];
    machine[i] = MachineOf(t.engine);
    after[i] = tails[i] - std::min(t.single_core_s, t.all_cores_s);
    duration[i] = Duration(t, false);
    if (!IsCompute(t) || CoresOf(p, t.engine) == 1) continue;
    if (!HasChoice(p, i)) return std::nullopt;  // single-core on a pool of cores
    settled[i] = heads[i] + t.single_core_s + after[i] > limit;
    intra[i] = settled[i];
    if (settled[i]) duration[i] = t.all_cores_s;
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (int i = 0; i < n; ++i) {
      if (settled[i]) continue;
      std::vector<OneMachineJob> jobs = {{heads[i], p.tasks[i].single_core_s, after[i]}};
      for (int j = 0; j < n; ++j) {
        if (intra[j] && machine[j] == machine[i]) jobs.push_back({heads[j], duration[j], after[j]});
      }
      if (JacksonPreemptive(jobs) > limit) {
        settled[i] = intra[i] = changed = true;
        duration[i] = p.tasks[i].all_cores_s;
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    if (!settled[i]) return std::nullopt;  // a real choice: the MILP's problem
  }
  UnarySearch search(p, machine, duration, incumbent.makespan_s, max_nodes);
  const bool complete = search.Run();
  Schedule s = incumbent;
  if (search.improved()) {
    s.start_s = search.best_start();
    s.intra_op = intra;
    s.core.assign(n, -1);
    for (int i = 0; i < n; ++i) {
      if (IsCompute(p.tasks[i]) && !intra[i]) s.core[i] = 0;  // a kind with one core
    }
    s.makespan_s = search.best_s();
  }
  s.order_searched = true;
  s.nodes = search.nodes();
  s.hit_time_limit = !complete;
  // Exhausted: the best is optimal. Stopped early: only the bounds computed before the search.
  const double proven = complete ? s.makespan_s : std::max(incumbent.lower_bound_s, LowerBound(p));
  SetGap(s, std::max(proven, std::min(incumbent.lower_bound_s, s.makespan_s)), relative_gap);
  return s;
}

}  // namespace phaze::sched
