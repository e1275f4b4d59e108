// Exact branch and bound over operator orders and mappings. The MILP's big-M disjunctions are
// weak on these layers (CBC often spends its node limit without closing a 1% gap); a search that
// builds the schedule operator by operator, with one-machine bounds at every node, closes most of
// them in a few hundred nodes. It is at its best on large chips: with thousands of tensor cores a
// GEMM on one core takes thousands of times its intra-op time and cannot beat the incumbent, so
// every mapping is settled and the layer is a three-machine problem (tensor cores, vector cores,
// the link) with precedence.
//
// Resources. Each kind (tensor cores, vector cores, the link) is a pool of c cores: an intra-op
// operator takes all of them, a single-core operator one (the link and a one-core kind: c = 1).
// An operator of no time holds nothing. HBM bandwidth is shared by all kinds: an operator also
// holds its mapping's share of it, and the shares of what runs at once stay within 1.
//
// Completeness. Take any schedule in which each operator starts as soon as its predecessors and
// the cores left by the operators started before it allow (a semi-active schedule; some optimum
// is one). List its operators by (start, index) and append them one by one, each at the earliest
// time at or after the previous start when its predecessors are done and its cores (and its
// share of HBM bandwidth) are free: this rebuilds the schedule exactly, since the operators listed
// later start no earlier and so never stood in its way (an earlier start would move only the
// head of the run, before any of them starts, so it would also fit the whole schedule). So
// appending in (start, index) order, trying both mappings where there is a choice, misses no
// optimum.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "common/sched/internal.h"

namespace phaze::sched {

using workload::Engine;
namespace {

constexpr int kKinds = 3;  // tensor cores, vector cores, the link

int KindOf(Engine e) { return e == Engine::kTensor ? 0 : e == Engine::kVector ? 1 : 2; }

// What is running on one kind's cores: everything of the kind waits for the last intra-op run;
// each single-core run holds one core until its finish.
struct Pool {
  double intra_until = 0;
  std::vector<double> single_until;
};

// An operator placed that holds a share of HBM bandwidth over [start, end).
struct HbmRun {
  double start, end, share;
};
using HbmRuns = std::vector<HbmRun>;

// Whether `share` more of HBM bandwidth fits over [t, t + duration) beside `runs`; if not, the
// next time worth trying: no start before the earliest end after t can fit (no run has ended by
// then, so what blocked t still blocks it).
bool HbmFits(const HbmRuns& runs, double t, double duration, double share, double* retry) {
  auto blocked_at = [&](double x) {
    double use = share;
    for (const HbmRun& r : runs) {
      if (r.start <= x && x < r.end) use += r.share;
    }
    return use > kHbmCapacity;
  };
  bool blocked = blocked_at(t);
  for (const HbmRun& r : runs) {
    if (blocked) break;
    if (r.start > t && r.start < t + duration) blocked = blocked_at(r.start);
  }
  if (!blocked) return true;
  *retry = kInf;
  for (const HbmRun& r : runs) {
    if (r.end > t) *retry = std::min(*retry, r.end);
  }
  return false;
}

class OrderSearch {
 public:
  struct Op {
    int kind = 0;
    bool can_intra = false, can_single = false;
    double intra_s = 0, single_s = 0;
    double intra_hbm = 0, single_hbm = 0;  // shares of HBM bandwidth
    // Least bandwidth x time over the mappings it may take.
    double HbmWork() const {
      const double intra = intra_hbm * intra_s, single = single_hbm * single_s;
      return can_intra && can_single ? std::min(intra, single) : can_intra ? intra : single;
    }
    double Fastest() const {
      return can_intra && can_single ? std::min(intra_s, single_s) : can_intra ? intra_s : single_s;
    }
  };

  OrderSearch(const Problem& p, std::vector<Op> ops, double best_s, int64_t max_nodes)
      : p_(p),
        n_(static_cast<int>(p.tasks.size())),
        ops_(std::move(ops)),
        best_s_(best_s),
        max_nodes_(max_nodes),
        after_(n_, 0.0),
        finish_(n_, 0.0),
        start_(n_, 0.0),
        intra_(n_, false),
        release_(n_, 0.0) {
    for (int k = 0; k < kKinds; ++k) {
      cores_[k] = static_cast<double>(CoresOf(p, k == 0   ? Engine::kTensor
                                                 : k == 1 ? Engine::kVector
                                                          : Engine::kLink));
    }
    if (UsesHbm(p)) {
      std::vector<Mappings> allowed(n_);
      for (int i = 0; i < n_; ++i) allowed[i] = {ops_[i].can_single, ops_[i].can_intra};
      cliques_ = DisjunctiveCliques(p, allowed, kDisjunctiveCliques);
      for (int k = 0; k < kKinds; ++k) excluders_[k] = Excluders(p, allowed, k);
    }
    // The shortest path after each operator (its own time excluded).
    for (int i = n_ - 1; i >= 0; --i) {
      for (int d : p_.tasks[i].deps) {
        after_[d] = std::max(after_[d], ops_[i].Fastest() + after_[i]);
      }
    }
  }

  // Searches from the empty schedule; true when the search space was exhausted.
  bool Run() {
    Pool pools[kKinds];
    Node(0, pools, HbmRuns{}, -kInf, -1, 0);
    return nodes_ <= max_nodes_;
  }

  bool improved() const { return !best_start_.empty(); }
  double best_s() const { return best_s_; }
  const std::vector<double>& best_start() const { return best_start_; }
  const std::vector<bool>& best_intra() const { return best_intra_; }
  int64_t nodes() const { return nodes_; }

 private:
  std::vector<int> Excluders(const Problem& p, const std::vector<Mappings>& allowed, int k) const {
    std::vector<int> kind;
    for (int i = 0; i < n_; ++i) {
      if (ops_[i].kind == k) kind.push_back(i);
    }
    return KindExcluders(p, allowed, kind);
  }

  // Pooled work: an operator's least share of its kind's cores over time.
  double Work(int i) const {
    const Op& o = ops_[i];
    const double single = o.single_s / cores_[o.kind];
    return o.can_intra && o.can_single ? std::min(o.intra_s, single)
           : o.can_intra               ? o.intra_s
                                       : single;
  }

  // The lower bound of every completion of the partial schedule: each unplaced operator released
  // no earlier than the last start (the order), the end of its kind's last intra-op run and its
  // predecessors' earliest finish; then the critical path, and Jackson's preemptive bound on each
  // kind's pooled cores (with the core time its running single-core operators still hold).
  double Bound(uint64_t placed, const Pool pools[kKinds], const HbmRuns& hbm, double last_start) {
    double bound = 0;
    std::vector<OneMachineJob> jobs[kKinds];
    // HBM bandwidth as an elastic machine (bandwidth x time; see LowerBound).
    std::vector<OneMachineJob> hbm_jobs;
    double hbm_held = 0;
    for (const HbmRun& r : hbm) hbm_held += r.share * std::max(0.0, r.end - last_start);
    if (hbm_held > 0) hbm_jobs.push_back({last_start, hbm_held, 0.0});
    for (int k = 0; k < kKinds; ++k) {
      const double from = std::max(last_start, pools[k].intra_until);
      double held = 0;
      for (double f : pools[k].single_until) held += std::max(0.0, f - from);
      if (held > 0) jobs[k].push_back({from, held / cores_[k], 0.0});
    }
    for (int i = 0; i < n_; ++i) {
      if (placed >> i & 1) {
        bound = std::max(bound, finish_[i] + after_[i]);
        continue;
      }
      const Op& o = ops_[i];
      // (An operator of no time waits for no core.)
      double r = o.Fastest() > 0 ? std::max(last_start, pools[o.kind].intra_until) : last_start;
      for (int d : p_.tasks[i].deps) {
        r = std::max(r, (placed >> d & 1) ? finish_[d] : release_[d] + ops_[d].Fastest());
      }
      release_[i] = r;
      bound = std::max(bound, r + o.Fastest() + after_[i]);
      jobs[o.kind].push_back({r, Work(i), after_[i]});
      if (o.HbmWork() > 0) hbm_jobs.push_back({r, o.HbmWork(), after_[i]});
    }
    // A kind's machine also carries the operators that keep all of its cores idle: unplaced ones
    // from their release for their fastest time, placed ones until they finish.
    for (int k = 0; k < kKinds; ++k) {
      if (jobs[k].empty()) continue;
      for (int x : excluders_[k]) {
        if (placed >> x & 1) {
          if (finish_[x] > last_start)
            jobs[k].push_back({last_start, finish_[x] - last_start, 0.0});
        } else {
          jobs[k].push_back({release_[x], ops_[x].Fastest(), after_[x]});
        }
      }
    }
    for (const auto& j : jobs) {
      if (!j.empty()) bound = std::max(bound, JacksonPreemptive(j));
    }
    if (!hbm_jobs.empty()) bound = std::max(bound, JacksonPreemptive(hbm_jobs));
    // Each set of operators that never run together as one machine: the placed ones still
    // running hold it until their finish.
    for (const std::vector<int>& clique : cliques_) {
      std::vector<OneMachineJob> unary;
      double held = 0;
      for (int i : clique) {
        if (placed >> i & 1) {
          held = std::max(held, finish_[i] - last_start);
        } else {
          unary.push_back({release_[i], ops_[i].Fastest(), after_[i]});
        }
      }
      if (held > 0) unary.push_back({last_start, held, 0.0});
      if (unary.size() > 1) bound = std::max(bound, JacksonPreemptive(unary));
    }
    return bound;
  }

  // The earliest start at or after `est` on `pool` (all cores for intra-op, else one), and the
  // pool after the operator took them.
  double Place(const Pool& pool, int kind, double est, bool intra, double duration,
               Pool& after) const {
    after = pool;
    if (duration <= 0) return est;  // holds no core
    double t = std::max(est, pool.intra_until);
    if (intra) {
      for (double f : pool.single_until) t = std::max(t, f);
      after.intra_until = t + duration;
      after.single_until.clear();
      return t;
    }
    // One core: wait until fewer than all cores are held at t.
    std::vector<double>& held = after.single_until;
    held.erase(std::remove_if(held.begin(), held.end(), [&](double f) { return f <= t; }),
               held.end());
    const size_t cores = static_cast<size_t>(cores_[kind]);
    if (held.size() >= cores) {
      std::sort(held.begin(), held.end());
      t = held[held.size() - cores];
      held.erase(held.begin(), held.begin() + static_cast<std::ptrdiff_t>(held.size() - cores + 1));
    }
    held.push_back(t + duration);
    return t;
  }

  // Place, also waiting until `share` of HBM bandwidth is free for the whole run.
  double PlaceWithHbm(const Pool& pool, int kind, double est, bool intra, double duration,
                      double share, const HbmRuns& hbm, Pool& after) const {
    for (double t = est;;) {
      const double start = Place(pool, kind, t, intra, duration, after);
      double retry = kInf;
      if (duration <= 0 || share <= 0 || HbmFits(hbm, start, duration, share, &retry)) {
        return start;
      }
      t = retry;
    }
  }

  void Node(uint64_t placed, const Pool pools[kKinds], const HbmRuns& hbm, double last_start,
            int last, int depth) {
    if (++nodes_ > max_nodes_) return;
    if (depth == n_) {
      double makespan = 0;
      for (int i = 0; i < n_; ++i) makespan = std::max(makespan, finish_[i]);
      if (makespan < best_s_) {
        best_s_ = makespan;
        best_start_ = start_;
        best_intra_ = intra_;
      }
      return;
    }
    if (Bound(placed, pools, hbm, last_start) >= best_s_) return;
    // Children: each ready operator in each mapping it allows, kept when it can come next in
    // (start, index) order; the earliest first, then the longest remaining path.
    struct Child {
      double start, finish;
      int task;
      bool intra;
      Pool pool;
    };
    std::vector<Child> children;
    for (int i = 0; i < n_; ++i) {
      if (placed >> i & 1) continue;
      double est = 0;
      bool ready = true;
      for (int d : p_.tasks[i].deps) {
        if (!(placed >> d & 1)) {
          ready = false;
          break;
        }
        est = std::max(est, finish_[d]);
      }
      if (!ready) continue;
      const Op& o = ops_[i];
      for (const bool intra : {true, false}) {
        if (intra ? !o.can_intra : !o.can_single) continue;
        const double duration = intra ? o.intra_s : o.single_s;
        Child c{0, 0, i, intra, {}};
        c.start = PlaceWithHbm(pools[o.kind], o.kind, est, intra, duration,
                               intra ? o.intra_hbm : o.single_hbm, hbm, c.pool);
        if (c.start < last_start || (c.start == last_start && i < last)) continue;
        c.finish = c.start + duration;
        if (c.finish + after_[i] >= best_s_) continue;
        children.push_back(std::move(c));
      }
    }
    std::sort(children.begin(), children.end(), [&](const Child& a, const Child& b) {
      if (a.start != b.start) return a.start < b.start;
      const double ta = a.finish + after_[a.task], tb = b.finish + after_[b.task];
      if (ta != tb) return ta > tb;
      return a.task != b.task ? a.task < b.task : a.intra > b.intra;
    });
    for (const Child& c : children) {
      const int i = c.task;
      start_[i] = c.start;
      finish_[i] = c.finish;
      intra_[i] = c.intra;
      Pool next[kKinds] = {pools[0], pools[1], pools[2]};
      next[ops_[i].kind] = c.pool;
      const double share = c.intra ? ops_[i].intra_hbm : ops_[i].single_hbm;
      if (share > 0 && c.finish > c.start) {
        // Every run stays: an operator is placed from its inputs' finish, which may be earlier
        // than this start, and a run that has ended by now may have blocked it then. (The
        // pools may forget: they only ever answer late, never early.)
        HbmRuns runs = hbm;
        runs.push_back({c.start, c.finish, share});
        Node(placed | uint64_t{1} << i, next, runs, c.start, i, depth + 1);
      } else {
        Node(placed | uint64_t{1} << i, next, hbm, c.start, i, depth + 1);
      }
      if (nodes_ > max_nodes_) return;
    }
  }

  const Problem& p_;
  const int n_;
  const std::vector<Op> ops_;
  double cores_[kKinds] = {1, 1, 1};
  double best_s_;
  const int64_t max_nodes_;
  std::vector<double> after_, finish_, start_;
  std::vector<bool> intra_;
  std::vector<double> release_;
  // Sets of operators that never run together (with HBM shares; the kinds' own pools are bounded
  // above).
  std::vector<std::vector<int>> cliques_;
  // Per kind, operators of other kinds that run beside none of its operators nor each other
  // (KindExcluders): while one runs, the kind's cores idle.
  std::vector<int> excluders_[kKinds];
  std::vector<double> best_start_;
  std::vector<bool> best_intra_;
  int64_t nodes_ = 0;
};

}  // namespace

std::optional<Schedule> SearchOrders(const Problem& p, const Schedule& incumbent,
                                     double relative_gap, int64_t max_nodes) {
  // The search is exact (it prunes only what cannot beat the best); relative_gap only sets the
  // status of a search stopped at max_nodes.
  const int n = static_cast<int>(p.tasks.size());
  if (n == 0 || n > 64 || !AllFinite(p) || !(incumbent.makespan_s < kInf)) return std::nullopt;
  // Settle what can be settled: a single-core run is of no use to a better schedule when it
  // cannot finish within the incumbent (after its earliest start, before its shortest path to
  // the end), or, since it keeps every intra-op operator of its kind waiting, when it and the
  // operators of its kind already settled intra-op cannot run one at a time within the incumbent
  // (Jackson's preemptive bound over them). Settling one may settle others: repeat until none.
  std::vector<double> heads = Heads(p), tails = Tails(p);
  TightenHeadsAndTails(p, heads, tails);
  const double limit = incumbent.makespan_s * (1 + 1e-9);
  std::vector<OrderSearch::Op> ops(n);
  std::vector<double> after(n);
  for (int i = 0; i < n; ++i) {
    const Task& t = p.tasks[i];
    OrderSearch::Op& o = ops[i];
    o.kind = KindOf(t.engine);
    o.intra_s = t.all_cores_s;
    o.single_s = t.single_core_s;
    o.intra_hbm = HbmShare(t, true);
    o.single_hbm = HbmShare(t, false);
    after[i] = tails[i] - Fastest(t);
    if (!HasChoice(p, i)) {
      o.can_single = true;  // Duration(t, false): the link, one core, or no gain from all cores
      continue;
    }
    o.can_intra = true;
    o.can_single = heads[i] + t.single_core_s + after[i] <= limit;
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (int i = 0; i < n; ++i) {
      if (!(ops[i].can_intra && ops[i].can_single)) continue;
      std::vector<OneMachineJob> jobs = {{heads[i], ops[i].single_s, after[i]}};
      for (int j = 0; j < n; ++j) {
        if (ops[j].can_intra && !ops[j].can_single && ops[j].kind == ops[i].kind) {
          jobs.push_back({heads[j], ops[j].intra_s, after[j]});
        }
      }
      if (JacksonPreemptive(jobs) > limit) ops[i].can_single = false, changed = true;
    }
  }
  OrderSearch search(p, ops, incumbent.makespan_s, max_nodes);
  const bool complete = search.Run();
  Schedule s = incumbent;
  if (search.improved()) {
    s.start_s = search.best_start();
    s.intra_op = search.best_intra();
    s.makespan_s = search.best_s();
    AssignCores(p, s);
  }
  s.order_searched = true;
  s.nodes = search.nodes();
  s.hit_time_limit = !complete;
  // Exhausted: the best is optimal. Stopped early: the bounds computed before the search, and,
  // while they leave more than the target gap, the configuration bound over what runs at once.
  double proven = complete ? s.makespan_s : std::max(incumbent.lower_bound_s, LowerBound(p));
  if (!complete && proven < s.makespan_s * (1 - relative_gap)) {
    proven = std::max(
        proven, ConfigurationBound(p, proven, s.makespan_s * (1 - relative_gap), s.makespan_s));
  }
  SetGap(s, std::max(proven, std::min(incumbent.lower_bound_s, s.makespan_s)), relative_gap);
  return s;
}

}  // namespace phaze::sched
