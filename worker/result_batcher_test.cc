#include "worker/result_batcher.h"

#include <vector>

#include "gtest/gtest.h"

namespace phaze {
namespace {

struct Sent {
  std::vector<v1::ResultReport> reports;
  bool fail = false;
  ResultBatcher::Write Writer() {
    return [this](const v1::ResultReport& r) {
      reports.push_back(r);
      return !fail;
    };
  }
  std::vector<int64_t> Candidates(size_t i) const {
    std::vector<int64_t> c{reports[i].result().candidate().index()};
    for (const v1::CandidateResult& m : reports[i].more_results())
      c.push_back(m.candidate().index());
    return c;
  }
};

v1::Lease LeaseOf(bool takes_batches) {
  v1::Lease lease;
  lease.set_lease_id("L1");
  lease.set_job_id("J1");
  lease.set_takes_batches(takes_batches);
  return lease;
}

v1::CandidateResult Result(int64_t candidate) {
  v1::CandidateResult r;
  r.mutable_candidate()->set_index(candidate);
  return r;
}

TEST(ResultBatcherTest, WithoutBatchesEveryResultIsOneMessage) {
  Sent sent;
  double now = 0;
  ResultBatcher b(LeaseOf(false), {}, sent.Writer(), [&] { return now; });
  EXPECT_EQ(b.TickSeconds(), 0);  // nothing is ever held
  for (int64_t c = 0; c < 3; ++c) ASSERT_TRUE(b.Add(Result(c), 0.001));
  ASSERT_EQ(sent.reports.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(sent.Candidates(i), std::vector<int64_t>{static_cast<int64_t>(i)});
    EXPECT_EQ(sent.reports[i].lease_id(), "L1");
    EXPECT_EQ(sent.reports[i].job_id(), "J1");
  }
  EXPECT_TRUE(b.Flush());  // nothing left: no message
  EXPECT_EQ(sent.reports.size(), 3u);
}

TEST(ResultBatcherTest, FastResultsGoOutTogetherAndASlowOneTakesThemAlong) {
  Sent sent;
  double now = 0;
  ResultBatcher b(LeaseOf(true), {.max_results = 256, .max_age_s = 0.2, .slow_s = 0.05},
                  sent.Writer(), [&] { return now; });
  ASSERT_TRUE(b.Add(Result(1), 0.001));
  ASSERT_TRUE(b.Add(Result(2), 0.001));
  EXPECT_TRUE(sent.reports.empty());
  ASSERT_TRUE(b.Add(Result(3), 0.05));  // slow: out at once, with the two before it
  ASSERT_EQ(sent.reports.size(), 1u);
  EXPECT_EQ(sent.Candidates(0), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(sent.reports[0].lease_id(), "L1");
  ASSERT_TRUE(b.Add(Result(4), 0.001));
  ASSERT_TRUE(b.Flush());
  ASSERT_EQ(sent.reports.size(), 2u);
  EXPECT_EQ(sent.Candidates(1), std::vector<int64_t>{4});
  EXPECT_EQ(b.messages(), 2);
}

TEST(ResultBatcherTest, AFullBatchGoesOut) {
  Sent sent;
  double now = 0;
  ResultBatcher b(LeaseOf(true), {.max_results = 4, .max_age_s = 10, .slow_s = 1}, sent.Writer(),
                  [&] { return now; });
  for (int64_t c = 0; c < 9; ++c) ASSERT_TRUE(b.Add(Result(c), 0));
  ASSERT_EQ(sent.reports.size(), 2u);
  EXPECT_EQ(sent.Candidates(0), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(sent.Candidates(1), (std::vector<int64_t>{4, 5, 6, 7}));
  ASSERT_TRUE(b.Flush());
  EXPECT_EQ(sent.Candidates(2), std::vector<int64_t>{8});
}

TEST(ResultBatcherTest, ATickSendsResultsThatWaitedTheirAgeWithoutANewResult) {
  Sent sent;
  double now = 100;
  ResultBatcher b(LeaseOf(true), {.max_results = 256, .max_age_s = 0.2, .slow_s = 0.05},
                  sent.Writer(), [&] { return now; });
  EXPECT_DOUBLE_EQ(b.TickSeconds(), 0.1);
  ASSERT_TRUE(b.Add(Result(1), 0.001));
  now = 100.1;
  ASSERT_TRUE(b.Add(Result(2), 0.001));
  now = 100.19;
  ASSERT_TRUE(b.FlushIfDue());  // the oldest has waited 0.19 s: not yet
  EXPECT_TRUE(sent.reports.empty());
  // The next candidate is slow; the tick during it sends the two that wait.
  now = 100.2;
  ASSERT_TRUE(b.FlushIfDue());
  ASSERT_EQ(sent.reports.size(), 1u);
  EXPECT_EQ(sent.Candidates(0), (std::vector<int64_t>{1, 2}));
  now = 105;
  ASSERT_TRUE(b.FlushIfDue());  // nothing held: nothing sent
  EXPECT_EQ(sent.reports.size(), 1u);
  // The age counts from the oldest result of the new batch, not from the last message.
  ASSERT_TRUE(b.Add(Result(3), 0.001));
  now = 105.1;
  ASSERT_TRUE(b.FlushIfDue());
  EXPECT_EQ(sent.reports.size(), 1u);
  // A result added after the age passed goes out with it at once.
  now = 105.25;
  ASSERT_TRUE(b.Add(Result(4), 0.001));
  ASSERT_EQ(sent.reports.size(), 2u);
  EXPECT_EQ(sent.Candidates(1), (std::vector<int64_t>{3, 4}));
}

TEST(ResultBatcherTest, ABrokenStreamStopsTheShard) {
  Sent sent;
  sent.fail = true;
  double now = 0;
  ResultBatcher b(LeaseOf(false), {}, sent.Writer(), [&] { return now; });
  EXPECT_FALSE(b.Add(Result(1), 0));
  EXPECT_FALSE(b.Add(Result(2), 0));  // nothing more is written after the failure
  EXPECT_FALSE(b.FlushIfDue());
  EXPECT_FALSE(b.Flush());
  EXPECT_EQ(sent.reports.size(), 1u);
}

}  // namespace
}  // namespace phaze
