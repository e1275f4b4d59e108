#include "coordinator/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/mutex.h"

namespace phaze {
namespace {

// Owns a prepared statement.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  absl::Status status() const {
    if (rc_ == SQLITE_OK) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("sqlite prepare: ", sqlite3_errmsg(db_)));
  }
  void Bind(int i, const std::string& s) {
    sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void BindText(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) {
    const void* p = sqlite3_column_blob(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

absl::Status StepError(sqlite3* db, const char* what) {
  return absl::InternalError(absl::StrCat("sqlite ", what, ": ", sqlite3_errmsg(db)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError(absl::StrCat("cannot open database '", path, "': ", message));
  }
  // One coordinator per database: an exclusive flock on the file (independent of SQLite's own
  // fcntl locks), released by the kernel when the process ends however it ends.
  int lock_fd = -1;
  if (path != ":memory:" && !path.empty()) {
    lock_fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      if (lock_fd >= 0) ::close(lock_fd);
      sqlite3_close(db);
      if (error == EWOULDBLOCK) {
        return absl::FailedPreconditionError(
            absl::StrCat("database '", path,
                         "' is in use by another coordinator (one coordinator per "
                         "database; stop the other one or use another --database)"));
      }
      return absl::UnavailableError(
          absl::StrCat("cannot lock database '", path, "': ", std::strerror(error)));
    }
  }
  std::unique_ptr<Store> store(new Store(db, lock_fd));
  sqlite3_busy_timeout(db, 5000);
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                          "CREATE TABLE IF NOT EXISTS jobs (job_id TEXT PRIMARY KEY, yaml TEXT "
                          "NOT NULL, state TEXT NOT NULL, error TEXT NOT NULL DEFAULT '', seq "
                          "INTEGER NOT NULL)",
                          "CREATE TABLE IF NOT EXISTS results (job_id TEXT NOT NULL, candidate "
                          "INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (job_id, candidate))",
                          "CREATE INDEX IF NOT EXISTS jobs_by_seq ON jobs (seq)"}) {
    if (absl::Status s = store->Exec(sql); !s.ok()) return s;
  }
  // Finished jobs' summaries (added after the first release: databases without it gain it).
  if (absl::Status s = store->Exec("ALTER TABLE jobs ADD COLUMN summary BLOB NOT NULL DEFAULT x''");
      !s.ok() && s.message().find("duplicate column") == absl::string_view::npos) {
    return s;
  }
  return store;
}

Store::~Store() {
  sqlite3_close(db_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

absl::Status Store::Exec(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return absl::InternalError(absl::StrCat("sqlite: ", message, " in: ", sql));
  }
  return absl::OkStatus();
}

absl::Status Store::PutJob(const StoredJob& job) {
  MutexLock lock(&mu_);
  Statement st(db_,
               "INSERT OR REPLACE INTO jobs (job_id, yaml, state, error, seq) VALUES (?, ?, ?, "
               "?, ?)");
  if (absl::Status s = st.status(); !s.ok()) return s;
  st.BindText(1, job.job_id);
  st.BindText(2, job.yaml);
  st.BindText(3, job.state);
  st.BindText(4, job.error);
  st.Bind(5, job.created_seq);
  if (st.Step() != SQLITE_DONE) return StepError(db_, "put job");
  return absl::OkStatus();
}

absl::Status Store::SetJobState(const std::string& job_id, const std::string& state,
                                const std::string& error) {
  MutexLock lock(&mu_);
  Statement st(db_, "UPDATE jobs SET state = ?, error = ? WHERE job_id = ?");
  if (absl::Status s = st.status(); !s.ok()) return s;
  st.BindText(1, state);
  st.BindText(2, error);
  st.BindText(3, job_id);
  if (st.Step() != SQLITE_DONE) return StepError(db_, "set job state");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StoredJob>> Store::Jobs() {
  return JobsFrom("", std::numeric_limits<int64_t>::max());
}

absl::StatusOr<std::vector<StoredJob>> Store::JobsFrom(const std::string& first_job_id,
                                                       int64_t limit) {
  if (!first_job_id.empty()) {
    if (absl::StatusOr<StoredJob> first = Job(first_job_id); !first.ok()) return first.status();
  }
  MutexLock lock(&mu_);
  // Rows from the first job's seq on (seq >= 0 from the start: every job has seq >= 1).
  Statement st(db_,
               "SELECT job_id, yaml, state, error, seq, summary FROM jobs WHERE seq >= "
               "COALESCE((SELECT seq FROM jobs WHERE job_id = ?), 0) ORDER BY seq LIMIT ?");
  if (absl::Status s = st.status(); !s.ok()) return s;
  st.BindText(1, first_job_id);
  st.Bind(2, limit);
  std::vector<StoredJob> jobs;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    jobs.push_back({st.Text(0), st.Text(1), st.Text(2), st.Text(3), st.Int(4), st.Text(5)});
  }
  if (rc != SQLITE_DONE) return StepError(db_, "list jobs");
  return jobs;
}

absl::StatusOr<std::string> Store::FindJobByText(const std::string& yaml) {
  MutexLock lock(&mu_);
  Statement st(db_, "SELECT job_id FROM jobs WHERE yaml = ? ORDER BY seq DESC LIMIT 1");
  if (absl::Status s = st.status(); !s.ok()) return s;
  st.BindText(1, yaml);
  const int rc = st.Step();
  if (rc == SQLITE_ROW) return st.Text(0);
  if (rc == SQLITE_DONE) return std::string();
  return StepError(db_, "find job");
}

absl::Status Store::SetJobSummary(const std::string& job_id, const std::string& summary) {
  MutexLock lock(&mu_);
  Statement st(db_, "UPDATE jobs SET summary = ? WHERE job_id = ?");
  if (absl::Status s = st.status(); !s.ok()) return s;
  st.Bind(1, summary);
  st.BindText(2, job_id);
  if (st.Step() != SQLITE_DONE) return StepError(db_, "set job summary");
  return absl::OkStatus();
}

absl::StatusOr<StoredJob> Store::Job(const std::string& job_id) {
  MutexLock lock(&mu_);
  Statement st(db_, "SELECT job_id, yaml, state, error, seq, summary FROM jobs WHERE job_id = ?");
  if (absl::Status s = st.status(); !s.ok()) return s;
  st.BindText(1, job_id);
  const int rc = st.Step();
  if (rc == SQLITE_ROW) {
    return StoredJob{st.Text(0), st.Text(1), st.Text(2), st.Text(3), st.Int(4), st.Text(5)};
  }
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("no job '", job_id, "' stored"));
  return StepError(db_, "get job");
}

absl::StatusOr<int64_t> Store::PutResults(const std::string& job_id,
                                          const std::vector<StoredResult>& results) {
  MutexLock lock(&mu_);
  if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Statement st(db_, "INSERT OR IGNORE INTO results (job_id, candidate, data) VALUES (?, ?, ?)");
  if (absl::Status s = st.status(); !s.ok()) {
    Exec("ROLLBACK").IgnoreError();
    return s;
  }
  int64_t added = 0;
  for (const StoredResult& r : results) {
    st.BindText(1, job_id);
    st.Bind(2, r.candidate);
    st.Bind(3, r.data);
    if (st.Step() != SQLITE_DONE) {
      absl::Status err = StepError(db_, "put result");
      Exec("ROLLBACK").IgnoreError();
      return err;
    }
    added += sqlite3_changes(db_);
    st.Reset();
  }
  if (absl::Status s = Exec("COMMIT"); !s.ok()) return s;
  return added;
}

absl::StatusOr<std::vector<StoredResult>> Store::Results(const std::string& job_id) {
  MutexLock lock(&mu_);
  Statement st(db_, "SELECT candidate, data FROM results WHERE job_id = ? ORDER BY candidate");
  if (absl::Status s = st.status(); !s.ok()) return s;
  st.BindText(1, job_id);
  std::vector<StoredResult> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back({st.Int(0), st.Text(1)});
  if (rc != SQLITE_DONE) return StepError(db_, "list results");
  return out;
}

absl::StatusOr<std::string> Store::IntegrityCheck() {
  MutexLock lock(&mu_);
  Statement st(db_, "PRAGMA integrity_check");
  if (absl::Status s = st.status(); !s.ok()) return s;
  if (st.Step() != SQLITE_ROW) return StepError(db_, "integrity check");
  return st.Text(0);
}

}  // namespace phaze
