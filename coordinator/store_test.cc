#include "coordinator/store.h"

#include <cstdio>
#include <string>

#include "gtest/gtest.h"

namespace phaze {
namespace {

TEST(StoreTest, ResultsAreIdempotentByJobAndCandidate) {
  auto store = *Store::Open(":memory:");
  ASSERT_TRUE(store->PutJob({"job-1", "name: x", "running", "", 1, ""}).ok());
  EXPECT_EQ(*store->PutResults("job-1", {{1, "a"}, {2, "b"}}), 2);
  EXPECT_EQ(*store->PutResults("job-1", {{2, "changed"}, {3, "c"}}), 1);
  const auto results = *store->Results("job-1");
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[1].data, "b");  // the first write wins
  EXPECT_TRUE(store->Results("job-2")->empty());
  EXPECT_EQ(*store->IntegrityCheck(), "ok");
}

TEST(StoreTest, SurvivesReopening) {
  const std::string path = testing::TempDir() + "/phaze_store_test.db";
  std::remove(path.c_str());
  {
    auto store = *Store::Open(path);
    ASSERT_TRUE(store->PutJob({"job-7", "yaml", "running", "", 7, ""}).ok());
    ASSERT_TRUE(store->PutResults("job-7", {{5, std::string("\0bin\1", 5)}}).ok());
    ASSERT_TRUE(store->SetJobState("job-7", "succeeded", "").ok());
  }
  auto store = *Store::Open(path);
  const auto jobs = *store->Jobs();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].state, "succeeded");
  EXPECT_EQ(jobs[0].created_seq, 7);
  const auto results = *store->Results("job-7");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].data, std::string("\0bin\1", 5));
}

TEST(StoreTest, OneStorePerDatabaseFile) {
  const std::string path = testing::TempDir() + "/phaze_store_lock_test.db";
  std::remove(path.c_str());
  {
    auto first = Store::Open(path);
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_TRUE((*first)->PutJob({"job-1", "yaml", "running", "", 1, ""}).ok());
    auto second = Store::Open(path);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(std::string(second.status().message()).find("in use by another coordinator"),
              std::string::npos);
    EXPECT_EQ((*first)->Jobs()->size(), 1u);  // the refused open changed nothing
  }
  auto again = Store::Open(path);  // released with the first store
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->Jobs()->size(), 1u);
  EXPECT_TRUE(Store::Open(":memory:").ok());  // in-memory stores are private: never locked
  EXPECT_TRUE(Store::Open(":memory:").ok());
}

TEST(StoreTest, UnopenableDatabaseIsAnError) {
  EXPECT_FALSE(Store::Open("/nonexistent-dir/x/y.db").ok());
}

}  // namespace
}  // namespace phaze
