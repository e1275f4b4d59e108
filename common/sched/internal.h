// Helpers shared by the files of the scheduling layer (not part of its face, sched.h): the
// precedence structure of a problem, resource demands, the schedule generation schemes and the
// gap bookkeeping that every backend and the front door use alike.
#ifndef PHAZE_COMMON_SCHED_INTERNAL_H_
#define PHAZE_COMMON_SCHED_INTERNAL_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "common/sched/sched.h"

namespace phaze::sched {

inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr double kEps = 1e-12;

using Reach = std::vector<std::vector<bool>>;
// reach[i][j]: j is reachable from i (i != j).
Reach Reachability(const Problem& p);

bool IsCompute(const Task& t);
int64_t CoresOf(const Problem& p, workload::Engine e);
// Whether the intra-op choice is a real choice for task i.
bool HasChoice(const Problem& p, int i);
double Duration(const Task& t, bool intra_op);
// The share of HBM bandwidth task t holds in a mapping (0 for an operator of no time).
double HbmShare(const Task& t, bool intra_op);
// Whether any task uses HBM bandwidth (then HBM is a resource to schedule).
bool UsesHbm(const Problem& p);
// The larger share of HBM bandwidth task i may hold, over the mappings it may take.
double MaxHbmShare(const Problem& p, int i);
// Whether HBM bandwidth can bind: the largest shares the tasks may hold sum to more than all of it.
bool HbmMayBind(const Problem& p);
// Shares of HBM bandwidth that sum to no more than this fit (rounding of bytes over seconds).
inline constexpr double kHbmCapacity = 1.0 + 1e-9;

struct Demand {
  int64_t tc = 0, vc = 0, link = 0;
  double hbm = 0;
  // Whether this demand on top of `used` fits the chip of `p`.
  bool FitsWith(const Demand& used, const Problem& p) const {
    return used.tc + tc <= p.num_tc && used.vc + vc <= p.num_vc && used.link + link <= 1 &&
           used.hbm + hbm <= kHbmCapacity;
  }
  void Add(const Demand& d) { tc += d.tc, vc += d.vc, link += d.link, hbm += d.hbm; }
  void Remove(const Demand& d) { tc -= d.tc, vc -= d.vc, link -= d.link, hbm -= d.hbm; }
};
Demand DemandOf(const Problem& p, int i, bool intra_op);

// Serial schedule generation: tasks in `order` (precedence-feasible), each at the earliest time
// its predecessors are done and its resources are free for its whole duration. With `greedy`, a
// task that has the choice takes whichever mapping finishes it first.
Schedule SerialSgs(const Problem& p, const std::vector<int>& order,
                   const std::vector<bool>& intra_op, bool greedy = false);
// Sets the core of every single-core operator of `s` (interval colouring in start order) and -1
// for the rest.
void AssignCores(const Problem& p, Schedule& s);
// Parallel schedule generation under `priority` (higher first).
Schedule ParallelSgs(const Problem& p, const std::vector<double>& priority, bool prefer_intra);
// A precedence-feasible order, highest priority first among the ready tasks.
std::vector<int> PriorityOrder(const Problem& p, const std::vector<double>& priority);

// Longest path to a sink (own latency included) and earliest start, each task at its faster
// mapping.
std::vector<double> Tails(const Problem& p);
std::vector<double> Heads(const Problem& p);
// Heads and tails (as above) tightened by the competition of each operator's ancestors and
// descendants for the cores of their kind (bounds.cc).
void TightenHeadsAndTails(const Problem& p, std::vector<double>& heads, std::vector<double>& tails);

// The mappings an operator may still take.
struct Mappings {
  bool single = true, intra = true;
};
// Whether operators i and j can never run at once in any mappings they may take: they hold the
// same unit (the link, a one-core kind, or a kind of which either takes every core) or more than
// all of HBM's bandwidth together. Operators of no time never conflict.
bool NeverTogether(const Problem& p, int i, Mappings mi, int j, Mappings mj);
// Sets of operators no two of which can run at once (greedy cliques of NeverTogether: from each
// operator as a seed, the others by decreasing latency), distinct, of at least two operators,
// the heaviest (by least latency summed) first, at most `max_cliques` of them.
inline constexpr size_t kDisjunctiveCliques = 4;  // a handful: the seeds are the longest
std::vector<std::vector<int>> DisjunctiveCliques(const Problem& p,
                                                 const std::vector<Mappings>& allowed,
                                                 size_t max_cliques);
// The least latency of operator i over the mappings it may take.
double LeastLatency(const Task& t, Mappings m);
// The shorter of a task's two latencies (whatever mappings it may take).
double Fastest(const Task& t);
// The configuration bound (configuration_bound.cc): a linear program over the sets of
// (operator, mapping) pairs that can run at once within each operator's time window, certified
// by its dual; the largest makespan it refutes between `lower_s` (a bound already known) and
// `target_s` (the makespan that would close the gap; the incumbent `upper_s` sets the windows'
// mappings): the target itself if refuted, else four steps of bisection below it. Returns
// lower_s when it refutes nothing, or when the problem has more than `max_configurations`
// maximal sets.
inline constexpr size_t kMaxConfigurations = 2'000;
double ConfigurationBound(const Problem& p, double lower_s, double target_s, double upper_s,
                          size_t max_configurations = kMaxConfigurations);
// Operators of other kinds than `kind` (the tasks of one kind) that can run beside none of them
// nor beside each other, in the mappings `allowed`: greedily, longest first. While one runs, the
// kind's cores idle, so each may join the kind's machine in a one-machine bound for its least
// latency.
std::vector<int> KindExcluders(const Problem& p, const std::vector<Mappings>& allowed,
                               const std::vector<int>& kind);

// One machine (a kind's cores pooled), preemptive, operators with a release, a work and a delay
// after completion: Jackson's preemptive schedule (longest delay first) minimises the largest
// completion plus delay, so its value bounds that of any real schedule.
struct OneMachineJob {
  double release, work, after;
};
double JacksonPreemptive(const std::vector<OneMachineJob>& jobs);

// Exact branch and bound over operator orders and mappings (order_search.cc), from the incumbent:
// optimal when the search finished within `max_nodes` (hit_time_limit false); else the best
// schedule found, its gap to the problem's lower bound judged against `relative_gap`. nullopt
// for a problem it does not take (more than 64 operators, a non-finite latency).
std::optional<Schedule> SearchOrders(const Problem& p, const Schedule& incumbent,
                                     double relative_gap, int64_t max_nodes);

// Sets lower_bound_s, gap and status (kOptimal within `target`) of `s`.
void SetGap(Schedule& s, double lower_bound, double target);
bool AllFinite(const Problem& p);
Schedule InfeasibleSchedule();

// ListSchedule with the problem's lower bound already computed (it decides whether the extra
// priority rules are worth trying).
Schedule ListScheduleWithBound(const Problem& p, double lower);

}  // namespace phaze::sched

#endif  // PHAZE_COMMON_SCHED_INTERNAL_H_
