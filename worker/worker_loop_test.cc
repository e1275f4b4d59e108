#include "worker/worker_loop.h"

#include <new>
#include <optional>
#include <stdexcept>

#include "gtest/gtest.h"

namespace phaze {
namespace {

TEST(EvaluateToResultTest, ExceptionsAndErrorsBecomeErrorResultsNamingThem) {
  const v1::CandidateResult oom =
      EvaluateToResult(5, []() -> absl::StatusOr<EvaluationResult> { throw std::bad_alloc(); });
  EXPECT_EQ(oom.outcome(), v1::OUTCOME_ERROR);
  EXPECT_EQ(oom.candidate().index(), 5);
  EXPECT_NE(oom.error().find("out of memory"), std::string::npos) << oom.error();

  const v1::CandidateResult thrown = EvaluateToResult(6, []() -> absl::StatusOr<EvaluationResult> {
    throw std::runtime_error("CoinError: bad basis");
  });
  EXPECT_EQ(thrown.outcome(), v1::OUTCOME_ERROR);
  EXPECT_NE(thrown.error().find("CoinError: bad basis"), std::string::npos) << thrown.error();

  const v1::CandidateResult status = EvaluateToResult(
      7, []() -> absl::StatusOr<EvaluationResult> { return absl::InternalError("no graph"); });
  EXPECT_EQ(status.outcome(), v1::OUTCOME_ERROR);
  EXPECT_EQ(status.error(), "no graph");

  std::optional<EvaluationResult> evaluated;
  const v1::CandidateResult ok = EvaluateToResult(
      8,
      []() -> absl::StatusOr<EvaluationResult> {
        EvaluationResult r;
        r.candidate_index = 8;
        r.valid = false;
        return r;
      },
      &evaluated);
  EXPECT_EQ(ok.outcome(), v1::OUTCOME_INVALID);
  EXPECT_EQ(ok.candidate().index(), 8);
  ASSERT_TRUE(evaluated.has_value());  // handed out for the metrics hook
  EXPECT_EQ(evaluated->candidate_index, 8);

  std::optional<EvaluationResult> none;
  EvaluateToResult(
      9, []() -> absl::StatusOr<EvaluationResult> { throw std::bad_alloc(); }, &none);
  EXPECT_FALSE(none.has_value());
}

}  // namespace
}  // namespace phaze
