// The scheduling MILP as solver-neutral data: columns (bounds, cost, integrality), rows (sparse
// terms and bounds) and the meaning of each column, built from a Problem and a bound window.
// PHAZE's formulation (reference section 5): a makespan T, a start time per operator, an intra-op
// binary where the choice is real, per-core assignment binaries only for a kind whose concurrent
// single-core operators can exceed its cores, and ordering binaries only for incomparable pairs
// that may conflict, with the tightest big-M the incumbent allows. Times are in microseconds.
// HBM bandwidth, a cumulative resource, takes the resource-flow formulation (Artigues, Michelon
// and Reusser, EJOR 2003): a unit of bandwidth flows from a source through the operators that use
// it, each passing on its share only to operators it precedes, so operators that run at once
// never hold more than the source's 1; pairwise disjunctions alone could not express that three
// operators fit two by two but not together.
//
// Three steps, three units: BuildSchedulingMilp (formulation, data), a backend that translates
// and solves it (CbcBackend), and DecodeSchedule (replay through the schedule generator, so the
// answer is checked and never longer than the solver's). EncodeSchedule maps a schedule onto the
// columns (the MIP start) and IsFeasible checks a point against the rows; the conformance suite
// uses both to show that the optimum of the exhaustive backend is a point of the model.
//
//   const MilpModel m = BuildSchedulingMilp(problem, lower_bound_s, incumbent);
//   std::vector<double> x0 = EncodeSchedule(problem, m, incumbent);
//   ... solve ...;  Schedule s = DecodeSchedule(problem, m, x);
#ifndef PHAZE_COMMON_SCHED_MILP_H_
#define PHAZE_COMMON_SCHED_MILP_H_

#include <string>
#include <utility>
#include <vector>

#include "common/sched/sched.h"

namespace phaze::sched {

struct MilpModel {
  static constexpr double kUnitS = 1e-6;  // one time unit of the model, in seconds

  struct Column {
    double lower = 0;
    double upper = 0;
    double cost = 0;
    bool integer = false;
  };
  struct Row {
    std::vector<std::pair<int, double>> terms;  // (column, coefficient)
    double lower = 0;
    double upper = 0;
  };
  // An incomparable pair of tasks i < j that may compete for a unit.
  struct Pair {
    int i = 0, j = 0;
    int before = -1;        // binary: i finishes before j starts
    int after = -1;         // binary: j finishes before i starts; -1 when the pair must be ordered
                            // (then after = 1 - before)
    bool same_unit = true;  // they compete for cores or the link (else only for HBM bandwidth)
  };
  // A column carrying HBM bandwidth from one operator to another it precedes; from = -1 is the
  // source, to = -1 the sink.
  struct Flow {
    int from = -1, to = -1;
    int column = -1;
  };

  std::vector<Column> columns;
  std::vector<Row> rows;
  // What the columns mean.
  int makespan = -1;
  std::vector<int> start;              // per task
  std::vector<int> intra_op;           // per task; -1 where there is no choice
  std::vector<std::vector<int>> core;  // per task: its core binaries (may be empty)
  std::vector<Pair> pairs;
  std::vector<Flow> flows;  // empty when HBM bandwidth never binds
};

// The formulation for `problem` (valid, finite latencies, at least one task) given a proven
// lower bound and a valid incumbent schedule whose makespan is the upper bound of the window.
MilpModel BuildSchedulingMilp(const Problem& problem, double lower_bound_s,
                              const Schedule& incumbent);

// `schedule` (valid for `problem`) as a point of the model.
std::vector<double> EncodeSchedule(const Problem& problem, const MilpModel& model,
                                   const Schedule& schedule);

// Whether `x` meets every column bound and row within `tolerance` (absolute, in model units);
// otherwise false, with the first violated constraint named in `violated` (may be null).
bool IsFeasible(const MilpModel& model, const std::vector<double>& x, double tolerance,
                std::string* violated);

// The schedule a solver's point describes: its intra-op choices, and its start times as a
// priority for the serial schedule generator (which keeps precedence exact where rounding puts a
// successor a hair before its input). Always a valid schedule.
Schedule DecodeSchedule(const Problem& problem, const MilpModel& model, const double* x);

}  // namespace phaze::sched

#endif  // PHAZE_COMMON_SCHED_MILP_H_
