#include "worker/shard_runner.h"

#include <exception>
#include <new>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace phaze {

using eval::EvaluationResult;
using eval::Evaluator;
using search::CanPrune;
using search::DesignPoint;
using search::DesignPoints;
using search::Objectives;
using search::ObjectiveSet;
using search::PrunedResult;

absl::StatusOr<EvaluationResult> EvaluateSafely(
    const std::function<absl::StatusOr<EvaluationResult>()>& evaluate) {
  try {
    return evaluate();
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        "out of memory: the evaluation needed more than the worker's memory limit");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("the evaluation failed: ", e.what()));
  } catch (...) {
    return absl::InternalError("the evaluation failed with an unknown exception");
  }
}

int64_t ShardRunner::Run(const ShardWork& work,
                         const std::function<bool(const CandidateOutcome&)>& emit) {
  // The front as bare objectives: the coordinator's points carry no keys the worker could
  // trust, and the worker's own results join it as they come.
  ObjectiveSet front;
  for (const Objectives& o : work.front) front.Add(o);
  const Evaluator::SkipTest dominated = [&front](double throughput, double area, double tdp,
                                                 double energy) {
    return front.DominatesBound({throughput, area, energy, tdp});
  };
  int64_t emitted = 0;
  for (int64_t candidate : work.candidates) {
    CandidateOutcome outcome;
    outcome.candidate = candidate;
    outcome.result = EvaluateSafely([&]() -> absl::StatusOr<EvaluationResult> {
      if (work.prune && candidate >= 0 && candidate < evaluator_.NumCandidates() &&
          CanPrune(evaluator_, candidate, dominated)) {
        return PrunedResult(evaluator_, candidate);
      }
      return evaluator_.Evaluate(candidate, backend_, cache_,
                                 work.prune ? dominated : Evaluator::SkipTest{});
    });
    if (outcome.result.ok() && work.prune) {
      for (const DesignPoint& p : DesignPoints(*outcome.result, evaluator_.spec())) {
        front.Add(p.objectives());
      }
    }
    if (!emit(outcome)) break;
    ++emitted;
  }
  return emitted;
}

}  // namespace phaze
