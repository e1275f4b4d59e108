// Durable state of the coordinator in SQLite (WAL mode): jobs and every candidate result.
//
// Shards are not stored: a shard is done exactly when all its candidates have a result row, so
// after a restart the coordinator re-derives pending shards from the results and never redoes a
// finished candidate. Result rows are keyed by (job, candidate): writing one twice keeps the
// first, so a retried shard never counts twice.
//
//   PHAZE_ASSIGN_OR_RETURN(auto store, Store::Open("phaze.db"));   // ":memory:" for tests
//   store->PutJob({.job_id = "job-1", .yaml = text, .state = "running"});
#ifndef PHAZE_COORDINATOR_STORE_H_
#define PHAZE_COORDINATOR_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

struct sqlite3;

namespace phaze {

struct StoredJob {
  std::string job_id;
  std::string yaml;
  std::string state;  // "running", "succeeded", "cancelled", "failed"
  std::string error;
  int64_t created_seq = 0;
  std::string summary;  // a finished job's last status (a serialized phaze.v1.JobStatus), or ""
};

struct StoredResult {
  int64_t candidate = 0;
  std::string data;  // a serialized phaze.v1.CandidateResult
};

class Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  absl::Status PutJob(const StoredJob& job);  // insert or replace
  absl::Status SetJobState(const std::string& job_id, const std::string& state,
                           const std::string& error);
  absl::StatusOr<std::vector<StoredJob>> Jobs();             // in submission order
  absl::StatusOr<StoredJob> Job(const std::string& job_id);  // kNotFound if there is none
  // At most `limit` jobs in submission order from `first_job_id` on (from the first if empty);
  // kNotFound if `first_job_id` is not a job.
  absl::StatusOr<std::vector<StoredJob>> JobsFrom(const std::string& first_job_id, int64_t limit);
  // The latest job submitted with exactly this text, or "".
  absl::StatusOr<std::string> FindJobByText(const std::string& yaml);
  absl::Status SetJobSummary(const std::string& job_id, const std::string& summary);
  // Inserts results in one transaction; existing (job, candidate) rows are kept. Returns how
  // many rows were new.
  absl::StatusOr<int64_t> PutResults(const std::string& job_id,
                                     const std::vector<StoredResult>& results);
  absl::StatusOr<std::vector<StoredResult>> Results(const std::string& job_id);
  absl::StatusOr<std::string> IntegrityCheck();

 private:
  Store(sqlite3* db, int lock_fd) : db_(db), lock_fd_(lock_fd) {}
  absl::Status Exec(const std::string& sql);
  absl::Mutex mu_;
  sqlite3* db_;
  int lock_fd_ = -1;  // holds flock(LOCK_EX) on the database file while the store is open
};

}  // namespace phaze

#endif  // PHAZE_COORDINATOR_STORE_H_
