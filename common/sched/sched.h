// Operator scheduling within one layer: which operators run on which cores, when, and whether
// each runs intra-operator parallel over all cores of its kind (reference section 5).
//
// The problem is a small resource-constrained project schedule. Renewable resources: the chip's
// tensor cores, its vector cores, and the device link (one collective at a time; it overlaps with
// compute, fixing the original's collectives-on-a-vector-core). An operator either takes one core
// of its kind for its single-core latency, or (intra_op) every core of its kind for its all-cores
// latency. Tensor and vector cores are separate units, so an intra-op GEMM does not stop the
// vector cores (the original let an intra-op operator have the whole chip, a simplification).
//
// HBM bandwidth is a fourth resource, cumulative and shared by every kind: each mapping of an
// operator states the share of the chip's achieved HBM bandwidth its latency assumes (its HBM
// bytes over its latency, over the bandwidth), and the shares of operators that run at once sum
// to at most 1. Tensor and vector work therefore overlap only as far as the memory they both
// stream allows; a memory-bound vector operator may still run beside a GEMM on one vector core,
// at that core's share. (Collectives' own HBM traffic is not modelled.)
//
// Backends (one contract, one shared test suite):
//  - CbcBackend: the MILP on COIN-OR CBC, with ordering binaries only for incomparable pairs that
//    can conflict, per-core assignment only for a kind whose concurrent operators can exceed its
//    cores, and a list schedule as the MIP start.
//  - EnumerateBackend: exhaustive search for tiny graphs (every intra-op choice, every
//    precedence-feasible order through a serial schedule generator): the reference optimum.
// ScheduleLayer() is the front door: it computes a critical-path lower bound and a list-schedule
// upper bound, skips the MILP when they meet within the gap, and caches results by content hash.
// Between the two it solves the layer exactly by a search over operator orders and mappings
// (order_search.cc); the backend only gets a layer whose search exhausts its node budget.
//
//   ScheduleCache cache;
//   CbcBackend cbc;
//   PHAZE_ASSIGN_OR_RETURN(Schedule s, ScheduleLayer(problem, {}, cbc, &cache));
#ifndef PHAZE_COMMON_SCHED_SCHED_H_
#define PHAZE_COMMON_SCHED_SCHED_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/workload/layer_graph.h"

namespace phaze::sched {

struct Task {
  workload::Engine engine = workload::Engine::kTensor;
  double single_core_s = 0;  // L_1
  double all_cores_s = 0;    // L_io
  // Share of the chip's HBM bandwidth (0..1) each mapping holds while it runs.
  double single_core_hbm_share = 0;
  double all_cores_hbm_share = 0;
  std::vector<int> deps;  // indices of predecessor tasks (lower indices)
};

struct Problem {
  std::vector<Task> tasks;
  int64_t num_tc = 1;
  int64_t num_vc = 1;
};

enum class SolveStatus {
  kOptimal,     // proven within the relative gap target
  kFeasible,    // a schedule, with a gap above the target (time limit)
  kInfeasible,  // no schedule exists (a non-finite latency)
  kNoSolution,  // no schedule found in time
};

struct Schedule {
  SolveStatus status = SolveStatus::kNoSolution;
  double makespan_s = 0;
  double lower_bound_s = 0;
  double gap = 0;  // (makespan - lower_bound) / makespan
  std::vector<double> start_s;
  std::vector<bool> intra_op;
  std::vector<int> core;  // core index of a single-core operator, -1 for intra-op and link
  // Statistics.
  bool mip_built = false;
  bool order_searched = false;  // solved by the exact search over operator orders, no MILP
  bool from_cache = false;
  bool hit_time_limit = false;
  int64_t nodes = 0;
  double solve_s = 0;  // as reported by the solver
};

struct SolveOptions {
  double time_limit_s = 10;
  double relative_gap = 0.01;
  // Branch-and-bound node limit. Unlike the time limit it does not depend on the machine's load,
  // so a search that hits it still gives the same answer on every run.
  int64_t max_nodes = 500;
  // Budget of the exact search over operator orders (order_search.cc) before the MILP: the layers
  // of the paper models close in at most a few thousand nodes (milliseconds); this many bounds a
  // hard case at about the cost of a MILP.
  int64_t order_search_nodes = 50'000;
  // false: stop before the MILP and return the best schedule found (still kFeasible when the
  // bounds and the order search leave a gap); such a result is not cached.
  bool allow_milp = true;
  // A valid schedule to start from (the MIP start); not part of the problem's identity.
  const Schedule* incumbent = nullptr;
};

class SchedulerBackend {
 public:
  virtual ~SchedulerBackend() = default;
  virtual std::string Name() const = 0;
  // Solves `problem` (which must pass ValidateProblem). Outcomes are data in Schedule::status;
  // an error Status means the backend could not answer at all (kInternal, kResourceExhausted).
  virtual absl::StatusOr<Schedule> Solve(const Problem& problem, const SolveOptions& options) = 0;
};

// The MILP on CBC (plain CbcModel branch-and-bound, safe to run in several threads at once).
class CbcBackend : public SchedulerBackend {
 public:
  std::string Name() const override { return "cbc"; }
  absl::StatusOr<Schedule> Solve(const Problem& problem, const SolveOptions& options) override;
};

// Exhaustive reference for graphs of at most kMaxTasks tasks.
class EnumerateBackend : public SchedulerBackend {
 public:
  static constexpr int kMaxTasks = 8;
  std::string Name() const override { return "enumerate"; }
  absl::StatusOr<Schedule> Solve(const Problem& problem, const SolveOptions& options) override;
};

// kInvalidArgument if deps are not topological, a latency is negative or NaN, an HBM share is
// outside [0, 1], or core counts < 1.
absl::Status ValidateProblem(const Problem& problem);

// Critical path with each task at its faster mapping, and the per-resource work bounds.
double LowerBound(const Problem& problem);

// The best of a few list schedules (serial and parallel schedule generation under several
// priority rules): always a valid schedule, status kFeasible.
Schedule ListSchedule(const Problem& problem);

// Local search from `start`: move one operator in the activity list or flip its intra-op choice,
// regenerate, keep improvements; stops at `lower_bound_s` or after a fixed budget.
Schedule ImproveByInsertion(const Problem& problem, Schedule start, double lower_bound_s);

// Replays a schedule and checks every precedence and resource constraint; used by tests and as a
// guard on solver output. kInternal names the violated constraint.
absl::Status CheckSchedule(const Problem& problem, const Schedule& schedule);

// Thread-safe cache of schedules keyed by a hash of the problem and options.
// Memoised layer schedules by problem key. Bounded: when it holds `max_entries` schedules it
// starts afresh (a cache miss only costs time; results do not depend on what is cached).
class ScheduleCache {
 public:
  explicit ScheduleCache(int64_t max_entries = int64_t{1} << 18) : max_entries_(max_entries) {}
  bool Lookup(uint64_t key, Schedule* out) const;
  void Insert(uint64_t key, const Schedule& schedule);
  int64_t size() const;

 private:
  const int64_t max_entries_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Schedule> map_ ABSL_GUARDED_BY(mu_);
};

uint64_t ProblemKey(const Problem& problem, const SolveOptions& options);

// The list schedule with its lower bound and gap, without any MILP: status kOptimal when they
// meet within the gap target, kFeasible otherwise (kInfeasible for non-finite latencies). The
// problem must pass ValidateProblem. `cache` may be null.
Schedule BoundLayer(const Problem& problem, const SolveOptions& options, ScheduleCache* cache);

// The lower bound alone, for screening before any list schedule: the layer's bounds when they
// are cached (BoundLayer's), else an open schedule (status kFeasible, makespan +infinity) with
// lower_bound_s set, or kInfeasible for non-finite latencies. `cache` may be null.
Schedule LowerBoundLayer(const Problem& problem, const SolveOptions& options, ScheduleCache* cache);
// Whether `s` is LowerBoundLayer's open schedule (a lower bound and no schedule yet).
bool OnlyLowerBound(const Schedule& s);

// Bounds first; then, while the bounds are further apart than the gap target, the exact order
// search, and the backend if the search exhausts options.order_search_nodes. `cache` may be null.
absl::StatusOr<Schedule> ScheduleLayer(const Problem& problem, const SolveOptions& options,
                                       SchedulerBackend& backend, ScheduleCache* cache);

const char* SolveStatusName(SolveStatus s);

}  // namespace phaze::sched

#endif  // PHAZE_COMMON_SCHED_SCHED_H_
